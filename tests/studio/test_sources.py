"""The per-source funnel (studio/analytics/sources.py) on a seeded database with known answers,
on SQLite and (gated) PostgreSQL: by campaign and by channel, the filters by the campaign's
team and territory, simulations left out, and the same table after erasing people.

The population and who is who in it: tests/support/sources.py's `seed_sources`.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from core.db import Database
from core.erasure import ErasureService
from core.models import AnonymousCount, YoungPerson
from core.settings import load_settings
from studio.analytics import NO_TERRITORY, AnalyticsService, Filters, Sources
from studio.analytics.archive import StatsArchive
from tests.support import ROOT
from tests.support.analytics import HandClock
from tests.support.sources import SOURCES_END, SOURCES_PERIOD, SourcesSeed, seed_sources

SETTINGS = load_settings(ROOT / "maraude.yml")
Row = tuple[str, str, tuple[int, ...], int, float | None, int, int, int | None, int]


@pytest.fixture
def seeded(database: Database) -> tuple[AnalyticsService, SourcesSeed, Database]:
    population = seed_sources(database, SETTINGS)
    return AnalyticsService(database, SETTINGS, HandClock(SOURCES_END)), population, database


def rows(found: list[Any]) -> list[Row]:
    """(key, name, counts, replied, median, followed no, followed known, cost, costed)."""
    return [
        (
            r.key,
            r.name or r.channel,
            tuple(r.counts.values()),
            r.replied,
            r.reply_median,
            r.followed_no,
            r.followed_known,
            r.cost_cents,
            r.costed_reached,
        )
        for r in found
    ]


def scoped(service: AnalyticsService, **filters: Any) -> Sources:
    return service.sources(replace(SOURCES_PERIOD, **filters))


def test_by_campaign_first_touch_and_by_channel(seeded: Any) -> None:
    service, population, _ = seeded
    c = {k: str(v) for k, v in population.campaigns.items()}
    sources = service.sources(SOURCES_PERIOD)
    #   started consent triage handoff claimed positive
    assert rows(sources.campaigns) == [
        # A1-A6 (A1 met the flyers later: still C1); A7 came in February, S1 is a simulation.
        (c["C1"], "TikTok rentrée", (6, 5, 3, 5, 5, 2), 5, 40.0, 5, 6, 30_000, 6),
        (c["C2"], "Flyers abribus", (3, 2, 1, 2, 2, 1), 2, 105.0, 0, 1, 12_000, 3),
        (c["C3"], "Instagram stories", (2, 2, 1, 1, 0, 0), 0, None, 0, 0, None, 0),
        (c["C4"], "TikTok été", (1, 1, 0, 0, 0, 0), 0, None, 1, 1, 5_000, 1),
        # H1-H4, U1 and U2; U1's second ticket (1000 min) is not their first: 8 and 15.
        ("0", "", (6, 3, 1, 2, 2, 1), 2, 11.5, 1, 1, None, 0),
    ]
    # C5 brought only F1, in February: no row.
    assert rows(sources.channels) == [
        ("instagram", "instagram", (2, 2, 1, 1, 0, 0), 0, None, 0, 0, None, 0),
        ("snapchat", "snapchat", (2, 2, 1, 1, 1, 1), 1, 15.0, 1, 1, None, 0),  # heard_via
        # C1, C4 and H3 (said TikTok); the costs of C1 and C4 over their 7 people.
        ("tiktok", "tiktok", (8, 7, 3, 5, 5, 2), 5, 40.0, 6, 7, 35_000, 7),
        ("flyer", "flyer", (3, 2, 1, 2, 2, 1), 2, 105.0, 0, 1, 12_000, 3),
        # H4 said something that is not a channel; U1 and U2 said nothing.
        ("unknown", "unknown", (3, 0, 0, 1, 1, 0), 1, 8.0, 0, 0, None, 0),
    ]
    c1 = sources.campaigns[0]
    assert c1.cost_per_reached == 5_000 and c1.invisible_share == pytest.approx(5 / 6)
    assert sources.channels[2].cost_per_reached == 5_000
    assert sources.campaigns[2].cost_per_reached is None  # no cost entered
    # Simulations never count, even where the settings show them (the open demo here).
    assert not SETTINGS.simulations_hidden
    assert service.funnel(SOURCES_PERIOD).totals["started"] == 20  # 18 + S1 and S2
    assert sum(r.reached for r in sources.channels) == 18


def test_team_and_territory_select_the_campaigns(seeded: Any) -> None:
    service, population, _ = seeded
    c = {k: str(v) for k, v in population.campaigns.items()}
    lens = scoped(service, team="lens")  # C1 and C3; nobody without a campaign
    assert [(r.key, r.reached) for r in lens.campaigns] == [(c["C1"], 6), (c["C3"], 2)]
    assert rows(lens.channels) == [
        ("instagram", "instagram", (2, 2, 1, 1, 0, 0), 0, None, 0, 0, None, 0),
        ("tiktok", "tiktok", (6, 5, 3, 5, 5, 2), 5, 40.0, 5, 6, 30_000, 6),
    ]
    lille = scoped(service, territory="Métropole lilloise")  # C2 and C4
    assert [(r.key, r.reached) for r in lille.campaigns] == [(c["C2"], 3), (c["C4"], 1)]
    assert [(r.key, r.reached, r.cost_cents) for r in lille.channels] == [
        ("tiktok", 1, 5_000),
        ("flyer", 3, 12_000),
    ]
    nowhere = scoped(service, territory=NO_TERRITORY)  # C3 only
    assert [(r.key, r.reached) for r in nowhere.campaigns] == [(c["C3"], 2)]
    assert scoped(service, team="lens", territory="Métropole lilloise").campaigns == []
    # The territories campaigns name are filter choices (no ticket needs to have them).
    assert "Lens-Liévin" in service.options().territories


def test_the_period_is_the_first_contact(seeded: Any) -> None:
    service, population, _ = seeded
    february = service.sources(Filters(date(2026, 2, 1), date(2026, 2, 28)))
    # A7 (C1) and F1 (C5) came in February, N1 (said flyer) in April.
    c1, c5 = str(population.campaigns["C1"]), str(population.campaigns["C5"])
    assert rows(february.campaigns) == [
        (c5, "Discord", (1, 1, 0, 0, 0, 0), 0, None, 0, 0, 1, 1),
        (c1, "TikTok rentrée", (1, 1, 1, 1, 1, 1), 1, 5.0, 1, 1, 30_000, 1),
    ]
    assert [(r.key, r.reached) for r in february.channels] == [("tiktok", 1), ("discord", 1)]
    april = service.sources(Filters(date(2026, 4, 1), date(2026, 4, 30)))
    assert [(r.key, r.reached) for r in april.campaigns] == [("0", 1)]
    assert [(r.key, r.reached) for r in april.channels] == [("flyer", 1)]
    # Local days: 2 March starts at 23:00 UTC on 1 March in Paris; everyone came on 2 March.
    assert service.sources(Filters(date(2026, 3, 3), date(2026, 3, 31))).campaigns == []


def erase(database: Database, pseudo: str) -> None:
    archive = StatsArchive(SETTINGS, HandClock(SOURCES_END))
    assert ErasureService(database, database, before_erase=(archive.fold,)).erase_app(pseudo)


def everything(service: AnalyticsService) -> dict[str, Sources]:
    scopes: list[dict[str, Any]] = [
        {},
        {"team": "lens"},
        {"team": "lille"},
        {"territory": NO_TERRITORY},
        {"team": "lens", "territory": NO_TERRITORY},
        *({"territory": t} for t in service.options().territories),
    ]
    return {repr(s): scoped(service, **s) for s in scopes}


def test_erasing_people_leaves_the_table_unchanged(seeded: Any) -> None:
    service, population, database = seeded
    before = everything(service)
    funnel = service.funnel(SOURCES_PERIOD)
    # A1 (C1, replied, positive, a second touch), B2 (C2), D1 (C3, no territory), E1 (C4,
    # followed), H1 (heard_via, replied), U1 (two tickets), H4 (unknown), A7 (outside the
    # period).
    for name in ("A1", "B2", "D1", "E1", "H1", "U1", "H4", "A7"):
        erase(database, population.pseudo[name])
    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(YoungPerson)) == 23 - 8
        metrics = set(session.scalars(select(AnonymousCount.metric)))
        assert f"source:{population.campaigns['C1']}:tiktok:reply_us:{20 * 60 * 10**6}" in metrics
        assert "source:0:snapchat:followed:non" in metrics
    assert everything(service) == before
    assert service.funnel(SOURCES_PERIOD) == funnel  # the funnel's own counts still hold
    erase(database, population.pseudo["S1"])  # a simulation: folded into nothing
    assert everything(service) == before
