"""Webhook updates handled once, in order per chat, by whichever app worker holds the chat.

The webhook route stores an update in the inbox (core/inbox.py) and answers Telegram at once;
`InboxDrain.kick` then starts a background drain of that chat: it takes the chat's lock
without waiting (core/chatlock.py, shared by every worker through Redis) and, if it got it,
processes the chat's pending updates in `update_id` order, marking each one done. If another
worker (or another drain of this one) holds the chat, that holder drains it: after releasing
the lock it looks again for pending updates (one stored while it was releasing) and takes the
lock again, so nothing is left behind. A worker that dies leaves its rows pending; the inbox
job (maraude/jobs.py) drains the chats whose updates waited too long (`drain_stale`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from core.chatlock import ChatLocks
from core.inbox import InboxService

log = logging.getLogger(__name__)

Process = Callable[[dict[str, Any]], Awaitable[None]]
STALE_AFTER = timedelta(seconds=30)  # a pending update older than this lost its worker
STOP_GRACE = 20.0  # seconds the drains in progress get to finish at shutdown
# A chat found held is looked at again after these delays (seconds) while it has pending
# updates: its holder may not be a drain that looks again after releasing (the replay of held
# messages, bot/replay.py). Then the job's sweep takes over.
RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0)


class InboxDrain:
    def __init__(
        self,
        inbox: InboxService,
        locks: ChatLocks,
        process: Process,
        worker: str,
        *,
        source: str = "telegram",
        retry_delays: tuple[float, ...] = RETRY_DELAYS,
    ) -> None:
        self.inbox = inbox
        self.locks = locks
        self.process = process
        self.worker = worker
        self.source = source
        self._tasks: set[asyncio.Task[int]] = set()
        self._stopping = False
        self._swept = False  # the first sweep of this worker takes every pending chat
        self.retry_delays = retry_delays
        self._retrying: set[str] = set()  # chats this worker will look at again
        self._stop_event = asyncio.Event()

    async def receive(self, update_id: int, chat_key: str, payload: dict[str, Any]) -> bool:
        """Store the update and start draining its chat; False for a duplicate (ignored)."""
        stored = await asyncio.to_thread(
            self.inbox.receive, self.source, update_id, chat_key, payload
        )
        if stored:
            self.kick(chat_key)
        return stored

    def kick(self, chat_key: str) -> None:
        """Drain the chat in the background (a tracked task, awaited by `stop`)."""
        if self._stopping:
            return  # left pending: another worker's job, or ours at the next start, drains it
        self._track(asyncio.create_task(self.drain(chat_key), name="inbox-drain"))

    def _track(self, task: asyncio.Task[int]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[int]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("inbox drain failed", exc_info=task.exception())

    async def drain(self, chat_key: str, *, retry: int = 0) -> int:
        """Process the chat's pending updates if no one else does; the number processed."""
        processed = 0
        while True:
            async with self.locks.hold(chat_key, blocking=False) as held:
                if not held:
                    # Its holder drains it (a drain looks again after release); in case the
                    # holder is something else, look again a little later.
                    self._look_later(chat_key, retry)
                    return processed
                processed += await self._drain_held(chat_key)
            # Released: an update stored while we were releasing found the lock held and
            # left it to us. Look again; if there is one, take the lock again.
            if self._stopping or not await asyncio.to_thread(self.inbox.has_pending, chat_key):
                return processed

    def _look_later(self, chat_key: str, retry: int) -> None:
        if self._stopping or retry >= len(self.retry_delays) or chat_key in self._retrying:
            return
        self._retrying.add(chat_key)
        self._track(asyncio.create_task(self._retry(chat_key, retry), name="inbox-drain-retry"))

    async def _retry(self, chat_key: str, retry: int) -> int:
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop_event.wait(), self.retry_delays[retry])
        finally:
            self._retrying.discard(chat_key)
        if self._stopping or not await asyncio.to_thread(self.inbox.has_pending, chat_key):
            return 0
        return await self.drain(chat_key, retry=retry + 1)

    async def _drain_held(self, chat_key: str) -> int:
        processed = 0
        while not self._stopping:
            pending = await asyncio.to_thread(self.inbox.pending, chat_key)
            if not pending:
                break
            for row in pending:
                if self._stopping:
                    break
                if not await asyncio.to_thread(self.inbox.start, row.id, self.worker):
                    continue  # attempts used up: marked failed
                try:
                    await self.process(row.payload)
                except Exception as exc:
                    # The type only: the message may quote the young person's words.
                    log.error("inbound update %s not processed: %s", row.id, type(exc).__name__)
                    await asyncio.to_thread(self.inbox.failed, row.id, self.worker)
                    break  # read the chat again: retried in order, or skipped once failed
                await asyncio.to_thread(self.inbox.done, row.id, self.worker)
                processed += 1
        return processed

    async def drain_stale(self, older_than: timedelta = STALE_AFTER) -> int:
        """Drain the chats whose updates waited `older_than` (a worker died): the job's part.

        The first sweep of a worker (at its start) takes every pending chat, however recent:
        what a worker stopped for a restart left. Always safe: a chat another worker holds is
        left to it, and whoever holds a chat handles its updates in order.
        """
        if not self._swept:
            self._swept, older_than = True, timedelta(0)
        keys = await asyncio.to_thread(self.inbox.stale_chats, older_than)
        processed = 0
        for key in keys:
            if self._stopping:
                break
            processed += await self.drain(key)
        if processed:
            log.info("inbox: %s stale update(s) processed", processed)
        return processed

    async def idle(self) -> None:
        """Wait until no drain of this worker runs (tests, a graceful hand-over)."""
        while self._tasks:
            await asyncio.wait(list(self._tasks))

    async def stop(self, grace: float = STOP_GRACE) -> None:
        """No new drain; let those in progress finish the update they handle."""
        self._stopping = True
        self._stop_event.set()  # the drains waiting to look again give up at once
        tasks = list(self._tasks)
        if not tasks:
            return
        _, late = await asyncio.wait(tasks, timeout=grace)
        for task in late:
            task.cancel()
        if late:
            await asyncio.wait(late)
            log.warning("inbox: %s drain(s) stopped before the end: left pending", len(late))
