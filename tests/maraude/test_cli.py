"""The `maraude` command line: help, settings errors, db upgrade, engine errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from core import migrate
from maraude.cli import main
from tests.support import ROOT, free_port, write_config


def test_console_script_help() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "maraude"), "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    for command in ("serve", "up", "db", "train", "check", "chat"):
        assert command in result.stdout


def test_bad_settings_fail_fast_with_a_named_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RASA_URL", "localhost")
    code = main(["--config", str(write_config(tmp_path)), "db", "upgrade"])
    assert code == 2
    assert "RASA_URL" in capsys.readouterr().err


def test_db_upgrade_creates_the_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    assert main(["--config", str(config), "db", "upgrade"]) == 0
    assert "revision 0014" in capsys.readouterr().out
    assert migrate.current(f"sqlite:///{tmp_path / 'var' / 'maraude.db'}") == "0014"
    assert main(["--config", str(config), "db", "upgrade"]) == 0  # idempotent


@pytest.mark.parametrize("command", [["train"], ["up"], ["check"]])
def test_missing_engine_env_says_what_to_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    # A project folder without .venv-rasa: the command must say to run `make install`.
    code = main(["--config", str(write_config(tmp_path)), *command])
    assert code == 3
    assert "make install" in capsys.readouterr().err


def test_up_without_a_model_says_to_train(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / ".venv-rasa" / "bin").mkdir(parents=True)
    (tmp_path / ".venv-rasa" / "bin" / "rasa").write_text("#!/bin/sh\nexit 1\n")
    code = main(["--config", str(write_config(tmp_path)), "up"])
    assert code == 3
    assert "make train" in capsys.readouterr().err


def test_unknown_command_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as exc:
        main(["fly"])
    assert exc.value.code == 2


def test_repository_settings_are_valid() -> None:
    from core.settings import load_settings

    settings = load_settings(ROOT / "maraude.yml")
    assert settings.organisation.name and settings.root == ROOT


@pytest.mark.engine
def test_chat_in_the_terminal_through_the_whole_stack(stack: object, tmp_path: Path) -> None:
    """`maraude chat`: typed lines and numbered buttons go through the app to the engine
    (the age question first, then consent)."""
    engine_url = stack.engine.url  # type: ignore[attr-defined]
    config = write_config(
        tmp_path,
        project_root=str(ROOT),
        var_path=str(tmp_path / "var"),
        rasa_url=engine_url,
        maraude_secret_key="c" * 40,
        # Another secret key: the engine's API token is given as an operator would (RASA_URL).
        engine={
            "auth_token": stack.settings.engine_auth_token,  # type: ignore[attr-defined]
            "action_port": free_port(),
        },
    )
    result = subprocess.run(
        [str(Path(sys.executable).parent / "maraude"), "--config", str(config), "chat"],
        input="/start\n3\n1\n/pizza\n",  # the age (18-25 ans), then "OK pour moi"
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "robot" in out.lower()
    assert "[1] OK pour moi" in out and "[2] Non merci" in out
    after_button = out.split("[2] Non merci", 1)[1]
    assert "?" in after_button  # the opening question after consent
    assert "Je ne connais pas cette commande" in out
