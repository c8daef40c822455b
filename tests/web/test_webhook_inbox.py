"""The webhook inbox drain (bot/inbox_drain.py): two "workers" (two drains on one database and
one set of chat locks: memory, or Redis with MARAUDE_TEST_REDIS_URL) handle a chat's updates
once, in update_id order, whoever received them; the chat key of an update; the webhook route
answering 200 to a duplicate (the app on the fake Bot API, webhook mode)."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from telegram import Bot, Update

from bot.inbox_drain import InboxDrain
from bot.ordering import update_chat_key
from core.chatlock import ChatLocks, MemoryChatLocks, RedisChatLocks
from core.clock import FixedClock
from core.db import Database
from core.inbox import InboxService
from core.models.delivery import InboundUpdate
from maraude.app import create_app
from tests.fakes.telegram_api import FakeTelegramServer
from tests.support import TEST_TOKEN, make_settings, redis_url

REDIS_URL = redis_url()
KEY = "telegram:4242"


class Recorder:
    """What the workers processed, in order; an update can be made to wait or to fail."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, int]] = []
        self.gates: dict[int, asyncio.Event] = {}
        self.started: dict[int, asyncio.Event] = {}
        self.failing: dict[int, int] = {}  # update_id: failures left

    def gate(self, update_id: int) -> asyncio.Event:
        self.started[update_id] = asyncio.Event()
        self.gates[update_id] = asyncio.Event()
        return self.gates[update_id]

    def worker(self, name: str) -> Any:
        async def process(payload: dict[str, Any]) -> None:
            update_id = int(payload["update_id"])
            if update_id in self.started:
                self.started[update_id].set()
                await self.gates[update_id].wait()
            if self.failing.get(update_id):
                self.failing[update_id] -= 1
                raise RuntimeError("boom")
            self.seen.append((name, update_id))

        return process


class HookedLocks:
    """Shared locks that run `before_release` once, while the holder still holds the chat."""

    def __init__(self, inner: ChatLocks) -> None:
        self.inner = inner
        self.before_release: Any = None

    @asynccontextmanager
    async def hold(self, key: str, *, blocking: bool = True) -> AsyncIterator[bool]:
        async with self.inner.hold(key, blocking=blocking) as held:
            yield held
            hook, self.before_release = self.before_release, None
            if held and hook is not None:
                await hook()

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.fixture(params=["memory", "redis"])
async def locks(request: pytest.FixtureRequest) -> AsyncIterator[ChatLocks]:
    if request.param == "memory":
        shared: ChatLocks = MemoryChatLocks()
    else:
        if REDIS_URL is None:
            pytest.skip("Redis locks need MARAUDE_TEST_REDIS_URL (set by .ci/run)")
        shared = RedisChatLocks(REDIS_URL, secrets.token_hex(16))  # lock names of our own
    yield shared
    await shared.aclose()


def update(update_id: int) -> dict[str, Any]:
    return {"update_id": update_id, "message": {"text": f"message {update_id}"}}


def states(database: Database) -> dict[int, tuple[str, int, str | None]]:
    with database.transaction() as session:
        rows = session.scalars(select(InboundUpdate))
        return {r.update_id: (r.state, r.attempts, r.worker) for r in rows}


async def settle(*drains: InboxDrain) -> None:
    """Until no drain of either worker runs."""
    for drain in drains:
        await drain.idle()


async def test_an_update_received_by_two_workers_is_processed_once(
    database: Database, clock: FixedClock, locks: ChatLocks
) -> None:
    recorder = Recorder()
    inbox = InboxService(database, clock)
    a = InboxDrain(inbox, locks, recorder.worker("a"), "a")
    b = InboxDrain(inbox, locks, recorder.worker("b"), "b")
    first, again = await asyncio.gather(a.receive(1, KEY, update(1)), b.receive(1, KEY, update(1)))
    assert sorted([first, again]) == [False, True]
    await settle(a, b)
    assert [u for _, u in recorder.seen] == [1]
    assert states(database)[1][:2] == ("done", 1)


async def test_an_update_stored_while_another_worker_holds_the_chat_is_drained_by_it_in_order(
    database: Database, clock: FixedClock, locks: ChatLocks
) -> None:
    recorder = Recorder()
    inbox = InboxService(database, clock)
    a = InboxDrain(inbox, locks, recorder.worker("a"), "a")
    b = InboxDrain(inbox, locks, recorder.worker("b"), "b", retry_delays=())  # no look-again
    slow = recorder.gate(1)  # update 1 waits on its engine answer
    assert await a.receive(1, KEY, update(1))
    await recorder.started[1].wait()
    assert await b.receive(2, KEY, update(2))  # B: the chat is A's, B leaves it to A
    assert await b.drain(KEY) == 0
    slow.set()
    await settle(a, b)
    assert recorder.seen == [("a", 1), ("a", 2)]
    assert {u: s[0] for u, s in states(database).items()} == {1: "done", 2: "done"}


async def test_an_update_stored_while_the_holder_releases_is_not_left_behind(
    database: Database, clock: FixedClock, locks: ChatLocks
) -> None:
    recorder = Recorder()
    inbox = InboxService(database, clock)
    hooked = HookedLocks(locks)
    a = InboxDrain(inbox, hooked, recorder.worker("a"), "a")
    b = InboxDrain(inbox, hooked, recorder.worker("b"), "b", retry_delays=())

    async def arrives_on_b() -> None:
        # A has read the chat (nothing more pending) and not released it yet: B stores the
        # next update and finds the chat held.
        assert await asyncio.to_thread(inbox.receive, "telegram", 2, KEY, update(2))
        assert await b.drain(KEY) == 0

    hooked.before_release = arrives_on_b
    assert await asyncio.to_thread(inbox.receive, "telegram", 1, KEY, update(1))
    assert await a.drain(KEY) == 2  # A looked again after releasing
    assert recorder.seen == [("a", 1), ("a", 2)]
    await settle(a, b)


async def test_a_chat_held_by_something_else_than_a_drain_is_looked_at_again(
    database: Database, clock: FixedClock, locks: ChatLocks
) -> None:
    """The replay of held messages holds the chat (bot/replay.py) and does not look at the
    inbox when it releases it: the worker that found the chat held looks again itself."""
    recorder = Recorder()
    inbox = InboxService(database, clock)
    a = InboxDrain(inbox, locks, recorder.worker("a"), "a")
    async with locks.hold(KEY, blocking=False) as replaying:
        assert replaying
        assert await a.receive(1, KEY, update(1))
        for _ in range(500):  # until the drain has found the chat held
            if KEY in a._retrying:
                break
            await asyncio.sleep(0.01)
        assert KEY in a._retrying and recorder.seen == []
    await a.idle()  # the drain looks again (after half a second), gets the chat
    assert recorder.seen == [("a", 1)]


async def test_a_failing_update_is_retried_then_given_up_and_the_chat_goes_on(
    database: Database, clock: FixedClock
) -> None:
    recorder = Recorder()
    recorder.failing = {1: 5}  # never succeeds
    recorder.failing[2] = 1  # fails once, then works
    inbox = InboxService(database, clock)
    a = InboxDrain(inbox, MemoryChatLocks(), recorder.worker("a"), "a")
    for update_id in (1, 2, 3):
        await asyncio.to_thread(inbox.receive, "telegram", update_id, KEY, update(update_id))
    assert await a.drain(KEY) == 2
    assert recorder.seen == [("a", 2), ("a", 3)]
    assert states(database) == {1: ("failed", 3, "a"), 2: ("done", 2, "a"), 3: ("done", 1, "a")}


async def test_the_job_drains_chats_whose_updates_waited_and_leaves_recent_ones(
    database: Database, clock: FixedClock
) -> None:
    recorder = Recorder()
    inbox = InboxService(database, clock)
    await asyncio.to_thread(inbox.receive, "telegram", 1, KEY, update(1))  # its worker died
    clock.advance(seconds=40)
    await asyncio.to_thread(inbox.receive, "telegram", 2, "telegram:77", update(2))  # in flight
    survivor = InboxDrain(inbox, MemoryChatLocks(), recorder.worker("b"), "b")
    survivor._swept = True  # not its first sweep (see below)
    assert await survivor.drain_stale() == 1
    assert recorder.seen == [("b", 1)]
    assert states(database)[2][0] == "pending"


async def test_the_first_sweep_of_a_worker_takes_every_pending_chat(
    database: Database, clock: FixedClock
) -> None:
    """A worker restarted: what it (or another stopped worker) left is handled at once."""
    recorder = Recorder()
    inbox = InboxService(database, clock)
    await asyncio.to_thread(inbox.receive, "telegram", 1, KEY, update(1))
    restarted = InboxDrain(inbox, MemoryChatLocks(), recorder.worker("a"), "a")
    assert await restarted.drain_stale() == 1
    await asyncio.to_thread(inbox.receive, "telegram", 2, KEY, update(2))
    assert await restarted.drain_stale() == 0  # later sweeps: only what waited 30 s
    assert recorder.seen == [("a", 1)]


async def test_stop_lets_the_update_in_progress_finish_and_takes_no_new_one(
    database: Database, clock: FixedClock
) -> None:
    recorder = Recorder()
    inbox = InboxService(database, clock)
    a = InboxDrain(inbox, MemoryChatLocks(), recorder.worker("a"), "a")
    slow = recorder.gate(1)
    await a.receive(1, KEY, update(1))
    await recorder.started[1].wait()
    await asyncio.to_thread(inbox.receive, "telegram", 2, KEY, update(2))
    stopping = asyncio.create_task(a.stop())
    await asyncio.sleep(0)
    slow.set()
    await stopping
    assert recorder.seen == [("a", 1)]
    assert {u: s[0] for u, s in states(database).items()} == {1: "done", 2: "pending"}
    assert await a.receive(3, KEY, update(3)) is True  # stored; drained by another worker
    assert recorder.seen == [("a", 1)]


def test_the_chat_key_of_an_update() -> None:
    bot = Bot(TEST_TOKEN)
    user = {"id": 5551, "is_bot": False, "first_name": "Lea"}
    private = {"id": 5551, "type": "private", "first_name": "Lea"}
    group = {"id": -1009999, "type": "supergroup", "title": "Conseil", "is_forum": True}

    def key(data: dict[str, Any]) -> str:
        return update_chat_key(Update.de_json({"update_id": 1, **data}, bot))

    message = {"message_id": 3, "date": 0, "from": user, "text": "x"}
    assert key({"message": {**message, "chat": private}}) == "telegram:5551"
    in_topic = {**message, "chat": group, "message_thread_id": 12, "is_topic_message": True}
    assert key({"message": in_topic}) == "telegram:-1009999:12"
    assert key({"message": {**message, "chat": group}}) == "telegram:-1009999"  # general topic
    bot_message = {"message_id": 4, "date": 0, "chat": private, "text": "?"}
    query = {"id": "q", "from": user, "chat_instance": "c", "data": "d", "message": bot_message}
    assert key({"callback_query": query}) == "telegram:5551"
    topic_query = {**query, "message": {**bot_message, "chat": group, "message_thread_id": 12}}
    topic_query["message"]["is_topic_message"] = True
    assert key({"callback_query": topic_query}) == "telegram:-1009999:12"
    inline = {"id": "i", "from": user, "query": "x", "offset": ""}
    assert key({"inline_query": inline}) == "telegram:-"  # no chat: one key for all


def test_the_webhook_answers_200_to_a_duplicate_and_stores_it_once(tmp_path: Path) -> None:
    with FakeTelegramServer() as tg:
        settings = make_settings(
            tmp_path,
            telegram_bot_token=TEST_TOKEN,
            telegram_api_base_url=tg.url,
            telegram_webhook_url="http://127.0.0.1:9/telegram/hook",
            rasa_url="http://127.0.0.1:9",  # no engine: the message is held, still answered
        )
        with TestClient(create_app(settings)) as client:
            services = client.app.state.services  # type: ignore[attr-defined]
            secret = {"X-Telegram-Bot-Api-Secret-Token": services.telegram.secret_token}
            body = {
                "update_id": 901,
                "message": {
                    "message_id": 1,
                    "date": 0,
                    "from": {"id": 5552, "is_bot": False, "first_name": "Lea"},
                    "chat": {"id": 5552, "type": "private", "first_name": "Lea"},
                    "text": "/start",
                },
            }
            for _ in range(3):
                answer = client.post("/telegram/hook", json=body, headers=secret)
                assert (answer.status_code, answer.json()) == (200, {"ok": True})
            assert client.post("/telegram/hook", json=body).status_code == 403
            assert client.post("/telegram/hook", json={"x": 1}, headers=secret).status_code == 400
            tg.wait_for_messages(5552, 1, timeout=30)  # answered once the drain ran
            with services.db.transaction() as session:
                rows = list(session.scalars(select(InboundUpdate)))
        assert [(r.source, r.update_id, r.chat_key) for r in rows] == [
            (f"tg:{TEST_TOKEN.split(':')[0]}", 901, "telegram:5552")  # the bot's own ids
        ]
