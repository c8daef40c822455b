"""What a results page asks for (a period of whole local days, a team, a territory), how the
team and territory filters apply to people and tickets, and the choices offered for them.

A person is attributed to the team and territory of their most recent ticket (its current
values, after any transfer); ticket-level figures use each ticket's own team and territory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from core.models import AnonymousCount, Ticket, YoungPerson
from core.settings import Settings
from core.simulations import real_person
from studio.analytics.periods import local_midnight

MAX_DAYS = 3 * 366  # longest period a page may ask for
NO_TERRITORY = "-"  # filter value for tickets without a territory


@dataclass(frozen=True)
class Filters:
    """What a results page asks for: a period of whole local days, a team, a territory."""

    start: date
    end: date  # included
    team: str | None = None
    territory: str | None = None  # a territory name, or NO_TERRITORY for tickets without one
    # Leave out the web simulator's people and tickets (core/simulations.py); the analytics
    # service sets it from the settings (`Settings.simulations_hidden`).
    real_only: bool = False
    # One channel's young people (core/models/people.py Channel value: "telegram", "web"):
    # person-level figures only, the funnel and the impact report (channels.py); None: all.
    channel: str | None = None

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("the period ends before it starts")
        if (self.end - self.start).days > MAX_DAYS:
            raise ValueError("the period is too long")

    def since(self, tz: ZoneInfo) -> datetime:
        """Inclusive lower bound: `start`, 00:00 local."""
        return local_midnight(self.start, tz)

    def until(self, tz: ZoneInfo) -> datetime:
        """Exclusive upper bound: the day after `end`, 00:00 local."""
        return local_midnight(self.end + timedelta(days=1), tz)

    @property
    def attributed(self) -> bool:
        return self.team is not None or self.territory is not None


def default_filters(today: date, weeks: int = 12) -> Filters:
    """The last `weeks` ISO weeks, this one included."""
    monday = today - timedelta(days=today.weekday())
    return Filters(start=monday - timedelta(weeks=weeks - 1), end=today)


# Attribution --------------------------------------------------------------------------------
def ticket_conditions(filters: Filters) -> list[ColumnElement[bool]]:
    """Tickets of the filtered team and territory (their own)."""
    conditions: list[ColumnElement[bool]] = []
    if filters.real_only:
        conditions.append(real_person(Ticket.person_id))
    if filters.team is not None:
        conditions.append(Ticket.team == filters.team)
    if filters.territory == NO_TERRITORY:
        conditions.append(Ticket.territory.is_(None))
    elif filters.territory is not None:
        conditions.append(Ticket.territory == filters.territory)
    return conditions


def attributed_people(filters: Filters) -> Select[int]:
    """People whose most recent ticket has the filtered team/territory."""
    latest = (
        select(Ticket.person_id, func.max(Ticket.id).label("ticket_id"))
        .group_by(Ticket.person_id)
        .subquery()
    )
    query = select(latest.c.person_id).join(Ticket, Ticket.id == latest.c.ticket_id)
    return query.where(*ticket_conditions(filters))


def people_condition(column: Any, filters: Filters) -> list[ColumnElement[bool]]:
    """`column` (a person id) among the people attributed to the filters, if they filter,
    of the filtered channel, if any, and not a simulation if the filters leave them out."""
    conditions = [real_person(column)] if filters.real_only else []
    if filters.channel is not None:
        of_channel = select(YoungPerson.id).where(YoungPerson.channel == filters.channel)
        conditions.append(column.in_(of_channel))
    if filters.attributed:
        conditions.append(column.in_(attributed_people(filters)))
    return conditions


# Filter choices -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Options:
    """Choices for the filters: teams (id, name) and territories seen on tickets."""

    teams: list[tuple[str, str]]
    territories: list[str] = field(default_factory=list)


def filter_options(session: Session, settings: Settings) -> Options:
    territories = session.scalars(
        select(Ticket.territory)
        .where(Ticket.territory.is_not(None))
        .distinct()
        .order_by(Ticket.territory)
    ).all()
    # ...and those of erased people's tickets, still in the anonymous counts (archive.py)
    erased = session.scalars(
        select(AnonymousCount.territory).where(AnonymousCount.territory != "").distinct()
    ).all()
    configured = [t.name for t in settings.territories]
    seen = {str(t) for t in (*territories, *erased) if t and t not in configured}
    names = configured + sorted(seen)
    return Options(
        teams=[(team.id, team.name) for team in settings.teams],
        territories=names,
    )
