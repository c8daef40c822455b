"""Wakes the live streams when something is pushed to a web chat young person
(bot/webchat/sessions.py).

`StreamHub` (one app process): a push wakes this process's streams at once; another worker's
push is found by the stream's own look at the outbox every `webchat.stream_poll_seconds`.
`SharedStreamHub` (REDIS_URL, several workers): a push is also published on Redis, and every
worker wakes its own streams of that person, so an answer sent through any worker shows at
once everywhere. Only the person's internal id crosses Redis, never a text or a token. When
Redis fails, the local wake and the streams' own look still deliver (a warning is logged).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

log = logging.getLogger(__name__)

CHANNEL = "maraude:webchat:pushed"  # the Redis publish/subscribe channel
RECONNECT = 5.0  # seconds before the listener subscribes again after a Redis failure


class StreamHub:
    def __init__(self) -> None:
        self._waiting: dict[int, set[asyncio.Event]] = {}

    def wake(self, person_id: int) -> None:
        """Wake this process's streams of the person."""
        for event in self._waiting.get(person_id, ()):
            event.set()

    async def pushed(self, person_id: int) -> None:
        """Something was stored for the person: wake every stream that can show it."""
        self.wake(person_id)

    async def start(self) -> None:
        """Begin listening to the other workers (nothing to do for one process)."""

    async def aclose(self) -> None:
        """Stop listening."""

    @contextmanager
    def listening(self, person_id: int) -> Iterator[asyncio.Event]:
        """An event set by every push to the person while the block runs. A stream clears it
        before it reads the outbox and waits on it after: a push landing between the two is
        not lost."""
        event = asyncio.Event()
        self._waiting.setdefault(person_id, set()).add(event)
        try:
            yield event
        finally:
            self._forget(person_id, event)

    def _forget(self, person_id: int, event: asyncio.Event) -> None:
        waiting = self._waiting.get(person_id)
        if waiting is not None:
            waiting.discard(event)
            if not waiting:
                del self._waiting[person_id]

    def listeners(self, person_id: int) -> int:
        """How many streams of this process are open for the person."""
        return len(self._waiting.get(person_id, ()))


class SharedStreamHub(StreamHub):
    """Several workers: pushes are published on Redis and each worker wakes its streams."""

    def __init__(self, url: str) -> None:
        super().__init__()
        import redis.asyncio as aioredis

        self._redis: Any = aioredis.Redis.from_url(url)
        self._listener: asyncio.Task[None] | None = None

    async def pushed(self, person_id: int) -> None:
        self.wake(person_id)  # this worker's streams, whatever Redis does
        try:
            await self._redis.publish(CHANNEL, str(person_id))
        except Exception as exc:  # the other workers' streams still look every few seconds
            log.warning("web chat push not published on Redis: %s", type(exc).__name__)

    async def start(self) -> None:
        if self._listener is None:
            self._listener = asyncio.create_task(self._listen(), name="webchat-hub")

    async def aclose(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        await self._redis.aclose()

    async def _listen(self) -> None:
        while True:
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.subscribe(CHANNEL)
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            self._wake_from(message.get("data"))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning(
                    "web chat hub: Redis listener failed (%s), again in %ss",
                    type(exc).__name__,
                    RECONNECT,
                )
                await asyncio.sleep(RECONNECT)

    def _wake_from(self, data: Any) -> None:
        try:
            person_id = int(data)
        except (TypeError, ValueError):
            return  # not one of ours
        self.wake(person_id)


def stream_hub(redis_url: str | None) -> StreamHub:
    """The hub for this deployment: shared through Redis when REDIS_URL is set."""
    return SharedStreamHub(redis_url) if redis_url else StreamHub()
