"""The retention purge: every person inactive for `organisation.retention_days` (simulations: a
day) is erased exactly as /oubli erases (core/erasure.py: the app database with its NLU turns
and annotations not yet exported, the counsellors' side through `forget`, then the engine's
tracker store, pending until it can be reached), and the log files written under var/log that
are older than the retention go too.

Last activity is the later of the person's last message (`young_person.last_seen_at`) and the
last change to one of their tickets (a counsellor still working on the case). Run daily by the
scheduler (maraude/jobs.py) and by `maraude privacy purge [--dry-run] [--as-of YYYY-MM-DD]`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Row, Select, exists, func, select
from sqlalchemy.orm import Session

from core.clock import Clock, SystemClock
from core.db import Database
from core.erasure import ErasureService, Reason
from core.models import Message, NluTurn, PurgeRun, Ticket, YoungPerson
from core.simulations import SIMULATED_CHANNELS, SIMULATION_RETENTION

log = logging.getLogger(__name__)

# desk.forget (handoff/desk.py): erase with `erase(pseudo_id)`, then drop what the counsellors'
# side showed of the person (the bridge's forum topics), as on /oubli.
Forget = Callable[[str, Callable[[str], object]], Awaitable[None]]


@dataclass(frozen=True)
class PurgeReport:
    as_of: datetime
    dry_run: bool
    people: int  # real young people inactive for the retention
    simulations: int  # simulator people inactive for a day
    messages: int
    tickets: int
    nlu_turns: int
    annotations: int  # annotated NLU turns not yet exported to the training data
    log_files: int
    tracker_pending: int  # tracker erasures left pending (store unreachable)


@dataclass(frozen=True)
class PurgeRunView:
    started_at: datetime
    finished_at: datetime | None
    as_of: datetime
    trigger: str
    people: int
    simulations: int
    log_files: int
    tracker_pending: int


class RetentionService:
    def __init__(
        self,
        db: Database,
        erasure: ErasureService,
        retention_days: int,
        log_dir: Path,
        tz: ZoneInfo,
        clock: Clock | None = None,
    ) -> None:
        self._db = db
        self._erasure = erasure
        self.retention = timedelta(days=retention_days)
        self._log_dir = log_dir
        self._tz = tz
        self._clock = clock or SystemClock()

    def as_of_day(self, day: date) -> datetime:
        """`--as-of DAY`: 00:00 local that day."""
        return datetime.combine(day, time(0), self._tz)

    # What goes ------------------------------------------------------------------------------
    def _inactive(self, simulated: bool, as_of: datetime) -> Select[int, str]:
        cutoff = as_of - (SIMULATION_RETENTION if simulated else self.retention)
        channel: ColumnElement[bool] = (
            YoungPerson.channel.in_(SIMULATED_CHANNELS)
            if simulated
            else YoungPerson.channel.not_in(SIMULATED_CHANNELS)
        )
        recent_ticket = exists().where(
            Ticket.person_id == YoungPerson.id, Ticket.updated_at >= cutoff
        )
        return (
            select(YoungPerson.id, YoungPerson.pseudo_id)
            .where(channel, YoungPerson.last_seen_at < cutoff, ~recent_ticket)
            .order_by(YoungPerson.id)
        )

    def old_log_files(self, as_of: datetime) -> list[Path]:
        """The files under var/log last written before the retention."""
        if not self._log_dir.is_dir():
            return []
        cutoff = (as_of - self.retention).timestamp()
        return sorted(
            path
            for path in self._log_dir.rglob("*")
            if path.is_file() and path.stat().st_mtime < cutoff
        )

    def _select(
        self, as_of: datetime
    ) -> tuple[list[Row[int, str]], list[Row[int, str]], tuple[int, int, int, int]]:
        with self._db.transaction() as session:
            people = list(session.execute(self._inactive(False, as_of)).all())
            simulations = list(session.execute(self._inactive(True, as_of)).all())
            ids = [row.id for row in (*people, *simulations)]
            return people, simulations, _counts(session, ids)

    # The purge ------------------------------------------------------------------------------
    async def purge(
        self,
        forget: Forget,
        as_of: datetime | None = None,
        *,
        dry_run: bool = False,
        trigger: str = "job",
    ) -> PurgeReport:
        as_of = as_of or self._clock.now()
        started = self._clock.now()
        people, simulations, counts = await asyncio.to_thread(self._select, as_of)
        messages, tickets, turns, annotations = counts
        files = await asyncio.to_thread(self.old_log_files, as_of)
        pending = 0
        if not dry_run:
            for rows, reason in ((people, Reason.retention), (simulations, Reason.simulation)):
                for row in rows:
                    await forget(row.pseudo_id, partial(self._erasure.erase_app, reason=reason))
                    # Inactive: no engine turn under way, the tracker can go at once.
                    erased = await asyncio.to_thread(self._erasure.erase_tracker, row.pseudo_id)
                    pending += erased is None
            for path in files:
                path.unlink(missing_ok=True)
        report = PurgeReport(
            as_of,
            dry_run,
            len(people),
            len(simulations),
            messages,
            tickets,
            turns,
            annotations,
            len(files),
            pending,
        )
        if not dry_run:
            await asyncio.to_thread(self._record, report, started, trigger)
        log.info(
            "retention purge%s: %s people, %s simulations, %s log files, %s tracker pending",
            " (dry run)" if dry_run else "",
            report.people,
            report.simulations,
            report.log_files,
            report.tracker_pending,
        )
        return report

    def _record(self, report: PurgeReport, started: datetime, trigger: str) -> None:
        with self._db.transaction() as session:
            session.add(
                PurgeRun(
                    started_at=started,
                    finished_at=self._clock.now(),
                    as_of=report.as_of,
                    trigger=trigger,
                    people=report.people,
                    simulations=report.simulations,
                    log_files=report.log_files,
                    tracker_pending=report.tracker_pending,
                )
            )

    def last_run(self) -> PurgeRunView | None:
        with self._db.transaction() as session:
            run = session.scalar(select(PurgeRun).order_by(PurgeRun.id.desc()).limit(1))
            if run is None:
                return None
            return PurgeRunView(
                run.started_at,
                run.finished_at,
                run.as_of,
                run.trigger,
                run.people,
                run.simulations,
                run.log_files,
                run.tracker_pending,
            )


def _counts(session: Session, ids: list[int]) -> tuple[int, int, int, int]:
    """Messages, tickets, NLU turns and pending annotations of these people."""
    totals = [0, 0, 0, 0]
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        queries = (
            select(func.count()).select_from(Message).where(Message.person_id.in_(chunk)),
            select(func.count()).select_from(Ticket).where(Ticket.person_id.in_(chunk)),
            select(func.count()).select_from(NluTurn).where(NluTurn.person_id.in_(chunk)),
            select(func.count())
            .select_from(NluTurn)
            .where(
                NluTurn.person_id.in_(chunk),
                NluTurn.annotated_intent.is_not(None),
                NluTurn.exported_at.is_(None),
            ),
        )
        for index, query in enumerate(queries):
            totals[index] += int(session.scalar(query) or 0)
    return totals[0], totals[1], totals[2], totals[3]
