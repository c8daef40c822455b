"""Running the Rasa engine (its own virtualenv, `.venv-rasa`) as a child process."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
from sqlalchemy.engine import make_url

from core.settings import Settings
from maraude.engine_stores import TICKET_LOCK_LIFETIME, endpoints_path


class EngineError(Exception):
    """The engine could not be found, trained or started; the message says what to do."""


def rasa_executable(settings: Settings) -> Path:
    path = settings.root / ".venv-rasa" / "bin" / "rasa"
    if not path.exists():
        raise EngineError(
            f"Rasa engine environment not found at {path.parent.parent}: run `make install`."
        )
    return path


def engine_tracker_url(url: str) -> str:
    """The tracker store URL (`engine.tracker_store_url`, the one the app erases from) as the
    engine's SQLAlchemy 1.4 reads it: the default driver of the dialect (psycopg2 for
    PostgreSQL), password included. endpoints.yml gives it as the SQL store's `url`, which
    Rasa takes whole."""
    parsed = make_url(url)
    return parsed.set(drivername=parsed.get_backend_name()).render_as_string(hide_password=False)


def _libc_prctl() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


# Looked up here, in the parent: between fork and exec the child only calls it (no loading).
_PRCTL = _libc_prctl()
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover - runs in the child, between fork and exec
    """The engine gets SIGKILL when the thread that started it dies, i.e. when `maraude up`
    dies, even by SIGKILL (Linux's PR_SET_PDEATHSIG; the supervisor's thread lives as long
    as the command)."""
    _PRCTL(PR_SET_PDEATHSIG, signal.SIGKILL)


def port_taken_error(host: str, port: int, auth_token: str) -> EngineError | None:
    """None if `host:port` is free; else an EngineError saying who holds it and what to do."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the engine binds
        try:
            sock.bind((host, port))
            return None
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                return EngineError(f"Cannot listen on {host}:{port} for the engine: {exc}")
    url = f"http://{host}:{port}"
    try:
        response = httpx.get(f"{url}/status", params={"token": auth_token}, timeout=3)
        answered = response.status_code in (200, 401, 403)
        model = response.json().get("model_file") if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        answered, model = False, None
    if answered:
        serving = f" serving {Path(str(model)).name}" if model else ""
        return EngineError(
            f"A Rasa engine is already running on {url}{serving}, probably left over from a "
            "previous `maraude up` (or started by hand). Stop it first (find it with "
            f"`fuser {port}/tcp` or `ss -ltnp 'sport = :{port}'`, then `kill <pid>`), or "
            "set RASA_URL to use it instead of starting one."
        )
    return EngineError(
        f"Port {port} on {host} is taken by another program, so the engine cannot start there. "
        f"Free it (`fuser {port}/tcp` shows who holds it) or choose another `engine.port` "
        "in maraude.yml."
    )


def rotate_log(path: Path) -> None:
    """Keep a previous run's log as `<name>-<its last write>.log`, so that the retention purge
    (core/retention.py: files of var/log older than the retention) can delete it."""
    if not path.is_file() or path.stat().st_size == 0:
        return
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(path.stat().st_mtime))
    target = path.with_name(f"{path.stem}-{stamp}{path.suffix}")
    for n in range(1, 100):
        if not target.exists():
            break
        target = path.with_name(f"{path.stem}-{stamp}-{n}{path.suffix}")
    path.rename(target)


def engine_env(settings: Settings, action_url: str) -> dict[str, str]:
    """Environment for any Rasa command: endpoints variables, custom components, no telemetry."""
    env = dict(os.environ)
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    env.update(
        ACTION_ENDPOINT_URL=action_url,
        ACTION_ENDPOINT_TOKEN=settings.action_token,
        RASA_TRACKER_URL=engine_tracker_url(settings.tracker_store_url),
        PYTHONPATH=str(settings.root),
        RASA_TELEMETRY_ENABLED="false",
        TF_CPP_MIN_LOG_LEVEL="2",
        SQLALCHEMY_SILENCE_UBER_WARNING="1",
        PYTHONWARNINGS="ignore",
    )
    env.setdefault("TICKET_LOCK_LIFETIME", TICKET_LOCK_LIFETIME)  # maraude/engine_stores.py
    password = urlsplit(settings.redis_url).password if settings.redis_url else None
    if password:
        env["RASA_LOCK_STORE_PASSWORD"] = unquote(password)
    # The app env's variables must not leak into the engine's interpreter.
    env.pop("VIRTUAL_ENV", None)
    env.pop("PYTHONHOME", None)
    return env


def trained_models(settings: Settings) -> list[Path]:
    """Trained models in models/, oldest first."""
    return sorted((settings.root / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)


def latest_model(settings: Settings) -> Path:
    models = trained_models(settings)
    if not models:
        raise EngineError("No trained model in models/: run `make train` (or `maraude train`).")
    return models[-1]


def run_rasa(settings: Settings, args: Sequence[str], *, action_url: str | None = None) -> int:
    """Run a Rasa command in the foreground from the project root; returns its exit code."""
    cmd = [str(rasa_executable(settings)), *args]
    url = action_url or settings.action_url
    return subprocess.call(cmd, cwd=settings.root, env=engine_env(settings, url))


# Where the training data, domain and pipeline are, relative to the project root.
DATA_ARGS = ("--data", "nlu_data", "--domain", "domain", "--config", "config.yml")


def train(settings: Settings, keep: int = 2) -> int:
    """Train if data, domain or config changed (Rasa fingerprints and skips otherwise).

    Keeps the `keep` most recent models in models/ so the folder does not grow forever.
    """
    from maraude.lookups import write_lookups

    write_lookups(settings)
    code = run_rasa(settings, ["train", *DATA_ARGS, "--out", "models"])
    if code == 0:
        for old in trained_models(settings)[:-keep]:
            old.unlink()
    return code


def validate(settings: Settings) -> int:
    return run_rasa(settings, ["data", "validate", *DATA_ARGS, "--fail-on-warnings"])


class EngineProcess:
    """A `rasa run` child process bound to the loopback interface.

    Its HTTP API requires the app's `engine_auth_token`; it calls the custom actions at
    `action_url` (default: the app's action server, `settings.action_url`) with the
    action-endpoint token.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        action_url: str | None = None,
        host: str | None = None,
        port: int | None = None,
        model: Path | None = None,
        log_path: Path | None = None,
    ) -> None:
        self.settings = settings
        self.action_url = action_url or settings.action_url
        self.host = host or settings.engine.host
        self.port = port or settings.engine.port
        self.model = model
        self.log_path = log_path or settings.var_dir / "log" / "engine.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def command(self) -> list[str]:
        """The `rasa run` command line; raises EngineError naming what is missing."""
        rasa = rasa_executable(self.settings)
        model = self.model or latest_model(self.settings)
        return [
            str(rasa),
            "run",
            "--enable-api",
            "--auth-token",  # the HTTP API answers only with ?token= (the REST channel is open)
            self.settings.engine_auth_token,
            "--interface",
            self.host,
            "--port",
            str(self.port),
            "--model",
            str(model),
            "--endpoints",
            str(endpoints_path(self.settings)),
            "--credentials",
            "credentials.yml",
        ]

    def check_port(self) -> None:
        """Raise EngineError if the port is taken (a stale engine, or another program)."""
        error = port_taken_error(self.host, self.port, self.settings.engine_auth_token)
        if error is not None:
            raise error

    def start(self) -> None:
        cmd = self.command()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        rotate_log(self.log_path)  # one file per run: the retention purge deletes old ones
        log_file = self.log_path.open("ab")
        try:
            self.process = subprocess.Popen(
                cmd,
                cwd=self.settings.root,
                env=engine_env(self.settings, self.action_url),
                stdout=log_file,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C reaches us; we stop the engine ourselves
                preexec_fn=_die_with_parent if _PRCTL is not None else None,
            )
        finally:
            log_file.close()

    def wait_ready(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (timeout or self.settings.engine.startup_timeout)
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise EngineError(
                    f"The engine stopped during start-up (exit {self.process.returncode}). "
                    f"Last lines of {self.log_path}:\n{self.log_tail()}"
                )
            try:
                response = httpx.get(
                    f"{self.url}/status",
                    params={"token": self.settings.engine_auth_token},
                    timeout=2,
                )
                if response.status_code == 200 and response.json().get("model_file"):
                    return
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.5)
        raise EngineError(
            f"The engine on {self.url} was not ready in time. "
            f"See {self.log_path}:\n{self.log_tail()}"
        )

    def is_ready(self) -> bool:
        """One look at /status: answering, with a model."""
        try:
            response = httpx.get(
                f"{self.url}/status", params={"token": self.settings.engine_auth_token}, timeout=1
            )
            return response.status_code == 200 and bool(response.json().get("model_file"))
        except (httpx.HTTPError, ValueError):
            return False

    def terminate(self) -> None:
        """SIGTERM to the engine's process group, without waiting (see stop)."""
        process = self.process
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self, grace: float = 20) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(grace)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)
        except ProcessLookupError:
            pass
