"""The stores and processes of one load-bench configuration, started as an operator would.

PostgreSQL (MARAUDE_TEST_POSTGRES_URL: a schema for the app, one for the engines' tracker
store, dropped at the end) and Redis (MARAUDE_TEST_REDIS_URL, on a database number of its
own); the app in webhook mode (`maraude up`, or `maraude serve --workers N` with engines the
bench starts itself when `maraude up` cannot run that configuration); the engines on
consecutive ports. Output of every process goes to files under the run's folder.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
from sqlalchemy import create_engine, text

from core.settings import Settings, load_settings
from maraude.engine_process import EngineProcess
from tests.support import CONTRACT_ENV, ROOT, TEST_TOKEN, free_port, write_config

MARAUDE = ROOT / ".venv" / "bin" / "maraude"
COUNSELLOR = "awa.bench@example.org"
PASSWORD = "une phrase de passe pour le banc de charge"


class StoreMissing(SystemExit):
    """PostgreSQL or Redis not configured or not reachable: said clearly, exit code 2."""

    def __init__(self, message: str) -> None:
        print(f"bench-load: {message}", file=sys.stderr)
        super().__init__(2)


def require_stores(redis_db: int) -> tuple[str, str]:
    """The PostgreSQL base URL and the bench's Redis URL, both checked to answer."""
    pg = os.environ.get("MARAUDE_TEST_POSTGRES_URL", "")
    redis_base = os.environ.get("MARAUDE_TEST_REDIS_URL", "")
    if not pg or not redis_base:
        raise StoreMissing(
            "set MARAUDE_TEST_POSTGRES_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/"
            "test) and MARAUDE_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/0): the bench runs "
            "the distributed setup (tracker store on PostgreSQL, Redis lock store)"
        )
    try:
        engine = create_engine(pg)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        raise StoreMissing(
            f"PostgreSQL at MARAUDE_TEST_POSTGRES_URL does not answer: {exc}"
        ) from None
    parts = urlsplit(redis_base)
    redis_url = urlunsplit(parts._replace(path=f"/{redis_db}"))
    try:
        import redis

        redis.Redis.from_url(redis_url, socket_timeout=3).ping()
    except Exception as exc:
        raise StoreMissing(
            f"Redis at MARAUDE_TEST_REDIS_URL does not answer: {str(exc).splitlines()[0]}"
        ) from None
    return pg, redis_url


@contextmanager
def schemas(base: str, *names: str) -> Iterator[list[str]]:
    """Fresh PostgreSQL schemas on `base` (one URL each, search_path set), dropped after."""
    tag = secrets.token_hex(3)
    created = [f"bench_load_{tag}_{name}" for name in names]
    admin = create_engine(base)
    with admin.begin() as conn:
        for schema in created:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))  # our own generated name
    sep = "&" if "?" in base else "?"
    try:
        yield [f"{base}{sep}options=-csearch_path%3D{schema}" for schema in created]
    finally:
        with admin.begin() as conn:
            for schema in created:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def clean_env() -> dict[str, str]:
    """This environment without the contract variables: the config file says everything."""
    env = {k: v for k, v in os.environ.items() if k.upper() not in (*CONTRACT_ENV, "REDIS_URL")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def maraude_supports(command: str, option: str) -> bool:
    out = subprocess.run(
        [str(MARAUDE), command, "--help"], capture_output=True, text=True, env=clean_env()
    )
    return option in out.stdout


def supervised_engines() -> bool:
    """Whether `maraude up` starts `engine.replicas` engines and restarts a crashed one."""
    return (ROOT / "maraude" / "supervisor.py").exists()


@dataclass
class Layout:
    engines: int
    workers: int
    launch: str  # "up": maraude up starts everything; "serve": the bench starts the engines

    @property
    def name(self) -> str:
        return f"{self.engines} engine{'s' * (self.engines > 1)} + {self.workers} worker" + (
            "s" * (self.workers > 1)
        )


def choose_layout(engines: int, workers: int) -> Layout:
    """`maraude up` when it can run the configuration, else engines by the bench + serve."""
    if engines == 1 and workers == 1:
        return Layout(1, 1, "up")
    if supervised_engines() and (workers == 1 or maraude_supports("up", "--workers")):
        return Layout(engines, workers, "up")
    if workers > 1 and not maraude_supports("serve", "--workers"):
        print("bench-load: `maraude serve --workers` is not there yet: one worker", flush=True)
        workers = 1
    return Layout(engines, workers, "serve")


@dataclass
class Stack:
    layout: Layout
    folder: Path
    settings: Settings
    config: Path
    app_port: int
    engine_port: int
    metrics_token: str
    app: subprocess.Popen[bytes] | None = None
    engines: dict[int, EngineProcess] = field(default_factory=dict)  # by port, bench-started
    token: str = ""

    @property
    def app_url(self) -> str:
        return f"http://127.0.0.1:{self.app_port}"

    @property
    def engine_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{self.engine_port + i}" for i in range(self.layout.engines)]

    def maraude(self, *args: str, stdin: str | None = None) -> str:
        cmd = [str(MARAUDE), "--config", str(self.config), *args]
        done = subprocess.run(cmd, input=stdin, capture_output=True, text=True, env=clean_env())
        if done.returncode != 0:
            raise RuntimeError(f"maraude {' '.join(args)} failed:\n{done.stderr}")
        return done.stdout

    def counsellor_token(self) -> str:
        """A counsellor (a manager: every team's tickets) and a REST API token, created once
        with `maraude user`."""
        if self.token:
            return self.token
        self.maraude(
            "user", "add", COUNSELLOR, "--first-name", "Awa", "--role", "manager",
            "--password-stdin", stdin=PASSWORD + "\n",
        )  # fmt: skip
        out = self.maraude("user", "token", COUNSELLOR, "--name", "bench")
        self.token = out.strip().splitlines()[-1].strip()
        return self.token

    def turn_seconds(self) -> tuple[float, float]:
        """The app's own account of its Telegram turns answered by an engine (/metrics:
        maraude_turn_seconds, engine call included): (sum of seconds, count)."""
        try:
            page = httpx.get(
                f"{self.app_url}/metrics",
                headers={"Authorization": f"Bearer {self.metrics_token}"},
                timeout=10,
            ).text
        except httpx.HTTPError:
            return 0.0, 0.0
        total = count = 0.0
        for line in page.splitlines():
            if 'channel="telegram"' not in line or 'outcome="answered"' not in line:
                continue
            name, _, value = line.rpartition(" ")
            if name.startswith("maraude_turn_seconds_sum"):
                total += float(value)
            elif name.startswith("maraude_turn_seconds_count"):
                count += float(value)
        return total, count

    # Engines ------------------------------------------------------------------------------
    def engine_ready(self, url: str) -> bool:
        try:
            r = httpx.get(
                f"{url}/status", params={"token": self.settings.engine_auth_token}, timeout=2
            )
            return r.status_code == 200 and bool(r.json().get("model_file"))
        except (httpx.HTTPError, ValueError):
            return False

    def start_engine(self, port: int) -> EngineProcess:
        engine = EngineProcess(
            self.settings, port=port, log_path=self.folder / f"engine-{port}.log"
        )
        engine.start()
        self.engines[port] = engine
        return engine

    def engine_pid(self, port: int) -> int | None:
        """The pid of the engine listening on `port` (ours, or a child of `maraude up`)."""
        if port in self.engines and self.engines[port].process is not None:
            return self.engines[port].process.pid  # type: ignore[union-attr]
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            words = [a.decode(errors="replace") for a in argv]
            if any(w.endswith("rasa") for w in words[:2]) and "run" in words:
                if "--port" in words and words[words.index("--port") + 1] == str(port):
                    return int(entry.name)
        return None

    def kill_engine(self, port: int) -> bool:
        pid = self.engine_pid(port)
        if pid is None:
            return False
        os.kill(pid, signal.SIGKILL)
        return True

    # App ----------------------------------------------------------------------------------
    def start_app(self) -> None:
        log = (self.folder / "app.log").open("ab")
        if self.layout.launch == "up":
            args = ["up", "--port", str(self.app_port)]
            if self.layout.workers > 1:
                args += ["--workers", str(self.layout.workers)]
        else:
            for url in self.engine_urls:
                self.start_engine(int(url.rsplit(":", 1)[1]))
            args = ["serve", "--port", str(self.app_port)]
            if self.layout.workers > 1:
                args += ["--workers", str(self.layout.workers)]
        self.app = subprocess.Popen(
            [str(MARAUDE), "--config", str(self.config), *args],
            cwd=ROOT,
            env=clean_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        pending = set(self.engine_urls)
        while time.monotonic() < deadline:
            if self.app is not None and self.app.poll() is not None:
                raise RuntimeError(f"the app stopped (see {self.folder / 'app.log'})")
            pending = {url for url in pending if not self.engine_ready(url)}
            if not pending:
                try:
                    if httpx.get(f"{self.app_url}/health", timeout=2).status_code < 500:
                        return
                except httpx.HTTPError:
                    pass
            time.sleep(1)
        raise RuntimeError(f"not ready after {timeout:.0f}s (see the logs in {self.folder})")

    def stop(self) -> None:
        if self.app is not None and self.app.poll() is None:
            os.killpg(self.app.pid, signal.SIGTERM)
            try:
                self.app.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.app.pid, signal.SIGKILL)
                self.app.wait(5)
        for engine in self.engines.values():
            engine.stop()
        self.engines.clear()
        for url in self.engine_urls:  # an engine `maraude up` left behind: not ours to keep
            if (pid := self.engine_pid(int(url.rsplit(":", 1)[1]))) is not None:
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass


def free_ports(count: int) -> int:
    """A first port such that `count` consecutive ports are free."""
    for _ in range(50):
        first = free_port()
        if first + count < 65000 and all(_free(first + i) for i in range(1, count)):
            return first
    raise RuntimeError("no consecutive free ports")


def _free(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@contextmanager
def running(
    layout: Layout, folder: Path, *, pg: str, redis_url: str, telegram_url: str, timeout: float
) -> Iterator[Stack]:
    """One configuration up and ready (engines answer /status, the app /health), then down."""
    folder.mkdir(parents=True, exist_ok=True)
    with schemas(pg, "app", "tracker") as (app_db, tracker_db):
        app_port, engine_port = free_port(), free_ports(layout.engines)
        metrics_token = secrets.token_urlsafe(32)
        config = write_config(
            folder,
            project_root=str(ROOT),
            var_path=str(folder / "var"),
            database_url=app_db,
            redis_url=redis_url,
            maraude_secret_key=secrets.token_urlsafe(32),
            telegram_bot_token=TEST_TOKEN,
            telegram_api_base_url=telegram_url,
            telegram_webhook_url=f"http://127.0.0.1:{app_port}/telegram/webhook",
            server={
                "port": app_port,
                "workers": layout.workers,
                "simulator": "off",
                "metrics_token": metrics_token,
            },
            engine={
                "port": engine_port,
                "replicas": layout.engines if layout.launch == "up" else 1,
                "action_port": free_port(),
                "tracker_store_url": tracker_db,
                "model_watch_every": "0s",
                "startup_timeout": timeout,
            },
        )
        if layout.launch == "serve":  # engines started by the bench: the app gets RASA_URL
            urls = [f"http://127.0.0.1:{engine_port + i}" for i in range(layout.engines)]
            config = write_config(folder, **_yaml(config), rasa_url=",".join(urls))
        settings = load_settings(config)
        stack = Stack(layout, folder, settings, config, app_port, engine_port, metrics_token)
        try:
            stack.start_app()
            stack.wait_ready(timeout)
            yield stack
        finally:
            stack.stop()


def _yaml(path: Path) -> dict[str, object]:
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data
