"""Appointments, the young person's side: their buttons ("ça me va", "pas possible, on change
?", "je sais pas encore"), their availability, "je peux plus venir", their next appointment and
their data export. Every call names the person: an appointment of somebody else is one that does
not exist (AppointmentNotFound). AppointmentService (service.py) builds on this."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.clock import Clock
from core.db import Database, retry_on_deadlock
from core.models import Appointment, AppointmentStatus, EventKind, YoungPerson
from core.models.appointments import ACTIVE_STATUSES
from core.text import storable
from handoff.appointments.views import (
    YOUTH_ANSWERS,
    AppointmentConflict,
    AppointmentInvalid,
    AppointmentNotFound,
    AppointmentView,
    appointment_view,
)
from handoff.tickets.events import record_event

MAX_REPLY = 500


class YouthAppointments:
    _db: Database
    _clock: Clock

    def get_own(self, person_id: int, appointment_id: int) -> AppointmentView:
        """The person's own appointment (somebody else's is AppointmentNotFound)."""
        with self._db.transaction() as session:
            row = session.get(Appointment, appointment_id)
            if row is None or row.person_id != person_id:
                raise AppointmentNotFound(f"Rendez-vous #{appointment_id} introuvable.")
            return appointment_view(row)

    def opted_out(self, person_id: int) -> bool:
        """The person said /stop (no nudges; an appointment's reminders may be kept)."""
        with self._db.transaction() as session:
            person = session.get(YoungPerson, person_id)
            return person is not None and person.opted_out_at is not None

    @retry_on_deadlock
    def answer(self, person_id: int, appointment_id: int, answer: str) -> AppointmentView:
        """The young person's button: "ok" (confirmed), "change" or "unsure". Pressing the
        same answer twice changes nothing; an answer to a past or closed appointment is
        AppointmentConflict."""
        if answer not in YOUTH_ANSWERS:
            raise AppointmentInvalid("unknown answer")
        now = self._clock.now()
        with self._db.transaction() as session:
            row = self._own(session, person_id, appointment_id)
            if row.status not in ACTIVE_STATUSES or row.starts_at <= now:
                raise AppointmentConflict("closed")
            status = {
                "ok": AppointmentStatus.confirmed,
                "change": AppointmentStatus.change_requested,
                "unsure": AppointmentStatus.unsure,
            }[answer]
            if row.status == status:
                return appointment_view(row)
            row.status = status
            row.answered_at = row.updated_at = now
            if status == AppointmentStatus.confirmed:
                row.confirmed_at = now
            record_event(
                session,
                row.ticket_id,
                EventKind.appointment_answered,
                now,
                via="bot",
                appointment=row.id,
                answer=answer,
            )
            return appointment_view(row)

    @retry_on_deadlock
    def youth_reply(self, person_id: int, appointment_id: int, text: str) -> AppointmentView:
        """What the young person wrote after "pas possible, on change ?" (their availability)."""
        with self._db.transaction() as session:
            row = self._own(session, person_id, appointment_id)
            row.youth_reply = storable(text).strip()[:MAX_REPLY] or None
            row.updated_at = self._clock.now()
            return appointment_view(row)

    @retry_on_deadlock
    def youth_cancel(
        self, person_id: int, appointment_id: int | None = None
    ) -> AppointmentView | None:
        """ "Je peux plus venir": cancel that appointment (None: the next one ahead); None when
        there is nothing to cancel."""
        now = self._clock.now()
        with self._db.transaction() as session:
            if appointment_id is None:
                row = self._next_of_person(session, person_id, now)
                if row is None:
                    return None
            else:
                row = self._own(session, person_id, appointment_id)
                if row.status not in ACTIVE_STATUSES or row.starts_at <= now:
                    return None
            row.status = AppointmentStatus.cancelled
            row.cancelled_by = "youth"
            row.cancelled_at = row.updated_at = now
            record_event(
                session,
                row.ticket_id,
                EventKind.appointment_cancelled,
                now,
                via="bot",
                appointment=row.id,
                by="youth",
            )
            return appointment_view(row)

    def next_of_person(self, person_id: int) -> AppointmentView | None:
        """The person's next appointment still ahead (proposed, answered or confirmed)."""
        with self._db.transaction() as session:
            row = self._next_of_person(session, person_id, self._clock.now())
            return appointment_view(row) if row else None

    def of_person(self, person_id: int) -> list[AppointmentView]:
        """Every appointment of the person (their data export), oldest first."""
        with self._db.transaction() as session:
            rows = session.scalars(
                select(Appointment)
                .where(Appointment.person_id == person_id)
                .order_by(Appointment.starts_at, Appointment.id)
            )
            return [appointment_view(row) for row in rows]

    # Helpers -------------------------------------------------------------------------------
    @staticmethod
    def _own(session: Session, person_id: int, appointment_id: int) -> Appointment:
        row = session.scalar(
            select(Appointment)
            .where(Appointment.id == appointment_id)
            .with_for_update(of=Appointment)
        )
        if row is None or row.person_id != person_id:
            raise AppointmentNotFound(f"Rendez-vous #{appointment_id} introuvable.")
        return row

    @staticmethod
    def _next_of_person(session: Session, person_id: int, now: datetime) -> Appointment | None:
        return session.scalar(
            select(Appointment)
            .where(
                Appointment.person_id == person_id,
                Appointment.status.in_(ACTIVE_STATUSES),
                Appointment.starts_at > now,
            )
            .order_by(Appointment.starts_at, Appointment.id)
            .limit(1)
        )
