"""`maraude serve --workers N`: refused without the shared stores or in polling mode; with
PostgreSQL and Redis, N uvicorn worker processes built by the app factory, each setting the
same webhook, migrating a fresh database one after the other, sharing the action port, and
taking Telegram's deliveries (a redelivered update answered once). No engine here: the
answer is the engine-down one, which is enough to count answers."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import ProgrammingError

from core.db import Database
from core.models.delivery import InboundUpdate
from maraude.cli import main
from tests.fakes.telegram_api import FakeTelegramServer
from tests.support import (
    ROOT,
    TEST_TOKEN,
    free_port,
    postgres_schema,
    postgres_url,
    redis_url,
    write_config,
)
from tests.support.telegram import new_user
from tests.support.waiting import eventually

REDIS_URL = redis_url()


def config(folder: Path, **overrides: object) -> Path:
    overrides.setdefault("project_root", str(ROOT))
    overrides.setdefault("var_path", str(folder / "var"))
    overrides.setdefault("maraude_secret_key", secrets.token_hex(24))
    return write_config(folder, **overrides)


@pytest.fixture(autouse=True)
def _workers_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """`serve --workers N` sets SERVER__WORKERS for its workers: restored after each test."""
    monkeypatch.setenv("SERVER__WORKERS", "1")


def test_several_workers_need_redis_and_postgresql(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = config(tmp_path, database_url=f"sqlite:///{tmp_path / 'app.db'}")
    assert main(["--config", str(path), "serve", "--workers", "2"]) == 2
    assert "server.workers > 1 needs REDIS_URL" in capsys.readouterr().err


def test_several_workers_are_refused_in_polling_mode(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = config(
        tmp_path,
        database_url="postgresql+psycopg://nobody@127.0.0.1:9/none",
        redis_url="redis://127.0.0.1:9/0",
        telegram_bot_token=TEST_TOKEN,
    )
    assert main(["--config", str(path), "serve", "--workers", "2"]) == 2
    assert "needs TELEGRAM_WEBHOOK_URL" in capsys.readouterr().err


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[FakeTelegramServer, subprocess.Popen[bytes], str]]:
    base = postgres_url()
    if base is None:
        pytest.skip("several workers need MARAUDE_TEST_POSTGRES_URL (set by .ci/run)")
    if REDIS_URL is None:
        pytest.skip("several workers need MARAUDE_TEST_REDIS_URL (set by .ci/run)")
    port = free_port()
    with FakeTelegramServer() as tg, postgres_schema(base, "maraude_serve") as db_url:
        path = config(
            tmp_path,
            database_url=db_url,  # a fresh schema: both workers migrate it at start
            redis_url=REDIS_URL,
            telegram_bot_token=TEST_TOKEN,
            telegram_api_base_url=tg.url,
            telegram_webhook_url=f"http://127.0.0.1:{port}/telegram/webhook",
            rasa_url=f"http://127.0.0.1:{free_port()}",  # no engine
            engine={"action_port": free_port()},
        )
        command = [sys.executable, "-m", "maraude.cli", "--config", str(path), "serve"]
        env = {k: v for k, v in os.environ.items() if k != "SERVER__WORKERS"}
        process = subprocess.Popen(
            [*command, "--workers", "2", "--port", str(port)],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(tmp_path / "serve.log", "wb"),  # noqa: SIM115 - closed with the process
        )
        try:
            yield tg, process, db_url
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(60)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            print((tmp_path / "serve.log").read_text(errors="replace")[-4000:])


def test_two_worker_processes_take_the_webhook_and_answer_each_update_once(
    served: tuple[FakeTelegramServer, subprocess.Popen[bytes], str],
) -> None:
    tg, process, db_url = served
    eventually(
        lambda: len(tg.calls("setWebhook")) >= 2 or process.poll() is not None,
        timeout=120,
        what="both workers started",
    )
    assert process.poll() is None, "maraude serve stopped"
    assert len({(c["url"], c["secret_token"]) for c in tg.calls("setWebhook")}) == 1
    user = new_user()
    update = tg.push_message(user, "salut")
    eventually(lambda: states(db_url) == {update["update_id"]: "done"}, timeout=60)
    answers = len(tg.sent_messages(user))
    assert answers >= 1
    tg.push_update(update)  # Telegram delivers it again (no answer in time, say)
    marker = tg.push_message(user, "salut")
    done = {update["update_id"]: "done", marker["update_id"]: "done"}
    eventually(lambda: states(db_url) == done, timeout=60, what="the marker handled")
    assert [d["status"] for d in tg.webhook_deliveries] == [200, 200, 200]
    assert len(tg.sent_messages(user)) == 2 * answers  # the first and the marker's, once each
    process.send_signal(signal.SIGTERM)
    assert process.wait(60) == 0


def states(db_url: str) -> dict[int, str]:
    db = Database.from_url(db_url)
    try:
        with db.transaction() as session:
            rows = session.execute(select(InboundUpdate.update_id, InboundUpdate.state)).all()
    except ProgrammingError:  # not migrated yet
        return {}
    finally:
        db.dispose()
    return {int(u): str(state) for u, state in rows}
