"""Two real engines on the shared stores (the tracker store in a throwaway PostgreSQL schema,
Rasa's RedisLockStore), behind the app's engine pool: one conversation served by both in
turn continues where it was, and an engine SIGKILLed mid-conversation does not stop it.

Gated on MARAUDE_TEST_POSTGRES_URL, MARAUDE_TEST_REDIS_URL and a trained model; the two
engines are started once for the module (each start costs ~30-60 s)."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from sqlalchemy import create_engine, text

from bot.engine_client import EngineClient
from core.settings import Settings
from maraude.engine_process import EngineProcess
from maraude.engine_stores import endpoints_path
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
from tests.support.chat import Chat, text_of
from tests.support.telegram import keyboard, pseudo, start

pytestmark = pytest.mark.engine
REDIS_URL = redis_url()


@dataclass
class Pair:
    settings: Settings
    telegram: FakeTelegramServer
    engines: list[EngineProcess]
    app: AppServer

    @property
    def services(self) -> Any:
        return self.app.services

    def engine_at(self, url: str) -> EngineProcess:
        return next(e for e in self.engines if e.url == url)

    def ask(self, engine: EngineProcess, sender: str, message: str) -> list[dict[str, Any]]:
        """One turn posted straight to that engine (its REST channel), as the pool would."""

        async def send() -> list[dict[str, Any]]:
            client = EngineClient(engine.url, timeout=120)
            try:
                return await client.send(sender, message, {"channel": "telegram"})
            finally:
                await client.aclose()

        return asyncio.run(send())


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    reason = engine_missing_reason()
    if reason:
        pytest.skip(reason)
    base = postgres_url()
    if base is None:
        pytest.skip("two engines on a shared tracker store need MARAUDE_TEST_POSTGRES_URL")
    if REDIS_URL is None:
        pytest.skip("two engines on Rasa's RedisLockStore need MARAUDE_TEST_REDIS_URL")
    folder = tmp_path_factory.mktemp("engines")
    redis_url = urlunsplit(urlsplit(REDIS_URL)._replace(path="/7"))  # not the other tests' db
    ports = [free_port(), free_port()]
    app_port = free_port()
    with postgres_schema(base, prefix="maraude_engines") as tracker_url, FakeTelegramServer() as tg:
        settings = make_settings(
            folder,
            telegram_bot_token=TEST_TOKEN,
            telegram_api_base_url=tg.url,
            rasa_url=",".join(f"http://127.0.0.1:{p}" for p in ports),
            redis_url=redis_url,
            server={"port": app_port},
            engine={"tracker_store_url": tracker_url},
        )
        engines = [
            EngineProcess(settings, port=port, log_path=folder / f"engine-{port}.log")
            for port in ports
        ]
        try:
            for engine in engines:  # both load at once
                engine.start()
            for engine in engines:
                engine.wait_ready(timeout=600)
            with AppServer(settings, port=app_port) as app:
                yield Pair(settings, tg, engines, app)
        finally:
            for engine in engines:
                engine.stop()


def test_the_engines_run_on_the_shared_stores(pair: Pair) -> None:
    endpoints = endpoints_path(pair.settings).read_text()
    assert "type: redis" in endpoints and "db: 7" in endpoints
    for engine in pair.engines:
        assert str(endpoints_path(pair.settings)) in engine.command()


def test_one_conversation_served_by_both_engines_in_turn(pair: Pair) -> None:
    chat = Chat(pair)
    start(pair, chat.user)
    assert "?" in text_of(chat.press("OK pour moi"))  # through the app: its own engine
    sender = pseudo(pair, chat.user)
    first, second = (pair.engine_at(url) for url in pair.services.engine.ranked(sender))

    # The next turns alternate between the engines: each reads what the other stored.
    assert "âge" in text_of(pair.ask(second, sender, "jcherche du taf")).lower()
    assert "habites" in text_of(pair.ask(first, sender, "j'ai 19 ans")).lower()
    situation = pair.ask(second, sender, "59100")
    assert "Rien pour l'instant" in text_of(situation) or any(
        "Rien pour l'instant" in str(m.get("buttons")) for m in situation
    )
    # One tracker, in PostgreSQL, holding the turns of both engines.
    db = create_engine(pair.settings.tracker_store_url)
    try:
        with db.connect() as connection:
            turns = connection.execute(
                text("SELECT count(*) FROM events WHERE sender_id = :s AND type_name = 'user'"),
                {"s": sender},
            ).scalar_one()
    finally:
        db.dispose()
    assert turns >= 5  # /start, the age button, consent, and the three turns above


def test_an_engine_killed_mid_turn_and_the_message_is_still_answered(pair: Pair) -> None:
    import redis

    chat = Chat(pair)
    start(pair, chat.user)
    chat.press("OK pour moi")
    assert "âge" in text_of(chat.say("jcherche du taf")).lower()
    sender = pseudo(pair, chat.user)
    victim = pair.engine_at(pair.services.engine.ranked(sender)[0])
    assert victim.process is not None and pair.settings.redis_url is not None

    # The next message; its engine is SIGKILLed while it holds the conversation's ticket in
    # Rasa's lock store (the turn in progress), as an OOM kill would.
    before = len(pair.telegram.sent_messages(chat.user))
    pair.telegram.push_message(chat.user, "j'ai 19 ans")
    lock_key = f"maraude:lock:{sender}"
    client = redis.Redis.from_url(pair.settings.redis_url)
    try:
        while not client.exists(lock_key) and not (
            len(pair.telegram.sent_messages(chat.user)) > before
        ):
            time.sleep(0.002)  # until the turn has started on its engine (or, rarely, ended)
        mid_turn = bool(client.exists(lock_key))
        os.kill(victim.process.pid, signal.SIGKILL)
        killed_at = time.monotonic()
    finally:
        client.close()
    victim.process.wait(30)

    # The pool meets a reset connection, marks the engine down and asks the other one, which
    # takes the conversation once the dead engine's ticket expires (TICKET_LOCK_LIFETIME) and
    # carries on the same triage from the shared tracker: one answer, the right one.
    pair.telegram.wait_for_messages(chat.user, before + 1, timeout=120)
    answer = chat._new(before)
    print(f"killed mid-turn: {mid_turn}; answered {time.monotonic() - killed_at:.1f} s later")
    assert "habites" in text_of(answer).lower()
    assert sum("habites" in m["text"] for m in answer) == 1
    situation = chat.say("59100")
    assert "Rien pour l'instant" in dict(keyboard(situation[-1]))
    assert "accompagne" in text_of(chat.press("Rien pour l'instant")).lower()
    health = {h["url"]: h for h in pair.services.engine.health()}
    assert health[victim.url]["healthy"] is False and health[victim.url]["failures"] >= 1
    assert sum(h["healthy"] for h in health.values()) == 1
