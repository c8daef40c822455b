"""The funders' indicators (studio/analytics/indicators.py) on a seeded database with known
answers, on SQLite and (gated) PostgreSQL: each indicator counted in the quarter it was first
reached, by source channel, the team filter, simulations left out, and what an erasure keeps.

The population and who is who: tests/support/indicators.py's `seed_indicators`.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from core.db import Database
from core.erasure import ErasureService
from core.settings import load_settings
from studio.analytics.archive import StatsArchive
from studio.analytics.indicators import (
    ERASED,
    INDICATORS,
    Indicators,
    IndicatorsService,
    Period,
)
from studio.analytics.sources import channel_of
from tests.support import ROOT
from tests.support.analytics import END, HandClock
from tests.support.indicators import SeededSources, seed_indicators

SETTINGS = load_settings(ROOT / "maraude.yml")
Q1 = Period(2026, 1)


@pytest.fixture
def seeded(database: Database) -> tuple[IndicatorsService, SeededSources]:
    population = seed_indicators(database, SETTINGS)
    return IndicatorsService(database, SETTINGS, HandClock(END)), population


def counts(figures: Indicators) -> tuple[int, ...]:
    return tuple(figures.total.counts[i] for i in INDICATORS)


def by_source(figures: Indicators) -> dict[str, tuple[int, ...]]:
    return {row.source: tuple(row.counts[i] for i in INDICATORS) for row in figures.sources}


def test_periods() -> None:
    assert (Q1.start, Q1.end, Q1.label, Q1.slug) == (
        date(2026, 1, 1),
        date(2026, 3, 31),
        "T1 2026",
        "2026-T1",
    )
    assert Period(2026, 4).end == date(2026, 12, 31)
    assert Period(2024, 1).end == date(2024, 3, 31)
    assert Period(2026, 2).end == date(2026, 6, 30)
    whole = Period(2026)
    assert (whole.start, whole.end, whole.label) == (
        date(2026, 1, 1),
        date(2026, 12, 31),
        "année 2026",
    )
    assert Period.of(date(2026, 8, 15)) == Period(2026, 3)
    for bad in ((2026, 0), (2026, 5), (0, 1), (10_000, None)):
        with pytest.raises(ValueError):
            Period(*bad)
    assert channel_of(None, None) == "unknown"
    assert channel_of(None, "tiktok") == "tiktok"
    assert channel_of(None, "n'importe") == "unknown"  # only known channels


def test_the_quarter_counts_each_person_once_per_indicator(seeded: Any) -> None:
    service, _ = seeded
    q1 = service.indicators(Q1)
    #                 repérés mobilisés orientés sorties
    assert counts(q1) == (10, 9, 7, 2)
    assert by_source(q1) == {
        "instagram": (1, 0, 0, 0),  # P7 said so
        "tiktok": (6, 6, 4, 2),  # P1-P6 (P4 is mobilised by its crisis hand-off alone)
        "discord": (2, 2, 2, 0),  # P9, P10
        "flyer": (1, 1, 1, 0),  # P8; P1's later flyer touch does not move P1
    }
    assert (q1.total.answered, q1.total.invisible) == (9, 6)
    tiktok = next(r for r in q1.sources if r.source == "tiktok")
    assert (tiktok.answered, tiktok.invisible) == (6, 5)
    assert sorted(q1.total.replies) == pytest.approx([30, 40, 60, 90, 420])
    assert q1.total.reply_median == pytest.approx(60)
    assert sorted(tiktok.replies) == pytest.approx([40, 60, 420])
    assert [(r.code, r.count) for r in q1.positive_outcomes if r.count] == [
        ("mission_locale", 1),
        ("sante", 1),
    ]
    # P8's positive outcome on 2 April is Q2's; the quarters add up to the year.
    q2 = service.indicators(Period(2026, 2))
    assert counts(q2) == (0, 0, 0, 1)
    assert by_source(q2) == {"flyer": (0, 0, 0, 1)}
    assert counts(service.indicators(Period(2026))) == (10, 9, 7, 3)
    quarters = [counts(service.indicators(Period(2026, q))) for q in (1, 2, 3, 4)]
    assert tuple(map(sum, zip(*quarters, strict=True))) == (10, 9, 7, 3)
    assert counts(service.indicators(Period(2025))) == (0, 0, 0, 0)


def test_the_team_filter_attributes_people_to_their_latest_ticket(seeded: Any) -> None:
    service, _ = seeded
    lens = service.indicators(Q1, team="lens")
    # P1, P4, P6, P9, P10 (P6 never claimed); P3 and P7 never had a ticket.
    assert counts(lens) == (5, 5, 4, 2)
    assert sorted(lens.total.replies) == pytest.approx([30, 40, 60, 90])
    lille = service.indicators(Q1, territory="Métropole lilloise")
    assert counts(lille) == (2, 2, 2, 0)  # P2, P8
    assert counts(service.indicators(Q1, team="montbeliard")) == (0, 0, 0, 0)


def test_simulations_never_count(seeded: Any) -> None:
    service, _ = seeded
    assert SETTINGS.simulations_hidden is False  # the open demo: they show elsewhere
    # S1 (simulator, January, consent + request) is in none of the figures above.
    assert counts(service.indicators(Q1, team="lens"))[0] == 5


def test_an_erasure_keeps_the_figures_the_archive_allows(seeded: Any, database: Database) -> None:
    service, population = seeded
    erasure = ErasureService(
        database, database, HandClock(END), before_erase=(StatsArchive(SETTINGS).fold,)
    )
    before, before_lens = (
        counts(service.indicators(Q1)),
        counts(service.indicators(Q1, team="lens")),
    )
    # P1: TikTok, consent then hand-off, claimed, positive; P4: TikTok, a crisis hand-off
    # without consent, claimed, positive (sante).
    for name in ("P1", "P4"):
        erasure.erase_app(population.pseudo[name])
    q1 = service.indicators(Q1)
    # Every indicator is kept; mobilisés too: P1 through its consent, P4 through its crisis
    # hand-off (stage:mobilised, the first of the two).
    assert counts(q1) == before == (10, 9, 7, 2)
    assert by_source(q1)["tiktok"] == (4, 4, 2, 0)
    erased = next(r for r in q1.sources if r.source == ERASED)
    assert tuple(erased.counts[i] for i in INDICATORS) == (2, 2, 2, 2)
    assert erased.answered == 0  # their "followed" answer is gone
    assert (q1.total.answered, q1.total.invisible) == (7, 4)
    # Their reply delays are kept exactly (delay:*:reply_us): the median does not move.
    assert sorted(q1.total.replies) == pytest.approx([30, 40, 60, 90, 420])
    assert [(r.code, r.count) for r in q1.positive_outcomes if r.count] == [
        ("mission_locale", 1),
        ("sante", 1),
    ]
    # The team filter still finds them (their ticket's team is kept with the counts).
    assert counts(service.indicators(Q1, team="lens")) == before_lens
