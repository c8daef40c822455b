"""Young people: identity on a channel, consent records, the message log, milestones."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.models.base import AwareDateTime, Base, str_enum, utcnow


class Channel(enum.StrEnum):
    telegram = "telegram"
    simulator = "simulator"
    terminal = "terminal"
    web = "web"  # the web chat on the structure's site (bot/webchat, web/webchat.py)


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
    # The age band said before consent (core/vocabulary.py AGE_BANDS), None if not said.
    # Under 15 nothing of the conversation is kept (no parent's agreement).
    age_band: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # The campaign that brought the person first (first touch: core/campaigns.py), if any.
    # A campaign id, not a declared foreign key (migration 0012: campaigns are never deleted).
    campaign_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    # How they said they heard of the bot when no campaign link brought them (a
    # CampaignChannel value, or None), and whether a structure already follows them, as the
    # triage recorded it ("oui", "non"; None: not said): the "invisible" share of the results.
    heard_via: Mapped[str | None] = mapped_column(String(16), nullable=True)
    followed: Mapped[str | None] = mapped_column(String(8), nullable=True)

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
