"""The impact report: activity by month or quarter of a year, each stage counted in the period
in which the person reached it for the first time (so the periods add up to the year)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from studio.analytics.anonymous import STAGE, archived
from studio.analytics.filters import Filters
from studio.analytics.periods import local_midnight, period_key, period_label
from studio.analytics.stages import IMPACT_STAGES, stage_query

GRAINS = ("month", "quarter")


@dataclass(frozen=True)
class ImpactRow:
    key: tuple[int, int]
    label: str
    counts: dict[str, int]


@dataclass(frozen=True)
class Impact:
    grain: str  # month, quarter
    year: int
    rows: list[ImpactRow]
    totals: dict[str, int]


def count_impact(
    session: Session,
    year: int,
    grain: str,
    team: str | None,
    territory: str | None,
    tz: ZoneInfo,
    positive_outcomes: Iterable[str],
    *,
    real_only: bool = False,
    channel: str | None = None,
) -> Impact:
    """Activity by month or quarter of `year`: people who first reached each stage then
    (only `channel`'s young people when given: channels.py)."""
    if grain not in GRAINS:
        raise ValueError(f"unknown grain {grain!r}")
    filters = Filters(date(year, 1, 1), date(year, 12, 31), team, territory, real_only, channel)
    keys = (
        [(year, q) for q in range(1, 5)]
        if grain == "quarter"
        else [(year, m) for m in range(1, 13)]
    )
    counts: dict[tuple[int, int], dict[str, int]] = {
        k: dict.fromkeys(IMPACT_STAGES, 0) for k in keys
    }
    positive = list(positive_outcomes)
    for stage in IMPACT_STAGES:
        first = stage_query(stage, filters, positive).subquery()
        rows = session.execute(
            select(first.c.person_id, first.c.at).where(
                first.c.at >= filters.since(tz), first.c.at < filters.until(tz)
            )
        )
        for _person, at in rows:
            counts[period_key(at, grain, tz)][stage] += 1
    for stage, day, n in archived(session, STAGE, filters):  # erased people (archive.py)
        if stage in IMPACT_STAGES:
            counts[period_key(local_midnight(day, tz), grain, tz)][stage] += n
    rows_out = [ImpactRow(k, period_label(k, grain), counts[k]) for k in keys]
    totals = {s: sum(r.counts[s] for r in rows_out) for s in IMPACT_STAGES}
    return Impact(grain=grain, year=year, rows=rows_out, totals=totals)
