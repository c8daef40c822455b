"""Fixtures shared by the suites. Gated parts skip with a reason, never silently."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from core import migrate
from core.clock import FixedClock
from core.db import Database
from tests.support import (
    CONTRACT_ENV,
    Stack,
    engine_missing_reason,
    headless_chromium,
    postgres_schema,
    postgres_url,
    running_stack,
)
from tests.support.world import World

pytest_plugins = ["tests.fakes.fixtures"]

# A developer's own settings must never leak into the tests (a real token above all).
for _name in CONTRACT_ENV:
    os.environ.pop(_name, None)


def pytest_report_header(config: pytest.Config) -> list[str]:
    lines = []
    reason = engine_missing_reason()
    lines.append(f"engine tests: {'SKIPPED — ' + reason if reason else 'on'}")
    lines.append(
        "postgres tests: "
        + ("on" if postgres_url() else "SKIPPED — set MARAUDE_TEST_POSTGRES_URL (.ci/run does)")
    )
    return lines


# The clock ---------------------------------------------------------------------------------
# Where `clock` starts when a test module declares no CLOCK_START: Monday 2 March 2026, 10:00
# in Paris (winter time), inside the counsellors' opening hours and outside quiet hours.
DEFAULT_CLOCK_START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock(request: pytest.FixtureRequest) -> FixedClock:
    """A clock tests move by hand, at the module's `CLOCK_START` (an aware datetime at module
    level) or else at DEFAULT_CLOCK_START."""
    return FixedClock(getattr(request.module, "CLOCK_START", DEFAULT_CLOCK_START))


# Databases ---------------------------------------------------------------------------------
@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'app.db'}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL schema, dropped afterwards."""
    base = postgres_url()
    if base is None:
        pytest.skip("PostgreSQL tests need MARAUDE_TEST_POSTGRES_URL (set by .ci/run)")
    with postgres_schema(base) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest) -> str:
    name = "sqlite_url" if request.param == "sqlite" else "pg_url"
    return str(request.getfixturevalue(name))


@pytest.fixture
def database(db_url: str) -> Iterator[Database]:
    migrate.upgrade(db_url)
    db = Database.from_url(db_url)
    yield db
    db.dispose()


# The app's services, built by build_services (tests/support/world.py) ----------------------
@pytest.fixture
def world_db_url(sqlite_url: str) -> str:
    """The database of `world`: SQLite. A module overrides this fixture with `db_url` to run
    its world on PostgreSQL too."""
    return sqlite_url


@pytest.fixture
async def world(tmp_path: Path, clock: FixedClock, world_db_url: str) -> AsyncIterator[World]:
    """The real services (maraude/services.py) on a migrated database, at `clock`."""
    built = World(tmp_path, clock, database_url=world_db_url)
    yield built
    await built.close()


# The whole stack: fake Telegram + real engine + real app -----------------------------------
@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Session-wide: the trained Rasa engine, the app (Telegram polling the fake Bot API)."""
    reason = engine_missing_reason()
    if reason:
        pytest.skip(reason)
    with running_stack(tmp_path_factory.mktemp("stack")) as running:
        yield running


# Headless Chromium (Debian chromium + Playwright) ------------------------------------------
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One browser per test module; skipped with a reason where chromium is missing."""
    with headless_chromium() as browser:
        yield browser


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh context and page; a script error on any page fails the test."""
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(30_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert errors == [], errors
