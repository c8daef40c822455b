"""Appointments on a ticket: a call, a video call or a visit that a counsellor proposes to the
young person, who confirms it (or asks to change it), is reminded of it, and that the
counsellor marks attended or missed afterwards (handoff/appointments/)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.models.base import AwareDateTime, Base, str_enum, utcnow
from core.models.tickets import Counsellor


class AppointmentKind(enum.StrEnum):
    phone = "phone"  # the counsellor calls the young person (from `call_from`)
    video = "video"  # a video call (`location`: the link)
    in_person = "in_person"  # at one of the structure's sites (`site_id`)


class AppointmentStatus(enum.StrEnum):
    proposed = "proposed"  # sent, no answer yet
    unsure = "unsure"  # "je sais pas encore": still proposed, reminded to answer
    change_requested = "change_requested"  # "pas possible, on change ?" (+ `youth_reply`)
    confirmed = "confirmed"  # "ça me va": reminders are scheduled
    cancelled = "cancelled"  # by the young person ("je peux plus venir") or the counsellor
    attended = "attended"  # marked after the time by the counsellor
    missed = "missed"  # marked after the time: a kind nudge the next day
    rescheduled = "rescheduled"  # replaced by another appointment (`replaced_by_id`)


# Still ahead: the young person may answer, reminders may go out.
ACTIVE_STATUSES = (
    AppointmentStatus.proposed,
    AppointmentStatus.unsure,
    AppointmentStatus.change_requested,
    AppointmentStatus.confirmed,
)
# The counsellor has said what happened (or it will not happen).
CLOSED_STATUSES = (
    AppointmentStatus.cancelled,
    AppointmentStatus.attended,
    AppointmentStatus.missed,
    AppointmentStatus.rescheduled,
)


class Appointment(Base):
    __tablename__ = "appointment"
    __table_args__ = (Index("ix_appointment_status_starts", "status", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("ticket.id", ondelete="CASCADE"), index=True
    )
    person_id: Mapped[int] = mapped_column(
        ForeignKey("young_person.id", ondelete="CASCADE"), index=True
    )
    # Who proposed it (the ticket's counsellor then); the ticket's team at that time.
    counsellor_id: Mapped[int | None] = mapped_column(
        ForeignKey("counsellor.id", ondelete="SET NULL"), nullable=True
    )
    team: Mapped[str] = mapped_column(String(32))
    kind: Mapped[AppointmentKind] = mapped_column(str_enum(AppointmentKind, 16))
    starts_at: Mapped[datetime] = mapped_column(AwareDateTime())
    duration_minutes: Mapped[int] = mapped_column(Integer, default=45)
    # In person: a site of `structure.sites` (maraude.yml), by id.
    site_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    # Phone: the number the counsellor will call from ("on t'appelle au 03 21 ..").
    call_from: Mapped[str | None] = mapped_column(String(20), nullable=True)
    # Video: the link; otherwise a free place detail ("2e étage, bureau 4").
    location: Mapped[str | None] = mapped_column(String(300), nullable=True)
    # A short note for the young person, shown with the proposal ("ramène ta carte vitale").
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Proposed outside the team's opening hours (the counsellor was warned and went on).
    outside_hours: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[AppointmentStatus] = mapped_column(
        str_enum(AppointmentStatus, 20), default=AppointmentStatus.proposed
    )
    # The young person's own words when they ask to change it (their availability).
    youth_reply: Mapped[str | None] = mapped_column(String(500), nullable=True)
    # Reminders actually sent to the young person (analytics: attendance with / without).
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0)
    # "youth" or "counsellor", with `cancelled_at`.
    cancelled_by: Mapped[str | None] = mapped_column(String(16), nullable=True)
    replaced_by_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    marked_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("counsellor.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    confirmed_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    marked_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)

    counsellor: Mapped[Counsellor | None] = relationship(foreign_keys=[counsellor_id], lazy="joined")
