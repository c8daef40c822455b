"""The funnel: a cohort, the people whose first contact falls in the period, by local ISO week
of first contact, and the stages they reached since, whenever that was."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import YoungPerson
from studio.analytics.anonymous import COHORT, archived
from studio.analytics.filters import Filters, people_condition
from studio.analytics.periods import week_label, week_start, weeks_between
from studio.analytics.stages import STAGES, stage_query
from studio.analytics.stats import share


@dataclass(frozen=True)
class FunnelWeek:
    week: date  # Monday
    label: str  # 2026-W10
    counts: dict[str, int]


@dataclass(frozen=True)
class Funnel:
    """Cohort funnel: people who started in the period, by week of first contact."""

    weeks: list[FunnelWeek]
    totals: dict[str, int]

    def rate(self, stage: str) -> float | None:
        """Share of the people who started that reached `stage`."""
        return share(self.totals[stage], self.totals["started"])


def count_funnel(
    session: Session, filters: Filters, tz: ZoneInfo, positive_outcomes: Iterable[str]
) -> Funnel:
    cohort = select(YoungPerson.id, YoungPerson.created_at).where(
        YoungPerson.created_at >= filters.since(tz),
        YoungPerson.created_at < filters.until(tz),
        *people_condition(YoungPerson.id, filters),
    )
    week_of = {pid: week_start(at, tz) for pid, at in session.execute(cohort)}
    mondays = weeks_between(filters.start, filters.end)
    counts = {m: dict.fromkeys(STAGES, 0) for m in mondays}
    for monday in week_of.values():
        counts[monday]["started"] += 1
    cohort_ids = cohort.with_only_columns(YoungPerson.id)
    for stage in STAGES[1:]:
        first = stage_query(stage, filters, positive_outcomes).subquery()
        rows = session.execute(select(first.c.person_id).where(first.c.person_id.in_(cohort_ids)))
        for (pid,) in rows:
            counts[week_of[pid]][stage] += 1
    for stage, day, n in archived(session, COHORT, filters):  # erased people (archive.py)
        if stage in STAGES:
            counts[day - timedelta(days=day.weekday())][stage] += n
    weeks = [FunnelWeek(m, week_label(m), counts[m]) for m in mondays]
    totals = {s: sum(w.counts[s] for w in weeks) for s in STAGES}
    return Funnel(weeks=weeks, totals=totals)
