"""The funnel and the impact report split by the young person's channel (Telegram, the web chat:
studio/analytics/channels.py), with known answers on SQLite and (gated) PostgreSQL: the rows,
simulations shown only in the open demo, the filters, and the same split after erasures.

The population is tests/support/sources.py's; six of its young people wrote on the web chat.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select, update

from core.db import Database
from core.erasure import ErasureService
from core.models import AnonymousCount, Channel, YoungPerson
from core.settings import Settings, SimulatorMode, load_settings
from studio.analytics import NO_TERRITORY, AnalyticsService, ChannelSplit, Filters
from studio.analytics.anonymous import DELAY, STAGE, add_counts, archived
from studio.analytics.archive import StatsArchive
from tests.support import ROOT
from tests.support.analytics import HandClock
from tests.support.sources import SOURCES_END, SOURCES_PERIOD, SourcesSeed, seed_sources

DEMO = load_settings(ROOT / "maraude.yml")  # the open demo: simulations show
HIDDEN = DEMO.model_copy(
    update={"server": DEMO.server.model_copy(update={"simulator": SimulatorMode.staff})}
)
WEB = ("A1", "A2", "B1", "B2", "H1", "U1")
YEAR = 2026


@pytest.fixture
def seeded(database: Database) -> tuple[SourcesSeed, Database]:
    population = seed_sources(database, DEMO)
    with database.transaction() as session:
        session.execute(
            update(YoungPerson)
            .where(YoungPerson.pseudo_id.in_([population.pseudo[n] for n in WEB]))
            .values(channel=Channel.web)
        )
    return population, database


def service(database: Database, settings: Settings = HIDDEN) -> AnalyticsService:
    return AnalyticsService(database, settings, HandClock(SOURCES_END))


def table(split: ChannelSplit) -> dict[str, tuple[int, ...]]:
    return {r.channel: tuple(r.counts[s] for s in split.stages) for r in split.rows}


def test_the_funnel_by_channel(seeded: Any) -> None:
    _, database = seeded
    split = service(database).channels(SOURCES_PERIOD)
    #          started consent triage handoff claimed replied positive
    assert table(split) == {
        # A3 (all, emploi), A4, A5 (claimed, no triage), A6, B3, H4, U2 (nothing more), D1, E1,
        # H2, H3 (consent), D2 (a request nobody claimed).
        "telegram": (12, 8, 2, 4, 3, 3, 1),
        # A1, B1, H1 (all, positive), A2 (refus), B2 (no triage), U1 (crisis, no consent).
        "web": (6, 5, 4, 6, 6, 6, 3),
    }
    assert split.totals == {
        "started": 18,
        "consent": 13,
        "triage": 6,
        "handoff": 10,
        "claimed": 9,
        "replied": 9,
        "positive": 4,
    }
    assert not split.any_unattributed
    # In the open demo the simulations count in the funnel: they get their own row.
    demo = service(database, DEMO).channels(SOURCES_PERIOD)
    assert table(demo)["simulator"] == (2, 2, 1, 1, 1, 1, 1)
    assert demo.totals["started"] == 20 and not demo.any_unattributed
    # The results page reads the same split with the rest.
    assert service(database).results(SOURCES_PERIOD).channels == split


def test_a_filtered_funnel_splits_into_its_own_totals(seeded: Any) -> None:
    _, database = seeded
    analytics = service(database)
    scopes: list[dict[str, Any]] = [
        {"team": "lens"},
        {"territory": NO_TERRITORY},
        {"team": "lille"},
    ]
    for scope in scopes:
        filters = replace(SOURCES_PERIOD, **scope)
        split = analytics.channels(filters)
        funnel = analytics.funnel(filters)
        assert split.totals == funnel.totals
        for stage in split.stages:
            assert sum(r.counts[stage] for r in split.rows) == funnel.totals[stage], scope
        # Each row is the funnel of that channel alone (one pass of the funnel's queries).
        for row in split.rows:
            alone = analytics.funnel(replace(filters, channel=row.channel))
            assert row.counts == alone.totals, (scope, row.channel)
    # Nobody on the web chat in February: the row stays, at zero; no terminal row.
    february = analytics.channels(Filters(date(2026, 2, 1), date(2026, 2, 28)))
    assert table(february) == {"telegram": (2, 2, 1, 1, 1, 1, 1), "web": (0,) * 7}


def test_the_impact_report_by_channel(seeded: Any) -> None:
    _, database = seeded
    impact, split = service(database).impact_channels(YEAR, "month")
    assert impact.grain == "month" and split.totals == impact.totals
    #          started triage handoff claimed positive (the whole year)
    assert table(split) == {
        "telegram": (15, 3, 5, 4, 2),  # March's 12, A7 and F1 in February, N1 in April
        "web": (6, 4, 6, 6, 3),
    }
    assert table(service(database).impact_channels(2025)[1]) == {
        "telegram": (0,) * 5,
        "web": (0,) * 5,
    }


def erase(database: Database, pseudo: str) -> None:
    archive = StatsArchive(HIDDEN, HandClock(SOURCES_END))
    assert ErasureService(database, database, before_erase=(archive.fold,)).erase_app(pseudo)


def everything(analytics: AnalyticsService) -> dict[str, Any]:
    scopes: list[dict[str, Any]] = [
        {},
        {"team": "lens"},
        {"team": "lille"},
        {"territory": NO_TERRITORY},
        *({"territory": t} for t in analytics.options().territories),
    ]
    found: dict[str, Any] = {}
    for scope in scopes:
        found[f"funnel {scope}"] = analytics.channels(replace(SOURCES_PERIOD, **scope))
        team, territory = scope.get("team"), scope.get("territory")
        found[f"impact {scope}"] = analytics.impact_channels(YEAR, "quarter", team, territory)
    return found


def test_erasing_people_leaves_the_split_unchanged(seeded: Any) -> None:
    population, database = seeded
    analytics = service(database)
    before = everything(analytics)
    assert before["funnel {}"].rows[1].counts["positive"] == 3
    # Web: A1 (positive), B2, U1 (crisis, two tickets); Telegram: A3, D1, D2, A7 (February).
    for name in ("A1", "B2", "U1", "A3", "D1", "D2", "A7"):
        erase(database, population.pseudo[name])
    with database.transaction() as session:
        metrics = set(session.scalars(select(AnonymousCount.metric)))
    assert {"channel:web:cohort:positive", "channel:telegram:stage:consent"} <= metrics
    after = everything(analytics)
    assert after == before
    splits = [v[1] if isinstance(v, tuple) else v for v in after.values()]
    assert not any(split.any_unattributed for split in splits)


def test_people_erased_before_the_split_show_apart(seeded: Any) -> None:
    """Anonymous counts kept without a channel (erased before this split existed) count in
    the totals, and apart in `unattributed`, never in a channel's row."""
    _, database = seeded
    analytics = service(database)
    before = analytics.channels(SOURCES_PERIOD)
    with database.transaction() as session:
        add_counts(session, Counter({("cohort:started", date(2026, 3, 3), "", ""): 2}))
    after = analytics.channels(SOURCES_PERIOD)
    assert after.rows == before.rows
    assert after.totals["started"] == before.totals["started"] + 2
    assert after.unattributed["started"] == 2 and after.any_unattributed


def test_counts_without_a_channel_are_not_read_by_channel(database: Database) -> None:
    """Only the funnel's and the impact report's counts are kept by channel: asking another
    metric by channel is refused rather than silently zero."""
    filters = replace(SOURCES_PERIOD, channel="web")
    with database.transaction() as session:
        assert archived(session, STAGE, filters) == []
        with pytest.raises(ValueError, match="by channel"):
            archived(session, DELAY, filters)
