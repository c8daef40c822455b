"""SLA policy of the hand-off queue (pure): how long a ticket may wait for its first claim.

The SLA is the time a ticket may wait for its first claim: `handoff.sla_minutes` real minutes
for a crisis (counted from when the ticket became urgent: its creation, or the escalation of
a ticket that was waiting already), working minutes of the team's opening hours
(`handoff.opening_hours`, closed on public holidays) otherwise. `sla_status` is a pure
function (the dashboard colours use it). handoff/sla/service.py finds the late tickets and
records the alerts; handoff/sla/digest.py is the counsellors' daily digest.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from core.calendar import OpeningHours
from core.models import (
    Urgency,
)
from core.settings import Settings
from core.vocabulary import duration_fr
from handoff.tickets import TicketView


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

    def late_from(self, urgency: Urgency | str, start: datetime) -> datetime:
        """The first instant at which more than the SLA has elapsed since `start`: the SLA is
        over at its deadline, and more of it has elapsed once one microsecond of counted
        time lies past the deadline (elapsed time is additive). Computed from the deadline,
        not by measuring a whole wait: a ticket open for months made `elapsed` walk every
        day of it, and the results page take a minute at 100 000 people (bench/README.md)."""
        return _late_from(self, str(urgency), start)

    def exceeded(self, urgency: Urgency | str, start: datetime, end: datetime) -> bool:
        """`elapsed(urgency, start, end) > limit(urgency)`, see `late_from`."""
        return end >= self.late_from(urgency, start)

    def status(self, ticket: TicketView, now: datetime) -> SlaStatus:
        return sla_status(self, ticket.urgency, sla_start(ticket), now, ticket.claimed_at)


@lru_cache(maxsize=65_536)  # pure: the results page asks twice per ticket (its urgency, "all")
def _late_from(policy: SlaPolicy, urgency: str, start: datetime) -> datetime:
    deadline = policy.after(urgency, start, policy.limit(urgency))
    return policy.after(urgency, deadline, timedelta(microseconds=1))


def forget_deadlines() -> None:
    """Empty the `late_from` cache (benchmarks measure it cold)."""
    _late_from.cache_clear()


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


def limit_fr(policy: SlaPolicy, urgency: Urgency | str) -> str:
    """The SLA of an urgency, labelled the one way every page says it: "15 min" (real time,
    crises), "4 h ouvrées" (working time of the opening hours, the others)."""
    label = duration_fr(policy.limit(urgency))
    return f"{label} ouvrées" if policy.working(urgency) else label


def waited_fr(status: SlaStatus) -> str:
    """ "4 h ouvrées" for working time, "15 min" for real time."""
    label = duration_fr(status.elapsed)
    return f"{label} ouvrées" if status.working_time else label
