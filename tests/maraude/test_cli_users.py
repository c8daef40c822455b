"""`maraude user` on a real database (SQLite and, gated, PostgreSQL): the password policy,
password changes, deactivation, tokens with a name and an expiry, their revocation and the
sessions of an account. The same commands against a running app: tests/web/test_sessions_http.py.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from core.db import Database
from core.models import ApiToken
from handoff.accounts import AccountService
from maraude.cli import main
from tests.support import write_config

PASSWORD = "un-mot-de-passe-solide"
NEW_PASSWORD = "une-phrase-toute-neuve"
ANNA = "anna@example.org"


@pytest.fixture
def config(db_url: str, tmp_path: Path) -> Path:
    return write_config(tmp_path, database_url=db_url)


@pytest.fixture
def database(db_url: str) -> Iterator[Database]:
    db = Database.from_url(db_url)
    yield db
    db.dispose()


def user(monkeypatch: pytest.MonkeyPatch, config: Path, *argv: str, stdin: str = "") -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main(["--config", str(config), "user", *argv])


def add_anna(monkeypatch: pytest.MonkeyPatch, config: Path) -> None:
    args = ("add", ANNA, "--first-name", "Anna", "--password-stdin")
    assert user(monkeypatch, config, *args, stdin=PASSWORD + "\n") == 0


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("azerty123456", "trop courant"),
        ("Motdepasse2024!", "trop courant"),
        ("anna-est-la-meilleure", "prénom"),
        ("court-court", "trop court"),
    ],
)
def test_add_refuses_weak_passwords(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    password: str,
    why: str,
) -> None:
    config = write_config(tmp_path)
    args = ("add", ANNA, "--first-name", "Anna", "--password-stdin")
    assert user(monkeypatch, config, *args, stdin=password + "\n") == 2
    err = capsys.readouterr().err
    assert "Compte non créé" in err and why in err and password not in err
    assert user(monkeypatch, config, "list") == 0
    assert capsys.readouterr().out == ""


def test_password_asks_twice_and_ends_the_sessions(
    config: Path,
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    add_anna(monkeypatch, config)
    accounts = AccountService(database)
    anna = accounts.by_email(ANNA)
    assert anna is not None
    session = accounts.open_session(anna.id, "Firefox")
    assert user(monkeypatch, config, "sessions", ANNA) == 0
    assert "\tFirefox" in capsys.readouterr().out

    typed = iter([NEW_PASSWORD, NEW_PASSWORD + "x"])  # a typo in the second: nothing changes
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(typed))
    with pytest.raises(SystemExit, match="pas identiques"):
        main(["--config", str(config), "user", "password", ANNA])
    assert accounts.session_account(session) == anna

    weak = user(monkeypatch, config, "password", ANNA, "--password-stdin", stdin="azertyuiop1234\n")
    assert weak == 2 and "Mot de passe non changé" in capsys.readouterr().err

    typed = iter([NEW_PASSWORD, NEW_PASSWORD])
    assert main(["--config", str(config), "user", "password", ANNA]) == 0
    out = capsys.readouterr().out
    assert f"Mot de passe changé pour {ANNA} ; 1 session(s)" in out
    assert accounts.session_account(session) is None
    assert accounts.authenticate(ANNA, PASSWORD) is None
    assert accounts.authenticate(ANNA, NEW_PASSWORD) == anna
    assert user(monkeypatch, config, "sessions", ANNA) == 0
    assert capsys.readouterr().out == ""

    again = accounts.open_session(anna.id)
    assert user(monkeypatch, config, "sessions", ANNA, "--end") == 0
    assert "1 session(s) du tableau de bord fermée(s)" in capsys.readouterr().out
    assert accounts.session_account(again) is None


def test_tokens_have_a_name_and_an_expiry(
    config: Path,
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    add_anna(monkeypatch, config)
    capsys.readouterr()
    assert user(monkeypatch, config, "token", ANNA, "--name", "crm", "--expires-days", "7") == 0
    out = capsys.readouterr().out
    assert "« crm », valable 7 jours" in out
    crm = out.strip().splitlines()[-1]
    assert user(monkeypatch, config, "token", ANNA, "--name", "tableur") == 0
    tableur = capsys.readouterr().out.strip().splitlines()[-1]
    with database.transaction() as session:
        rows = {t.name: t for t in session.scalars(select(ApiToken))}
        assert rows["crm"].expires_at - rows["crm"].created_at == timedelta(days=7)
        assert rows["tableur"].expires_at - rows["tableur"].created_at == timedelta(days=90)

    for bad in ("0", "3651"):
        assert user(monkeypatch, config, "token", ANNA, "--expires-days", bad) == 2
        assert "entre 1 et 3650" in capsys.readouterr().err
    assert user(monkeypatch, config, "token", ANNA, "--name", "  ") == 2
    assert "Jeton non créé" in capsys.readouterr().err

    accounts = AccountService(database)
    assert user(monkeypatch, config, "revoke-tokens", ANNA, "--name", "crm") == 0
    assert "1 jeton(s) « crm » révoqué(s)" in capsys.readouterr().out
    assert accounts.authenticate_token(crm) is None
    assert accounts.authenticate_token(tableur) is not None
    assert user(monkeypatch, config, "tokens", ANNA) == 0
    listed = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[:2] for line in listed] == [["tableur", "actif"], ["crm", "révoqué"]]
    assert user(monkeypatch, config, "revoke-tokens", ANNA) == 0
    assert "1 jeton(s) révoqué(s)" in capsys.readouterr().out
    assert accounts.authenticate_token(tableur) is None


def test_deactivate_ends_everything_and_is_told_twice(
    config: Path,
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    add_anna(monkeypatch, config)
    accounts = AccountService(database)
    anna = accounts.by_email(ANNA)
    assert anna is not None
    session = accounts.open_session(anna.id)
    token = accounts.create_token(anna.id, "crm")
    capsys.readouterr()
    assert user(monkeypatch, config, "deactivate", ANNA.upper()) == 0
    assert "désactivé : plus de connexion, sessions fermées" in capsys.readouterr().out
    assert accounts.session_account(session) is None
    assert accounts.authenticate_token(token) is None
    assert accounts.authenticate(ANNA, PASSWORD) is None
    assert user(monkeypatch, config, "deactivate", ANNA) == 0
    assert "déjà désactivé" in capsys.readouterr().out
    # An inactive account gets no new password nor token; its tokens can still be listed.
    assert user(monkeypatch, config, "password", ANNA, "--password-stdin", stdin=NEW_PASSWORD) == 2
    assert f"Aucun compte actif pour {ANNA}" in capsys.readouterr().err
    assert user(monkeypatch, config, "token", ANNA) == 2
    assert user(monkeypatch, config, "tokens", ANNA) == 0
    assert "crm\trévoqué" in capsys.readouterr().out
    for command in ("deactivate", "tokens", "revoke-tokens", "sessions"):
        assert user(monkeypatch, config, command, "nobody@example.org") == 2
        assert "Aucun compte pour nobody@example.org" in capsys.readouterr().err


def test_help_lists_the_user_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["user", "--help"])
    out = capsys.readouterr().out
    for command in ("add", "list", "token", "tokens", "revoke-tokens", "sessions", "password"):
        assert command in out
    assert "deactivate" in out
