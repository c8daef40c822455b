"""Hot swap: the running engine switches to the newest trained model by itself.

`maraude train` writes a new model into models/. A scheduler job of the app compares the
newest models/*.tar.gz with the model the engine serves (`GET /status`) and, when a newer
one is there, asks the engine to load it (`PUT /model`). Rasa answers nothing while it loads
(tens of seconds), so the engine client holds this app's new messages and lets those in
flight finish first (bot/engine_client.py `_SwapGate`): they are answered by the new model,
not dropped. Conversations live in the tracker store, so a triage in progress carries on
with its slots.

Only when the engine reads the same files as the app: the local engine `maraude up` starts
(no RASA_URL), or `engine.model_watch_every` set explicitly. A failure is logged, never
raised: the app goes on with the model it has, and the same file is not retried until it
changes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.engine_client import Engine, EngineUnavailable
from core.settings import Settings

log = logging.getLogger(__name__)

MODEL_WATCH_JOB = "engine.model_watch"
DEFAULT_EVERY = timedelta(seconds=10)


def newest_model(folder: Path) -> Path | None:
    """The most recently written models/*.tar.gz, or None."""
    try:
        models = [p for p in folder.glob("*.tar.gz") if p.is_file()]
        return max(models, key=lambda p: (p.stat().st_mtime, p.name), default=None)
    except OSError:
        return None  # the folder or a file vanished meanwhile (a training cleaning up)


@dataclass(frozen=True)
class _Seen:
    name: str
    mtime: float


class ModelWatch:
    """Loads the newest model of `folder` into the engine when it is not the one served."""

    def __init__(
        self, engine: Engine, folder: Path, once: Callable[[str], bool] | None = None
    ) -> None:
        self.engine = engine
        self.folder = folder
        self._failed: _Seen | None = None  # last file the engine refused: not retried as is
        # Several app workers: only the first to claim a model file loads it (job_run).
        self.once = once
        self._elsewhere: _Seen | None = None  # claimed by another worker: not asked again

    async def check(self) -> str | None:
        """One look; returns the model file loaded, if any. Never raises."""
        try:
            return await self._check()
        except Exception:  # never let a model swap break the app's scheduler
            log.exception("model watch: unexpected error")
            return None

    async def _check(self) -> str | None:
        newest = newest_model(self.folder)
        if newest is None:
            return None
        try:
            stat = newest.stat()
        except OSError:
            return None
        seen = _Seen(newest.name, stat.st_mtime)
        if seen in (self._failed, self._elsewhere):
            return None
        try:
            current = await self.engine.model_file()
        except EngineUnavailable as exc:
            log.debug("model watch: engine not reachable (%s)", exc)
            return None
        if current is not None and Path(current).name == newest.name:
            return None
        if current is not None and not self._newer_than(stat.st_mtime, Path(current).name):
            return None
        if self.once is not None:
            key = f"{int(seen.mtime)}:{seen.name}"[:40]
            if not await asyncio.to_thread(self.once, key):
                self._elsewhere = seen  # another worker loads it (once per model file)
                return None
        log.info(
            "model watch: loading %s into the engine (was %s); conversations carry on",
            newest.name,
            current or "no model",
        )
        try:
            await self.engine.load_model(str(newest.resolve()))
        except EngineUnavailable as exc:
            self._failed = seen
            log.error(
                "model watch: the engine did not load %s, it keeps %s: %s",
                newest.name,
                current or "no model",
                exc,
            )
            return None
        self._failed = None
        log.info("model watch: the engine now serves %s", newest.name)
        return newest.name

    def _newer_than(self, mtime: float, current: str) -> bool:
        """Whether a file written at `mtime` is newer than the served model (unknown: yes)."""
        try:
            return mtime > (self.folder / current).stat().st_mtime
        except OSError:
            return True  # not in our folder (deleted by `maraude train`, or another folder)


def watch_interval(settings: Settings) -> timedelta | None:
    """How often to look, or None when the engine may not see the app's models/ folder."""
    every: timedelta | None = settings.engine.model_watch_every
    if every is None:
        return DEFAULT_EVERY if settings.rasa_url is None else None
    return every if every.total_seconds() > 0 else None


def register_model_watch(
    scheduler: BaseScheduler,
    settings: Settings,
    engine: Engine | None,
    once: Callable[[str], bool] | None = None,
) -> ModelWatch | None:
    """Add the watch job to the app's scheduler (explicit id: registering twice replaces).

    `once(key)`: True for the first app worker to claim loading a model file (several
    workers share the engines: one PUT /model per model, not one per worker)."""
    if engine is None:
        return None
    every = watch_interval(settings)
    if every is None:
        log.info("model watch off (RASA_URL set; engine.model_watch_every turns it on)")
        return None
    watch = ModelWatch(engine, settings.root / "models", once)
    scheduler.add_job(
        watch.check,
        IntervalTrigger(seconds=max(every.total_seconds(), 1.0)),
        id=MODEL_WATCH_JOB,
        replace_existing=True,
        max_instances=1,  # a load can take a while: no second one meanwhile
        coalesce=True,
        misfire_grace_time=60,
    )
    return watch
