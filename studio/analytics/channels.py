"""The funnel and the impact report split by the young person's channel (Telegram, the web
chat: `young_person.channel`, core/models/people.py Channel), one row per channel.

The funnel's rows are its own queries (funnel.py) read once with each person's channel; the
impact report's are its own count with a channel filter (`Filters.channel`, applied by
`people_condition`): the same definitions, the same team and territory attribution, nothing
counted twice. Telegram and the web chat
always have a row; the other channels (the terminal; the simulator when the settings show
simulations, the open demo) only when they reached somebody. Simulations are left out where
they are left out everywhere else (core/simulations.py).

Erased people stay in their channel's row: the archive keeps `channel:<channel>:cohort:` and
`channel:<channel>:stage:` counts (archive.py). People erased before those counts were kept
are in the totals only: `unattributed` is what the rows miss of the totals (zero otherwise).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import Channel, YoungPerson
from core.simulations import SIMULATED_CHANNELS
from studio.analytics.anonymous import COHORT, archived
from studio.analytics.filters import Filters, people_condition
from studio.analytics.impact import count_impact
from studio.analytics.stages import IMPACT_STAGES, STAGES, stage_query

ALWAYS_SHOWN: tuple[str, ...] = (Channel.telegram.value, Channel.web.value)


@dataclass(frozen=True)
class ChannelRow:
    channel: str  # a Channel value
    counts: dict[str, int]  # by the split's stages


@dataclass(frozen=True)
class ChannelSplit:
    stages: tuple[str, ...]  # STAGES (the funnel) or IMPACT_STAGES (the impact report)
    rows: list[ChannelRow]
    totals: dict[str, int]  # the funnel's or the impact report's own totals
    unattributed: dict[str, int]  # totals - the rows: erased before counts by channel

    @property
    def any_unattributed(self) -> bool:
        return any(self.unattributed.values())


def channels_counted(real_only: bool, present: Iterable[str] | None = None) -> list[str]:
    """The channels a split may show, in order: Telegram, the web chat, then the others
    (the simulator's only when simulations show) among `present` (the channels someone in
    the database uses; None: all). A count costs the funnel's statements again: a channel
    nobody uses (the terminal, in production) is not counted."""
    hidden = {str(c) for c in SIMULATED_CHANNELS} if real_only else set()
    used = None if present is None else {str(c) for c in present}
    others = [
        c.value
        for c in Channel
        if c.value not in (*ALWAYS_SHOWN, *hidden) and (used is None or c.value in used)
    ]
    return [*ALWAYS_SHOWN, *others]


def channels_present(session: Session) -> set[str]:
    """The channels of the young people in the database (one small scan)."""
    return {str(c) for c in session.scalars(select(YoungPerson.channel).distinct())}


def split_funnel(
    session: Session,
    filters: Filters,
    tz: ZoneInfo,
    positive_outcomes: Iterable[str],
    totals: dict[str, int],
) -> ChannelSplit:
    """The funnel's cohort (`totals`: count_funnel's for the same filters) by channel: the
    funnel's own queries (funnel.py), read once with each person's channel, plus each
    channel's archived counts."""
    positive = list(positive_outcomes)
    counted = channels_counted(filters.real_only, channels_present(session))
    cohort = select(YoungPerson.id, YoungPerson.channel).where(
        YoungPerson.created_at >= filters.since(tz),
        YoungPerson.created_at < filters.until(tz),
        *people_condition(YoungPerson.id, filters),
    )
    channel_of = {pid: str(channel) for pid, channel in session.execute(cohort)}
    counts = {c: dict.fromkeys(STAGES, 0) for c in counted}
    for channel in channel_of.values():
        if channel in counts:
            counts[channel]["started"] += 1
    cohort_ids = cohort.with_only_columns(YoungPerson.id)
    for stage in STAGES[1:]:
        first = stage_query(stage, filters, positive).subquery()
        for (pid,) in session.execute(
            select(first.c.person_id).where(first.c.person_id.in_(cohort_ids))
        ):
            if (who := channel_of.get(pid, "")) in counts:
                counts[who][stage] += 1
    for channel in counted:  # erased people (archive.py), by their channel
        for stage, _day, n in archived(session, COHORT, replace(filters, channel=channel)):
            if stage in STAGES:
                counts[channel][stage] += n
    rows = [ChannelRow(c, counts[c]) for c in counted]
    return _split(STAGES, rows, totals)


def split_impact(
    session: Session,
    year: int,
    team: str | None,
    territory: str | None,
    tz: ZoneInfo,
    positive_outcomes: Iterable[str],
    totals: dict[str, int],
    *,
    real_only: bool = False,
) -> ChannelSplit:
    """The year's impact report (`totals`: count_impact's for the same choices) by channel."""
    positive = list(positive_outcomes)
    rows = []
    for channel in channels_counted(real_only, channels_present(session)):
        impact = count_impact(
            session,
            year,
            "quarter",
            team,
            territory,
            tz,
            positive,
            real_only=real_only,
            channel=channel,
        )
        rows.append(ChannelRow(channel, impact.totals))
    return _split(IMPACT_STAGES, rows, totals)


def _split(stages: tuple[str, ...], rows: list[ChannelRow], totals: dict[str, int]) -> ChannelSplit:
    kept = [r for r in rows if r.channel in ALWAYS_SHOWN or any(r.counts.values())]
    missing = {s: totals[s] - sum(r.counts[s] for r in rows) for s in stages}
    return ChannelSplit(stages=stages, rows=kept, totals=dict(totals), unattributed=missing)


__all__ = [
    "ALWAYS_SHOWN",
    "ChannelRow",
    "ChannelSplit",
    "channels_present",
    "split_funnel",
    "split_impact",
]
