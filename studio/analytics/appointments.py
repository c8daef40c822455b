"""Appointments (issue 22): proposed, confirmed, attended, missed, by team, by campaign and by
channel; the time from the hand-off to the first appointment; attendance with and without
reminders.

- Cohort: the appointments whose time (`appointment.starts_at`) falls in the period, whatever
  became of them. Every appointment was proposed; `confirmed` counts those the young person
  confirmed ("ça me va": `confirmed_at`), even if later attended, missed or cancelled.
  attended, missed, rescheduled: the status the counsellor marked; cancelled: by the young
  person (`cancelled_by` "youth") or by the counsellor (anything else). Not yet marked: still
  active (proposed, unsure, change requested, confirmed) on a day before today (local): the
  day is over and nobody said what happened.
- Attendance rate: attended / (attended + missed); with reminders: among the appointments
  that had at least one reminder actually sent (`reminders_sent` > 0), without: none.
- Team: the appointment's (its ticket's team when it was proposed); territory: its ticket's.
- Campaign and channel: the young person's first touch, as in the per-source funnel
  (sources.py `channel_of`): their campaign (NO_CAMPAIGN: none), its channel, else what they
  said (`heard_via`), else UNKNOWN_SOURCE.
- Time to the first appointment: for each ticket whose first appointment (the first proposed,
  lowest id) is in the cohort, that appointment's created_at - the ticket's created_at (the
  hand-off), in real minutes; the median over those tickets (`tickets`).
- Simulations never count (web simulator people, whatever `Settings.simulations_hidden`): as
  in sources.py, a campaign's and a channel's figures are about real young people.
- Erased people: `StatsArchive.fold` (archive.py) adds `appointment_counts` to the anonymous
  counts, on the local day of each appointment's time, with its team and its ticket's territory
  ("" none): `appointment:<campaign id, 0 none>:<channel>:<status>:<confirmed 0|1>:<reminded
  0|1>` (status: attended, missed, rescheduled, cancelled_youth, cancelled_counsellor or
  active) and `appointment:<campaign>:<channel>:first_us:<µs>` for a ticket's first
  appointment (the exact delay, so the median stays exact). `count_appointments` adds them
  back; an archived active appointment counts as not yet marked once its day is over, as a
  live one does.

Small numbers are not hidden here: the pages and CSV do it (masking.py). Statements are a
fixed number whatever the number of appointments (grouped counts, one row per ticket for the
delays).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from core.models import (
    ACTIVE_STATUSES,
    AnonymousCount,
    Appointment,
    AppointmentStatus,
    Campaign,
    Ticket,
    YoungPerson,
)
from core.simulations import SIMULATED_CHANNELS
from core.vocabulary import CAMPAIGN_CHANNELS, UNKNOWN_SOURCE
from studio.analytics.anonymous import Key, attribution_conditions
from studio.analytics.filters import NO_TERRITORY, Filters
from studio.analytics.periods import local_midnight
from studio.analytics.sources import NO_CAMPAIGN, channel_of
from studio.analytics.stats import median, share

APPOINTMENT = "appointment:"  # anonymous count metrics (archive.py)
# What a row counts, in the tables' order.
COUNTS: tuple[str, ...] = (
    "proposed",
    "confirmed",
    "attended",
    "missed",
    "cancelled_youth",
    "cancelled_counsellor",
    "rescheduled",
    "unmarked",
)
ACTIVE = "active"  # the folded status of an appointment still ahead when erased
CHANNEL_ORDER: tuple[str, ...] = (*CAMPAIGN_CHANNELS, UNKNOWN_SOURCE)
_ACTIVE = {str(s) for s in ACTIVE_STATUSES}


@dataclass(frozen=True)
class AppointmentRow:
    """One team (key: its id), campaign (key: its id, "0" for none), channel (key: its value)
    or the total ("all"); reminded rows: "with" / "without"."""

    key: str
    name: str  # the team's or campaign's name ("" for channels and the no-campaign row)
    counts: dict[str, int]  # by COUNTS
    tickets: int  # tickets whose first appointment is in the row: the median is over them
    first_median: float | None  # minutes from the hand-off to the first appointment proposed

    @property
    def proposed(self) -> int:
        return self.counts["proposed"]

    @property
    def marked(self) -> int:
        """Attended or missed: the attendance rate is over them."""
        return self.counts["attended"] + self.counts["missed"]

    @property
    def attendance_rate(self) -> float | None:
        return share(self.counts["attended"], self.marked)


@dataclass(frozen=True)
class AppointmentResults:
    total: AppointmentRow
    teams: list[AppointmentRow]  # the settings' order, then other team ids
    campaigns: list[AppointmentRow]  # by appointments proposed, then name; no campaign last
    channels: list[AppointmentRow]  # in CHANNEL_ORDER
    reminders: list[AppointmentRow]  # "with", "without" (reminders sent or not)


@dataclass
class _Tally:
    counts: Counter[str] = field(default_factory=Counter)
    delays: list[float] = field(default_factory=list)

    def merge(self, other: _Tally) -> None:
        self.counts.update(other.counts)
        self.delays.extend(other.delays)


Source = tuple[str, int, str]  # team, campaign id, channel


# Counting ---------------------------------------------------------------------------------
def count_appointments(
    session: Session, filters: Filters, tz: ZoneInfo, now: datetime, teams: Mapping[str, str]
) -> AppointmentResults:
    """The appointments of the period (`teams`: team id -> name, in the page's order)."""
    today = now.astimezone(tz).date()
    tallies: dict[Source, _Tally] = defaultdict(_Tally)
    reminded: dict[bool, _Tally] = {True: _Tally(), False: _Tally()}
    counted = _scoped(
        select(
            Appointment.team,
            Campaign.id,
            Campaign.channel,
            YoungPerson.heard_via,
            Appointment.status,
            Appointment.cancelled_by,
            Appointment.confirmed_at.is_(None),
            Appointment.reminders_sent,
            func.count(),
        ),
        filters,
        tz,
    )
    dims = counted.selected_columns[:-1]
    for team, campaign, channel, heard, status, by, unconfirmed, sent, n in session.execute(
        counted.group_by(*dims)
    ):
        source = (team, campaign or NO_CAMPAIGN, channel_of(channel, heard))
        whats = _whats(_status(status, by), not unconfirmed)
        for tally in (tallies[source], reminded[bool(sent)]):
            tally.counts.update(dict.fromkeys(whats, n))
    # Active appointments of days before today: not marked yet.
    past = _scoped(
        select(
            Appointment.team, Campaign.id, Campaign.channel, YoungPerson.heard_via, func.count()
        ),
        filters,
        tz,
    ).where(
        Appointment.status.in_(ACTIVE_STATUSES), Appointment.starts_at < local_midnight(today, tz)
    )
    for team, campaign, channel, heard, n in session.execute(
        past.group_by(*past.selected_columns[:-1])
    ):
        tallies[(team, campaign or NO_CAMPAIGN, channel_of(channel, heard))].counts["unmarked"] += n
    # Each ticket's first appointment, if it is in the cohort: the time since the hand-off.
    first = select(func.min(Appointment.id).label("id")).group_by(Appointment.ticket_id).subquery()
    delays = _scoped(
        select(
            Appointment.team,
            Campaign.id,
            Campaign.channel,
            YoungPerson.heard_via,
            Appointment.created_at,
            Ticket.created_at,
        ).join(first, first.c.id == Appointment.id),
        filters,
        tz,
    )
    for team, campaign, channel, heard, proposed_at, opened_at in session.execute(delays):
        source = (team, campaign or NO_CAMPAIGN, channel_of(channel, heard))
        tallies[source].delays.append(_micros(proposed_at - opened_at) / 60e6)
    _add_archived(session, filters, today, tallies, reminded)
    return _results(session, tallies, reminded, teams)


def _scoped(query: Any, filters: Filters, tz: ZoneInfo) -> Any:
    """`query` on the period's appointments, their ticket, person and first campaign."""
    conditions: list[ColumnElement[bool]] = [
        Appointment.starts_at >= filters.since(tz),
        Appointment.starts_at < filters.until(tz),
        YoungPerson.channel.not_in(SIMULATED_CHANNELS),
    ]
    if filters.team is not None:
        conditions.append(Appointment.team == filters.team)
    if filters.territory == NO_TERRITORY:
        conditions.append(Ticket.territory.is_(None))
    elif filters.territory is not None:
        conditions.append(Ticket.territory == filters.territory)
    return (
        query.select_from(Appointment)
        .join(Ticket, Ticket.id == Appointment.ticket_id)
        .join(YoungPerson, YoungPerson.id == Appointment.person_id)
        .outerjoin(Campaign, Campaign.id == YoungPerson.campaign_id)
        .where(*conditions)
    )


def _status(status: Any, cancelled_by: str | None) -> str:
    """The folded status: attended, missed, rescheduled, cancelled_<by>, or ACTIVE."""
    value = str(AppointmentStatus(status))
    if value in _ACTIVE:
        return ACTIVE
    if value == AppointmentStatus.cancelled:
        return "cancelled_youth" if cancelled_by == "youth" else "cancelled_counsellor"
    return value


def _whats(status: str, confirmed: bool) -> list[str]:
    whats = ["proposed", *(["confirmed"] if confirmed else [])]
    return [*whats, status] if status in COUNTS else whats


def _add_archived(
    session: Session,
    filters: Filters,
    today: date,
    tallies: dict[Source, _Tally],
    reminded: dict[bool, _Tally],
) -> None:
    """Erased people's appointments of the period and filters (archive.py)."""
    rows = session.execute(
        select(
            AnonymousCount.metric,
            AnonymousCount.team,
            AnonymousCount.day,
            func.sum(AnonymousCount.count),
        )
        .where(
            AnonymousCount.metric.startswith(APPOINTMENT, autoescape=True),
            AnonymousCount.day >= filters.start,
            AnonymousCount.day <= filters.end,
            *attribution_conditions(filters),
        )
        .group_by(AnonymousCount.metric, AnonymousCount.team, AnonymousCount.day)
    )
    for metric, team, day, total in rows:
        n = int(total or 0)
        campaign, channel, what = metric.removeprefix(APPOINTMENT).split(":", 2)
        tally = tallies[(team, int(campaign), channel)]
        kind, _, rest = what.partition(":")
        if kind == "first_us":
            tally.delays.extend([int(rest) / 60e6] * n)
            continue
        confirmed, _, was_reminded = rest.partition(":")
        whats = _whats(kind, confirmed == "1")
        if kind == ACTIVE and day < today:
            tally.counts["unmarked"] += n
        for each in (tally, reminded[was_reminded == "1"]):
            each.counts.update(dict.fromkeys(whats, n))


def _results(
    session: Session,
    tallies: dict[Source, _Tally],
    reminded: dict[bool, _Tally],
    teams: Mapping[str, str],
) -> AppointmentResults:
    total = _Tally()
    by_team: dict[str, _Tally] = defaultdict(_Tally)
    by_campaign: dict[int, _Tally] = defaultdict(_Tally)
    by_channel: dict[str, _Tally] = defaultdict(_Tally)
    for (team, campaign, channel), tally in tallies.items():
        for bucket in (total, by_team[team], by_campaign[campaign], by_channel[channel]):
            bucket.merge(tally)
    ids = [c for c in by_campaign if c != NO_CAMPAIGN]
    found = session.execute(select(Campaign.id, Campaign.name).where(Campaign.id.in_(ids)))
    names = {campaign_id: name for campaign_id, name in found}
    campaign_rows = [
        _row(str(c), names.get(c, "" if c == NO_CAMPAIGN else f"#{c}"), tally)
        for c, tally in by_campaign.items()
    ]
    campaign_rows.sort(key=lambda r: (r.key == str(NO_CAMPAIGN), -r.proposed, r.name, r.key))
    order = list(teams)
    team_rows = [
        _row(team, teams.get(team, team), by_team[team])
        for team in sorted(by_team, key=lambda t: _rank(t, order))
    ]
    channel_rows = [
        _row(channel, "", by_channel[channel])
        for channel in sorted(by_channel, key=lambda c: _rank(c, CHANNEL_ORDER))
    ]
    return AppointmentResults(
        total=_row("all", "", total),
        teams=team_rows,
        campaigns=campaign_rows,
        channels=channel_rows,
        reminders=[_row("with", "", reminded[True]), _row("without", "", reminded[False])],
    )


def _rank(value: str, order: Sequence[str]) -> tuple[int, str]:
    return (order.index(value) if value in order else len(order), value)


def _row(key: str, name: str, tally: _Tally) -> AppointmentRow:
    return AppointmentRow(
        key=key,
        name=name,
        counts={what: tally.counts[what] for what in COUNTS},
        tickets=len(tally.delays),
        first_median=median(tally.delays),
    )


# Erasure ----------------------------------------------------------------------------------
def appointment_counts(session: Session, person: YoungPerson, tz: ZoneInfo) -> Counter[Key]:
    """A person's appointments, as anonymous counts (archive.py)."""
    campaign = session.get(Campaign, person.campaign_id) if person.campaign_id else None
    campaign_id = campaign.id if campaign is not None else NO_CAMPAIGN
    channel = channel_of(campaign.channel if campaign is not None else None, person.heard_via)
    prefix = f"{APPOINTMENT}{campaign_id}:{channel}:"
    rows = session.execute(
        select(Appointment, Ticket.created_at, Ticket.territory)
        .join(Ticket, Ticket.id == Appointment.ticket_id)
        .where(Appointment.person_id == person.id)
        .order_by(Appointment.id)
    ).all()
    counts: Counter[Key] = Counter()
    firsts: set[int] = set()
    for appointment, opened_at, territory in rows:
        where = (
            appointment.starts_at.astimezone(tz).date(),
            appointment.team,
            territory or "",
        )
        status = _status(appointment.status, appointment.cancelled_by)
        confirmed = int(appointment.confirmed_at is not None)
        with_reminders = int(appointment.reminders_sent > 0)
        counts[(f"{prefix}{status}:{confirmed}:{with_reminders}", *where)] += 1
        if appointment.ticket_id not in firsts:  # the ticket's first (lowest id)
            firsts.add(appointment.ticket_id)
            micros = _micros(appointment.created_at - opened_at)
            counts[(f"{prefix}first_us:{micros}", *where)] += 1
    return counts


def _micros(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


__all__ = [
    "APPOINTMENT",
    "COUNTS",
    "AppointmentResults",
    "AppointmentRow",
    "appointment_counts",
    "count_appointments",
]
