"""One conversation handled by one worker at a time: per-chat locks.

The embedded default (one app process) keeps asyncio locks in memory. Several app workers
(`server.workers`, or several `maraude serve` behind a proxy) share Redis locks (REDIS_URL):
a lock has a lease that its holder renews while it works, so a worker that dies frees the
chat after `lease` seconds instead of blocking it forever.

The key names a conversation (`telegram:<chat id>`, `simulator:<session>`); in Redis it is
stored as an HMAC of that key, never the chat id itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Protocol

log = logging.getLogger(__name__)

DEFAULT_LEASE = 60.0  # seconds a dead holder keeps a chat locked (renewed while alive)
DEFAULT_WAIT = 120.0  # seconds a blocking `hold` waits before giving up


def chat_key(channel: str, user_key: str) -> str:
    """The lock key of one conversation: `telegram:<chat id>`, `simulator:<session>`."""
    return f"{channel}:{user_key}"


class ChatLockTimeout(Exception):
    """A blocking `hold` waited `wait` seconds without getting the chat."""

    safe_to_log = True


class ChatLocks(Protocol):
    def hold(self, key: str, *, blocking: bool = True) -> Any:
        """Async context manager yielding True while this worker holds `key`.

        blocking=True waits (up to the implementation's wait, then ChatLockTimeout);
        blocking=False yields False at once if another holder has it (the body must then do
        nothing with the chat).
        """

    async def aclose(self) -> None: ...


class MemoryChatLocks:
    """asyncio locks of this process (one app worker)."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}

    @asynccontextmanager
    async def hold(self, key: str, *, blocking: bool = True) -> AsyncIterator[bool]:
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            if not blocking and lock.locked():
                yield False
                return
            async with lock:
                yield True
        finally:
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key]
                del self._locks[key]

    async def aclose(self) -> None:
        self._locks.clear()
        self._users.clear()


class RedisChatLocks:
    """Redis locks shared by every worker (redis-py's Lock: SET NX PX, token-checked release)."""

    def __init__(
        self,
        url: str,
        secret_key: str,
        *,
        lease: float = DEFAULT_LEASE,
        wait: float = DEFAULT_WAIT,
    ) -> None:
        import redis.asyncio as aioredis

        self._redis = aioredis.Redis.from_url(url)
        self._secret = secret_key.encode()
        self.lease = lease
        self.wait = wait

    def _name(self, key: str) -> str:
        digest = hmac.new(self._secret, key.encode(), hashlib.sha256).hexdigest()[:32]
        return f"maraude:chat-lock:{digest}"

    @asynccontextmanager
    async def hold(self, key: str, *, blocking: bool = True) -> AsyncIterator[bool]:
        lock = self._redis.lock(
            self._name(key),
            timeout=self.lease,
            sleep=0.02,
            blocking=blocking,
            blocking_timeout=self.wait if blocking else None,
            thread_local=False,
        )
        acquired = await lock.acquire()
        if not acquired:
            if blocking:
                raise ChatLockTimeout(f"chat lock not obtained within {self.wait:.0f}s")
            yield False
            return
        renew = asyncio.create_task(self._renew(lock), name="chat-lock-renew")
        try:
            yield True
        finally:
            renew.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renew
            try:
                await lock.release()
            except Exception as exc:  # lease lost (a very long turn): another worker may hold it
                log.warning("chat lock released late: %s", type(exc).__name__)

    async def _renew(self, lock: Any) -> None:
        while True:
            await asyncio.sleep(self.lease / 3)
            try:
                await lock.reacquire()
            except Exception as exc:
                log.warning("chat lock lease not renewed: %s", type(exc).__name__)
                return

    async def aclose(self) -> None:
        await self._redis.aclose()


def chat_locks(redis_url: str | None, secret_key: str) -> ChatLocks:
    """Redis locks with REDIS_URL (several workers), else this process's memory."""
    if redis_url:
        return RedisChatLocks(redis_url, secret_key)
    return MemoryChatLocks()
