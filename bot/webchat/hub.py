"""Wakes the live streams of this process when something is pushed to a web chat young
person (bot/webchat/sessions.py). Another worker's push is found by the stream's own look at
the outbox every `webchat.stream_poll_seconds`: the hub only makes the same worker instant."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager


class StreamHub:
    def __init__(self) -> None:
        self._waiting: dict[int, set[asyncio.Event]] = {}

    def wake(self, person_id: int) -> None:
        for event in self._waiting.get(person_id, ()):
            event.set()

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
