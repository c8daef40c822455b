"""Hot swap: a newer model in models/ is loaded into the running engine by the app's model
watch while a young person is in the middle of the triage; the triage carries on.

The stack runs from a project folder of its own (links to the repository's files, its own
models/ with a copy of the trained model), so the test never writes into the repository's
models/ and never retrains: a "new" model is the same model copied under a newer name.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from studio.model_watch import MODEL_WATCH_JOB, newest_model, watch_interval
from tests.support import (
    ROOT,
    Stack,
    engine_missing_reason,
    make_settings,
    running_stack,
)
from tests.support.chat import Chat, text_of
from tests.support.telegram import keyboard, pseudo, start

SKIP = {".git", "models", "var", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis"}


def project_copy(folder: Path) -> Path:
    """A project root whose entries link to the repository's, except models/ (a copy of
    the newest trained model) and var/."""
    root = folder / "project"
    root.mkdir()
    for entry in ROOT.iterdir():
        if entry.name not in SKIP:
            (root / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())
    (root / "models").mkdir()
    model = newest_model(ROOT / "models")
    assert model is not None
    shutil.copy2(model, root / "models" / model.name)
    return root


@contextmanager
def swap_stack(folder: Path) -> Iterator[Stack]:
    """The whole stack run from the project copy above, with the model watch on (every
    second: RASA_URL being set, it is off unless asked for)."""
    root = project_copy(folder)
    with running_stack(folder, project_root=str(root), engine={"model_watch_every": "1s"}) as stack:
        yield stack


@pytest.fixture(scope="module")
def swap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    reason = engine_missing_reason()
    if reason:
        pytest.skip(reason)
    with swap_stack(tmp_path_factory.mktemp("hot_swap")) as running:
        yield running


def served(stack: Stack) -> str:
    """The model file the engine reports ("" while it is busy loading one)."""
    try:
        token = {"token": stack.settings.engine_auth_token}
        response = httpx.get(f"{stack.engine.url}/status", params=token, timeout=10)
        return str(response.json()["model_file"])
    except httpx.HTTPError:
        return ""


def wait_served(stack: Stack, name: str, timeout: float = 240) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if Path(served(stack)).name == name:
            return time.monotonic() - started
        time.sleep(0.5)
    raise AssertionError(f"the engine still serves {served(stack)}, not {name}")


def new_model(stack: Stack, name: str, source: Path | None = None, ahead: float = 5) -> Path:
    """A copy of the served model (or `source`) in the stack's models/, written last."""
    models = stack.settings.root / "models"
    target = models / name
    shutil.copyfile(source or newest_model(models) or Path(), target)
    later = max(p.stat().st_mtime for p in models.glob("*.tar.gz")) + ahead
    os.utime(target, (later, later))
    return target


@pytest.mark.engine
def test_triage_in_flight_survives_a_model_swap(
    swap: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="studio.model_watch")
    scheduler = swap.services.scheduler
    assert scheduler.get_job(MODEL_WATCH_JOB) is not None
    first = served(swap)
    assert Path(first).name == newest_model(swap.settings.root / "models").name

    chat = Chat(swap)
    start(swap, chat.user)
    chat.press("OK pour moi")
    assert "âge" in text_of(chat.say("jcherche du taf")).lower()
    assert "habites" in text_of(chat.say("j'ai 19 ans")).lower()

    # `maraude train` wrote a newer model: the same one under a newer name.
    name = "20991231-235959-hot-swap.tar.gz"
    new_model(swap, name)
    # Rasa answers nothing while it loads: the app holds what arrives meanwhile.
    deadline = time.monotonic() + 60
    while not swap.services.engine.swapping:
        assert time.monotonic() < deadline, "the app never started the swap"
        time.sleep(0.05)
    before = len(swap.telegram.sent_messages(chat.user))
    swap.telegram.push_message(chat.user, "59100")  # sent during the load
    swap.telegram.wait_for_messages(chat.user, before + 1, timeout=300)
    time.sleep(1.5)  # a multi-message answer arrives whole
    situation = swap.telegram.sent_messages(chat.user)[before:]
    waited = wait_served(swap, name)
    print(f"new model served {waited:.1f}s after the check")

    # The triage resumed where it was, with the message sent during the swap answered for
    # real (not the "engine unavailable" reply): the next questions, then the summary.
    assert "Rien pour l'instant" in dict(keyboard(situation[-1])), text_of(situation)
    assert "accompagne" in text_of(chat.press("Rien pour l'instant")).lower()
    assert "recontacte" in text_of(chat.press("Non")).lower()
    summary = text_of(chat.say("le matin de preference"))
    for expected in ("emploi", "19", "59100", "ni emploi", "non", "le matin"):
        assert expected in summary, summary

    sender = pseudo(swap, chat.user)
    tracker = httpx.get(
        f"{swap.engine.url}/conversations/{sender}/tracker",
        params={"token": swap.settings.engine_auth_token},
        timeout=10,
    ).json()
    assert tracker["slots"]["age"] == "19" and tracker["slots"]["location"] == "59100"
    # No message lost: every message of the young person reached the engine, once.
    said = [e["text"] for e in tracker["events"] if e.get("event") == "user"]
    assert [t for t in said if t in ("jcherche du taf", "j'ai 19 ans", "59100")] == [
        "jcherche du taf",
        "j'ai 19 ans",
        "59100",
    ]
    assert any(f"the engine now serves {name}" in r.getMessage() for r in caplog.records)
    assert Path(served(swap)).name == name  # and it stays


@pytest.mark.engine
def test_a_model_the_engine_refuses_is_logged_and_not_retried(
    swap: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="studio.model_watch")
    before = served(swap)
    broken = swap.settings.root / "models" / "20991231-235999-broken.tar.gz"
    broken.write_bytes(b"not a model at all")
    later = max(p.stat().st_mtime for p in broken.parent.glob("*.tar.gz")) + 5
    os.utime(broken, (later, later))

    deadline = time.monotonic() + 120
    while not any("did not load" in r.getMessage() for r in caplog.records):
        assert time.monotonic() < deadline, "the watch never tried the broken model"
        time.sleep(0.5)
    time.sleep(3)  # three more ticks of the watch
    attempts = [r for r in caplog.records if "loading 20991231-235999-broken" in r.getMessage()]
    assert len(attempts) == 1  # not retried until the file changes
    assert served(swap) == before  # the engine kept its model

    # And the app still talks with the engine.
    chat = Chat(swap)
    start(swap, chat.user)
    assert "?" in text_of(chat.press("OK pour moi"))
    broken.unlink()


def test_watch_interval_follows_the_settings(tmp_path: Path) -> None:
    local = make_settings(tmp_path / "a")  # no RASA_URL: the engine `maraude up` starts
    assert watch_interval(local) == timedelta(seconds=10)
    remote = make_settings(tmp_path / "b", rasa_url="http://10.0.0.5:5005")
    assert watch_interval(remote) is None  # another machine: its own models/
    shared = make_settings(
        tmp_path / "c", rasa_url="http://10.0.0.5:5005", engine={"model_watch_every": "30s"}
    )
    assert watch_interval(shared) == timedelta(seconds=30)
    off = make_settings(tmp_path / "d", engine={"model_watch_every": "0s"})
    assert watch_interval(off) is None


def test_newest_model_is_the_last_written(tmp_path: Path) -> None:
    assert newest_model(tmp_path) is None
    older, newer = tmp_path / "b-old.tar.gz", tmp_path / "a-new.tar.gz"
    for index, path in enumerate((older, newer)):
        path.write_bytes(b"x")
        os.utime(path, (1_000_000 + index, 1_000_000 + index))
    (tmp_path / "notes.txt").write_text("not a model")
    assert newest_model(tmp_path) == newer
