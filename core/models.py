"""SQLAlchemy 2 models: young people, consent, messages, hand-off requests, tickets, accounts."""

from __future__ import annotations

import enum
from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class AwareDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes on every backend (SQLite stores naive UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use an aware datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        return value if value.tzinfo else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    pass


def str_enum(cls: type[enum.StrEnum], length: int = 16) -> Enum:
    """Store the enum's values (not member names) as plain strings with a CHECK-free column."""
    return Enum(
        cls,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
    )


class Channel(enum.StrEnum):
    telegram = "telegram"
    simulator = "simulator"
    terminal = "terminal"


class ConsentStatus(enum.StrEnum):
    unknown = "unknown"
    granted = "granted"
    refused = "refused"


class Direction(enum.StrEnum):
    incoming = "in"
    outgoing = "out"


class Origin(enum.StrEnum):
    youth = "youth"
    bot = "bot"
    counsellor = "counsellor"


class YoungPerson(Base):
    """A young person, known to the engine only by `pseudo_id`."""

    __tablename__ = "young_person"
    __table_args__ = (
        UniqueConstraint("channel", "channel_user_id", name="uq_person_channel_user"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pseudo_id: Mapped[str] = mapped_column(String(40), unique=True, index=True)
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, 16))
    # Address on the channel (Telegram chat id) needed to write back; never sent to the engine.
    channel_user_id: Mapped[str] = mapped_column(String(64))
    consent: Mapped[ConsentStatus] = mapped_column(
        str_enum(ConsentStatus, 16), default=ConsentStatus.unknown
    )
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    blocked_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    # Set by /stop (opt_out): no nudge is ever sent again, until the person writes again.
    opted_out_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)

    consents: Mapped[list[ConsentRecord]] = relationship(
        back_populates="person", cascade="all, delete-orphan", passive_deletes=True
    )
    messages: Mapped[list[Message]] = relationship(
        back_populates="person", cascade="all, delete-orphan", passive_deletes=True
    )


class ConsentRecord(Base):
    """Append-only history of consent decisions (what was asked, what was answered, when)."""

    __tablename__ = "consent_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(
        ForeignKey("young_person.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[ConsentStatus] = mapped_column(str_enum(ConsentStatus, 16))
    notice_version: Mapped[str] = mapped_column(String(32))
    recorded_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)

    person: Mapped[YoungPerson] = relationship(back_populates="consents")


class Message(Base):
    """A message in or out, kept only while consent is granted."""

    __tablename__ = "message"
    __table_args__ = (Index("ix_message_person_created", "person_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("young_person.id", ondelete="CASCADE"))
    direction: Mapped[Direction] = mapped_column(str_enum(Direction, 8))
    origin: Mapped[Origin] = mapped_column(str_enum(Origin, 16))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    # Set for messages exchanged through a hand-off ticket (relayed to or from a counsellor).
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("ticket.id", ondelete="SET NULL"), nullable=True, index=True
    )
    counsellor_id: Mapped[int | None] = mapped_column(
        ForeignKey("counsellor.id", ondelete="SET NULL"), nullable=True
    )

    person: Mapped[YoungPerson] = relationship(back_populates="messages")


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
    """A token for the REST API; only its SHA-256 is stored."""

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


class FollowUpKind(enum.StrEnum):
    triage_nudge = "triage_nudge"  # triage abandoned part-way
    handoff_pending = "handoff_pending"  # "ta demande est en cours" when the claim is late
    youth_silent = "youth_silent"  # the counsellor wrote, the young person did not answer
    youth_followup = "youth_followup"  # a message a counsellor scheduled for the young person
    counsellor_reminder = "counsellor_reminder"  # "relancer dans 2 semaines", for the counsellor
    outcome_checkin = "outcome_checkin"  # 30 days after a positive outcome


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


class NluTurn(Base):
    """What the engine understood of one message a young person typed (manager studio).

    Written by the conversation pipeline after each exchange with the engine: the predicted
    intent and confidence, entities, the normalised text and the first action the bot took.
    The text is stored only for people who gave their consent (like the message log); the
    misunderstood inbox reads the low-confidence and fallback turns, and a manager's
    annotation (the right intent, or `out_of_scope`) is exported as Rasa NLU data.
    """

    __tablename__ = "nlu_turn"
    __table_args__ = (
        Index("ix_nlu_turn_created", "created_at"),
        Index("ix_nlu_turn_review", "fallback", "annotated_intent"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(
        ForeignKey("young_person.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str | None] = mapped_column(Text, nullable=True)
    normalised: Mapped[str | None] = mapped_column(Text, nullable=True)
    intent: Mapped[str | None] = mapped_column(String(64), nullable=True)
    confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    entities: Mapped[list[dict[str, object]]] = mapped_column(JSON, default=list)
    action: Mapped[str | None] = mapped_column(String(64), nullable=True)
    fallback: Mapped[bool] = mapped_column(Boolean, default=False)
    model: Mapped[str | None] = mapped_column(String(120), nullable=True)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    annotated_intent: Mapped[str | None] = mapped_column(String(64), nullable=True)
    annotated_by: Mapped[int | None] = mapped_column(
        ForeignKey("counsellor.id", ondelete="SET NULL"), nullable=True
    )
    annotated_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    exported_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    # Why a manager should look at it besides a low confidence: "false_alarm" (a counsellor
    # said the crisis it raised was a false alarm), with the counsellor's words.
    review_reason: Mapped[str | None] = mapped_column(String(16), nullable=True)
    review_note: Mapped[str | None] = mapped_column(Text, nullable=True)


class ResponseExposure(Base):
    """A wording variant a young person was shown (response name + variant id)."""

    __tablename__ = "response_exposure"
    __table_args__ = (Index("ix_response_exposure_variant", "response", "variant"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(
        ForeignKey("young_person.id", ondelete="CASCADE"), index=True
    )
    response: Mapped[str] = mapped_column(String(64))
    variant: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)


class Milestone(enum.StrEnum):
    """Steps of the funnel that no other table records."""

    triage_completed = "triage_completed"  # the young person confirmed the triage summary


class PersonEvent(Base):
    """A funnel milestone reached by a young person (append-only)."""

    __tablename__ = "person_event"
    __table_args__ = (Index("ix_person_event_kind_created", "kind", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(
        ForeignKey("young_person.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[Milestone] = mapped_column(str_enum(Milestone, 32))
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
