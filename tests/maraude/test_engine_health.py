"""/health as a supervisor or load balancer reads it: the database, Redis and the engines;
HTTP 503 when the database is down or no engine is healthy (a Redis outage is reported, the
app still answers crisis messages without it). The engine is a small real HTTP stand-in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from core.db import Database
from tests.support import AppServer, free_port, make_settings, redis_url
from tests.support.echo_engine import EchoEngine

REDIS_URL = redis_url()


@pytest.fixture
def echo() -> Iterator[EchoEngine]:
    with EchoEngine() as engine:
        yield engine


def test_health_with_everything_up_then_the_database_down(echo: EchoEngine, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, rasa_url=echo.url)
    with AppServer(settings) as app:
        answer = httpx.get(f"{app.url}/health", timeout=30)
        assert answer.status_code == 200
        body = answer.json()
        assert body["app"] == "ok" and body["engine"] == "ok" and body["telegram"] == "off"
        assert body["database"] == "ok" and body["redis"] == "off"
        [engine] = body["engines"]
        assert engine["url"] == echo.url and engine["healthy"] and engine["failures"] == 0
        assert "process" not in engine  # not started by `maraude up` here

        services = app.services
        alive = services.db
        services.db = Database.from_url(f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/x")
        try:
            answer = httpx.get(f"{app.url}/health", timeout=30)
        finally:
            services.db.dispose()
            services.db = alive
        assert answer.status_code == 503
        assert answer.json()["database"] == "unavailable" and answer.json()["engine"] == "ok"


def test_health_pings_redis(echo: EchoEngine, tmp_path: Path) -> None:
    down = f"redis://127.0.0.1:{free_port()}/0"
    settings = make_settings(tmp_path / "down", rasa_url=echo.url, redis_url=down)
    with AppServer(settings) as app:
        answer = httpx.get(f"{app.url}/health", timeout=30)
        assert answer.json()["redis"] == "unavailable"
        assert answer.status_code == 200  # reported; the database and an engine answer
    if REDIS_URL is None:
        pytest.skip("the Redis that answers needs MARAUDE_TEST_REDIS_URL (set by .ci/run)")
    up = urlunsplit(urlsplit(REDIS_URL)._replace(path="/7"))
    settings = make_settings(tmp_path / "up", rasa_url=echo.url, redis_url=up)
    with AppServer(settings) as app:
        assert httpx.get(f"{app.url}/health", timeout=30).json()["redis"] == "ok"
