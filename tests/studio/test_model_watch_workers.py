"""The model watch with several app workers: one PUT /model per model file, not one per worker
(the claim is a `job_run` row, on SQLite and PostgreSQL). The engine here only records what it
is asked (a real load takes tens of seconds; tests/studio/test_hot_swap.py does the real one).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from core.clock import FixedClock
from core.db import Database
from nudges.store import FollowUpService
from studio.model_watch import MODEL_WATCH_JOB, ModelWatch


class RecordingEngine:
    """Serves `served` and records the loads it is asked for (shared by the workers)."""

    def __init__(self, served: str) -> None:
        self.served = served
        self.loads: list[str] = []

    async def model_file(self) -> str | None:
        return self.served

    async def load_model(self, model_path: str) -> None:
        self.loads.append(Path(model_path).name)
        await asyncio.sleep(0)  # the other worker looks meanwhile: still the old model


def model(folder: Path, name: str, mtime: int) -> Path:
    path = folder / name
    path.write_bytes(b"model")
    os.utime(path, (mtime, mtime))
    return path


async def test_two_workers_load_a_new_model_once(
    database: Database, clock: FixedClock, tmp_path: Path
) -> None:
    model(tmp_path, "20260301-old.tar.gz", 1_700_000_000)
    model(tmp_path, "20260302-new.tar.gz", 1_700_000_100)
    engine = RecordingEngine("20260301-old.tar.gz")
    followups = FollowUpService(database, clock)

    def worker(name: str) -> ModelWatch:
        return ModelWatch(
            engine,  # type: ignore[arg-type]  # the part of Engine the watch uses
            tmp_path,
            lambda key: followups.run_once(MODEL_WATCH_JOB, key, name),
        )

    a, b = worker("a"), worker("b")
    loaded = await asyncio.gather(a.check(), b.check())
    assert sorted(loaded, key=str) == ["20260302-new.tar.gz", None]
    assert engine.loads == ["20260302-new.tar.gz"]
    assert await b.check() is None and await a.check() is None  # not asked again
    # A newer model: loaded once more, by whichever worker claims it first.
    model(tmp_path, "20260303-newer.tar.gz", 1_700_000_200)
    await asyncio.gather(b.check(), a.check())
    assert engine.loads == ["20260302-new.tar.gz", "20260303-newer.tar.gz"]
