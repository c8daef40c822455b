"""Results queries at scale: the cohort funnel (the baseline) against the per-source funnel,
the funders' indicators for one quarter and the whole results page.

For each backend (SQLite in a temporary file; PostgreSQL too when MARAUDE_TEST_POSTGRES_URL is
set: a database `maraude_bench` created beside it and dropped after) and each population size
(`--people`, default 10 000 and 100 000), seeds a year of young people (bench/analytics/seed.py)
and times, `--runs` times each (median, wall clock), with the number of SQL statements sent
(a `before_cursor_execute` counter):

- funnel: `AnalyticsService.funnel` over the year (the baseline);
- sources: `AnalyticsService.sources` over the year (per campaign and channel);
- indicators: `IndicatorsService.indicators` for the last quarter;
- results: `AnalyticsService.results` over the year (everything the results page reads),
  then its other parts one by one (delays, outcomes, nudges, intents, variants, appointments,
  options).

Simulations are hidden (the settings of a live service). No timing is asserted.

    .venv/bin/python -m bench.analytics.run [--people 10000 100000] [--runs 3] [--erased 300]
        [--sqlite-only]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time as clock
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url

# Runnable as a script too (python bench/analytics/run.py).
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.analytics.seed import YEAR, seed  # noqa: E402
from core import migrate  # noqa: E402
from core.clock import FixedClock  # noqa: E402
from core.db import Database  # noqa: E402
from core.settings import Settings, SimulatorMode, load_settings  # noqa: E402
from handoff.sla.policy import forget_deadlines
from studio.analytics import AnalyticsService, Filters  # noqa: E402
from studio.analytics.indicators import IndicatorsService, Period  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(YEAR + 1, 1, 5, 9, 0, tzinfo=UTC)  # "now": a few days after the seeded year
BENCH_DB = "maraude_bench"


@dataclass(frozen=True)
class Figure:
    backend: str
    people: int
    query: str
    median_ms: float
    statements: int
    ratio: float  # median over the funnel's, same backend and size


def bench_settings() -> Settings:
    """maraude.yml's teams, territories and outcomes; simulations hidden, as live."""
    settings = load_settings(ROOT / "maraude.yml")
    server = settings.server.model_copy(update={"simulator": SimulatorMode.staff})
    return settings.model_copy(update={"server": server})


class StatementCounter:
    def __init__(self, db: Database) -> None:
        self.count = 0
        event.listen(db.engine, "before_cursor_execute", self._seen)

    def _seen(self, *_args: Any) -> None:
        self.count += 1


def measure(db: Database, backend: str, people: int, runs: int, settings: Settings) -> list[Figure]:
    now = FixedClock(NOW)
    analytics = AnalyticsService(db, settings, now)
    indicators = IndicatorsService(db, settings, now)
    year = Filters(date(YEAR, 1, 1), date(YEAR, 12, 31))
    queries: list[tuple[str, Callable[[], object]]] = [
        ("funnel", lambda: analytics.funnel(year)),
        ("sources", lambda: analytics.sources(year)),
        ("indicators T4", lambda: indicators.indicators(Period(YEAR, 4))),
        ("results", lambda: analytics.results(year)),
        # The results page's other parts, one by one (where its time goes).
        ("- delays", lambda: analytics.delays(year)),
        ("- outcomes", lambda: analytics.outcomes(year)),
        ("- nudges", lambda: analytics.nudges(year)),
        ("- intents", lambda: analytics.intents(year)),
        ("- variants", lambda: analytics.variants(year)),
        ("- appointments", lambda: analytics.appointments(year)),
        ("- channels", lambda: analytics.channels(year)),
        ("- options", lambda: analytics.options()),
    ]
    counter = StatementCounter(db)
    timed: list[tuple[str, float, int]] = []
    for name, call in queries:
        times, statements = [], []
        for _ in range(runs):
            counter.count = 0
            forget_deadlines()  # every run cold: the SLA deadlines are cached per process
            started = clock.perf_counter()
            call()
            times.append((clock.perf_counter() - started) * 1000)
            statements.append(counter.count)
        timed.append((name, statistics.median(times), max(statements)))
        print(f"  {name:<15} {statistics.median(times):10.1f} ms  {max(statements):4d} statements")
    base = timed[0][1]
    return [Figure(backend, people, q, ms, n, ms / base if base else 0.0) for q, ms, n in timed]


def run_once(
    url: str, backend: str, people: int, runs: int, settings: Settings, erased: int = 300
) -> list[Figure]:
    migrate.upgrade(url)
    db = Database.from_url(url)
    try:
        started = clock.perf_counter()
        rows = seed(db, people, settings, erased)
        if backend == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("ANALYZE"))
        seconds = clock.perf_counter() - started
        print(f"{backend} N={people:,}: seeded in {seconds:.0f} s {rows}")
        return measure(db, backend, people, runs, settings)
    finally:
        db.dispose()


def on_sqlite(people: int, runs: int, settings: Settings, erased: int = 300) -> list[Figure]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        return run_once(url, "sqlite", people, runs, settings, erased)


def on_postgres(
    base: str, people: int, runs: int, settings: Settings, erased: int = 300
) -> list[Figure]:
    """In a database of its own, created through the `test` database and dropped after."""
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{BENCH_DB}"'))
        conn.execute(text(f'CREATE DATABASE "{BENCH_DB}"'))
    try:
        url = make_url(base).set(database=BENCH_DB).render_as_string(hide_password=False)
        return run_once(url, "postgresql", people, runs, settings, erased)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)'))
        admin.dispose()


def table(figures: list[Figure]) -> str:
    lines = [
        "| backend | N | query | median ms | statements | x funnel |",
        "|---|---|---|---|---|---|",
    ]
    for f in figures:
        lines.append(
            f"| {f.backend} | {f.people:,} | {f.query} | {f.median_ms:,.1f} | {f.statements} "
            f"| {f.ratio:.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--people", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--runs", type=int, default=3, help="runs of each query (the median)")
    parser.add_argument("--postgres-url", default=os.environ.get("MARAUDE_TEST_POSTGRES_URL"))
    parser.add_argument("--erased", type=int, default=300, help="people erased (anonymous counts)")
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args(argv)
    settings = bench_settings()
    figures: list[Figure] = []
    for people in args.people:
        figures += on_sqlite(people, args.runs, settings, args.erased)
        if args.postgres_url and not args.sqlite_only:
            figures += on_postgres(args.postgres_url, people, args.runs, settings, args.erased)
    if not args.postgres_url:
        print("\n(PostgreSQL skipped: set MARAUDE_TEST_POSTGRES_URL)")
    print()
    print(table(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
