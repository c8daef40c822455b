"""SLA service: finds the tickets waiting past their SLA and records, once per ticket (for a
crisis: once since it became urgent), that the team was reminded (`sla_breached`) and that a
manager was alerted (`manager_alerted`): the ticket events are the memory, and recording is a
conditional INSERT taken under the ticket's row lock, so two app workers never both remind.
`SlaService.digest` builds the daily digest that the dashboard page and the Telegram message
both render (handoff/sla/digest.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import ColumnElement, and_, exists, insert, literal, select
from sqlalchemy.orm import Session

from core.clock import Clock, SystemClock
from core.db import Database
from core.models import (
    OPEN_STATUSES,
    Appointment,
    EventKind,
    FollowUp,
    FollowUpKind,
    FollowUpStatus,
    Ticket,
    TicketEvent,
    TicketStatus,
)
from core.models.appointments import ACTIVE_STATUSES
from core.settings import Settings
from core.simulations import real_person
from handoff.sla.digest import (
    Digest,
    DigestAppointment,
    DigestBreach,
    DigestFollowUp,
    DigestTeam,
    DigestTicket,
    digest_needs,
)
from handoff.sla.policy import SlaPolicy, SlaStatus, sla_start
from handoff.tickets import TicketView, ticket_view

DIGEST_WINDOW = timedelta(hours=24)  # SLA breaches listed in the digest


@dataclass(frozen=True)
class SlaAlert:
    """A reminder (`sla_breached`) or a manager alert (`manager_alerted`) this worker
    recorded, and must now send."""

    kind: EventKind
    ticket: TicketView
    status: SlaStatus


# Service -----------------------------------------------------------------------------------
class SlaService:
    def __init__(self, db: Database, settings: Settings, clock: Clock | None = None) -> None:
        self._db = db
        self._settings = settings
        self._clock = clock or SystemClock()
        self.policy = SlaPolicy.from_settings(settings)

    def now(self) -> datetime:
        return self._clock.now()

    def _real_only(self) -> list[ColumnElement[bool]]:
        """No reminder, alert or digest line for a simulation (core/simulations.py)."""
        return [real_person(Ticket.person_id)] if self._settings.simulations_hidden else []

    @property
    def team_names(self) -> dict[str, str]:
        return {team.id: team.name for team in self._settings.teams}

    # Checking ----------------------------------------------------------------------------
    def waiting(self, now: datetime | None = None) -> list[tuple[TicketView, SlaStatus]]:
        """Unclaimed tickets (never claimed yet) with their SLA status, crisis first."""
        now = now or self._clock.now()
        with self._db.transaction() as session:
            query = (
                select(Ticket)
                .where(Ticket.status == TicketStatus.new, Ticket.claimed_at.is_(None))
                .where(*self._real_only())
                .order_by(Ticket.priority, Ticket.severity, Ticket.created_at, Ticket.id)
            )
            views = [ticket_view(t) for t in session.scalars(query)]
        return [(view, self.policy.status(view, now)) for view in views]

    def late_count(self, now: datetime | None = None) -> int:
        """How many unclaimed tickets are past their SLA (the dashboard's badge)."""
        return sum(1 for _, status in self.waiting(now) if status.breached)

    def record_due(self) -> list[SlaAlert]:
        """Record the reminders and manager alerts that are due and not yet recorded.

        Returns those recorded by this call only: running it again (or in another worker at
        the same time) never returns the same alert twice. Once per ticket, or, for a crisis,
        once since it became urgent (a ticket escalated after its normal reminder is reminded
        again as a crisis).
        """
        now = self._clock.now()
        candidates = [(t, s) for t, s in self.waiting(now) if s.breached]
        if not candidates:
            return []
        done = self._recorded(candidates)
        alerts = []
        for ticket, status in candidates:
            for kind, due in (
                (EventKind.sla_breached, True),
                (EventKind.manager_alerted, status.manager_due),
            ):
                if (
                    due
                    and (ticket.id, kind) not in done
                    and self._record(ticket, status, kind, now)
                ):
                    alerts.append(SlaAlert(kind, ticket, status))
        return alerts

    def _recorded(
        self, candidates: Iterable[tuple[TicketView, SlaStatus]]
    ) -> set[tuple[int, EventKind]]:
        since = {ticket.id: sla_start(ticket) for ticket, _ in candidates}
        with self._db.transaction() as session:
            rows = session.execute(
                select(TicketEvent.ticket_id, TicketEvent.kind, TicketEvent.created_at).where(
                    TicketEvent.ticket_id.in_(list(since)),
                    TicketEvent.kind.in_([EventKind.sla_breached, EventKind.manager_alerted]),
                )
            )
            return {
                (int(tid), EventKind(kind))
                for tid, kind, at in rows
                if at >= since.get(int(tid), at)
            }

    def _record(
        self, ticket: TicketView, status: SlaStatus, kind: EventKind, now: datetime
    ) -> bool:
        """Append the event if the ticket is still waiting and has none of this kind.

        On PostgreSQL the ticket row is locked first, so a second worker waits, then sees the
        event and inserts nothing; on SQLite the single INSERT ... SELECT holds the write lock.
        """
        columns = TicketEvent.__table__.c
        data = {
            "urgency": str(status.urgency),
            "deadline": status.deadline.isoformat(),
            "sla_minutes": status.limit_minutes,
            "waited_minutes": status.elapsed_minutes,
            "working_time": status.working_time,
        }
        if kind == EventKind.manager_alerted:
            data["factor"] = self.policy.manager_factor
        with self._db.transaction() as session:
            if session.get_bind().dialect.name == "postgresql":
                session.execute(select(Ticket.id).where(Ticket.id == ticket.id).with_for_update())
            values = select(
                literal(ticket.id, type_=columns.ticket_id.type),
                literal(kind, type_=columns.kind.type),
                literal("system", type_=columns.via.type),
                literal(data, type_=columns.data.type),
                literal(now, type_=columns.created_at.type),
            ).where(
                exists().where(
                    and_(
                        Ticket.id == ticket.id,
                        Ticket.status == TicketStatus.new,
                        Ticket.claimed_at.is_(None),
                    )
                ),
                ~exists().where(
                    and_(
                        TicketEvent.ticket_id == ticket.id,
                        TicketEvent.kind == kind,
                        TicketEvent.created_at >= sla_start(ticket),
                    )
                ),
            )
            # RETURNING tells whether a row went in (psycopg 3 reports rowcount -1 here).
            inserted = session.execute(
                insert(TicketEvent)
                .from_select(["ticket_id", "kind", "via", "data", "created_at"], values)
                .returning(TicketEvent.id)
            ).first()
            return inserted is not None

    def alerts_of(self, ticket_id: int) -> dict[EventKind, datetime]:
        """When the team was reminded / a manager alerted for this ticket."""
        with self._db.transaction() as session:
            rows = session.execute(
                select(TicketEvent.kind, TicketEvent.created_at).where(
                    TicketEvent.ticket_id == ticket_id,
                    TicketEvent.kind.in_([EventKind.sla_breached, EventKind.manager_alerted]),
                )
            )
            return {EventKind(kind): at for kind, at in rows}

    # Digest ------------------------------------------------------------------------------
    def local_day_bounds(self, now: datetime) -> tuple[date, datetime, datetime]:
        tz = self.policy.tz
        day = now.astimezone(tz).date()
        start = datetime.combine(day, time(0), tzinfo=tz)
        end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
        return day, start, end

    def digest(self, now: datetime | None = None) -> Digest:
        """Unclaimed tickets by team (oldest first), SLA breaches of the last 24 hours,
        follow-ups due today (local time)."""
        now = now or self._clock.now()
        names = self.team_names
        day, day_start, day_end = self.local_day_bounds(now)
        with self._db.transaction() as session:
            unclaimed = [
                ticket_view(t)
                for t in session.scalars(
                    select(Ticket)
                    .where(Ticket.status == TicketStatus.new, *self._real_only())
                    .order_by(Ticket.created_at, Ticket.id)
                )
            ]
            breaches = self._breaches(session, now - DIGEST_WINDOW, names)
            follow_ups = self._follow_ups(session, day_start, day_end, names)
            appointments = self._appointments(session, day_start, day_end, names)
            unmarked = self._appointments(session, None, min(day_start, now), names)
        by_team: dict[str, list[DigestTicket]] = {}
        for ticket in unclaimed:
            item = DigestTicket(ticket, self.policy.status(ticket, now), digest_needs(ticket))
            by_team.setdefault(ticket.team, []).append(item)
        order = list(names)
        teams = [
            DigestTeam(team, names.get(team, team), items)
            for team, items in sorted(
                by_team.items(),
                key=lambda kv: (order.index(kv[0]) if kv[0] in order else len(order), kv[0]),
            )
        ]
        return Digest(now, day, teams, breaches, follow_ups, appointments, unmarked)

    @staticmethod
    def _breaches(session: Session, since: datetime, names: dict[str, str]) -> list[DigestBreach]:
        rows = session.execute(
            select(TicketEvent.ticket_id, TicketEvent.kind, TicketEvent.created_at)
            .where(
                TicketEvent.kind.in_([EventKind.sla_breached, EventKind.manager_alerted]),
                TicketEvent.created_at >= since,
            )
            .order_by(TicketEvent.created_at, TicketEvent.id)
        ).all()
        seen: dict[int, dict[EventKind, datetime]] = {}
        for ticket_id, kind, at in rows:
            seen.setdefault(int(ticket_id), {})[EventKind(kind)] = at
        if not seen:
            return []
        tickets = {
            t.id: ticket_view(t) for t in session.scalars(select(Ticket).where(Ticket.id.in_(seen)))
        }
        result = []
        for ticket_id, kinds in seen.items():
            ticket = tickets.get(ticket_id)
            if ticket is None:
                continue
            result.append(
                DigestBreach(
                    ticket_id=ticket_id,
                    team=ticket.team,
                    team_name=names.get(ticket.team, ticket.team),
                    urgency=ticket.urgency,
                    breached_at=kinds.get(EventKind.sla_breached),
                    manager_alerted_at=kinds.get(EventKind.manager_alerted),
                    status=ticket.status,
                    assignee_name=ticket.assignee_name,
                )
            )
        return result

    def _appointments(
        self, session: Session, start: datetime | None, end: datetime, names: dict[str, str]
    ) -> list[DigestAppointment]:
        """Appointments still active (not cancelled nor marked) starting in [start, end), by
        team (in the settings' order) then time."""
        query = select(Appointment).where(
            Appointment.status.in_(ACTIVE_STATUSES),
            Appointment.starts_at < end,
            *([Appointment.starts_at >= start] if start is not None else []),
            *([real_person(Appointment.person_id)] if self._settings.simulations_hidden else []),
        )
        order = list(names)
        rows = [
            DigestAppointment(
                appointment_id=row.id,
                ticket_id=row.ticket_id,
                team=row.team,
                team_name=names.get(row.team, row.team),
                kind=row.kind,
                starts_at=row.starts_at,
                status=row.status,
                counsellor_name=row.counsellor.first_name if row.counsellor else None,
            )
            for row in session.scalars(query.order_by(Appointment.starts_at, Appointment.id))
        ]
        rank = {team: index for index, team in enumerate(order)}
        return sorted(rows, key=lambda a: (rank.get(a.team, len(order)), a.team, a.starts_at))

    @staticmethod
    def _follow_ups(
        session: Session, start: datetime, end: datetime, names: dict[str, str]
    ) -> list[DigestFollowUp]:
        """Open tickets whose follow-up date is today, and tickets with a counsellor reminder
        due today (one line per ticket, at the earliest time)."""
        due: dict[int, tuple[datetime, bool]] = {}
        for ticket_id, at in session.execute(
            select(Ticket.id, Ticket.follow_up_at).where(
                Ticket.status.in_(OPEN_STATUSES),
                Ticket.follow_up_at >= start,
                Ticket.follow_up_at < end,
            )
        ):
            if at is not None:
                due[int(ticket_id)] = (at, False)
        for reminder_ticket, reminder_at in session.execute(
            select(FollowUp.ticket_id, FollowUp.due_at).where(
                FollowUp.kind == FollowUpKind.counsellor_reminder,
                FollowUp.status == FollowUpStatus.pending,
                FollowUp.ticket_id.is_not(None),
                FollowUp.due_at >= start,
                FollowUp.due_at < end,
            )
        ):
            if reminder_ticket is None:
                continue
            previous = due.get(int(reminder_ticket))
            earliest = min(reminder_at, previous[0]) if previous else reminder_at
            due[int(reminder_ticket)] = (earliest, True)
        if not due:
            return []
        tickets = {
            t.id: ticket_view(t) for t in session.scalars(select(Ticket).where(Ticket.id.in_(due)))
        }
        result = [
            DigestFollowUp(
                ticket_id=ticket_id,
                team=ticket.team,
                team_name=names.get(ticket.team, ticket.team),
                due_at=at,
                assignee_name=ticket.assignee_name,
                status=ticket.status,
                reminder=reminder,
            )
            for ticket_id, (at, reminder) in due.items()
            if (ticket := tickets.get(ticket_id)) is not None
        ]
        return sorted(result, key=lambda f: (f.due_at, f.ticket_id))
