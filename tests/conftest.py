"""Fixtures shared by the suites. Gated parts skip with a reason, never silently."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from handoff import migrate
from handoff.db import Database
from tests.support import (
    CONTRACT_ENV,
    TEST_TOKEN,
    AppServer,
    engine_missing_reason,
    free_port,
    make_settings,
    postgres_url,
)

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
    schema = f"maraude_test_{secrets.token_hex(4)}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


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


# The whole stack: fake Telegram + real engine + real app -----------------------------------
@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Session-wide: the trained Rasa engine, the app (Telegram polling the fake Bot API)."""
    reason = engine_missing_reason()
    if reason:
        pytest.skip(reason)
    from maraude.engine_process import EngineProcess
    from tests.fakes.telegram_api import FakeTelegramServer

    folder = tmp_path_factory.mktemp("stack")
    app_port = free_port()
    telegram = FakeTelegramServer()
    telegram.start()
    engine_port = free_port()
    settings = make_settings(
        folder,
        telegram_bot_token=TEST_TOKEN,
        telegram_api_base_url=telegram.url,
        rasa_url=f"http://127.0.0.1:{engine_port}",
        server={"port": app_port},
    )
    engine = EngineProcess(
        settings,
        action_url=f"http://127.0.0.1:{app_port}/webhook",
        port=engine_port,
        log_path=folder / "engine.log",
    )
    engine.start()
    try:
        engine.wait_ready(timeout=240)
        with AppServer(settings, port=app_port) as app:
            yield StackHandle(settings, telegram, engine, app)
    finally:
        engine.stop()
        telegram.stop()


class StackHandle:
    def __init__(self, settings: Any, telegram: Any, engine: Any, app: AppServer) -> None:
        self.settings = settings
        self.telegram = telegram
        self.engine = engine
        self.app = app

    @property
    def services(self) -> Any:
        return self.app.services
