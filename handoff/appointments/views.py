"""What the appointment service hands out: views, a counsellor's draft, and its errors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from core.models import Appointment, AppointmentKind, AppointmentStatus
from core.models.appointments import ACTIVE_STATUSES
from handoff.tickets import TicketConflict, TicketInvalid, TicketNotFound

KIND_LABELS = {
    AppointmentKind.phone: "Appel téléphonique",
    AppointmentKind.video: "Appel vidéo",
    AppointmentKind.in_person: "Sur place",
}
STATUS_LABELS = {
    AppointmentStatus.proposed: "Proposé, sans réponse",
    AppointmentStatus.unsure: "Le jeune ne sait pas encore",
    AppointmentStatus.change_requested: "Le jeune demande un autre créneau",
    AppointmentStatus.confirmed: "Confirmé par le jeune",
    AppointmentStatus.cancelled: "Annulé",
    AppointmentStatus.attended: "Venu·e",
    AppointmentStatus.missed: "Pas venu·e",
    AppointmentStatus.rescheduled: "Reporté",
}
# What a counsellor may mark once the time has come, and its button (dashboard, bridge).
MARKS = (AppointmentStatus.attended, AppointmentStatus.missed, AppointmentStatus.rescheduled)
MARK_TITLES = {mark: STATUS_LABELS[mark] for mark in MARKS}
# The young person's answers to a proposal (button payloads, see bot/appointments.py).
YOUTH_ANSWERS = ("ok", "change", "unsure")


class AppointmentNotFound(TicketNotFound):
    """No such appointment, or not one this reader may see (same answer either way)."""


class AppointmentInvalid(TicketInvalid):
    """The draft does not make sense (past date, unknown site, bad phone number...)."""


class OutsideOpeningHours(AppointmentInvalid):
    """The time is outside the team's opening hours: propose again with `allow_outside_hours`
    to go on (the counsellor is warned, not stopped)."""


class AppointmentConflict(TicketConflict):
    """The appointment is not in a state for this (already cancelled, not yet happened...)."""


@dataclass(frozen=True)
class AppointmentDraft:
    """What a counsellor proposes (dashboard form, API body, bridge command)."""

    kind: AppointmentKind
    starts_at: datetime
    duration_minutes: int | None = None  # None: appointments.default_duration
    site_id: str | None = None
    call_from: str | None = None
    location: str | None = None
    note: str | None = None
    allow_outside_hours: bool = False


@dataclass(frozen=True)
class AppointmentView:
    id: int
    ticket_id: int
    person_id: int
    team: str
    counsellor_id: int | None
    kind: AppointmentKind
    starts_at: datetime
    duration_minutes: int
    site_id: str | None
    call_from: str | None
    location: str | None
    note: str | None
    outside_hours: bool
    status: AppointmentStatus
    youth_reply: str | None
    reminders_sent: int
    cancelled_by: str | None
    replaced_by_id: int | None
    marked_by_id: int | None
    created_at: datetime
    answered_at: datetime | None
    confirmed_at: datetime | None
    cancelled_at: datetime | None
    marked_at: datetime | None
    counsellor_name: str | None = None  # who proposed it (first name)

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(minutes=self.duration_minutes)

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]

    @property
    def status_label(self) -> str:
        if self.status == AppointmentStatus.cancelled and self.cancelled_by == "youth":
            return "Annulé par le jeune"
        return STATUS_LABELS[self.status]

    def needs_marking(self, now: datetime) -> bool:
        """Its time has come and nobody said whether it happened."""
        return self.active and self.starts_at <= now


def appointment_view(row: Appointment) -> AppointmentView:
    return AppointmentView(
        id=row.id,
        ticket_id=row.ticket_id,
        person_id=row.person_id,
        team=row.team,
        counsellor_id=row.counsellor_id,
        kind=row.kind,
        starts_at=row.starts_at,
        duration_minutes=row.duration_minutes,
        site_id=row.site_id,
        call_from=row.call_from,
        location=row.location,
        note=row.note,
        outside_hours=row.outside_hours,
        status=row.status,
        youth_reply=row.youth_reply,
        reminders_sent=row.reminders_sent,
        cancelled_by=row.cancelled_by,
        replaced_by_id=row.replaced_by_id,
        marked_by_id=row.marked_by_id,
        created_at=row.created_at,
        answered_at=row.answered_at,
        confirmed_at=row.confirmed_at,
        cancelled_at=row.cancelled_at,
        marked_at=row.marked_at,
        counsellor_name=row.counsellor.first_name if row.counsellor is not None else None,
    )
