"""The counsellors' side: hand-off requests, accounts and API tokens, tickets, their notes,
events and crisis signals."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.models.base import AwareDateTime, Base, str_enum, utcnow
from core.models.people import YoungPerson


class Urgency(enum.StrEnum):
    normal = "normal"
    crisis = "crisis"


class RequestStatus(enum.StrEnum):
    new = "new"  # not yet attached to a ticket
    taken = "taken"  # attached to a ticket (HandoffRequest.ticket_id)


class HandoffRequest(Base):
    """A young person asked for (or, in a crisis, needs) a human counsellor.

    Holds the structured triage summary shown on its ticket. While the person's ticket is open,
    a new request (more answers, a crisis) updates this row and escalates the ticket instead
    of opening another one.
    """

    __tablename__ = "handoff_request"
    __table_args__ = (Index("ix_handoff_request_status_urgency", "status", "urgency"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(
        ForeignKey("young_person.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[RequestStatus] = mapped_column(
        str_enum(RequestStatus, 16), default=RequestStatus.new
    )
    urgency: Mapped[Urgency] = mapped_column(str_enum(Urgency, 16), default=Urgency.normal)
    source: Mapped[str] = mapped_column(String(32))  # triage, ask_human, crisis, fallback
    crisis_kind: Mapped[str | None] = mapped_column(String(32), nullable=True)
    needs: Mapped[list[str]] = mapped_column(JSON, default=list)
    age: Mapped[str | None] = mapped_column(String(16), nullable=True)
    location: Mapped[str | None] = mapped_column(String(80), nullable=True)
    situation: Mapped[str | None] = mapped_column(String(120), nullable=True)
    followed: Mapped[str | None] = mapped_column(String(120), nullable=True)
    contact: Mapped[str | None] = mapped_column(String(64), nullable=True)
    availability: Mapped[str | None] = mapped_column(String(120), nullable=True)
    # A phone number to call back on, given with consent (normalised "0612345678" / "+33…").
    phone: Mapped[str | None] = mapped_column(String(20), nullable=True)
    # Questions the bot could not answer, kept for the counsellor (their own words).
    questions: Mapped[list[str] | None] = mapped_column(JSON, nullable=True, default=list)
    # Who wrote: None for the young person themself, "parent" / "proche" for someone
    # writing on their behalf (answered as who they are).
    writer: Mapped[str | None] = mapped_column(String(16), nullable=True)
    excerpt: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The young person said they are under 18 (set by the caller, never unset by a later request).
    minor: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("ticket.id", ondelete="SET NULL"), nullable=True, index=True
    )


class Role(enum.StrEnum):
    counsellor = "counsellor"
    manager = "manager"
    admin = "admin"


class Counsellor(Base):
    """A counsellor, manager or admin account of the dashboard (and the Telegram bridge)."""

    __tablename__ = "counsellor"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    first_name: Mapped[str] = mapped_column(String(60))
    role: Mapped[Role] = mapped_column(str_enum(Role, 16), default=Role.counsellor)
    team: Mapped[str | None] = mapped_column(String(32), nullable=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    # Telegram user id, to recognise the counsellor in the counsellors' group (bridge).
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger(), nullable=True, unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)


class ApiToken(Base):
    """A token for the REST API, named, with an expiry; only its SHA-256 is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    counsellor_id: Mapped[int] = mapped_column(
        ForeignKey("counsellor.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(80))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    # Refused from then on (`maraude user token --expires-days`, default `server.api_token_days`).
    expires_at: Mapped[datetime] = mapped_column(AwareDateTime())


class TicketStatus(enum.StrEnum):
    new = "new"
    claimed = "claimed"
    waiting_youth = "waiting_youth"
    waiting_counsellor = "waiting_counsellor"
    resolved = "resolved"
    closed_unreachable = "closed_unreachable"


OPEN_STATUSES = (
    TicketStatus.new,
    TicketStatus.claimed,
    TicketStatus.waiting_youth,
    TicketStatus.waiting_counsellor,
)
# Statuses in which the young person's messages go to the counsellor instead of the engine.
RELAY_STATUSES = (
    TicketStatus.claimed,
    TicketStatus.waiting_youth,
    TicketStatus.waiting_counsellor,
)


class Ticket(Base):
    """One hand-off case: a young person waiting for, or talking with, a counsellor."""

    __tablename__ = "ticket"
    __table_args__ = (
        Index("ix_ticket_queue", "status", "priority", "created_at"),
        Index("ix_ticket_person_status", "person_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("young_person.id", ondelete="CASCADE"))
    status: Mapped[TicketStatus] = mapped_column(
        str_enum(TicketStatus, 24), default=TicketStatus.new
    )
    urgency: Mapped[Urgency] = mapped_column(str_enum(Urgency, 16), default=Urgency.normal)
    # 0 = crisis, 1 = normal: the queue sorts by (priority, severity, created_at).
    priority: Mapped[int] = mapped_column(Integer, default=1)
    # Among crisis tickets, the most severe first (lower = more urgent: see
    # handoff/signals.py); NORMAL_SEVERITY (100) for every normal ticket.
    severity: Mapped[int] = mapped_column(Integer, default=100)
    # Since when the ticket is urgent (creation or escalation; None when normal): the crisis
    # SLA counts from here.
    urgent_since: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    # A request said the young person is under 18 ("mineur·e"); never unset.
    minor: Mapped[bool] = mapped_column(Boolean, default=False)
    crisis_kind: Mapped[str | None] = mapped_column(String(32), nullable=True)
    source: Mapped[str] = mapped_column(String(32))
    team: Mapped[str] = mapped_column(String(32), index=True)
    territory: Mapped[str | None] = mapped_column(String(120), nullable=True)
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("counsellor.id", ondelete="SET NULL"), nullable=True, index=True
    )
    outcome: Mapped[str | None] = mapped_column(String(32), nullable=True)
    outcome_comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    follow_up_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    # The counsellors' group forum topic of this ticket (bridge), and its summary message.
    topic_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    topic_message_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # When a worker reserved the ticket to open its topic (topic_id 0): a reservation older than
    # a few minutes belongs to a worker that died, and another may take it over.
    topic_reserved_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    first_reply_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    last_youth_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    last_counsellor_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)

    person: Mapped[YoungPerson] = relationship()
    assignee: Mapped[Counsellor | None] = relationship()
    requests: Mapped[list[HandoffRequest]] = relationship(order_by="HandoffRequest.id")
    signals: Mapped[list[CrisisSignalRecord]] = relationship(
        order_by="CrisisSignalRecord.id", viewonly=True
    )


class TicketNote(Base):
    """An internal note on a ticket: counsellors only, never sent to the young person."""

    __tablename__ = "ticket_note"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("counsellor.id", ondelete="SET NULL"), nullable=True
    )
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)

    author: Mapped[Counsellor | None] = relationship()


class EventKind(enum.StrEnum):
    created = "created"
    escalated = "escalated"
    claimed = "claimed"
    released = "released"
    transferred = "transferred"
    replied = "replied"
    youth_message = "youth_message"
    noted = "noted"
    follow_up_set = "follow_up_set"
    resolved = "resolved"
    closed_unreachable = "closed_unreachable"
    reopened = "reopened"
    # The young person's answer to the check-in after a positive outcome (plain string column:
    # no migration needed).
    checkin_answered = "checkin_answered"
    # SLA (handoff/sla/alerts.py): the team was reminded that an unclaimed ticket is late, then a
    # manager was alerted. One of each per ticket at most: these events are the memory.
    sla_breached = "sla_breached"
    manager_alerted = "manager_alerted"
    # A counsellor said the urgency was a false alarm (data: reason): back to normal priority.
    false_alarm = "false_alarm"
    # Appointments (handoff/appointments; data: appointment id, status, when).
    appointment_proposed = "appointment_proposed"
    appointment_answered = "appointment_answered"
    appointment_cancelled = "appointment_cancelled"
    appointment_marked = "appointment_marked"


class SignalOrigin(enum.StrEnum):
    urgent = "urgent"  # came with an urgent hand-off request (raised or escalated the ticket)
    request = "request"  # came with a normal hand-off request
    flag = "flag"  # a worrying message the young person then said was fine (no ticket made)


class CrisisSignalRecord(Base):
    """What made the bot think a young person may be in danger (handoff/signals.py).

    Kept on the person's ticket (`ticket_id`; a flag waits with none until the next ticket):
    purged with the ticket, erased with the person. `text` is the young person's message:
    kept for an urgent hand-off even without consent (vital interest), otherwise only with
    consent. A counsellor may mark it a false alarm (with a reason).
    """

    __tablename__ = "crisis_signal"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(
        ForeignKey("young_person.id", ondelete="CASCADE"), index=True
    )
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("ticket.id", ondelete="CASCADE"), nullable=True, index=True
    )
    origin: Mapped[SignalOrigin] = mapped_column(str_enum(SignalOrigin, 16))
    tier: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(24))
    kind: Mapped[str | None] = mapped_column(String(32), nullable=True)
    detail: Mapped[str | None] = mapped_column(String(200), nullable=True)
    intent: Mapped[str | None] = mapped_column(String(64), nullable=True)
    confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    answer: Mapped[str | None] = mapped_column(String(16), nullable=True)
    text: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    false_alarm_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    false_alarm_by: Mapped[int | None] = mapped_column(
        ForeignKey("counsellor.id", ondelete="SET NULL"), nullable=True
    )
    false_alarm_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class TicketEvent(Base):
    """Append-only log of what happened to a ticket, for analytics and audit."""

    __tablename__ = "ticket_event"
    __table_args__ = (Index("ix_ticket_event_kind_at", "kind", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"), index=True)
    kind: Mapped[EventKind] = mapped_column(str_enum(EventKind, 24))
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("counsellor.id", ondelete="SET NULL"), nullable=True
    )
    # Where the action came from: web, api, telegram, bot, system.
    via: Mapped[str] = mapped_column(String(16), default="system")
    data: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
