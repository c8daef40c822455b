"""Results analytics on a seeded database with known answers (SQLite and, gated, PostgreSQL),
and the results pages over HTTP (roles, filters, CSV export).

The population and who is who in it: tests/support/analytics.py's `seed`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from core.db import Database
from core.models import Channel, Role, Urgency
from core.settings import load_settings
from handoff.accounts import AccountService
from handoff.requests import TriageSummary
from handoff.tickets import TicketService
from maraude.app import create_app
from studio.analytics import NO_TERRITORY, AnalyticsService, Filters
from studio.analytics.periods import week_label
from studio.analytics.stats import p90, two_proportion_z
from tests.support import ROOT, make_settings, repo_router
from tests.support.analytics import END, PASSWORD, HandClock, Seeded, seed, utc
from tests.support.html import parse_page
from tests.support.results import log_in, read_csv, table
from tests.support.tickets import FAST_HASHER

SETTINGS = load_settings(ROOT / "maraude.yml")
PERIOD = Filters(date(2026, 3, 2), date(2026, 3, 22))  # ISO weeks 10, 11 and 12 of 2026


@pytest.fixture
def seeded(database: Database) -> tuple[AnalyticsService, Seeded]:
    population = seed(database, SETTINGS)
    return AnalyticsService(database, SETTINGS, HandClock(END)), population


STAGE_ORDER = ("started", "consent", "triage", "handoff", "claimed", "replied", "positive")


def weekly(service: AnalyticsService, filters: Filters) -> dict[str, tuple[int, ...]]:
    funnel = service.funnel(filters)
    return {w.label: tuple(w.counts[s] for s in STAGE_ORDER) for w in funnel.weeks}


# Pure helpers -------------------------------------------------------------------------------
def test_percentiles_weeks_and_the_z_test() -> None:
    assert p90([10, 25, 30, 300, 360]) == 360  # nearest rank: the 5th of 5
    assert p90(list(range(1, 11))) == 9  # the 9th of 10
    assert p90([]) is None
    assert week_label(date(2026, 3, 2)) == "2026-W10"
    assert week_label(date(2026, 12, 28)) == "2026-W53"
    big = two_proportion_z(100, 1000, 150, 1000)
    assert big is not None
    assert big.z == pytest.approx(3.3806, abs=1e-4)
    assert big.p_value == pytest.approx(0.000723, abs=2e-6)
    assert two_proportion_z(0, 10, 0, 10) is None  # nobody converted: nothing to compare
    with pytest.raises(ValueError):
        Filters(date(2026, 3, 2), date(2026, 3, 1))


# Funnel -------------------------------------------------------------------------------------
def test_funnel_per_week_counts_each_stage_of_the_weeks_cohort(seeded: Any) -> None:
    service, _ = seeded
    #                 started consent triage handoff claimed replied positive
    assert weekly(service, PERIOD) == {
        "2026-W10": (4, 3, 2, 3, 3, 3, 2),
        "2026-W11": (3, 1, 1, 2, 1, 0, 0),
        "2026-W12": (1, 1, 0, 1, 1, 0, 1),  # P8's positive outcome came in April: cohort
    }
    funnel = service.funnel(PERIOD)
    assert [funnel.totals[s] for s in STAGE_ORDER] == [8, 5, 3, 6, 5, 3, 3]
    assert funnel.rate("handoff") == pytest.approx(6 / 8)
    # One week only: the Paris day boundaries are the period's.
    one = Filters(date(2026, 3, 9), date(2026, 3, 15))
    assert weekly(service, one) == {"2026-W11": (3, 1, 1, 2, 1, 0, 0)}


def test_team_and_territory_filters_count_people_of_their_latest_ticket(seeded: Any) -> None:
    service, _ = seeded
    lens = Filters(PERIOD.start, PERIOD.end, team="lens")
    # P1, P4 (crisis, no consent) and P6 (never claimed); P3 and P7 never had a ticket.
    assert weekly(service, lens) == {
        "2026-W10": (2, 1, 1, 2, 2, 2, 2),
        "2026-W11": (1, 0, 0, 1, 0, 0, 0),
        "2026-W12": (0, 0, 0, 0, 0, 0, 0),
    }
    lille = Filters(PERIOD.start, PERIOD.end, territory="Métropole lilloise")
    assert weekly(service, lille) == {
        "2026-W10": (1, 1, 1, 1, 1, 1, 0),
        "2026-W11": (0, 0, 0, 0, 0, 0, 0),
        "2026-W12": (1, 1, 0, 1, 1, 0, 1),
    }
    nowhere = Filters(PERIOD.start, PERIOD.end, territory=NO_TERRITORY)
    assert service.funnel(nowhere).totals == dict(
        zip(STAGE_ORDER, (1, 1, 1, 1, 1, 0, 0), strict=True)
    )
    both = Filters(PERIOD.start, PERIOD.end, team="lens", territory="Métropole lilloise")
    assert service.funnel(both).totals["started"] == 0


def test_a_transfer_moves_the_person_to_the_new_team(seeded: Any, database: Database) -> None:
    service, population = seeded
    router = repo_router()
    tickets = TicketService(
        database, SETTINGS.handoff, router, HandClock(END), team_ids=[t.id for t in SETTINGS.teams]
    )
    manager = AccountService(database, HandClock(END), FAST_HASHER).add(
        "chef@example.org", "Chef", PASSWORD, role=Role.manager
    )
    tickets.transfer(population.tickets["P6"], manager, to_team="lille")
    lens = Filters(PERIOD.start, PERIOD.end, team="lens")
    assert service.funnel(lens).totals["started"] == 2
    lille = Filters(PERIOD.start, PERIOD.end, team="lille")
    assert service.funnel(lille).totals["started"] == 3  # P2, P8 and now P6


# Delays and outcomes ------------------------------------------------------------------------
def test_delays_medians_p90_and_sla(seeded: Any) -> None:
    service, _ = seeded
    rows = {r.urgency: r for r in service.delays(PERIOD)}
    crisis, normal, every = rows["crisis"], rows["normal"], rows["all"]
    assert (crisis.sla_minutes, normal.sla_minutes, every.sla_minutes) == (15, 240, None)
    assert (crisis.tickets, crisis.claimed, crisis.claim_median, crisis.claim_p90) == (1, 1, 10, 10)
    assert (crisis.claim_within_sla, crisis.replied, crisis.reply_median) == (1, 1, 40)
    assert crisis.reply_within_sla == 0  # 40 min > 15
    # Normal claims: 30, 360, 300 and 25 real minutes. P5's 300 real minutes are 240 working
    # minutes (within the SLA); P2's 360 are 300 working minutes (out of it).
    assert (normal.tickets, normal.claimed, normal.claim_median, normal.claim_p90) == (
        5,
        4,
        165,
        360,
    )
    assert (normal.claim_within_sla, normal.unclaimed_late) == (3, 1)  # P6 still waiting
    # P6, still unclaimed past the SLA, is a miss: in the share, not left out of it.
    assert (normal.claim_judged, normal.claim_pending) == (5, 0)
    assert normal.claim_sla_rate == pytest.approx(3 / 5)
    # Replies: P1 in time, P2 late, P6 still waiting past the SLA; P5 and P8 were closed
    # without a reply in the app (neither in time nor late).
    assert (normal.reply_late, normal.reply_pending, normal.reply_judged) == (1, 0, 3)
    assert normal.reply_sla_rate == pytest.approx(1 / 3)
    assert (crisis.sla_label, normal.sla_label, every.sla_label) == ("15 min", "4 h ouvrées", None)
    assert (normal.replied, normal.reply_median, normal.reply_p90, normal.reply_within_sla) == (
        2,
        240,
        420,
        1,
    )
    assert (every.tickets, every.claimed, every.claim_median, every.claim_p90) == (6, 5, 30, 360)
    assert (every.claim_within_sla, every.unclaimed_late, every.replied) == (4, 1, 3)
    assert (every.reply_median, every.reply_p90, every.reply_within_sla) == (60, 420, 1)
    lens = {r.urgency: r for r in service.delays(Filters(PERIOD.start, PERIOD.end, team="lens"))}
    assert (lens["normal"].tickets, lens["normal"].claim_median, lens["crisis"].tickets) == (
        2,
        30,
        1,
    )


def test_outcomes_breakdown_uses_the_configured_labels(seeded: Any) -> None:
    service, _ = seeded
    rows = service.outcomes(PERIOD)
    assert [r.code for r in rows] == list(SETTINGS.handoff.outcomes)
    counted = {r.code: r.count for r in rows if r.count}
    # P8's 'emploi' came on 2 April, after the period.
    assert counted == {"mission_locale": 1, "refus": 1, "sante": 1, "sans_reponse": 1}
    labels = {r.code: (r.label, r.positive) for r in rows}
    assert labels["mission_locale"] == ("Orienté·e vers la Mission Locale", True)
    assert labels["refus"][1] is False
    lens = service.outcomes(Filters(PERIOD.start, PERIOD.end, team="lens"))
    assert {r.code: r.count for r in lens if r.count} == {"mission_locale": 1, "sante": 1}


# Nudges, intents, variants ------------------------------------------------------------------
def test_nudge_response_rate_per_policy(seeded: Any) -> None:
    service, _ = seeded
    rows = [(r.kind, r.step, r.sent, r.answered) for r in service.nudges(PERIOD)]
    assert rows == [
        ("triage_nudge", 1, 2, 2),  # P3 (NLU turn 20 h later), P7 (message 71 h 59 later)
        ("triage_nudge", 2, 1, 0),  # P3 wrote again only 4 days later
        ("handoff_pending", 1, 1, 0),
        ("youth_silent", 1, 1, 1),  # P2 answered the counsellor in the ticket
    ]
    lens = service.nudges(Filters(PERIOD.start, PERIOD.end, team="lens"))
    assert [(r.kind, r.sent, r.answered) for r in lens] == [("handoff_pending", 1, 0)]


def test_top_intents_and_fallback_rate(seeded: Any) -> None:
    service, _ = seeded
    intents = service.intents(PERIOD)
    assert (intents.turns, intents.fallback, intents.low_confidence) == (8, 1, 2)
    assert intents.fallback_rate == pytest.approx(1 / 8)
    assert intents.low_confidence_rate == pytest.approx(2 / 8)
    assert [(r.intent, r.count) for r in intents.top] == [
        ("need_job", 3),
        ("greet", 2),
        ("need_housing", 1),
        ("need_money", 1),  # 23:30 in Paris on 22 March; the one at 00:30 on the 23rd is out
        ("", 1),
    ]
    lens = service.intents(Filters(PERIOD.start, PERIOD.end, team="lens"))
    assert (lens.turns, lens.fallback, lens.low_confidence) == (4, 0, 1)


def test_variant_conversion_with_a_z_test(seeded: Any) -> None:
    service, _ = seeded
    rows = service.variants(PERIOD)
    assert [(r.response, r.variant, r.exposed, r.converted, r.reference) for r in rows] == [
        ("utter_ask_handoff", "long", 1, 1, True),
        ("utter_greet", "a", 3, 1, True),
        ("utter_greet", "b", 4, 3, False),  # P4 saw it after asking: not converted
    ]
    b = rows[2]
    pooled = 4 / 7
    z = (3 / 4 - 1 / 3) / math.sqrt(pooled * (1 - pooled) * (1 / 3 + 1 / 4))
    assert b.test is not None
    assert b.test.z == pytest.approx(z)
    assert b.test.p_value == pytest.approx(math.erfc(z / math.sqrt(2)))
    assert b.test.p_value == pytest.approx(0.2703, abs=1e-4)
    assert b.verdict == "trop peu de personnes pour conclure"
    assert rows[1].verdict == "référence"


def test_impact_counts_each_stage_in_the_period_it_was_first_reached(seeded: Any) -> None:
    service, _ = seeded
    quarters = service.impact(2026, "quarter")
    order = ("started", "triage", "handoff", "claimed", "positive")
    assert [(r.label, tuple(r.counts[s] for s in order)) for r in quarters.rows] == [
        ("T1 2026", (8, 3, 6, 5, 2)),
        ("T2 2026", (0, 0, 0, 0, 1)),
        ("T3 2026", (0, 0, 0, 0, 0)),
        ("T4 2026", (0, 0, 0, 0, 0)),
    ]
    assert tuple(quarters.totals[s] for s in order) == (8, 3, 6, 5, 3)
    months = service.impact(2026, "month")
    assert len(months.rows) == 12
    assert months.rows[2].label == "mars 2026"
    assert tuple(months.rows[2].counts[s] for s in order) == (8, 3, 6, 5, 2)
    assert months.rows[3].counts["positive"] == 1
    lens = service.impact(2026, "quarter", team="lens")
    assert tuple(lens.totals[s] for s in order) == (3, 1, 3, 2, 2)
    assert service.impact(2025, "quarter").totals["started"] == 0


# The pages over HTTP ------------------------------------------------------------------------
@pytest.fixture
def app_client(tmp_path: Path) -> Iterator[tuple[TestClient, Any]]:
    app = create_app(make_settings(tmp_path), clock=HandClock(END))
    with TestClient(app) as client:
        services = app.state.services
        seed(services.db, services.settings)
        services.accounts.add("chef@example.org", "Chef", PASSWORD, role=Role.manager)
        services.accounts.add("admin@example.org", "Ada", PASSWORD, role=Role.admin)
        services.accounts.add("lea@example.org", "Léa", PASSWORD, team="lens")
        yield client, services


PERIOD_QUERY = {"du": "2026-03-02", "au": "2026-03-22"}
CSV_TABLES = ("entonnoir", "delais", "issues", "relances", "intentions", "variantes", "impact")


def test_counsellors_are_refused_the_results(app_client: Any) -> None:
    client, _ = app_client
    assert client.get("/tableau/resultats", follow_redirects=False).status_code == 303
    log_in(client, "lea@example.org", PASSWORD)
    for path in ["/tableau/resultats", "/tableau/impact"] + [
        f"/tableau/resultats/{t}.csv" for t in CSV_TABLES
    ]:
        response = client.get(path, params=PERIOD_QUERY)
        assert response.status_code == 403, path
        assert "responsables" in response.text
    queue = client.get("/tableau").text
    assert not parse_page(queue).has("nav-results") and "/tableau/resultats" not in queue


@pytest.mark.parametrize("email", ["chef@example.org", "admin@example.org"])
def test_managers_and_admins_see_the_results(app_client: Any, email: str) -> None:
    client, _ = app_client
    log_in(client, email, PASSWORD)
    nav = parse_page(client.get("/tableau").text).one("nav-results")
    assert nav.get("href") == "/tableau/resultats"
    page = client.get("/tableau/resultats", params=PERIOD_QUERY)
    assert page.status_code == 200
    charts = [chart.get("data-chart") for chart in parse_page(page.text).all("chart")]
    assert charts[:2] == ["chart-funnel", "chart-weekly"]
    assert [row[0] for row in table(page.text, "entonnoir")][:3] == [
        "2026-W10",
        "2026-W11",
        "2026-W12",
    ]
    impact = client.get("/tableau/impact", params={"annee": "2026", "pas": "trimestre"})
    assert impact.status_code == 200
    assert table(impact.text, "impact")[0][0] == "T1 2026"


def test_csv_exports(app_client: Any) -> None:
    client, _ = app_client
    log_in(client, "chef@example.org", PASSWORD)
    funnel = read_csv(client.get("/tableau/resultats/entonnoir.csv", params=PERIOD_QUERY))
    assert funnel[0][:3] == ["Semaine", "Début de semaine", "Conversations commencées"]
    assert funnel[0][-1] == "Sortie positive"
    assert funnel[1] == ["2026-W10", "02/03/2026", "4", "3", "2", "3", "3", "3", "2"]
    assert funnel[-2] == ["Total", "", "8", "5", "3", "6", "5", "3", "3"]
    assert funnel[-1][2:] == ["100,0", "62,5", "37,5", "75,0", "62,5", "37,5", "37,5"]
    lens = read_csv(
        client.get("/tableau/resultats/entonnoir.csv", params={**PERIOD_QUERY, "equipe": "lens"})
    )
    assert lens[-2][2] == "3"
    delays = read_csv(client.get("/tableau/resultats/delais.csv", params=PERIOD_QUERY))
    normal = next(row for row in delays if row[0] == "Normale")
    assert normal[1:7] == ["4 h ouvrées", "5", "4", "165", "360", "3"]
    assert normal[7:10] == ["1", "60,0", "0"]  # late (P6, a miss), share in the SLA, pending
    assert delays[0][1] == "Délai visé"
    outcomes = read_csv(client.get("/tableau/resultats/issues.csv", params=PERIOD_QUERY))
    assert ["mission_locale", "Orienté·e vers la Mission Locale", "oui", "1", "25,0"] in outcomes
    nudges = read_csv(client.get("/tableau/resultats/relances.csv", params=PERIOD_QUERY))
    assert nudges[1][1:] == ["1", "2", "2", "100,0"]
    intents = read_csv(client.get("/tableau/resultats/intentions.csv", params=PERIOD_QUERY))
    assert intents[1] == ["besoin : emploi", "3", "37,5"]  # French names, not intent codes
    assert ["(aucune intention)", "1", "12,5"] in intents
    assert ["Repli (fallback)", "1", "12,5"] in intents
    assert ["Mal compris (repli ou confiance < 45 %)", "2", "25,0"] in intents
    variants = read_csv(client.get("/tableau/resultats/variantes.csv", params=PERIOD_QUERY))
    b = next(row for row in variants if row[:2] == ["utter_greet", "b"])
    assert b[2:5] == ["4", "3", "75,0"]
    assert b[-1] == "trop peu de personnes pour conclure"
    impact = read_csv(
        client.get("/tableau/resultats/impact.csv", params={"annee": "2026", "pas": "trimestre"})
    )
    assert impact[1] == ["T1 2026", "8", "3", "6", "5", "2"]
    assert impact[-1] == ["Total 2026", "8", "3", "6", "5", "3"]
    assert client.get("/tableau/resultats/inconnu.csv").status_code == 404


def test_bad_filters_fall_back_to_the_default_period(app_client: Any) -> None:
    client, _ = app_client
    log_in(client, "chef@example.org", PASSWORD)
    page = client.get("/tableau/resultats", params={"du": "n'importe", "au": "2026-02-30"})
    assert page.status_code == 200
    assert "Période invalide" in page.text


# The tickets still waiting count ------------------------------------------------------------
def test_urgent_tickets_still_waiting_count_in_the_sla_share(tmp_path: Path) -> None:
    """One urgent ticket claimed in time while twelve wait past the 15 minutes: the share is
    1/13, not 1/1; two opened a moment ago are "en attente", outside it."""
    clock = HandClock(utc(3, 2, 9))
    app = create_app(make_settings(tmp_path), clock=clock)
    with TestClient(app) as client:
        services = app.state.services
        lea = services.accounts.add("lea@example.org", "Léa", PASSWORD, team="lens")
        services.accounts.add("chef@example.org", "Chef", PASSWORD, role=Role.manager)

        def urgent(key: str) -> int:
            person = services.people.identify(Channel.telegram, key)
            ref = services.handoff.request(
                person.pseudo_id,
                TriageSummary(location="Lens"),
                source="crisis",
                urgency=Urgency.crisis,
                crisis_kind="suicide",
            )
            return int(ref.ticket_id)

        first = urgent("u0")
        clock.at(utc(3, 2, 9, 5))
        services.tickets.claim(first, lea)
        for n in range(12):
            urgent(f"u{n + 1}")
        clock.at(utc(3, 2, 10))
        for n in range(2):
            urgent(f"v{n}")
        clock.at(utc(3, 2, 10, 5))  # the twelve: 60 min; the last two: 5 min

        service = AnalyticsService(services.db, services.settings, clock)
        crisis = {r.urgency: r for r in service.delays(PERIOD)}["crisis"]
        assert (crisis.claimed, crisis.claim_within_sla) == (1, 1)
        assert (crisis.unclaimed_late, crisis.claim_pending, crisis.claim_judged) == (12, 2, 13)
        assert crisis.claim_sla_rate == pytest.approx(1 / 13)
        assert (crisis.replied, crisis.reply_late, crisis.reply_pending) == (0, 13, 2)
        assert crisis.reply_sla_rate == 0

        log_in(client, "chef@example.org", PASSWORD)
        page = client.get("/tableau/resultats", params=PERIOD_QUERY).text
        assert "7,7 % (1/13) · 2 en attente" in page
        assert "100,0 % (1/1)" not in page
        assert "Prise en charge en moins de 15 min (urgences)" in page
        assert "Première réponse en moins de 15 min (urgences)" in page
        assert "0,0 % (0/13) · 2 en attente" in page


def test_one_threshold_one_label_on_the_results_page(app_client: Any) -> None:
    client, services = app_client
    log_in(client, "chef@example.org", PASSWORD)
    page = client.get("/tableau/resultats", params=PERIOD_QUERY).text
    text = parse_page(page).text
    # The SLA: "15 min" and "4 h ouvrées", the same in the text, the chart and the table.
    assert "15 min (temps réel" in text and "4 h ouvrées (heures d'ouverture)" in text
    assert "Prise en charge en moins de 4 h ouvrées (demandes normales)" in text
    delays = {row[0]: row[1] for row in table(page, "delais")}  # urgency: the target
    assert (delays["Urgence"], delays["Normale"]) == ("15 min", "4 h ouvrées")
    assert "240 min" not in page and "Délai visé (min)" not in page
    # The inbox's threshold of a misunderstood message: the app's one, everywhere.
    assert "confiance < 45 %" in text and "60 %" not in page
    # Intents by their French names.
    assert table(page, "intentions")[0][0] == "besoin : emploi" and "need_job" not in page
