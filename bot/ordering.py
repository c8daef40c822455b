"""Concurrency across chats, order within a chat.

python-telegram-bot processes updates one at a time by default: with many young people
writing at once, each waits for everybody else's engine round trip. Fully concurrent
processing would let two quick messages of one person overtake each other. This processor
(polling mode) runs different chats concurrently and keeps each chat's updates in arrival
order; it also holds the chat's shared lock (core/chatlock.py, `services.chat_locks`) while
an update runs, so that nothing else of this app (the replay of held messages, webhook
drains of another worker) handles the same chat at the same time.

`update_chat_key` names the conversation an update belongs to, for both modes: a private
chat is `telegram:<chat id>` (the key the rest of the app locks), a message or button of a
group's forum topic is `telegram:<group id>:<topic id>`, so one busy counsellors' group is
not handled one update at a time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

from core.chatlock import ChatLocks, ChatLockTimeout, MemoryChatLocks, chat_key

log = logging.getLogger(__name__)

CHANNEL = "telegram"
NO_CHAT = chat_key(CHANNEL, "-")  # updates without a chat (rare: polls, inline queries)


def update_chat_key(update: object) -> str:
    """The conversation of an update: its private chat, or a group's chat and forum topic."""
    if not isinstance(update, Update) or update.effective_chat is None:
        return NO_CHAT
    chat = update.effective_chat
    if chat.type == chat.PRIVATE:
        return chat_key(CHANNEL, str(chat.id))
    message = update.effective_message  # a callback query's message too
    if message is not None and message.is_topic_message and message.message_thread_id:
        return chat_key(CHANNEL, f"{chat.id}:{message.message_thread_id}")
    return chat_key(CHANNEL, str(chat.id))


class PerChatUpdateProcessor(BaseUpdateProcessor):
    def __init__(self, locks: ChatLocks | None = None, max_concurrent_updates: int = 64) -> None:
        super().__init__(max_concurrent_updates)
        self.locks: ChatLocks = locks if locks is not None else MemoryChatLocks()
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}

    async def process_update(  # type: ignore[misc]  # @final in PTB; see the comment below
        self, update: object, coroutine: Awaitable[Any]
    ) -> None:
        # The chat's lock is taken before a concurrency slot, so one chat flooding the bot
        # holds a single slot and never starves the others. The local asyncio.Lock is FIFO:
        # updates of a chat run in the order PTB created their tasks, i.e. arrival order (a
        # Redis lock polls, it keeps no queue); the shared lock then keeps out anything else
        # handling the chat (a replay of held messages).
        key = update_chat_key(update)
        order = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with order:
                started = False
                try:
                    async with self.locks.hold(key):
                        started = True
                        await super().process_update(update, coroutine)
                except ChatLockTimeout:
                    if started:
                        raise
                    # Held elsewhere for minutes: answer anyway rather than drop the update.
                    log.warning("chat lock not obtained: update processed without it")
                    await super().process_update(update, coroutine)
        finally:
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key]
                del self._locks[key]

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        await coroutine

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down (the locks belong to the services)."""
