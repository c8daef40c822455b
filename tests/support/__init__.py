"""Shared helpers for tests: settings in a temp folder, the app served in a thread, gates."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
import yaml
from sqlalchemy import create_engine, text

from bot.texts import AppTexts
from core.clock import Clock
from core.db import Database
from core.settings import Settings, load_settings
from handoff.alarms import AlarmService
from handoff.desk import DeskTexts, HandoffDesk
from handoff.requests import HandoffService
from handoff.routing import Router
from handoff.tickets import TicketService
from maraude.app import create_app
from maraude.engine_process import EngineProcess
from tests.fakes.telegram_api import FakeTelegramServer

ROOT = Path(__file__).resolve().parents[2]
CONTRACT_ENV = (
    "TELEGRAM_BOT_TOKEN",
    "TELEGRAM_API_BASE_URL",
    "TELEGRAM_WEBHOOK_URL",
    "COUNSELLOR_GROUP_ID",
    "DATABASE_URL",
    "RASA_URL",
    "MARAUDE_SECRET_KEY",
    "MARAUDE_CONFIG",
)
TEST_TOKEN = "123456789:AAEtestTOKENtestTOKENtestTOKEN_abcdef"
TEST_SECRET = "test-secret-key-0123456789abcdef0123456789"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_config(folder: Path, **overrides: Any) -> Path:
    """A maraude.yml in `folder`: the project's own, with top-level keys overridden."""
    data = yaml.safe_load((ROOT / "maraude.yml").read_text(encoding="utf-8"))
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key].update(value)
        else:
            data[key] = value
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "maraude.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def make_settings(folder: Path, **overrides: Any) -> Settings:
    """Settings whose project root is the repository but whose var/ and database are in `folder`."""
    overrides.setdefault("project_root", str(ROOT))
    overrides.setdefault("var_path", str(folder / "var"))
    overrides.setdefault("database_url", f"sqlite:///{folder / 'app.db'}")
    overrides.setdefault("maraude_secret_key", TEST_SECRET)
    # Each app its own action port (loopback): tests run side by side.
    overrides["engine"] = {"action_port": free_port(), **(overrides.get("engine") or {})}
    return load_settings(write_config(folder, **overrides))


def repo_router() -> Router:
    """Hand-off routing as configured in the repository's maraude.yml."""
    return Router(load_settings(ROOT / "maraude.yml"))


def make_desk(
    db: Database, clock: Clock | None = None, *, requests: HandoffService | None = None
) -> HandoffDesk:
    """A real hand-off desk on `db` with the repository's settings and the app's texts, as
    maraude/services.py wires it (no sender, no listener: tests add what they watch)."""
    settings = load_settings(ROOT / "maraude.yml")
    router = Router(settings)
    texts = AppTexts.load()
    tickets = TicketService(
        db, settings.handoff, router, clock, team_ids=[t.id for t in settings.teams]
    )
    return HandoffDesk(
        tickets,
        DeskTexts(
            claimed=texts.handoff_claimed,
            closed=texts.handoff_closed,
            already=texts.handoff_already,
            counsellor_prefix=settings.handoff.counsellor_prefix,
        ),
        AlarmService(db, clock),
        requests or HandoffService(db, router, clock),
    )


class AppServer:
    """The real ASGI app served by uvicorn in a background thread (its own event loop)."""

    def __init__(
        self, settings: Settings, port: int | None = None, *, clock: Clock | None = None
    ) -> None:
        self.port = port or free_port()
        self.app = create_app(settings, clock=clock)
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="app-server", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def services(self) -> Any:
        return self.app.state.services

    def __enter__(self) -> AppServer:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the app server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(30)


def engine_missing_reason() -> str | None:
    if not (ROOT / ".venv-rasa" / "bin" / "rasa").exists():
        return "Rasa engine env .venv-rasa is missing: run `make install` (make test does it)"
    if not list((ROOT / "models").glob("*.tar.gz")):
        return "no trained model in models/: run `make train` (make test does it)"
    return None


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def headless_chromium() -> Iterator[Any]:
    """Debian's chromium driven by Playwright (sync API); skips the test when it is missing."""
    path = chromium_path()
    if path is None:
        pytest.skip(
            "Debian chromium is not installed (`apt-get install chromium`; .ci/run does it)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=path, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def postgres_schema(base: str, prefix: str = "maraude_test") -> Iterator[str]:
    """A fresh PostgreSQL schema on the server at `base`, as a URL; dropped afterwards."""
    schema = f"{prefix}_{secrets.token_hex(4)}"
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


def postgres_url() -> str | None:
    return os.environ.get("MARAUDE_TEST_POSTGRES_URL") or None


def redis_url() -> str | None:
    """The Redis server of the gated tests (MARAUDE_TEST_REDIS_URL, set by .ci/run), or None."""
    return os.environ.get("MARAUDE_TEST_REDIS_URL") or None


@dataclass
class Stack:
    """Everything a young person's message goes through, each part real."""

    settings: Settings
    telegram: FakeTelegramServer
    engine: EngineProcess
    app: AppServer

    @property
    def services(self) -> Any:
        return self.app.services


@contextmanager
def running_stack(
    folder: Path, *, engine_timeout: float = 240, **overrides: Any
) -> Iterator[Stack]:
    """Fake Bot API + the trained engine + the app (Telegram polling), var/ in `folder`.

    `overrides`: more settings (e.g. another `project_root`, an `engine` section)."""
    app_port, engine_port = free_port(), free_port()
    with FakeTelegramServer() as telegram:
        settings = make_settings(
            folder,
            **overrides,
            telegram_bot_token=TEST_TOKEN,
            telegram_api_base_url=telegram.url,
            rasa_url=f"http://127.0.0.1:{engine_port}",
            server={"port": app_port},
            # Sweeps every second and no quiet hours, so that a due nudge goes out during the
            # test whatever the time CI runs at (quiet hours have their own tests).
            nudges={
                "sweep_every": "1s",
                "quiet_start": "00:00",
                "quiet_end": "00:00",
                "quiet_days": [],
                "public_holidays": False,
            },
        )
        engine = EngineProcess(
            settings,
            port=engine_port,
            log_path=folder / "engine.log",
        )
        engine.start()
        try:
            engine.wait_ready(timeout=engine_timeout)
            with AppServer(settings, port=app_port) as app:
                yield Stack(settings, telegram, engine, app)
        finally:
            engine.stop()
