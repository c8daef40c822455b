"""The engine's log: one file per run (the previous one keeps its last write time), so the
retention purge can delete the runs older than the retention."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from maraude.engine_process import rotate_log


def test_a_previous_run_is_kept_aside_with_its_date(tmp_path: Path) -> None:
    log = tmp_path / "engine.log"
    rotate_log(log)  # nothing yet
    assert list(tmp_path.iterdir()) == []
    log.write_text("run 1\n")
    stamp = datetime(2025, 1, 31, 23, 59).timestamp()
    os.utime(log, (stamp, stamp))

    rotate_log(log)

    [kept] = list(tmp_path.iterdir())
    assert kept.name.startswith("engine-2025") and kept.suffix == ".log"
    assert kept.read_text() == "run 1\n" and kept.stat().st_mtime == stamp
    log.write_text("run 2\n")
    os.utime(log, (stamp, stamp))  # same second: a second name, nothing overwritten
    rotate_log(log)
    assert sorted(p.read_text() for p in tmp_path.iterdir()) == ["run 1\n", "run 2\n"]
    log.touch()
    rotate_log(log)  # an empty log stays
    assert log.exists()
