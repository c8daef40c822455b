"""Two app workers in webhook mode: real apps (uvicorn, each its own event loop) sharing one
PostgreSQL schema and Redis, the real python-telegram-bot client against the fake Bot API,
the real trained Rasa engine, webhook calls over real HTTP.

Telegram delivers to worker A (the URL both set); the tests post updates to either worker as a
load balancer would, and a redelivery to the other one.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bot.telegram import inbox_source
from core.clock import FixedClock
from core.db import Database
from core.inbox import InboxService
from core.models import ConsentStatus, Direction
from core.models.delivery import InboundUpdate
from maraude.engine_process import EngineProcess
from maraude.jobs import drain_inbox
from tests.fakes.telegram_api import FakeTelegramServer
from tests.support import (
    TEST_TOKEN,
    AppServer,
    engine_missing_reason,
    free_port,
    make_settings,
    postgres_schema,
    postgres_url,
    redis_url,
)
from tests.support.telegram import keyboard, new_user, pseudo, texts
from tests.support.waiting import eventually

pytestmark = [pytest.mark.engine, pytest.mark.postgres]
REDIS_URL = redis_url()
ROBOT = "t un robot ou une vraie personne ?"
_update_ids = itertools.count(50_000_000)  # ours: far above the fake Bot API's own ids


@dataclass
class Workers:
    telegram: FakeTelegramServer
    a: AppServer
    b: AppServer
    database_url: str

    @property
    def settings(self) -> Any:
        return self.a.services.settings

    @property
    def secret(self) -> str:
        return str(self.a.services.telegram.secret_token)

    def post(self, worker: AppServer, update: dict[str, Any]) -> httpx.Response:
        return httpx.post(
            f"{worker.url}/telegram/webhook",
            json=update,
            headers={"X-Telegram-Bot-Api-Secret-Token": self.secret},
            timeout=30,
        )


@pytest.fixture(scope="module")
def workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workers]:
    """The engine and two app workers, for the whole module (an engine start is slow)."""
    base = postgres_url()
    if base is None:
        pytest.skip("two app workers need MARAUDE_TEST_POSTGRES_URL (set by .ci/run)")
    if REDIS_URL is None:
        pytest.skip("two app workers need MARAUDE_TEST_REDIS_URL (set by .ci/run)")
    reason = engine_missing_reason()
    if reason:
        pytest.skip(reason)
    folder = tmp_path_factory.mktemp("workers")
    # Our own secret: the Redis lock names are HMACs of it, no other test's.
    secret = secrets.token_hex(24)
    port_a, port_b, engine_port, action_port = free_port(), free_port(), free_port(), free_port()
    with FakeTelegramServer() as telegram, postgres_schema(base, "maraude_workers") as db_url:

        def settings(name: str, port: int) -> Any:
            return make_settings(
                folder / name,
                database_url=db_url,
                redis_url=REDIS_URL,
                maraude_secret_key=secret,
                telegram_bot_token=TEST_TOKEN,
                telegram_api_base_url=telegram.url,
                telegram_webhook_url=f"http://127.0.0.1:{port_a}/telegram/webhook",
                rasa_url=f"http://127.0.0.1:{engine_port}",
                server={"port": port, "workers": 2},
                # Both workers serve the actions on one port (SO_REUSEPORT), as on one machine.
                engine={"action_port": action_port},
            )

        settings_a, settings_b = settings("a", port_a), settings("b", port_b)
        engine = EngineProcess(settings_a, port=engine_port, log_path=folder / "engine.log")
        engine.start()
        try:
            engine.wait_ready(timeout=240)
            with AppServer(settings_a, port=port_a) as a, AppServer(settings_b, port=port_b) as b:
                yield Workers(telegram, a, b, db_url)
        finally:
            engine.stop()


def private_message(user: int, text: str) -> dict[str, Any]:
    """A young person's message as Telegram posts it, with an id of our own."""
    sender = {"id": user, "is_bot": False, "first_name": "Lea", "language_code": "fr"}
    message = {
        "message_id": next(_update_ids) % 1_000_000,
        "from": sender,
        "chat": {"id": user, "type": "private", "first_name": "Lea"},
        "date": int(time.time()),
        "text": text,
    }
    return {"update_id": next(_update_ids), "message": message}


def consented(workers: Workers) -> int:
    """A new young person who said /start, skipped the age and accepted (through Telegram's
    own deliveries to worker A)."""
    tg, user = workers.telegram, new_user()
    tg.push_message(user, "/start")
    [question] = tg.wait_until(
        lambda: [m for m in tg.sent_messages(user) if keyboard(m)] or None, timeout=60
    )
    tg.push_callback(user, question["message_id"], dict(keyboard(question))["Passer"])
    [consent] = tg.wait_until(
        lambda: [m for m in tg.sent_messages(user) if "OK pour moi" in dict(keyboard(m))] or None,
        timeout=60,
    )
    before = len(tg.sent_messages(user))
    tg.push_callback(user, consent["message_id"], "/consent_accept")
    tg.wait_for_messages(user, before + 2, timeout=60)
    assert workers.a.services.people.get(pseudo_of(workers, user)).consent is (
        ConsentStatus.granted
    )
    return user


def pseudo_of(workers: Workers, user: int) -> str:
    return pseudo(workers.a.services, user)


def inbound(workers: Workers, update_id: int) -> list[InboundUpdate]:
    db = Database.from_url(workers.database_url)
    try:
        with db.transaction() as session:
            return list(
                session.scalars(select(InboundUpdate).where(InboundUpdate.update_id == update_id))
            )
    finally:
        db.dispose()


def on_loop(worker: AppServer, coroutine: Any) -> Any:
    """Run `coroutine` in the worker's own event loop (its uvicorn thread) and wait for it."""
    loop = worker.services.scheduler._eventloop  # APScheduler's: the loop the app runs in
    return asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout=90)


def handled(workers: Workers, *updates: dict[str, Any]) -> list[InboundUpdate]:
    """The inbox rows of `updates` once every one is done."""

    def done() -> list[InboundUpdate] | None:
        rows = [row for u in updates for row in inbound(workers, u["update_id"])]
        ok = len(rows) == len(updates) and all(r.state == "done" for r in rows)
        return rows if ok else None

    return eventually(done, timeout=90, what="the updates handled")


def test_the_same_update_on_both_workers_is_processed_once(workers: Workers) -> None:
    tg, user = workers.telegram, new_user()
    update = private_message(user, "/start")
    barrier = threading.Barrier(2)
    answers: dict[str, int] = {}

    def deliver(name: str, worker: AppServer) -> None:
        barrier.wait()
        answers[name] = workers.post(worker, update).status_code

    threads = [
        threading.Thread(target=deliver, args=(name, worker))
        for name, worker in (("a", workers.a), ("b", workers.b))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert answers == {"a": 200, "b": 200}  # the duplicate too: Telegram must not retry it

    [row] = handled(workers, update)
    assert row.payload is None  # cleared once handled
    welcome = tg.sent_messages(user)
    assert len([m for m in welcome if keyboard(m)]) == 1  # one age question, not two
    # A third delivery, later (Telegram retrying): answered 200, nothing more is sent.
    assert workers.post(workers.b, update).status_code == 200
    assert workers.post(workers.a, update).json() == {"ok": True}
    probe = private_message(user, "/start")  # a later update of the chat, as a marker
    assert workers.post(workers.a, probe).status_code == 200
    handled(workers, probe)
    after = tg.sent_messages(user)
    assert len([m for m in after if keyboard(m)]) == 2  # the marker's question, and no other


def test_two_updates_of_one_chat_on_two_workers_are_answered_in_order(workers: Workers) -> None:
    tg, user = workers.telegram, consented(workers)
    before = len(tg.sent_messages(user))
    first, second = private_message(user, ROBOT), private_message(user, "/stop")
    # Telegram is slow to take A's answer to the first: A is still handling it, holding the
    # chat, when B receives the second. (The fake Bot API's lock: its requests wait on it.)
    with tg._lock:
        assert workers.post(workers.a, first).status_code == 200
        eventually(lambda: [r.attempts for r in inbound(workers, first["update_id"])] == [1])
        assert workers.post(workers.b, second).status_code == 200
        drain_b = workers.b.services.telegram.drain
        # B found the chat held (it will look again later: A still holds it then, and A
        # handles the second update before it lets the chat go).
        eventually(lambda: f"telegram:{user}" in drain_b._retrying, what="B found A's lock")
        # B stored it and left it to A, which holds the chat: not started, not answered.
        [waiting] = inbound(workers, second["update_id"])
        assert (waiting.state, waiting.attempts) == ("pending", 0)
    rows = {row.update_id: row for row in handled(workers, first, second)}
    assert rows[second["update_id"]].worker == workers.a.services.worker_id  # A drained it
    replies = texts(tg.sent_messages(user)[before:])
    robot = next(i for i, text in enumerate(replies) if "robot" in text.lower())
    stop = next(i for i, text in enumerate(replies) if "/start" in text)
    assert robot < stop, replies
    incoming = [
        m.text
        for m in workers.a.services.people.transcript(pseudo_of(workers, user))
        if m.direction == Direction.incoming
    ]
    assert incoming[-2:] == [ROBOT, "/stop"]


def test_an_update_left_pending_by_a_dead_worker_is_drained_by_the_job(
    workers: Workers,
) -> None:
    tg, user = workers.telegram, consented(workers)
    before = len(tg.sent_messages(user))
    update = private_message(user, ROBOT)
    # A worker stored it a minute ago, then died before handling it.
    db = Database.from_url(workers.database_url)
    try:
        dead = InboxService(db, FixedClock(datetime.now(UTC) - timedelta(minutes=1)))
        source = inbox_source(TEST_TOKEN)  # the bot's updates
        assert dead.receive(source, update["update_id"], f"telegram:{user}", update)
    finally:
        db.dispose()
    services = workers.b.services
    on_loop(workers.b, drain_inbox(services))  # the job's run, on worker B
    [row] = inbound(workers, update["update_id"])
    assert (row.state, row.payload, row.attempts) == ("done", None, 1)
    assert row.worker == services.worker_id
    [reply] = tg.wait_for_messages(user, before + 1, timeout=30)[before:]
    assert "robot" in reply["text"].lower()


def test_both_workers_set_the_same_webhook_at_start(workers: Workers) -> None:
    calls = workers.telegram.calls("setWebhook")
    assert len(calls) >= 2
    assert {(c["url"], c["secret_token"]) for c in calls} == {
        (workers.settings.telegram_webhook_url, workers.secret)
    }
    # Telegram's own deliveries (the consent steps above) all reached worker A and were taken.
    deliveries = workers.telegram.webhook_deliveries
    assert deliveries and {d["status"] for d in deliveries} == {200}
