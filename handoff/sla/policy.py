"""SLA of the hand-off queue and the counsellors' daily digest.

The SLA is the time a ticket may wait for its first claim: `handoff.sla_minutes` real minutes
for a crisis (counted from when the ticket became urgent: its creation, or the escalation of
a ticket that was waiting already), working minutes of the team's opening hours
(`handoff.opening_hours`, closed on public holidays) otherwise. `sla_status` is a pure
function (the dashboard colours use it); `SlaService` finds the late tickets and records,
once per ticket (for a crisis: once since it became urgent), that the team was reminded
(`sla_breached`) and that a manager was alerted (`manager_alerted`): the ticket events are
the memory, and recording is a conditional INSERT taken under the ticket's row lock, so two
app workers never both remind. `SlaService.digest` builds the daily digest that the
dashboard page and the Telegram message both render.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, insert, literal, select
from sqlalchemy.orm import Session

from core.clock import Clock, SystemClock
from core.db import Database
from core.models import (
    OPEN_STATUSES,
    EventKind,
    FollowUp,
    FollowUpKind,
    FollowUpStatus,
    Ticket,
    TicketEvent,
    TicketStatus,
    Urgency,
)
from core.settings import Settings
from handoff.tickets import TicketView, _view
from nudges.calendar import OpeningHours

DIGEST_WINDOW = timedelta(hours=24)  # SLA breaches listed in the digest
SKIPPED = "passé"  # what the triage stores for a skipped question


# Policy and status (pure) ------------------------------------------------------------------
@dataclass(frozen=True)
class SlaPolicy:
    """The SLA rules of settings.handoff, with the opening hours parsed."""

    minutes: tuple[tuple[str, int], ...]  # urgency -> SLA minutes
    hours: OpeningHours
    manager_factor: float
    tz: ZoneInfo

    @classmethod
    def from_settings(cls, settings: Settings) -> SlaPolicy:
        handoff = settings.handoff
        return _policy(
            tuple(sorted(handoff.sla_minutes.items())),
            tuple(sorted(handoff.opening_hours.items())),
            float(handoff.manager_alert_factor),
            settings.nudges.timezone,
        )

    def limit(self, urgency: Urgency | str) -> timedelta:
        table = dict(self.minutes)
        return timedelta(minutes=table.get(str(urgency), table.get("normal", 240)))

    def working(self, urgency: Urgency | str) -> bool:
        """Whether this urgency counts working time (crisis counts real time)."""
        return str(urgency) != Urgency.crisis

    def elapsed(self, urgency: Urgency | str, start: datetime, end: datetime) -> timedelta:
        if self.working(urgency):
            return self.hours.between(start, end)
        return max(timedelta(0), end - start)

    def after(self, urgency: Urgency | str, start: datetime, duration: timedelta) -> datetime:
        if self.working(urgency):
            return self.hours.add(start, duration)
        return start + duration

    def status(self, ticket: TicketView, now: datetime) -> SlaStatus:
        return sla_status(self, ticket.urgency, sla_start(ticket), now, ticket.claimed_at)


def sla_start(ticket: TicketView) -> datetime:
    """When the ticket's SLA clock started: when it became urgent for a crisis (an escalated
    ticket gets the whole crisis SLA, and its own reminders), else its creation."""
    if ticket.urgency == Urgency.crisis and ticket.urgent_since is not None:
        return max(ticket.urgent_since, ticket.created_at)
    return ticket.created_at


@lru_cache(maxsize=16)
def _policy(
    minutes: tuple[tuple[str, int], ...],
    opening: tuple[tuple[str, str], ...],
    factor: float,
    tz: str,
) -> SlaPolicy:
    return SlaPolicy(minutes, OpeningHours.parse(dict(opening), tz), factor, ZoneInfo(tz))


class SlaStage(enum.StrEnum):
    ok = "ok"  # under half of the SLA
    watch = "watch"  # over half of it
    late = "late"  # the SLA is over: the team is reminded
    manager = "manager"  # over manager_alert_factor x SLA: a manager is alerted


COLOURS = {
    SlaStage.ok: "green",
    SlaStage.watch: "orange",
    SlaStage.late: "red",
    SlaStage.manager: "red",
}


@dataclass(frozen=True)
class SlaStatus:
    """Where a ticket stands against its SLA (until its first claim, or now)."""

    urgency: Urgency
    working_time: bool  # True: `limit` and `elapsed` are working time
    limit: timedelta
    elapsed: timedelta
    deadline: datetime  # the SLA ends (breached after it)
    manager_deadline: datetime  # a manager is alerted after it
    breached: bool
    manager_due: bool
    claimed: bool

    @property
    def stage(self) -> SlaStage:
        if self.manager_due:
            return SlaStage.manager
        if self.breached or self.elapsed >= self.limit:
            return SlaStage.late
        if self.elapsed * 2 >= self.limit:
            return SlaStage.watch
        return SlaStage.ok

    @property
    def colour(self) -> str:
        """green under half of the SLA, orange under all of it, red beyond."""
        return COLOURS[self.stage]

    @property
    def elapsed_minutes(self) -> int:
        return int(self.elapsed.total_seconds() // 60)

    @property
    def limit_minutes(self) -> int:
        return int(self.limit.total_seconds() // 60)


def sla_status(
    policy: SlaPolicy,
    urgency: Urgency,
    created_at: datetime,
    now: datetime,
    claimed_at: datetime | None = None,
) -> SlaStatus:
    """The SLA status of a ticket created at `created_at` (first claimed at `claimed_at`)."""
    end = min(claimed_at, now) if claimed_at is not None else now
    limit = policy.limit(urgency)
    deadline = policy.after(urgency, created_at, limit)
    manager_deadline = policy.after(urgency, created_at, limit * policy.manager_factor)
    return SlaStatus(
        urgency=urgency,
        working_time=policy.working(urgency),
        limit=limit,
        elapsed=policy.elapsed(urgency, created_at, end),
        deadline=deadline,
        manager_deadline=manager_deadline,
        breached=end > deadline,
        manager_due=end > manager_deadline,
        claimed=claimed_at is not None and claimed_at <= now,
    )


def duration_fr(delta: timedelta) -> str:
    """12 min, 3 h 05, 2 j 4 h (French, for counsellors)."""
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} min"
    hours, mins = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {mins:02d}" if mins else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} j {hours} h" if hours else f"{days} j"


def limit_fr(policy: SlaPolicy, urgency: Urgency | str) -> str:
    """The SLA of an urgency, labelled the one way every page says it: "15 min" (real time,
    crises), "4 h ouvrées" (working time of the opening hours, the others)."""
    label = duration_fr(policy.limit(urgency))
    return f"{label} ouvrées" if policy.working(urgency) else label


def waited_fr(status: SlaStatus) -> str:
    """ "4 h ouvrées" for working time, "15 min" for real time."""
    label = duration_fr(status.elapsed)
    return f"{label} ouvrées" if status.working_time else label


# Alerts ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SlaAlert:
    """A reminder (`sla_breached`) or a manager alert (`manager_alerted`) this worker
    recorded, and must now send."""

    kind: EventKind
    ticket: TicketView
    status: SlaStatus


# Digest ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DigestTicket:
    ticket: TicketView
    status: SlaStatus
    needs: list[str]

    @property
    def waited(self) -> str:
        return waited_fr(self.status)


@dataclass(frozen=True)
class DigestTeam:
    team: str
    team_name: str
    tickets: list[DigestTicket]  # oldest first


@dataclass(frozen=True)
class DigestBreach:
    ticket_id: int
    team: str
    team_name: str
    urgency: Urgency
    breached_at: datetime | None  # the team was reminded
    manager_alerted_at: datetime | None
    status: TicketStatus
    assignee_name: str | None

    @property
    def still_waiting(self) -> bool:
        return self.status == TicketStatus.new


@dataclass(frozen=True)
class DigestFollowUp:
    ticket_id: int
    team: str
    team_name: str
    due_at: datetime
    assignee_name: str | None
    status: TicketStatus
    reminder: bool  # a counsellor reminder (follow_up row) is pending for it


@dataclass(frozen=True)
class Digest:
    generated_at: datetime
    day: date  # local day of the digest
    unclaimed: list[DigestTeam] = field(default_factory=list)
    breaches: list[DigestBreach] = field(default_factory=list)
    follow_ups: list[DigestFollowUp] = field(default_factory=list)

    @property
    def unclaimed_count(self) -> int:
        return sum(len(team.tickets) for team in self.unclaimed)

    @property
    def empty(self) -> bool:
        return not (self.unclaimed or self.breaches or self.follow_ups)


def _needs(ticket: TicketView) -> list[str]:
    needs = ticket.summary.get("needs") or []
    if not isinstance(needs, list):
        needs = [needs]
    return [str(n) for n in needs if n and n != SKIPPED]


# Service -----------------------------------------------------------------------------------
class SlaService:
    def __init__(self, db: Database, settings: Settings, clock: Clock | None = None) -> None:
        self._db = db
        self._settings = settings
        self._clock = clock or SystemClock()
        self.policy = SlaPolicy.from_settings(settings)

    def now(self) -> datetime:
        return self._clock.now()

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
                .order_by(Ticket.priority, Ticket.severity, Ticket.created_at, Ticket.id)
            )
            views = [_view(t) for t in session.scalars(query)]
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
                _view(t)
                for t in session.scalars(
                    select(Ticket)
                    .where(Ticket.status == TicketStatus.new)
                    .order_by(Ticket.created_at, Ticket.id)
                )
            ]
            breaches = self._breaches(session, now - DIGEST_WINDOW, names)
            follow_ups = self._follow_ups(session, day_start, day_end, names)
        by_team: dict[str, list[DigestTicket]] = {}
        for ticket in unclaimed:
            item = DigestTicket(ticket, self.policy.status(ticket, now), _needs(ticket))
            by_team.setdefault(ticket.team, []).append(item)
        order = list(names)
        teams = [
            DigestTeam(team, names.get(team, team), items)
            for team, items in sorted(
                by_team.items(),
                key=lambda kv: (order.index(kv[0]) if kv[0] in order else len(order), kv[0]),
            )
        ]
        return Digest(now, day, teams, breaches, follow_ups)

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
            t.id: _view(t) for t in session.scalars(select(Ticket).where(Ticket.id.in_(seen)))
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
            t.id: _view(t) for t in session.scalars(select(Ticket).where(Ticket.id.in_(due)))
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
