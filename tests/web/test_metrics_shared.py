"""Several app workers, one set of figures: each worker adds its counts to one Redis hash
(REDIS_URL), so /metrics through any worker gives every worker's totals. Gated on the local
Redis (MARAUDE_TEST_REDIS_URL, set by .ci/run); each test keys its figures with its own secret
key, so tests running side by side on one Redis never mix."""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from core.metrics import METRICS, TURNS, Metrics
from tests.support import ROOT, AppServer, free_port, make_settings, redis_url
from tests.web.test_metrics import parse, value

REDIS_URL = redis_url()
pytestmark = pytest.mark.skipif(
    REDIS_URL is None, reason="Redis tests need MARAUDE_TEST_REDIS_URL (set by .ci/run)"
)
TOKEN = secrets.token_urlsafe(32)

# Another worker: its own process, counting turns, then stopping (its last counts flushed).
WORKER = """
import asyncio, sys
from core.metrics import Metrics

async def main():
    metrics = Metrics()
    metrics.configure(sys.argv[1], sys.argv[2])
    for _ in range(3):
        metrics.turn("telegram", "answered", 0.2)
    metrics.turn("telegram", "held", 0.01)
    metrics.followup_sent("triage_nudge")
    await metrics.aclose()

asyncio.run(main())
"""


def other_worker(secret: str) -> None:
    assert REDIS_URL is not None
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", WORKER, REDIS_URL, secret],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


def turns(
    totals: dict[tuple[str, tuple[tuple[str, str], ...]], float] | None, outcome: str
) -> float:
    assert totals is not None
    key = (TURNS.name, (("channel", "telegram"), ("outcome", outcome)))
    return totals.get(key, 0.0)


async def test_two_worker_processes_add_up_and_deployments_stay_apart() -> None:
    secret = secrets.token_urlsafe(32)
    here, elsewhere = Metrics(), Metrics()
    here.configure(REDIS_URL, secret)
    elsewhere.configure(REDIS_URL, secrets.token_urlsafe(32))  # another deployment
    try:
        here.turn("telegram", "answered", 0.5)  # still pending: counted() adds it first
        await asyncio.to_thread(other_worker, secret)
        totals = await here.counted()
        assert turns(totals, "answered") == 4
        assert turns(totals, "held") == 1
        assert turns(here.local(), "answered") == 1  # this process's own share
        assert turns(await elsewhere.counted(), "answered") == 0
        # A worker started later (a restart) reads the same totals: nothing lost.
        later = Metrics()
        later.configure(REDIS_URL, secret)
        assert await later.counted() == totals
        await later.aclose()
    finally:
        await here._redis.delete(here._key)
        await here.aclose()
        await elsewhere.aclose()


async def test_redis_down_costs_the_figures_never_the_turn() -> None:
    metrics = Metrics()
    metrics.configure(f"redis://127.0.0.1:{free_port()}/0", "k" * 32)  # nothing listens
    metrics.turn("simulator", "answered", 0.1)  # no error for the conversation
    await metrics.flush()  # fails quietly, keeps the counts for later
    assert await metrics.counted() is None  # /metrics says so (maraude_metrics_shared_up 0)
    sim = (TURNS.name, (("channel", "simulator"), ("outcome", "answered")))
    assert metrics.local()[sim] == 1  # this worker's own count is kept
    assert metrics._pending  # still waiting for Redis
    metrics._redis = None  # (aclose would try Redis once more)


def test_metrics_through_the_app_include_the_other_workers(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        redis_url=REDIS_URL,
        maraude_secret_key=secrets.token_urlsafe(32),  # figures of this test only
        rasa_url=f"http://127.0.0.1:{free_port()}",
        nudges={"enabled": False},
        server={"metrics_token": TOKEN},
    )
    other_worker(settings.secret_key)  # same deployment: same secret key
    with AppServer(settings) as app, httpx.Client(base_url=app.url, timeout=30) as http:
        assert METRICS.shared
        response = http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert response.status_code == 200, response.text
        samples = parse(response.text)
        assert value(samples, "maraude_metrics_shared_up") == 1
        assert value(samples, "maraude_turns_total", channel="telegram", outcome="answered") == 3
        assert value(samples, "maraude_turns_total", channel="telegram", outcome="held") == 1
        assert value(samples, "maraude_followups_sent_total", kind="triage_nudge") == 1
        key = METRICS._key
        asyncio.run(_forget(key))
    assert not METRICS.shared  # the app's shutdown: back to this process's memory


async def _forget(key: str) -> None:
    import redis.asyncio as aioredis

    assert REDIS_URL is not None
    client = aioredis.Redis.from_url(REDIS_URL)
    await client.delete(key)
    await client.aclose()
