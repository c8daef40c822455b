"""Appointments on a ticket: proposed by the counsellor who holds it, answered by the young
person, cancelled by either, marked attended / missed / rescheduled afterwards.

Need to know is the tickets' (handoff/permissions.py): a counsellor reads the appointments of
the tickets they may read, proposes or cancels on a ticket they hold (Action.appointment), and
marks attendance on one they held, even once closed (Action.attendance). The young person's
side names the person: an appointment of somebody else is one that does not exist.

One active appointment per ticket: proposing another replaces it (the old one is
`rescheduled`, pointing at the new one). Each change writes a ticket event; what to tell whom
(the young person, the bridge, the reminders) is the appointment desk's (desk.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from core.calendar import OpeningHours
from core.clock import Clock, SystemClock
from core.db import Database, retry_on_deadlock
from core.models import (
    Appointment,
    AppointmentStatus,
    EventKind,
    Ticket,
)
from core.models.appointments import ACTIVE_STATUSES
from core.places import SiteDirectory
from core.settings_places import Appointments
from handoff.accounts import CounsellorRef
from handoff.appointments.drafts import clean_draft
from handoff.appointments.views import (
    MARKS,
    AppointmentConflict,
    AppointmentDraft,
    AppointmentInvalid,
    AppointmentNotFound,
    AppointmentView,
    appointment_view,
)
from handoff.appointments.youth import YouthAppointments
from handoff.permissions import Action, may_see
from handoff.tickets.errors import not_found, require
from handoff.tickets.events import record_event


class AppointmentService(YouthAppointments):
    def __init__(
        self,
        db: Database,
        settings: Appointments,
        sites: SiteDirectory,
        hours: OpeningHours,
        clock: Clock | None = None,
    ) -> None:
        self._db = db
        self.settings = settings
        self.sites = sites
        self.hours = hours  # the teams' opening hours (handoff.opening_hours)
        self._clock = clock or SystemClock()

    def now(self) -> datetime:
        return self._clock.now()

    # Counsellors -------------------------------------------------------------------------
    def check(self, draft: AppointmentDraft, team: str | None = None) -> AppointmentDraft:
        """The draft cleaned (drafts.py), or AppointmentInvalid with a French message."""
        return clean_draft(
            draft,
            now=self._clock.now(),
            default_duration=self.settings.default_duration,
            sites=self.sites,
            hours=self.hours,
        )

    @retry_on_deadlock
    def propose(
        self, ticket_id: int, actor: CounsellorRef, draft: AppointmentDraft, via: str = "web"
    ) -> tuple[AppointmentView, AppointmentView | None]:
        """Propose an appointment on a ticket the counsellor holds: (the new one, the one it
        replaces if there was one still active)."""
        now = self._clock.now()
        with self._db.transaction() as session:
            ticket = self._locked_ticket(session, ticket_id, actor)
            require(actor, ticket, Action.appointment)
            clean = self.check(draft, ticket.team)
            row = Appointment(
                ticket_id=ticket.id,
                person_id=ticket.person_id,
                counsellor_id=actor.id,
                team=ticket.team,
                kind=clean.kind,
                starts_at=clean.starts_at,
                duration_minutes=clean.duration_minutes or 45,
                site_id=clean.site_id,
                call_from=clean.call_from,
                location=clean.location,
                note=clean.note,
                outside_hours=clean.allow_outside_hours,
                status=AppointmentStatus.proposed,
                reminders_sent=0,
                created_at=now,
                updated_at=now,
            )
            session.add(row)
            session.flush()
            replaced = None
            for old in self._active_of_ticket(session, ticket.id, exclude=row.id, after=now):
                old.status = AppointmentStatus.rescheduled
                old.replaced_by_id = row.id
                old.updated_at = now
                replaced = appointment_view(old)
            record_event(
                session,
                ticket.id,
                EventKind.appointment_proposed,
                now,
                actor=actor,
                via=via,
                appointment=row.id,
                at=row.starts_at.isoformat(),
                appointment_kind=str(row.kind),
                replaces=replaced.id if replaced else None,
            )
            return appointment_view(row), replaced

    @retry_on_deadlock
    def cancel(
        self, appointment_id: int, actor: CounsellorRef, via: str = "web"
    ) -> AppointmentView:
        now = self._clock.now()
        with self._db.transaction() as session:
            row, ticket = self._readable(session, appointment_id, actor, lock=True)
            require(actor, ticket, Action.appointment)
            if row.status not in ACTIVE_STATUSES:
                raise AppointmentConflict("Ce rendez-vous n'est plus à venir.")
            row.status = AppointmentStatus.cancelled
            row.cancelled_by = "counsellor"
            row.cancelled_at = row.updated_at = now
            record_event(
                session,
                ticket.id,
                EventKind.appointment_cancelled,
                now,
                actor=actor,
                via=via,
                appointment=row.id,
                by="counsellor",
            )
            return appointment_view(row)

    @retry_on_deadlock
    def mark(
        self,
        appointment_id: int,
        actor: CounsellorRef,
        status: AppointmentStatus | str,
        via: str = "web",
    ) -> AppointmentView:
        """Attended, missed or rescheduled, once its time has come (a correction is allowed:
        a missed one later marked attended)."""
        try:
            mark = AppointmentStatus(status)
        except ValueError:
            raise AppointmentInvalid("Choisis : venu·e, pas venu·e ou reporté.") from None
        if mark not in MARKS:
            raise AppointmentInvalid("Choisis : venu·e, pas venu·e ou reporté.")
        now = self._clock.now()
        with self._db.transaction() as session:
            row, ticket = self._readable(session, appointment_id, actor, lock=True)
            require(actor, ticket, Action.attendance)
            if row.status == AppointmentStatus.cancelled:
                raise AppointmentConflict("Ce rendez-vous a été annulé.")
            if row.replaced_by_id is not None:
                raise AppointmentConflict("Ce rendez-vous a été remplacé par un autre.")
            if row.starts_at > now:
                raise AppointmentConflict(
                    "Le rendez-vous n'a pas encore eu lieu : tu pourras le marquer après."
                )
            row.status = mark
            row.marked_at = row.updated_at = now
            row.marked_by_id = actor.id
            record_event(
                session,
                ticket.id,
                EventKind.appointment_marked,
                now,
                actor=actor,
                via=via,
                appointment=row.id,
                status=str(mark),
            )
            return appointment_view(row)

    def for_ticket(
        self, ticket_id: int, viewer: CounsellorRef | None = None
    ) -> list[AppointmentView]:
        """The ticket's appointments, newest first (viewer None: the app)."""
        with self._db.transaction() as session:
            ticket = session.get(Ticket, ticket_id)
            if ticket is None or (
                viewer is not None and not may_see(viewer, ticket.team, ticket.assignee_id)
            ):
                raise not_found(ticket_id)
            rows = session.scalars(
                select(Appointment)
                .where(Appointment.ticket_id == ticket_id)
                .order_by(Appointment.starts_at.desc(), Appointment.id.desc())
            )
            return [appointment_view(row) for row in rows]

    def get(self, appointment_id: int, viewer: CounsellorRef | None = None) -> AppointmentView:
        with self._db.transaction() as session:
            row, _ = self._readable(session, appointment_id, viewer)
            return appointment_view(row)

    # Reminders and digests ---------------------------------------------------------------
    def reminder_sent(self, appointment_id: int) -> None:
        with self._db.transaction() as session:
            row = session.get(Appointment, appointment_id)
            if row is not None:
                row.reminders_sent = (row.reminders_sent or 0) + 1

    def of_day(
        self, day: date, tz: ZoneInfo, teams: Iterable[str] | None = None
    ) -> list[AppointmentView]:
        """Appointments still ahead or confirmed on this local day (the digest), by time."""
        start = datetime.combine(day, time(0), tz)
        end = datetime.combine(day + timedelta(days=1), time(0), tz)
        return self._select(
            and_(
                Appointment.starts_at >= start,
                Appointment.starts_at < end,
                Appointment.status.in_(ACTIVE_STATUSES),
            ),
            teams,
        )

    def unmarked(self, teams: Iterable[str] | None = None) -> list[AppointmentView]:
        """Appointments whose time has come and that nobody marked yet, oldest first."""
        return self._select(
            and_(
                Appointment.starts_at <= self._clock.now(),
                Appointment.status.in_(ACTIVE_STATUSES),
            ),
            teams,
        )

    # Helpers -------------------------------------------------------------------------------
    def _select(self, condition: Any, teams: Iterable[str] | None) -> list[AppointmentView]:
        query = select(Appointment).where(condition)
        if teams is not None:
            query = query.where(Appointment.team.in_(list(teams)))
        with self._db.transaction() as session:
            rows = session.scalars(query.order_by(Appointment.starts_at, Appointment.id))
            return [appointment_view(row) for row in rows]

    @staticmethod
    def _locked_ticket(session: Session, ticket_id: int, viewer: CounsellorRef) -> Ticket:
        ticket = session.scalar(select(Ticket).where(Ticket.id == ticket_id).with_for_update())
        if ticket is None or not may_see(viewer, ticket.team, ticket.assignee_id):
            raise not_found(ticket_id)
        return ticket

    @staticmethod
    def _readable(
        session: Session, appointment_id: int, viewer: CounsellorRef | None, *, lock: bool = False
    ) -> tuple[Appointment, Ticket]:
        query = select(Appointment).where(Appointment.id == appointment_id)
        if lock:
            query = query.with_for_update(of=Appointment)  # not the joined counsellor
        row = session.scalar(query)
        ticket = session.get(Ticket, row.ticket_id) if row is not None else None
        if (
            row is None
            or ticket is None
            or (viewer is not None and not may_see(viewer, ticket.team, ticket.assignee_id))
        ):
            raise AppointmentNotFound(f"Rendez-vous #{appointment_id} introuvable.")
        return row, ticket

    @staticmethod
    def _active_of_ticket(
        session: Session, ticket_id: int, *, exclude: int, after: datetime
    ) -> list[Appointment]:
        """The ticket's appointments still ahead (a past one waits to be marked)."""
        return list(
            session.scalars(
                select(Appointment).where(
                    Appointment.ticket_id == ticket_id,
                    Appointment.id != exclude,
                    Appointment.status.in_(ACTIVE_STATUSES),
                    Appointment.starts_at > after,
                )
            )
        )
