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

import re
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
    AppointmentKind,
    AppointmentStatus,
    EventKind,
    Ticket,
    YoungPerson,
)
from core.models.appointments import ACTIVE_STATUSES
from core.places import SiteDirectory
from core.settings_places import PHONE_RE, Appointments
from core.text import storable
from handoff.accounts import CounsellorRef
from handoff.appointments.views import (
    MARKS,
    YOUTH_ANSWERS,
    AppointmentConflict,
    AppointmentDraft,
    AppointmentInvalid,
    AppointmentNotFound,
    AppointmentView,
    OutsideOpeningHours,
    appointment_view,
)
from handoff.permissions import Action, may_see
from handoff.tickets.errors import not_found, require
from handoff.tickets.events import record_event

MAX_NOTE = 500
MAX_REPLY = 500
MAX_LOCATION = 300
MIN_DURATION, MAX_DURATION = 10, 8 * 60
MIN_LEAD = timedelta(minutes=15)  # an appointment is proposed at least this far ahead
MAX_LEAD = timedelta(days=180)


def normalise_phone(value: str) -> str:
    """ "03.21.00.00.00" / "+33 3 21 00 00 00" -> "03 21 00 00 00" (as said to a young person)."""
    digits = re.sub(r"\D", "", value)
    if digits.startswith("33") and len(digits) == 11:
        digits = "0" + digits[2:]
    return " ".join(digits[i : i + 2] for i in range(0, 10, 2))


class AppointmentService:
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
        """The draft cleaned, or AppointmentInvalid with a French message (OutsideOpeningHours
        when the time is outside opening hours and the counsellor did not say go on)."""
        now = self._clock.now()
        starts = draft.starts_at
        if starts.tzinfo is None:
            raise AppointmentInvalid("Date du rendez-vous sans fuseau horaire.")
        if starts < now + MIN_LEAD:
            raise AppointmentInvalid(
                "Le rendez-vous doit être dans le futur (au moins 15 minutes après maintenant)."
            )
        if starts > now + MAX_LEAD:
            raise AppointmentInvalid("Le rendez-vous doit être dans les 6 prochains mois.")
        duration = draft.duration_minutes or int(
            self.settings.default_duration.total_seconds() // 60
        )
        if not MIN_DURATION <= duration <= MAX_DURATION:
            raise AppointmentInvalid("La durée doit être entre 10 minutes et 8 heures.")
        kind = AppointmentKind(draft.kind)
        site_id = (draft.site_id or "").strip() or None
        call_from = (draft.call_from or "").strip() or None
        location = storable(draft.location or "").strip() or None
        note = storable(draft.note or "").strip() or None
        if note and len(note) > MAX_NOTE:
            raise AppointmentInvalid(f"Le mot pour le jeune dépasse {MAX_NOTE} caractères.")
        if location and len(location) > MAX_LOCATION:
            raise AppointmentInvalid(f"Le lieu ou le lien dépasse {MAX_LOCATION} caractères.")
        if kind == AppointmentKind.in_person:
            if site_id is None or self.sites.get(site_id) is None:
                raise AppointmentInvalid("Choisis un des lieux de la structure.")
            call_from = None
        else:
            site_id = None
        if kind == AppointmentKind.phone:
            if call_from is None or not PHONE_RE.fullmatch(call_from.replace("+33 ", "+33")):
                raise AppointmentInvalid(
                    "Indique le numéro d'où tu appelleras (ex. 03 21 00 00 00)."
                )
            call_from = normalise_phone(call_from)
        elif kind == AppointmentKind.video:
            call_from = None
            if location and not re.fullmatch(r"https://[^\s<>\"]+", location):
                raise AppointmentInvalid("Le lien de l'appel vidéo doit commencer par https://.")
        end = starts + timedelta(minutes=duration)
        inside = self.hours.is_open(starts) and self.hours.presence(starts)[1] >= end
        if not inside and not draft.allow_outside_hours:
            raise OutsideOpeningHours(
                "Ce créneau est en dehors des horaires d'ouverture. Confirme pour le proposer "
                "quand même."
            )
        return AppointmentDraft(
            kind=kind,
            starts_at=starts,
            duration_minutes=duration,
            site_id=site_id,
            call_from=call_from,
            location=location,
            note=note,
            allow_outside_hours=not inside,
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

    # The young person ----------------------------------------------------------------------
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
