"""The per-source funnel: which outreach campaign, and which channel, reached whom, from the
first contact to the outcome (issue 21).

A cohort, as the funnel is (funnel.py): the young people whose first contact
(young_person.created_at) falls in the period, and the stages they reached since, whenever
that was (`stage_query`: started = reached, consent, triage, hand-off, claimed = taken by a
counsellor, positive outcome).

- Source of a person: first touch. Their campaign is `young_person.campaign_id` (the first
  campaign link or QR code that brought them, core/campaigns.py), its channel the campaign's.
  A person without a campaign counts in the "no campaign" row of the campaign table, and in
  the channel they said they heard of the bot through (`young_person.heard_via`, a
  CampaignChannel value), else in UNKNOWN_SOURCE (a value that is not a channel counts as
  unknown).
- Median time to the first human reply: for each person of the row, their first ticket (the
  lowest id) and its first_reply_at - created_at, in real minutes; people whose first ticket
  has no reply (yet) are left out. `replied` is how many people the median is over.
- Invisible share: people who answered "non" to the triage's "already followed by a
  structure?" over those who answered "oui" or "non" (`young_person.followed`).
- Cost per young person reached: a campaign's whole cost (`campaign.cost_cents`, when a
  manager entered it) over the people it reached in the period: pick a period covering the
  campaign. A channel's: the sum of the costs of its campaigns that have one, over the people
  those campaigns reached (people without a campaign, and campaigns without a cost, are in
  neither).
- Simulations never count here (web simulator people are left out whatever
  `Settings.simulations_hidden` says): a campaign is about real young people.
- Team and territory filters select the campaigns whose own team and territory match
  (NO_TERRITORY: campaigns without a territory); people without a campaign are then left out.
  (The other results attribute a person to their latest ticket's team: not here.)
- Erased people: `StatsArchive.fold` (archive.py) adds their part with `source_counts` to the
  anonymous counts, under `source:<campaign id, 0 for none>:<channel>:<what>` on the local
  day of their first contact, with the campaign's team and territory ("" none) in the
  team/territory columns; <what> is a stage, `reply_us:<µs>` (the exact delay, so medians
  stay exact) or `followed:oui` / `followed:non`. `count_sources` adds them back.

Small numbers are not hidden here: the pages and CSV do it (masking.py).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from core.models import AnonymousCount, Campaign, CampaignChannel, Ticket, YoungPerson
from core.simulations import SIMULATED_CHANNELS
from core.vocabulary import CAMPAIGN_CHANNELS, UNKNOWN_SOURCE
from studio.analytics.anonymous import Key
from studio.analytics.filters import NO_TERRITORY, Filters
from studio.analytics.stages import stage_query
from studio.analytics.stats import median

SOURCE_STAGES: tuple[str, ...] = ("started", "consent", "triage", "handoff", "claimed", "positive")
SOURCE = "source:"  # anonymous count metrics (archive.py)
NO_CAMPAIGN = 0  # the campaign id of people no campaign brought
FOLLOWED = ("oui", "non")
CHANNEL_ORDER: tuple[str, ...] = (*CAMPAIGN_CHANNELS, UNKNOWN_SOURCE)


@dataclass(frozen=True)
class SourceRow:
    """One campaign (key: its id, "0" for people without one) or one channel (key: its
    value, UNKNOWN_SOURCE)."""

    key: str
    name: str  # the campaign's name ("" for the no-campaign row and channel rows)
    channel: str  # a CampaignChannel value or UNKNOWN_SOURCE ("" for the no-campaign row)
    counts: dict[str, int]  # by SOURCE_STAGES
    replied: int  # people whose first ticket got a human reply: the median is over them
    reply_median: float | None  # minutes
    followed_no: int  # answered "non" (not followed by a structure: invisible)
    followed_known: int  # answered "oui" or "non"
    cost_cents: int | None = None  # campaign: its cost; channel: its campaigns' costs summed
    costed_reached: int = 0  # the people reached by the campaigns whose cost is counted

    @property
    def reached(self) -> int:
        return self.counts["started"]

    @property
    def invisible_share(self) -> float | None:
        return self.followed_no / self.followed_known if self.followed_known else None

    @property
    def cost_per_reached(self) -> float | None:
        """Cents per young person reached (None without a cost or anyone reached)."""
        if self.cost_cents is None or not self.costed_reached:
            return None
        return self.cost_cents / self.costed_reached


@dataclass(frozen=True)
class Sources:
    campaigns: list[SourceRow]  # by people reached, then name; the no-campaign row last
    channels: list[SourceRow]  # in CHANNEL_ORDER, channels that reached somebody


@dataclass
class _Tally:
    counts: Counter[str] = field(default_factory=Counter)
    replies: list[float] = field(default_factory=list)
    followed: Counter[str] = field(default_factory=Counter)

    def add(self, what: str, n: int = 1) -> None:
        """Add a `source:` metric's <what> (a stage, reply_us:<µs>, followed:<answer>)."""
        kind, _, value = what.partition(":")
        if kind == "reply_us":
            self.replies.extend([_minutes(int(value))] * n)
        elif kind == "followed" and value in FOLLOWED:
            self.followed[value] += n
        elif what in SOURCE_STAGES:
            self.counts[what] += n

    def merge(self, other: _Tally) -> None:
        self.counts.update(other.counts)
        self.replies.extend(other.replies)
        self.followed.update(other.followed)


# Where a person came from -------------------------------------------------------------------
def channel_of(campaign_channel: Any, heard_via: str | None) -> str:
    """The person's channel: their campaign's, else what they said, else UNKNOWN_SOURCE."""
    if campaign_channel is not None:
        return str(CampaignChannel(campaign_channel))
    return heard_via if heard_via in CAMPAIGN_CHANNELS else UNKNOWN_SOURCE


def source_metric(campaign_id: int, channel: str, what: str) -> str:
    return f"{SOURCE}{campaign_id}:{channel}:{what}"


def campaign_conditions(filters: Filters) -> list[ColumnElement[bool]]:
    """The team and territory filters on the campaign (outer-joined: no campaign, no match)."""
    conditions: list[ColumnElement[bool]] = []
    if filters.team is not None:
        conditions.append(Campaign.team == filters.team)
    if filters.territory == NO_TERRITORY:
        conditions += [Campaign.id.is_not(None), Campaign.territory.is_(None)]
    elif filters.territory is not None:
        conditions.append(Campaign.territory == filters.territory)
    return conditions


def first_reply_micros(session: Session, person_ids: Any) -> dict[int, int]:
    """person id -> µs from their first ticket's opening to its first human reply."""
    first = (
        select(Ticket.person_id, func.min(Ticket.id).label("ticket_id"))
        .where(Ticket.person_id.in_(person_ids))
        .group_by(Ticket.person_id)
        .subquery()
    )
    rows = session.execute(
        select(Ticket.person_id, Ticket.created_at, Ticket.first_reply_at)
        .join(first, Ticket.id == first.c.ticket_id)
        .where(Ticket.first_reply_at.is_not(None))
    )
    return {pid: _micros(replied - opened) for pid, opened, replied in rows if replied}


# Counting ---------------------------------------------------------------------------------
def count_sources(
    session: Session, filters: Filters, tz: ZoneInfo, positive_outcomes: Iterable[str]
) -> Sources:
    cohort = (
        select(
            YoungPerson.id,
            YoungPerson.heard_via,
            YoungPerson.followed,
            Campaign.id.label("campaign_id"),
            Campaign.channel.label("campaign_channel"),
        )
        .outerjoin(Campaign, Campaign.id == YoungPerson.campaign_id)
        .where(
            YoungPerson.created_at >= filters.since(tz),
            YoungPerson.created_at < filters.until(tz),
            YoungPerson.channel.not_in(SIMULATED_CHANNELS),
            *campaign_conditions(filters),
        )
    )
    source: dict[int, tuple[int, str]] = {}
    tallies: dict[tuple[int, str], _Tally] = defaultdict(_Tally)
    for row in session.execute(cohort):
        key = (row.campaign_id or NO_CAMPAIGN, channel_of(row.campaign_channel, row.heard_via))
        source[row.id] = key
        tallies[key].add("started")
        if row.followed in FOLLOWED:
            tallies[key].add(f"followed:{row.followed}")
    ids = cohort.with_only_columns(YoungPerson.id)
    anyone = Filters(filters.start, filters.end)  # the cohort is already chosen
    for stage in SOURCE_STAGES[1:]:
        first = stage_query(stage, anyone, positive_outcomes).subquery()
        for (pid,) in session.execute(select(first.c.person_id).where(first.c.person_id.in_(ids))):
            tallies[source[pid]].add(stage)
    for pid, micros in first_reply_micros(session, ids).items():
        tallies[source[pid]].add(f"reply_us:{micros}")
    for (campaign_id, channel, what), n in _archived(session, filters):  # erased people
        tallies[(campaign_id, channel)].add(what, n)
    return _rows(session, tallies)


def _archived(session: Session, filters: Filters) -> list[tuple[tuple[int, str, str], int]]:
    """((campaign id, channel, what), count) of erased people of the period and filters."""
    conditions: list[ColumnElement[bool]] = [
        AnonymousCount.metric.startswith(SOURCE, autoescape=True),
        AnonymousCount.day >= filters.start,
        AnonymousCount.day <= filters.end,
    ]
    if filters.team is not None:
        conditions.append(AnonymousCount.team == filters.team)
    if filters.territory == NO_TERRITORY:
        conditions.append(AnonymousCount.territory == "")
    elif filters.territory is not None:
        conditions.append(AnonymousCount.territory == filters.territory)
    rows = session.execute(
        select(AnonymousCount.metric, func.sum(AnonymousCount.count))
        .where(*conditions)
        .group_by(AnonymousCount.metric)
    )
    found = []
    for metric, n in rows:
        campaign, channel, what = metric.removeprefix(SOURCE).split(":", 2)
        if filters.attributed and int(campaign) == NO_CAMPAIGN:
            continue  # people without a campaign have no team or territory here
        found.append(((int(campaign), channel, what), int(n or 0)))
    return found


def _rows(session: Session, tallies: dict[tuple[int, str], _Tally]) -> Sources:
    by_campaign: dict[int, _Tally] = defaultdict(_Tally)
    by_channel: dict[str, _Tally] = defaultdict(_Tally)
    for (campaign_id, channel), tally in tallies.items():
        by_campaign[campaign_id].merge(tally)
        by_channel[channel].merge(tally)
    ids = [c for c in by_campaign if c != NO_CAMPAIGN]
    campaigns = {c.id: c for c in session.scalars(select(Campaign).where(Campaign.id.in_(ids)))}
    campaign_rows = []
    channel_cost: dict[str, tuple[int, int]] = {}  # channel: (cents, people reached)
    for campaign_id, tally in by_campaign.items():
        found = campaigns.get(campaign_id)
        channel = str(found.channel) if found else ""
        cost = found.cost_cents if found else None
        reached = tally.counts["started"]
        if cost is not None and found is not None:
            cents, people = channel_cost.get(channel, (0, 0))
            channel_cost[channel] = (cents + cost, people + reached)
        name = found.name if found else ("" if campaign_id == NO_CAMPAIGN else f"#{campaign_id}")
        campaign_rows.append(
            _row(str(campaign_id), name, channel, tally, cost, reached if cost is not None else 0)
        )
    campaign_rows.sort(key=lambda r: (r.key == str(NO_CAMPAIGN), -r.reached, r.name, r.key))
    channel_rows = []
    for channel in sorted(by_channel, key=_channel_rank):
        cents, people = channel_cost.get(channel, (0, 0))
        cost = cents if channel in channel_cost else None
        channel_rows.append(_row(channel, "", channel, by_channel[channel], cost, people))
    return Sources(campaigns=campaign_rows, channels=channel_rows)


def _row(
    key: str, name: str, channel: str, tally: _Tally, cost: int | None, costed: int
) -> SourceRow:
    return SourceRow(
        key=key,
        name=name,
        channel=channel,
        counts={s: tally.counts[s] for s in SOURCE_STAGES},
        replied=len(tally.replies),
        reply_median=median(tally.replies),
        followed_no=tally.followed["non"],
        followed_known=tally.followed["oui"] + tally.followed["non"],
        cost_cents=cost,
        costed_reached=costed,
    )


def _channel_rank(channel: str) -> tuple[int, str]:
    return (
        CHANNEL_ORDER.index(channel) if channel in CHANNEL_ORDER else len(CHANNEL_ORDER),
        channel,
    )


def campaign_territories(session: Session) -> list[str]:
    """The territories campaigns name (a territory filter choice for the sources table)."""
    rows = session.scalars(
        select(Campaign.territory).where(Campaign.territory.is_not(None)).distinct()
    )
    return sorted(str(t) for t in rows if t)


# Erasure ----------------------------------------------------------------------------------
def source_counts(
    session: Session, person: YoungPerson, reached: Iterable[str], day: date
) -> Counter[Key]:
    """A person's part of the sources table, as anonymous counts (archive.py): `reached` are
    the stages they reached, `day` the local day of their first contact."""
    campaign = session.get(Campaign, person.campaign_id) if person.campaign_id else None
    campaign_id = campaign.id if campaign is not None else NO_CAMPAIGN
    channel = channel_of(campaign.channel if campaign else None, person.heard_via)
    team = (campaign.team or "") if campaign is not None else ""
    territory = (campaign.territory or "") if campaign is not None else ""
    where = (day, team, territory)
    counts: Counter[Key] = Counter()
    whats = [s for s in SOURCE_STAGES if s in set(reached)]
    if person.followed in FOLLOWED:
        whats.append(f"followed:{person.followed}")
    micros = first_reply_micros(session, [person.id]).get(person.id)
    if micros is not None:
        whats.append(f"reply_us:{micros}")
    for what in whats:
        counts[(source_metric(campaign_id, channel, what), *where)] += 1
    return counts


def _micros(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _minutes(micros: int) -> float:
    return micros / 10**6 / 60


__all__ = [
    "SOURCE_STAGES",
    "SourceRow",
    "Sources",
    "count_sources",
    "source_counts",
]
