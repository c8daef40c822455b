"""The stream hub: one process wakes its own streams; with Redis (SharedStreamHub), a push on
one worker wakes the streams of every worker at once, and a Redis failure loses nothing but
speed (the streams still look at the outbox themselves)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from bot.webchat.hub import CHANNEL, SharedStreamHub, StreamHub, stream_hub
from tests.support import free_port, redis_url

REDIS_URL = redis_url()
needs_redis = pytest.mark.skipif(
    REDIS_URL is None, reason="Redis tests need MARAUDE_TEST_REDIS_URL (set by .ci/run)"
)


async def test_one_process_wakes_its_own_streams_of_that_person_only() -> None:
    hub = stream_hub(None)
    assert type(hub) is StreamHub
    with hub.listening(7) as seven, hub.listening(8) as eight:
        assert hub.listeners(7) == 1
        await hub.pushed(7)
        assert seven.is_set() and not eight.is_set()
    assert hub.listeners(7) == 0


@needs_redis
async def test_a_push_on_one_worker_wakes_the_streams_of_another() -> None:
    assert REDIS_URL is not None
    worker_a, worker_b = SharedStreamHub(REDIS_URL), SharedStreamHub(REDIS_URL)
    await worker_a.start()
    try:
        with worker_a.listening(7) as seven, worker_a.listening(8) as eight:
            await asyncio.sleep(0.3)  # subscribed
            await worker_b.pushed(7)
            await asyncio.wait_for(seven.wait(), 2)
            await asyncio.sleep(0.1)
            assert not eight.is_set()
            # Anything else on the channel is ignored.
            await worker_b._redis.publish(CHANNEL, "pas un id")
            await worker_b.pushed(8)
            await asyncio.wait_for(eight.wait(), 2)
    finally:
        await worker_a.aclose()
        await worker_b.aclose()


async def test_without_redis_the_push_still_wakes_this_worker(caplog: Any) -> None:
    caplog.set_level(logging.WARNING)
    hub = SharedStreamHub(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    await hub.start()
    try:
        with hub.listening(7) as seven:
            await hub.pushed(7)  # no exception: the publish failure is logged
            assert seven.is_set()
        assert "not published on Redis" in caplog.text
    finally:
        await asyncio.wait_for(hub.aclose(), 5)  # the listener's retry loop stops at once
