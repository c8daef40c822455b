"""Scheduler scale: 100 000 due follow-ups swept by two worker processes on PostgreSQL.

Each worker is its own process with its own SQLAlchemy engine, running the real
`FollowUpSweeper` + `FollowUpService` (FOR UPDATE SKIP LOCKED claims, leases, conditional
UPDATEs) with a no-op delivery that records (job id, worker) in a file. Prints elapsed
seconds, sends per second, per-worker counts and duplicates (must be 0), then a baseline in
the same run: one worker alone on the same rows (reset to pending).

    .venv/bin/python -m bench.scheduler.run [--url postgresql+psycopg://...] [--rows 100000]

The URL defaults to MARAUDE_TEST_POSTGRES_URL; a fresh schema is created and dropped after.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import secrets
import sys
import tempfile
import time as clock
from collections import Counter
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, text, update

# Runnable as a script too (python bench/scheduler/run.py).
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from core import migrate  # noqa: E402
from core.calendar import QuietHours  # noqa: E402
from core.clock import SystemClock  # noqa: E402
from core.db import Database  # noqa: E402
from core.models import (  # noqa: E402
    Channel,
    FollowUp,
    FollowUpKind,
    FollowUpStatus,
    YoungPerson,
)
from nudges.contract import DirectMessage, Outgoing  # noqa: E402
from nudges.store import FollowUpJob, FollowUpService  # noqa: E402
from nudges.sweeper import FollowUpSweeper  # noqa: E402

PEOPLE = 2_000
# No quiet hours: the figures must not depend on when the benchmark runs.
NO_QUIET = QuietHours(
    start=time(0, 0), end=time(0, 0), quiet_weekdays=frozenset(), public_holidays=False
)


class BenchPolicies:
    def outgoing(self, job: FollowUpJob) -> Outgoing | None:
        return DirectMessage("relance")

    async def after_sent(self, job: FollowUpJob) -> None:
        return None


def worker_main(url: str, name: str, batch: int, out: str, go: Any, done: Any) -> None:
    """One app process: its own engine, sweeping until nothing is due."""
    db = Database.from_url(url)
    service = FollowUpService(db, SystemClock())
    sent: list[int] = []

    async def deliver(job: FollowUpJob, outgoing: Outgoing) -> None:
        sent.append(job.id)  # no-op send: only remember who sent what

    sweeper = FollowUpSweeper(
        service,
        BenchPolicies(),
        deliver,
        NO_QUIET,
        cap_per_week=50,
        worker=name,
        clock=SystemClock(),
        batch_size=batch,
        max_batches=1_000_000,
    )

    async def drain() -> None:
        while (await sweeper.sweep()).claimed:
            pass

    with db.engine.connect():  # connect before the start signal
        pass
    go.wait()
    asyncio.run(drain())
    done.put((name, clock.perf_counter()))
    Path(out).write_text("".join(f"{job_id}\t{name}\n" for job_id in sent))
    db.dispose()


def seed(url: str, rows: int) -> None:
    migrate.upgrade(url)
    engine = create_engine(url)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            insert(YoungPerson),
            [
                {
                    "pseudo_id": f"ybench{n:08d}",
                    "channel": Channel.simulator,
                    "channel_user_id": f"bench-{n}",
                    "created_at": now,
                    "last_seen_at": now,
                }
                for n in range(PEOPLE)
            ],
        )
        first = conn.execute(text("SELECT min(id) FROM young_person")).scalar_one()
        chunk = 10_000
        for start in range(0, rows, chunk):
            conn.execute(
                insert(FollowUp),
                [
                    {
                        "person_id": first + n % PEOPLE,
                        "kind": FollowUpKind.youth_followup,
                        "step": 1,
                        "status": FollowUpStatus.pending,
                        "due_at": now - timedelta(seconds=rows - n),
                        "attempts": 0,
                        "payload": {},
                        "created_at": now,
                    }
                    for n in range(start, min(rows, start + chunk))
                ],
            )
    engine.dispose()


def reset(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            update(FollowUp).values(
                status=FollowUpStatus.pending,
                worker=None,
                lease_until=None,
                sent_at=None,
                attempts=0,
                reason=None,
            )
        )
        conn.execute(text("ANALYZE follow_up"))
    engine.dispose()


def run(url: str, workers: int, batch: int, folder: Path, label: str) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    go, done = ctx.Event(), ctx.Queue()
    names = [f"{label}-w{i + 1}" for i in range(workers)]
    files = {name: str(folder / f"{name}.tsv") for name in names}
    procs = [
        ctx.Process(target=worker_main, args=(url, name, batch, files[name], go, done))
        for name in names
    ]
    for proc in procs:
        proc.start()
    clock.sleep(3)  # let every process import and connect
    started = clock.perf_counter()
    go.set()
    ends = [done.get(timeout=3600)[1] for _ in procs]
    for proc in procs:
        proc.join()
        if proc.exitcode != 0:
            raise SystemExit(f"a worker failed (exit code {proc.exitcode})")
    elapsed = max(ends) - started
    per_worker: dict[str, int] = {}
    ids: Counter[int] = Counter()
    for name, path in files.items():
        lines = Path(path).read_text().splitlines()
        per_worker[name] = len(lines)
        ids.update(int(line.split("\t")[0]) for line in lines)
    duplicates = sum(count - 1 for count in ids.values() if count > 1)
    engine = create_engine(url)
    with engine.connect() as conn:
        left = conn.execute(
            text("SELECT count(*) FROM follow_up WHERE status <> 'sent'")
        ).scalar_one()
    engine.dispose()
    return {
        "label": label,
        "workers": workers,
        "elapsed": elapsed,
        "sent": sum(per_worker.values()),
        "distinct": len(ids),
        "per_worker": per_worker,
        "duplicates": duplicates,
        "not_sent": left,
    }


def show(result: dict[str, Any]) -> None:
    rate = result["sent"] / result["elapsed"] if result["elapsed"] else 0.0
    print(f"\n{result['label']}: {result['workers']} worker(s)")
    print(f"  elapsed          {result['elapsed']:.1f} s")
    print(f"  sends per second {rate:,.0f}")
    for name, count in result["per_worker"].items():
        print(f"  {name:<16} {count:,}")
    sent, distinct, left = result["sent"], result["distinct"], result["not_sent"]
    print(f"  sent {sent:,} (distinct {distinct:,}), not sent {left}")
    print(f"  duplicates       {result['duplicates']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default=os.environ.get("MARAUDE_TEST_POSTGRES_URL"))
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=200, help="rows claimed per query")
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args(argv)
    if not args.url or not args.url.startswith("postgresql"):
        parser.error("a PostgreSQL URL is needed: --url or MARAUDE_TEST_POSTGRES_URL")
    schema = f"maraude_bench_{secrets.token_hex(4)}"
    admin = create_engine(args.url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{args.url}{'&' if '?' in args.url else '?'}options=-csearch_path%3D{schema}"
    failed = False
    try:
        print(f"seeding {args.rows:,} due follow-ups for {PEOPLE:,} people in schema {schema}…")
        seed(url, args.rows)
        with tempfile.TemporaryDirectory() as tmp:
            results = [run(url, args.workers, args.batch, Path(tmp), "concurrent")]
            if not args.no_baseline:
                reset(url)
                results.append(run(url, 1, args.batch, Path(tmp), "baseline"))
        for result in results:
            show(result)
            failed |= result["duplicates"] > 0 or result["not_sent"] > 0
            failed |= result["distinct"] != args.rows
        if len(results) == 2 and results[0]["elapsed"]:
            ratio = results[1]["elapsed"] / results[0]["elapsed"]
            print(f"\nspeed-up of {args.workers} workers over one: {ratio:.2f}x")
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    print("\nFAIL: duplicates or lost rows" if failed else "\nOK: every row sent exactly once")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
