"""The engines `maraude up` runs: started on consecutive ports, restarted when they die.

A thread beside uvicorn looks at the children every `check_every` seconds. An engine that
exited (crash, OOM killer, `kill -9`) is started again after a back-off that doubles from
`min_backoff` to `max_backoff` and goes back to `min_backoff` once an engine has run
`stable_after` seconds; each restart is logged ("engine on :5006 exited (-9), restarting in
2 s, restart #3") and shown on /health (`state()`). `stop()` stops them all (SIGTERM to each
engine's process group, SIGKILL after the grace period).

Meanwhile the app's engine pool (bot/engine_pool.py) sends the conversations of a dead
engine to the others, and takes it back once its /status answers again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from core.settings import Settings
from maraude.engine_process import EngineError, EngineProcess

log = logging.getLogger(__name__)


@dataclass
class _Slot:
    engine: EngineProcess
    state: str = "stopped"  # starting | running | waiting | stopped
    restarts: int = 0
    last_exit: int | None = None
    started_at: float = 0.0  # monotonic, of the current run
    restart_at: float | None = None  # monotonic, while waiting
    backoff: float = 0.0  # the next wait
    since: datetime | None = None  # wall clock, of the current state


def engine_processes(settings: Settings) -> list[EngineProcess]:
    """`engine.replicas` engines on port, port+1, ... (one log file each when several)."""
    host, port, replicas = settings.engine.host, settings.engine.port, settings.engine.replicas
    log_dir = settings.var_dir / "log"
    return [
        EngineProcess(
            settings,
            host=host,
            port=port + i,
            log_path=log_dir / ("engine.log" if replicas == 1 else f"engine-{port + i}.log"),
        )
        for i in range(replicas)
    ]


class EngineSupervisor:
    def __init__(
        self,
        engines: list[EngineProcess],
        *,
        check_every: float = 0.5,
        min_backoff: float = 1.0,
        max_backoff: float = 60.0,
        stable_after: float = 60.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.slots = [_Slot(engine, backoff=min_backoff) for engine in engines]
        self.check_every = check_every
        self.min_backoff = min_backoff
        self.max_backoff = max_backoff
        self.stable_after = stable_after
        self._monotonic = monotonic
        self._stopping = threading.Event()  # no more restarts
        self._done = threading.Event()  # the thread ends (after the engines are stopped:
        # an engine it restarted dies with it, PR_SET_PDEATHSIG being per thread)
        self._lock = threading.Lock()  # state() from the app's thread, tick() from ours
        self._thread: threading.Thread | None = None

    @classmethod
    def for_settings(cls, settings: Settings, **options: Any) -> EngineSupervisor:
        return cls(engine_processes(settings), **options)

    @property
    def urls(self) -> list[str]:
        return [slot.engine.url for slot in self.slots]

    # --- life cycle --------------------------------------------------------------------

    def start(self) -> None:
        """Check every port and the model, then start every engine (not waiting for them).
        Raises EngineError (taken port, missing env or model) before starting any."""
        for slot in self.slots:
            slot.engine.command()  # the engine env and a model exist
            slot.engine.check_port()
        for slot in self.slots:
            self._spawn(slot)

    def wait_ready(self, timeout: float | None = None) -> None:
        for slot in self.slots:
            slot.engine.wait_ready(timeout)
            with self._lock:
                if slot.state == "starting":
                    self._set(slot, "running")

    def watch(self) -> None:
        """Start the thread that restarts dead engines (until stop)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="engine-supervisor", daemon=True)
            self._thread.start()

    def stop(self, grace: float = 20) -> None:
        """Stop watching and stop every engine (SIGTERM to all at once, then wait)."""
        with self._lock:
            self._stopping.set()
            for slot in self.slots:
                slot.engine.terminate()
        for slot in self.slots:
            slot.engine.stop(grace)
            with self._lock:
                self._set(slot, "stopped")
        self._done.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(30)

    def _run(self) -> None:
        while not self._done.wait(self.check_every):
            try:
                self.tick()
            except Exception:  # keep supervising whatever happens
                log.exception("engine supervisor: unexpected error")

    # --- one look ----------------------------------------------------------------------

    def tick(self) -> None:
        """Restart what died (after its back-off); note what is up or stable."""
        now = self._monotonic()
        with self._lock:
            if self._stopping.is_set():
                return
            for slot in self.slots:
                process = slot.engine.process
                if slot.state in ("starting", "running") and process is not None:
                    code = process.poll()
                    if code is not None:
                        self._exited(slot, code, now)
                    elif slot.state == "starting" and slot.engine.is_ready():
                        self._set(slot, "running")
                    elif now - slot.started_at >= self.stable_after:
                        slot.backoff = self.min_backoff  # a stable run forgives the past
                if slot.state == "waiting" and slot.restart_at is not None:
                    if now >= slot.restart_at:
                        slot.restarts += 1
                        self._spawn(slot)

    def _exited(self, slot: _Slot, code: int, now: float) -> None:
        if now - slot.started_at >= self.stable_after:
            slot.backoff = self.min_backoff
        delay = slot.backoff
        slot.backoff = min(delay * 2, self.max_backoff)
        slot.last_exit = code
        slot.restart_at = now + delay
        self._set(slot, "waiting")
        log.warning(
            "engine on :%d exited (%d), restarting in %s s, restart #%d (log: %s)",
            slot.engine.port,
            code,
            f"{delay:g}",
            slot.restarts + 1,
            slot.engine.log_path,
        )

    def _spawn(self, slot: _Slot) -> None:
        try:
            slot.engine.start()
        except (EngineError, OSError) as exc:  # e.g. the model was deleted meanwhile
            log.error("engine on :%d could not start: %s", slot.engine.port, exc)
            slot.started_at = self._monotonic()
            self._exited(slot, -1, slot.started_at)
            return
        slot.started_at = self._monotonic()
        slot.restart_at = None
        self._set(slot, "starting")

    def _set(self, slot: _Slot, state: str) -> None:
        if slot.state != state or slot.since is None:
            slot.since = datetime.now(UTC)
        slot.state = state

    # --- for /health -------------------------------------------------------------------

    def state(self) -> list[dict[str, Any]]:
        """Per engine: url, state, pid, restarts, last_exit, since."""
        with self._lock:
            return [
                {
                    "url": slot.engine.url,
                    "state": slot.state,
                    "pid": slot.engine.process.pid if slot.engine.process is not None else None,
                    "restarts": slot.restarts,
                    "last_exit": slot.last_exit,
                    "since": slot.since.isoformat() if slot.since else None,
                }
                for slot in self.slots
            ]
