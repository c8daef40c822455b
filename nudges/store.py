"""Scheduled follow-ups: rows with a due time that sweeping workers claim, send and close.

Claiming is safe with several app processes on one database: on PostgreSQL a sweep locks the
due rows it takes with `FOR UPDATE SKIP LOCKED` (another worker skips them), and every state
change is a conditional UPDATE (`WHERE status = ... AND worker = ...`), so a row is sent by one
worker only, on SQLite too. A worker that dies mid-send leaves its rows in `sending` until their
lease ends; the next sweep puts them back to `pending`. Nothing is lost on restart.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.clock import Clock, SystemClock
from core.db import Database
from core.models import (
    FollowUp,
    FollowUpKind,
    FollowUpStatus,
    HeldMessage,
    JobRun,
    YoungPerson,
)
from core.people import person_by_pseudo

# Follow-ups that write to the young person (the others remind counsellors).
YOUTH_KINDS = frozenset(
    {
        FollowUpKind.triage_nudge,
        FollowUpKind.handoff_pending,
        FollowUpKind.youth_silent,
        FollowUpKind.youth_followup,
        FollowUpKind.outcome_checkin,
        FollowUpKind.appointment_reminder,
        FollowUpKind.appointment_missed,
    }
)
# Light nudges counted against the per-person weekly cap (a counsellor's own message is not,
# nor an appointment's reminder).
NUDGE_KINDS = frozenset(
    {
        FollowUpKind.triage_nudge,
        FollowUpKind.youth_silent,
        FollowUpKind.outcome_checkin,
        FollowUpKind.appointment_missed,
    }
)
# Kept after /stop: the reminders of an appointment the young person did not cancel
# (nudges/appointments.py stops them when the appointment is cancelled).
KEPT_AFTER_STOP = frozenset({FollowUpKind.appointment_reminder})


@dataclass(frozen=True)
class FollowUpJob:
    """A claimed follow-up, with what a sender needs to reach the person."""

    id: int
    kind: FollowUpKind
    step: int
    due_at: datetime
    attempts: int
    payload: dict[str, Any]
    person_id: int
    pseudo_id: str
    channel: str
    channel_user_id: str
    ticket_id: int | None
    blocked: bool
    opted_out: bool

    @property
    def to_youth(self) -> bool:
        return self.kind in YOUTH_KINDS


@dataclass(frozen=True)
class FollowUpView:
    id: int
    person_id: int
    ticket_id: int | None
    kind: FollowUpKind
    step: int
    status: FollowUpStatus
    due_at: datetime
    attempts: int
    reason: str | None
    sent_at: datetime | None
    worker: str | None


def _view(row: FollowUp) -> FollowUpView:
    return FollowUpView(
        row.id,
        row.person_id,
        row.ticket_id,
        row.kind,
        row.step,
        row.status,
        row.due_at,
        row.attempts,
        row.reason,
        row.sent_at,
        row.worker,
    )


def _rowcount(result: Any) -> int:
    return int(cast(CursorResult[Any], result).rowcount or 0)


class FollowUpService:
    def __init__(
        self, db: Database, clock: Clock | None = None, lease: timedelta = timedelta(minutes=5)
    ) -> None:
        self._db = db
        self._clock = clock or SystemClock()
        self._lease = lease

    def now(self) -> datetime:
        return self._clock.now()

    # Scheduling --------------------------------------------------------------------------
    def schedule(
        self,
        person_id: int,
        kind: FollowUpKind,
        due_at: datetime,
        *,
        step: int = 1,
        ticket_id: int | None = None,
        payload: dict[str, Any] | None = None,
        replace: bool = True,
    ) -> int | None:
        """Schedule a follow-up, replacing the pending one of the same kind (and ticket)
        unless `replace` is False (one per appointment: several may wait on a ticket).

        Returns its id, or None when the person opted out or blocked the bot (a young-person
        follow-up is then not scheduled at all).
        """
        if due_at.tzinfo is None:
            raise ValueError("due_at must be timezone-aware")
        with self._db.transaction() as session:
            person = self._lock_person(session, person_id)
            if person is None:
                return None
            if kind in YOUTH_KINDS and (
                person.blocked_at or (person.opted_out_at and kind not in KEPT_AFTER_STOP)
            ):
                return None
            if replace:
                self._cancel(session, person_id, [kind], ticket_id, "replaced")
            row = FollowUp(
                person_id=person_id,
                ticket_id=ticket_id,
                kind=kind,
                step=step,
                status=FollowUpStatus.pending,
                due_at=due_at,
                payload=payload or {},
                created_at=self._clock.now(),
            )
            session.add(row)
            session.flush()
            return row.id

    def cancel(
        self,
        person_id: int,
        *,
        kinds: Iterable[FollowUpKind] | None = None,
        ticket_id: int | None = None,
        reason: str,
    ) -> int:
        """Cancel pending follow-ups of the person (these kinds, this ticket); how many."""
        with self._db.transaction() as session:
            return self._cancel(session, person_id, kinds, ticket_id, reason)

    def opt_out(self, pseudo_id: str) -> int:
        """`/stop`: remember it and cancel every pending follow-up to the person at once (but
        an appointment's reminders: the young person is asked, bot/appointments.py)."""
        with self._db.transaction() as session:
            person = person_by_pseudo(session, pseudo_id)
            if person is None:
                return 0
            person = self._lock_person(session, person.id)
            assert person is not None
            person.opted_out_at = person.opted_out_at or self._clock.now()
            return self._cancel(session, person.id, YOUTH_KINDS - KEPT_AFTER_STOP, None, "opt_out")

    def opt_in(self, pseudo_id: str) -> None:
        """The person started again (`/start`): nudges are allowed again."""
        with self._db.transaction() as session:
            person = person_by_pseudo(session, pseudo_id)
            if person is not None:
                person.opted_out_at = None

    def pending(self, person_id: int | None = None) -> list[FollowUpView]:
        with self._db.transaction() as session:
            query = select(FollowUp).where(FollowUp.status == FollowUpStatus.pending)
            if person_id is not None:
                query = query.where(FollowUp.person_id == person_id)
            return [_view(r) for r in session.scalars(query.order_by(FollowUp.due_at))]

    def get(self, follow_up_id: int) -> FollowUpView | None:
        with self._db.transaction() as session:
            row = session.get(FollowUp, follow_up_id)
            return _view(row) if row else None

    # Sweeping ----------------------------------------------------------------------------
    def claim_due(self, worker: str, limit: int = 100) -> list[FollowUpJob]:
        """Take up to `limit` due follow-ups for this worker (status `sending`, leased)."""
        now = self._clock.now()
        with self._db.transaction() as session:
            # Rows whose worker died mid-send come back first.
            session.execute(
                update(FollowUp)
                .where(FollowUp.status == FollowUpStatus.sending, FollowUp.lease_until < now)
                .values(status=FollowUpStatus.pending, lease_until=None, worker=None)
                .execution_options(synchronize_session=False)
            )
            query = (
                select(FollowUp.id)
                .where(FollowUp.status == FollowUpStatus.pending, FollowUp.due_at <= now)
                .order_by(FollowUp.due_at, FollowUp.id)
                .limit(limit)
            )
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            ids = list(session.scalars(query))
            if not ids:
                return []
            taken = _rowcount(
                session.execute(
                    update(FollowUp)
                    .where(FollowUp.id.in_(ids), FollowUp.status == FollowUpStatus.pending)
                    .values(
                        status=FollowUpStatus.sending,
                        worker=worker,
                        lease_until=now + self._lease,
                        attempts=FollowUp.attempts + 1,
                    )
                    .execution_options(synchronize_session=False)
                )
            )
            if not taken:
                return []
            rows = session.execute(
                select(FollowUp, YoungPerson)
                .join(YoungPerson, YoungPerson.id == FollowUp.person_id)
                .where(
                    FollowUp.id.in_(ids),
                    FollowUp.status == FollowUpStatus.sending,
                    FollowUp.worker == worker,
                )
                .order_by(FollowUp.due_at, FollowUp.id)
            )
            return [
                FollowUpJob(
                    id=f.id,
                    kind=f.kind,
                    step=f.step,
                    due_at=f.due_at,
                    attempts=f.attempts,
                    payload=dict(f.payload or {}),
                    person_id=p.id,
                    pseudo_id=p.pseudo_id,
                    channel=str(p.channel),
                    channel_user_id=p.channel_user_id,
                    ticket_id=f.ticket_id,
                    blocked=p.blocked_at is not None,
                    opted_out=p.opted_out_at is not None,
                )
                for f, p in rows
            ]

    def mark_sent(self, job_id: int, worker: str) -> bool:
        """Close a job this worker holds; False if it lost it (an opt-out cancelled it)."""
        return self._finish(job_id, worker, FollowUpStatus.sent, None, sent_at=self._clock.now())

    def mark_cancelled(self, job_id: int, worker: str, reason: str) -> bool:
        return self._finish(job_id, worker, FollowUpStatus.cancelled, reason)

    def mark_failed(self, job_id: int, worker: str, reason: str) -> bool:
        return self._finish(job_id, worker, FollowUpStatus.failed, reason)

    def postpone(self, job_id: int, worker: str, due_at: datetime, reason: str) -> bool:
        """Give a job back for later (quiet hours, weekly cap, flood control)."""
        return self._update_held(
            job_id,
            worker,
            status=FollowUpStatus.pending,
            due_at=due_at,
            worker=None,
            lease_until=None,
            reason=reason[:64],
        )

    def has_held_messages(self, person_id: int) -> bool:
        """The person wrote while no engine answered (bot/held.py): those messages, maybe a
        /stop, are answered before any nudge goes out."""
        with self._db.transaction() as session:
            found = session.scalar(
                select(HeldMessage.id).where(HeldMessage.person_id == person_id).limit(1)
            )
            return found is not None

    def still_held(self, job_id: int, worker: str) -> bool:
        """True while this worker still holds the job (an opt-out cancels it under our feet)."""
        with self._db.transaction() as session:
            return bool(
                session.scalar(
                    select(func.count())
                    .select_from(FollowUp)
                    .where(
                        FollowUp.id == job_id,
                        FollowUp.status == FollowUpStatus.sending,
                        FollowUp.worker == worker,
                    )
                )
            )

    def nudges_sent_since(self, person_id: int, since: datetime) -> list[datetime]:
        """When the person's capped nudges were sent since `since`, oldest first."""
        with self._db.transaction() as session:
            return list(
                session.scalars(
                    select(FollowUp.sent_at)
                    .where(
                        FollowUp.person_id == person_id,
                        FollowUp.status == FollowUpStatus.sent,
                        FollowUp.kind.in_(NUDGE_KINDS),
                        FollowUp.sent_at >= since,
                    )
                    .order_by(FollowUp.sent_at)
                )
            )

    def run_once(self, job: str, period: str, worker: str) -> bool:
        """True for the first worker to claim `job` for `period` (e.g. the digest of a day)."""
        try:
            with self._db.transaction() as session:
                session.add(
                    JobRun(job=job, period=period, worker=worker, created_at=self._clock.now())
                )
        except IntegrityError:
            return False
        return True

    # Helpers -----------------------------------------------------------------------------
    def _finish(
        self,
        job_id: int,
        worker: str,
        status: FollowUpStatus,
        reason: str | None,
        sent_at: datetime | None = None,
    ) -> bool:
        values: dict[str, Any] = {"status": status, "lease_until": None}
        if reason is not None:
            values["reason"] = reason[:64]
        if sent_at is not None:
            values["sent_at"] = sent_at
        return self._update_held(job_id, worker, **values)

    def _update_held(self, job_id: int, holder: str, **values: Any) -> bool:
        """Change a job only while `holder` still holds it (conditional UPDATE)."""
        with self._db.transaction() as session:
            result = session.execute(
                update(FollowUp)
                .where(
                    FollowUp.id == job_id,
                    FollowUp.status == FollowUpStatus.sending,
                    FollowUp.worker == holder,
                )
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            return bool(_rowcount(result))

    @staticmethod
    def _lock_person(session: Session, person_id: int) -> YoungPerson | None:
        """The person row, locked on PostgreSQL so scheduling and opt-out serialise per person."""
        return session.scalar(
            select(YoungPerson).where(YoungPerson.id == person_id).with_for_update()
        )

    @staticmethod
    def _cancel(
        session: Session,
        person_id: int,
        kinds: Iterable[FollowUpKind] | None,
        ticket_id: int | None,
        reason: str,
    ) -> int:
        statement = update(FollowUp).where(
            FollowUp.person_id == person_id,
            FollowUp.status.in_([FollowUpStatus.pending, FollowUpStatus.sending]),
        )
        if kinds is not None:
            statement = statement.where(FollowUp.kind.in_(list(kinds)))
        if ticket_id is not None:
            statement = statement.where(FollowUp.ticket_id == ticket_id)
        return _rowcount(
            session.execute(
                statement.values(
                    status=FollowUpStatus.cancelled, reason=reason[:64], lease_until=None
                ).execution_options(synchronize_session=False)
            )
        )
