"""Per-chat ordering with concurrency across chats."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from telegram import Chat, Message, Update

from bot.ordering import PerChatUpdateProcessor
from core.chatlock import MemoryChatLocks, chat_key


def update(update_id: int, chat_id: int) -> Update:
    chat = Chat(chat_id, "private")
    return Update(update_id, message=Message(update_id, datetime.now(UTC), chat, text="x"))


async def test_one_chat_in_order_chats_concurrently() -> None:
    processor = PerChatUpdateProcessor(max_concurrent_updates=8)
    log: list[tuple[str, int]] = []
    b_done = asyncio.Event()

    async def handle(chat: str, n: int, delay: float) -> None:
        log.append((f"{chat}-start", n))
        await asyncio.sleep(delay)
        log.append((f"{chat}-end", n))
        if chat == "B":
            b_done.set()

    tasks = [
        asyncio.create_task(processor.process_update(update(1, 10), handle("A", 1, 0.2))),
        asyncio.create_task(processor.process_update(update(2, 10), handle("A", 2, 0.0))),
        asyncio.create_task(processor.process_update(update(3, 20), handle("B", 1, 0.0))),
        asyncio.create_task(processor.process_update(update(4, 10), handle("A", 3, 0.0))),
    ]
    await asyncio.wait_for(asyncio.gather(*tasks), 5)
    a_events = [n for kind, n in log if kind.startswith("A-end")]
    assert a_events == [1, 2, 3]  # the quick second message did not overtake the slow first
    # B was not held behind A's slow first message.
    assert log.index(("B-end", 1)) < log.index(("A-end", 1))
    assert processor._locks == {}  # no lock left behind


async def test_an_update_waits_while_something_else_holds_its_chat() -> None:
    """The shared chat lock (services.chat_locks): a replay of held messages holding the chat
    keeps a live message of that chat waiting, not the others."""
    locks = MemoryChatLocks()
    processor = PerChatUpdateProcessor(locks, max_concurrent_updates=8)
    done: list[int] = []

    async def handle(chat: int) -> None:
        done.append(chat)

    async with locks.hold(chat_key("telegram", "10")):  # the replay's turn
        live = asyncio.create_task(processor.process_update(update(1, 10), handle(10)))
        other = asyncio.create_task(processor.process_update(update(2, 20), handle(20)))
        await asyncio.wait_for(other, 5)
        await asyncio.sleep(0)
        assert done == [20] and not live.done()
    await asyncio.wait_for(live, 5)
    assert done == [20, 10]
    assert processor._locks == {}
