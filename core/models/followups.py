"""Scheduled follow-ups (nudges, reminders, check-ins) and once-only job runs."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import AwareDateTime, Base, str_enum, utcnow


class FollowUpKind(enum.StrEnum):
    triage_nudge = "triage_nudge"  # triage abandoned part-way
    handoff_pending = "handoff_pending"  # "ta demande est en cours" when the claim is late
    youth_silent = "youth_silent"  # the counsellor wrote, the young person did not answer
    youth_followup = "youth_followup"  # a message a counsellor scheduled for the young person
    counsellor_reminder = "counsellor_reminder"  # "relancer dans 2 semaines", for the counsellor
    outcome_checkin = "outcome_checkin"  # 30 days after a positive outcome
    # Appointments (handoff/appointments): payload {"appointment_id": id, "index": n}.
    appointment_reminder = "appointment_reminder"  # the day before, two hours before...
    appointment_missed = "appointment_missed"  # the day after a missed one: "on refixe ?"
    appointment_unmarked = "appointment_unmarked"  # counsellors: say whether it happened


class FollowUpStatus(enum.StrEnum):
    pending = "pending"
    sending = "sending"  # claimed by a sweeping worker until lease_until
    sent = "sent"
    cancelled = "cancelled"
    failed = "failed"


class FollowUp(Base):
    """One scheduled follow-up: a nudge to a young person or a reminder to a counsellor.

    Sweeps claim due `pending` rows (row locks skipped by other workers on PostgreSQL), send,
    then mark them `sent`; a row stuck in `sending` past its lease goes back to `pending`.
    At most one pending row per (person, kind, ticket): scheduling again replaces it.
    """

    __tablename__ = "follow_up"
    __table_args__ = (
        Index("ix_follow_up_due", "status", "due_at"),
        Index("ix_follow_up_person_status", "person_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("young_person.id", ondelete="CASCADE"))
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("ticket.id", ondelete="CASCADE"), nullable=True, index=True
    )
    kind: Mapped[FollowUpKind] = mapped_column(str_enum(FollowUpKind, 24))
    step: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[FollowUpStatus] = mapped_column(
        str_enum(FollowUpStatus, 16), default=FollowUpStatus.pending
    )
    due_at: Mapped[datetime] = mapped_column(AwareDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    worker: Mapped[str | None] = mapped_column(String(64), nullable=True)
    payload: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    reason: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)


class JobRun(Base):
    """Once-per-period jobs (the daily digest): the first worker to insert the row runs it."""

    __tablename__ = "job_run"
    __table_args__ = (UniqueConstraint("job", "period", name="uq_job_run_job_period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(40))
    period: Mapped[str] = mapped_column(String(40))
    worker: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
