"""The engines' shared stores, as Rasa itself reads them: the lock store from REDIS_URL (Rasa's
RedisLockStore in the generated endpoints file, the in-memory one without), the ticket
lifetime, and Rasa's advised index on its tracker `events` table, created by the app."""

from __future__ import annotations

import secrets
import subprocess
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from sqlalchemy import create_engine, inspect

from maraude.engine_process import engine_env
from maraude.engine_stores import (
    TRACKER_INDEX,
    endpoints_path,
    ensure_tracker_index,
    lock_store_section,
)
from tests.support import ROOT, make_settings, redis_url

RASA_PYTHON = ROOT / ".venv-rasa" / "bin" / "python"
REDIS_URL = redis_url()
needs_rasa = pytest.mark.skipif(
    not RASA_PYTHON.exists(), reason="the engine env (.venv-rasa) is not installed"
)


def redis_db(url: str, db: int) -> str:
    """The same Redis server, another database (tests of other areas use theirs)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{db}"))


def rasa(script: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        [str(RASA_PYTHON), "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_without_redis_the_engine_runs_on_the_projects_endpoints(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    assert endpoints_path(settings) == ROOT / "endpoints.yml"
    assert "lock_store" not in (ROOT / "endpoints.yml").read_text().replace("# Lock store", "")
    assert engine_env(settings, "http://x")["TICKET_LOCK_LIFETIME"] == "10"


def test_the_lock_store_section_says_what_rasa_needs() -> None:
    section = lock_store_section("rediss://user:p%40ss@cache.internal:6380/3")
    assert section.splitlines() == [
        "lock_store:",
        "  type: redis",
        "  url: cache.internal",
        "  port: 6380",
        "  db: 3",
        "  key_prefix: maraude",
        "  username: user",
        "  password: ${RASA_LOCK_STORE_PASSWORD}",  # never written into the file
        "  use_ssl: true",
    ]
    assert lock_store_section("redis://localhost").splitlines()[2:5] == [
        "  url: localhost",
        "  port: 6379",
        "  db: 0",
    ]


def test_the_password_reaches_the_engine_by_its_environment(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, redis_url="redis://:s%40cret@127.0.0.1:6379/2")
    path = endpoints_path(settings)
    assert path == settings.var_dir / "endpoints-engine.yml"
    assert "s@cret" not in path.read_text() and "s%40cret" not in path.read_text()
    assert engine_env(settings, "http://x")["RASA_LOCK_STORE_PASSWORD"] == "s@cret"


@needs_rasa
@pytest.mark.skipif(REDIS_URL is None, reason="needs MARAUDE_TEST_REDIS_URL (set by .ci/run)")
def test_rasa_locks_conversations_in_redis_with_a_short_ticket_lifetime(tmp_path: Path) -> None:
    import redis

    assert REDIS_URL is not None
    url = redis_db(REDIS_URL, 7)
    settings = make_settings(tmp_path, redis_url=url)
    env = engine_env(settings, "http://127.0.0.1:5055/webhook")
    conversation = f"stores-{secrets.token_hex(4)}"
    script = (
        "import asyncio\n"
        "from rasa.core.utils import read_endpoints_from_path\n"
        "from rasa.core.lock_store import LockStore, LOCK_LIFETIME\n"
        f"store = LockStore.create(read_endpoints_from_path({str(endpoints_path(settings))!r})"
        ".lock_store)\n"
        "async def hold():\n"
        f"    async with store.lock({conversation!r}):\n"
        f"        print(store.red.exists(store.key_prefix + {conversation!r}))\n"
        "asyncio.run(hold())\n"
        "print(type(store).__name__, LOCK_LIFETIME, store.key_prefix)\n"
    )
    held, kind = rasa(script, env).splitlines()
    assert held == "1"  # the ticket was in Redis while the turn held it
    assert kind.split() == ["RedisLockStore", "10", "maraude:lock:"]
    client = redis.Redis.from_url(url)
    try:
        assert not client.exists(f"maraude:lock:{conversation}")  # released after the turn
    finally:
        client.close()


@needs_rasa
def test_the_app_adds_rasas_index_once_the_engine_made_its_table(
    db_url: str, tmp_path: Path
) -> None:
    tracker_url = db_url if "postgres" in db_url else f"sqlite:///{tmp_path / 'rasa.db'}"
    assert ensure_tracker_index(tracker_url) is False  # no table yet: nothing done
    if tracker_url.startswith("sqlite"):
        assert not (tmp_path / "rasa.db").exists()  # and no empty file left for the engine
    settings = make_settings(tmp_path, engine={"tracker_store_url": tracker_url})
    env = engine_env(settings, "http://127.0.0.1:5055/webhook")
    env.setdefault("ACTION_ENDPOINT_TOKEN", "t" * 32)
    rasa(
        "from rasa.core.utils import read_endpoints_from_path\n"
        "from rasa.core.tracker_store import TrackerStore\n"
        "TrackerStore.create(read_endpoints_from_path('endpoints.yml').tracker_store)\n",
        env,
    )  # the engine creates its tables
    assert ensure_tracker_index(tracker_url) is True
    assert ensure_tracker_index(tracker_url) is True  # again: idempotent
    db = create_engine(tracker_url)
    try:
        indexes = {i["name"]: i["column_names"] for i in inspect(db).get_indexes("events")}
    finally:
        db.dispose()
    assert indexes[TRACKER_INDEX] == ["sender_id", "type_name", "timestamp"]
