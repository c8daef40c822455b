"""Anonymous counts (`anonymous_count`): writing them (an upsert) and reading them for the
results page and the impact report. What they hold and how they are made: archive.py."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from core.models import AnonymousCount
from studio.analytics.filters import NO_TERRITORY, Filters

COHORT = "cohort:"
STAGE = "stage:"
OUTCOME = "outcome:"
INTENT = "intent:"
TURN = "turn:"
NUDGE = "nudge:"
NUDGE_ANSWERED = "nudge_answered:"
DELAY = "delay:"
VARIANT = "variant:"
VARIANT_CONVERTED = "variant_converted:"
# `channel:<channel>:cohort:<stage>` and `channel:<channel>:stage:<stage>`: the same counts as
# COHORT and STAGE, by the person's channel (archive.py); read with a `Filters.channel`.
CHANNEL = "channel:"
BY_CHANNEL = (COHORT, STAGE)

Key = tuple[str, date, str, str]  # metric, day, team, territory


def add_counts(session: Session, counts: Counter[Key]) -> None:
    """Add to the anonymous counts (an upsert: concurrent erasures add up)."""
    if not counts:
        return
    rows: list[dict[str, Any]] = [
        {"metric": m, "day": d, "team": t, "territory": r, "count": n}
        for (m, d, t, r), n in sorted(counts.items())
    ]
    table: Any = AnonymousCount.__table__
    dialect = session.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):
        insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
        statement = insert(table).values(rows)
        session.execute(
            statement.on_conflict_do_update(
                index_elements=["metric", "day", "team", "territory"],
                set_={"count": table.c.count + statement.excluded.count},
            )
        )
        return
    for row in rows:  # other databases: read, then write
        found = session.scalar(
            select(AnonymousCount).where(
                AnonymousCount.metric == row["metric"],
                AnonymousCount.day == row["day"],
                AnonymousCount.team == row["team"],
                AnonymousCount.territory == row["territory"],
            )
        )
        if found is None:
            session.add(AnonymousCount(**row))
        else:
            found.count += int(row["count"])


# Reading -----------------------------------------------------------------------------------
def attribution_conditions(filters: Filters) -> list[ColumnElement[bool]]:
    """The team and territory filters, as `attributed_people` and `ticket_conditions` apply
    them to live rows."""
    conditions: list[ColumnElement[bool]] = []
    if filters.team is not None:
        conditions.append(AnonymousCount.team == filters.team)
    if filters.territory == NO_TERRITORY:
        conditions += [AnonymousCount.team != "", AnonymousCount.territory == ""]
    elif filters.territory is not None:
        conditions.append(AnonymousCount.territory == filters.territory)
    return conditions


def archived(session: Session, prefix: str, filters: Filters) -> list[tuple[str, date, int]]:
    """(metric without `prefix`, local day, count) of the period and filters. With a
    channel filter, the channel's own counts (only COHORT and STAGE are kept by channel)."""
    if filters.channel is not None:
        if prefix not in BY_CHANNEL:
            raise ValueError(f"no anonymous counts by channel for {prefix!r}")
        prefix = channel_prefix(filters.channel, prefix)
    rows = session.execute(
        select(AnonymousCount.metric, AnonymousCount.day, func.sum(AnonymousCount.count))
        .where(
            AnonymousCount.metric.startswith(prefix, autoescape=True),
            AnonymousCount.day >= filters.start,
            AnonymousCount.day <= filters.end,
            *attribution_conditions(filters),
        )
        .group_by(AnonymousCount.metric, AnonymousCount.day)
    )
    return [(metric.removeprefix(prefix), day, int(n or 0)) for metric, day, n in rows]


def channel_prefix(channel: str, prefix: str) -> str:
    """The metric prefix of COHORT or STAGE counts of one channel's young people."""
    return f"{CHANNEL}{channel}:{prefix}"


def archived_totals(session: Session, prefix: str, filters: Filters) -> dict[str, int]:
    """The archived counts of the period summed by metric (without `prefix`)."""
    totals: dict[str, int] = defaultdict(int)
    for metric, _day, n in archived(session, prefix, filters):
        totals[metric] += n
    return dict(totals)


def total_archived(session: Session) -> int:
    """Every count kept (for `maraude privacy status`)."""
    return int(session.scalar(select(func.coalesce(func.sum(AnonymousCount.count), 0))) or 0)
