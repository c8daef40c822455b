"""Held messages replayed by several workers at once (bot/replay.py): each message answered
once, in order. Two app workers = two sets of real services on one PostgreSQL database, each
with its Telegram channel on the same fake Bot API, sharing Redis chat locks (the deployment)
or, worse, each with its own in-memory locks (the claims of bot/held.py alone must hold).
The engine answers slowly, so that the two replays overlap. Without a shared lock (a setup the
settings refuse: several workers need REDIS_URL) each answer still goes out once, but the
order across the two workers is no longer guaranteed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import AsyncExitStack
from pathlib import Path

import pytest

from bot.texts import AppTexts
from core.chatlock import chat_key
from core.clock import FixedClock
from core.models import Channel
from maraude.jobs import replay_held
from tests.fakes.telegram_api import FakeTelegramServer
from tests.support import TEST_TOKEN, redis_url
from tests.support.echo_engine import EchoEngine, answer, down_client
from tests.support.world import World

TEXTS = AppTexts.load()
REDIS_URL = redis_url()
CHATS = (5551001, 5551002, 5551003)
WORDS = ("un", "deux", "trois", "quatre")


def redis_db(url: str, number: int = 11) -> str:
    """This module's own Redis database (other tests use the same server at the same time)."""
    return url.rsplit("/", 1)[0] + f"/{number}"


@pytest.fixture
def slow_echo() -> Iterator[EchoEngine]:
    with EchoEngine(delay=0.15) as engine:
        yield engine


async def worker(
    stack: AsyncExitStack,
    folder: Path,
    clock: FixedClock,
    tg: FakeTelegramServer,
    **settings: object,
) -> World:
    world = World(
        folder,
        clock,
        telegram_bot_token=TEST_TOKEN,
        telegram_api_base_url=tg.url,
        **settings,
    )
    telegram = world.services.telegram
    assert telegram is not None
    await telegram.application.bot.initialize()
    stack.push_async_callback(world.close)
    stack.push_async_callback(world.services.chat_locks.aclose)
    stack.push_async_callback(telegram.application.bot.shutdown)
    return world


@pytest.mark.parametrize("locks", ["redis", "memory"])
async def test_two_workers_replaying_at_once_answer_each_message_once_in_order(
    locks: str,
    tmp_path: Path,
    clock: FixedClock,
    pg_url: str,
    fake_telegram: FakeTelegramServer,
    slow_echo: EchoEngine,
) -> None:
    settings: dict[str, object] = {"database_url": pg_url}
    if locks == "redis":
        if not REDIS_URL:
            pytest.skip("shared chat locks need MARAUDE_TEST_REDIS_URL (set by .ci/run)")
        settings["redis_url"] = redis_db(REDIS_URL)
    async with AsyncExitStack() as stack:
        first = await worker(stack, tmp_path / "w1", clock, fake_telegram, **settings)
        second = await worker(stack, tmp_path / "w2", clock, fake_telegram, **settings)
        down = down_client()
        stack.push_async_callback(down.aclose)
        first.services.pipeline.engine = down
        pseudos = {}
        for chat in CHATS:  # messages of three young people held by the first worker
            _, pseudos[chat] = first.person(str(chat), consent=True)
            for word in WORDS:
                replies = await first.services.pipeline.handle_text(
                    Channel.telegram, str(chat), f"{word} {chat}"
                )
                assert [r.text for r in replies] == [TEXTS.engine_down]

        for world in (first, second):
            world.services.pipeline.engine = slow_echo.client()
            stack.push_async_callback(world.services.pipeline.engine.aclose)
        await asyncio.gather(replay_held(first.services), replay_held(second.services))
        await asyncio.gather(replay_held(first.services), replay_held(second.services))

        for chat in CHATS:
            expected = [answer(f"{word} {chat}") for word in WORDS]
            sent = [m["text"] for m in fake_telegram.sent_messages(chat)]
            if locks == "redis":  # the deployment: once each, in order, one lead-in
                assert sent == [TEXTS.replay_lead_in, *expected], chat
                assert slow_echo.messages(pseudos[chat]) == [f"{w} {chat}" for w in WORDS]
            else:  # no shared lock (refused by the settings): still never answered twice
                answers = [text for text in sent if text != TEXTS.replay_lead_in]
                assert sorted(answers) == sorted(expected), chat
        held = first.services.pipeline.held
        assert held is not None and held.count() == 0


async def test_a_chat_busy_with_a_live_message_is_left_to_it(
    tmp_path: Path, clock: FixedClock, fake_telegram: FakeTelegramServer, slow_echo: EchoEngine
) -> None:
    async with AsyncExitStack() as stack:
        world = await worker(stack, tmp_path, clock, fake_telegram)
        services = world.services
        chat = CHATS[0]
        world.person(str(chat), consent=True)
        services.pipeline.engine = down_client()
        await services.pipeline.handle_text(Channel.telegram, str(chat), "salut")
        await services.pipeline.engine.aclose()
        services.pipeline.engine = slow_echo.client()
        stack.push_async_callback(services.pipeline.engine.aclose)
        async with services.chat_locks.hold(chat_key(str(Channel.telegram), str(chat))):
            await replay_held(services)  # a live message of this chat is in hand: skipped
            assert fake_telegram.sent_messages(chat) == [] and slow_echo.received == []
        await replay_held(services)
        sent = [m["text"] for m in fake_telegram.sent_messages(chat)]
        assert sent == [TEXTS.replay_lead_in, answer("salut")]
