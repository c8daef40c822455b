"""SQLAlchemy 2 models of the foundation slice: young people, consent, messages."""

from __future__ import annotations

import enum
from datetime import UTC, datetime

from sqlalchemy import JSON, DateTime, Enum, ForeignKey, Index, String, Text, UniqueConstraint
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

    person: Mapped[YoungPerson] = relationship(back_populates="messages")


class Urgency(enum.StrEnum):
    normal = "normal"
    crisis = "crisis"


class RequestStatus(enum.StrEnum):
    new = "new"  # waiting for the hand-off queue (issue 4) to turn it into a ticket
    taken = "taken"


class HandoffRequest(Base):
    """A young person asked for (or, in a crisis, needs) a human counsellor.

    Holds the structured triage summary. The queue consumes `new` requests; a crisis on a
    person with an open request escalates it instead of creating another one.
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
    excerpt: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
