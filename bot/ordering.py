"""Concurrency across chats, order within a chat.

python-telegram-bot processes updates one at a time by default: with many young people
writing at once, each waits for everybody else's engine round trip. Fully concurrent
processing would let two quick messages of one person overtake each other. This processor
runs different chats concurrently and keeps each chat's updates in arrival order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor


def chat_key(update: object) -> int | None:
    if isinstance(update, Update) and update.effective_chat is not None:
        return update.effective_chat.id
    return None


class PerChatUpdateProcessor(BaseUpdateProcessor):
    def __init__(self, max_concurrent_updates: int = 64) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int | None, asyncio.Lock] = {}
        self._users: dict[int | None, int] = {}

    async def process_update(  # type: ignore[misc]  # @final in PTB; see the comment below
        self, update: object, coroutine: Awaitable[Any]
    ) -> None:
        # The chat's lock is taken before a concurrency slot, so one chat flooding the bot
        # holds a single slot and never starves the others. asyncio.Lock is FIFO: updates
        # of a chat run in the order PTB created their tasks, i.e. arrival order.
        key = chat_key(update)
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
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
        """Nothing to tear down."""
