"""bench/analytics: a tiny population seeds, and every query runs and is counted (SQLite)."""

from __future__ import annotations

import pytest

from bench.analytics import run


def test_the_benchmark_runs_on_a_tiny_population(capsys: pytest.CaptureFixture[str]) -> None:
    assert run.main(["--people", "150", "--runs", "1", "--erased", "10", "--sqlite-only"]) == 0
    out = capsys.readouterr().out
    for query in ("funnel", "sources", "indicators T4", "results", "- delays", "- appointments"):
        assert f"| sqlite | 150 | {query} |" in out
    assert "| funnel |" in out and "| 1.00 |" in out
