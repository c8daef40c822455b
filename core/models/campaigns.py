"""Outreach campaigns (a TikTok series, flyers in a bus shelter, a partner's site) and which of
them brought each young person: the first touch is kept on the person, every touch here."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import AwareDateTime, Base, str_enum, utcnow


class CampaignChannel(enum.StrEnum):
    """Where a campaign reaches young people (labels: core/vocabulary.py CAMPAIGN_CHANNELS)."""

    instagram = "instagram"
    snapchat = "snapchat"
    tiktok = "tiktok"
    discord = "discord"
    flyer = "flyer"  # flyer, poster
    partner = "partner"  # a partner's site or desk
    event = "event"
    other = "other"


class Campaign(Base):
    """A campaign a manager runs; never deleted (past figures name it), only archived."""

    __tablename__ = "campaign"
    __table_args__ = (UniqueConstraint("code", name="uq_campaign_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The deep-link payload (`/start <code>`): 1-64 characters of A-Za-z0-9_-, unique.
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(120))
    channel: Mapped[CampaignChannel] = mapped_column(str_enum(CampaignChannel, 16))
    territory: Mapped[str | None] = mapped_column(String(120), nullable=True)
    team: Mapped[str | None] = mapped_column(String(32), nullable=True)
    starts_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    ends_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    # What the campaign cost, in euro cents (the cost per young person reached), if entered.
    cost_cents: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    archived_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)


class CampaignTouch(Base):
    """A campaign that reached a person (one row per person and campaign, the first time).
    The first of them is also `young_person.campaign_id` (first-touch attribution)."""

    __tablename__ = "campaign_touch"
    __table_args__ = (
        UniqueConstraint("person_id", "campaign_id", name="uq_campaign_touch_person_campaign"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(
        ForeignKey("young_person.id", ondelete="CASCADE"), index=True
    )
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)
    at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
