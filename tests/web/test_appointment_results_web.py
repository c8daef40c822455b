"""The "Rendez-vous" section of the results page, its CSV exports and the impact report's
appointment figures, over HTTP on the real app (tests/support/appointment_results.py's
population): small numbers masked on the page and in the CSV alike, managers only.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from maraude.app import create_app
from tests.support import make_settings
from tests.support.analytics import PASSWORD
from tests.support.appointment_results import APPOINTMENTS_END, seed_appointments
from tests.support.html import parse_page
from tests.support.results import log_in, read_csv, table
from tests.web.test_sources_web import header

PERIOD = {"du": "2026-03-02", "au": "2026-03-22"}
CSV = ("rdv_equipes", "rdv_campagnes", "rdv_canaux", "rdv_rappels")
COUNTS = [
    "Proposés",
    "Confirmés par le jeune",
    "Honorés",
    "Manqués",
    "Annulés par le jeune",
    "Annulés par l'équipe",
    "Reportés",
    "Pas encore notés",
    "Taux de présence (%)",
    "Mise en relation → 1er rendez-vous : médiane (h)",
]
H = "< 5"
# Lens: 12 proposed, 10 confirmed, 6 attended, shown would give Lille's back from the total:
# withheld ("—"). The median over Lens's 9 tickets is shown (4 h), not Lille's 2.
TEAMS = [
    ["Équipe Lens-Liévin", "—", "—", "—", H, H, "0", H, H, "—", "4"],
    ["Équipe Métropole lilloise", H, H, H, H, "0", H, "0", "0", "—", "—"],
    ["Toutes les équipes", "15", "11", "7", H, H, H, H, H, "—", "4"],
]
CAMPAIGNS = [
    ["TikTok rentrée", "8", "7", "5", H, H, "0", H, "0", "—", "4"],
    ["Flyers abribus", H, H, H, H, "0", H, "0", "0", "—", "—"],
    ["Instagram stories", H, "0", "0", "0", "0", "0", "0", H, "", "—"],
    ["Sans campagne connue", H, H, H, H, "0", "0", "0", H, "—", "—"],
]
CHANNELS = [
    ["Instagram", H, "0", "0", "0", "0", "0", "0", H, "", "—"],
    ["Snapchat", H, H, "0", "0", "0", "0", "0", H, "", "—"],
    ["TikTok", "8", "7", "5", H, H, "0", H, "0", "—", "4"],
    ["Flyer, affiche", H, H, H, H, "0", H, "0", "0", "—", "—"],
    ["Inconnu (ni campagne ni réponse)", H, H, H, H, "0", "0", "0", "0", "—", "—"],
]
# With reminders: 10 proposed, 5 attended, 2 missed; without: 5, 2, 1. Attended: one column
# with a lone hidden count (the total, 7, is on the page): the 5 is withheld.
REMINDERS = [
    ["Avec au moins un rappel envoyé", "10", "—", H, "—"],
    ["Sans rappel", "5", H, H, "—"],
]


class Clock:
    def now(self) -> Any:
        return APPOINTMENTS_END


@pytest.fixture(scope="module")
def app_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Any]]:
    folder: Path = tmp_path_factory.mktemp("appointments")
    app = create_app(make_settings(folder), clock=Clock())
    with TestClient(app) as client:
        services = app.state.services
        seed_appointments(services.db, services.settings)  # its manager: sources@example.org
        services.accounts.add("lea@example.org", "Léa", PASSWORD, team="lens")
        yield client, services


@pytest.fixture
def manager(app_client: Any) -> Iterator[TestClient]:
    client, _ = app_client
    log_in(client, "sources@example.org", PASSWORD)
    yield client
    client.cookies.clear()


def test_the_appointment_tables_are_masked(manager: TestClient) -> None:
    page = manager.get("/tableau/resultats", params=PERIOD)
    assert page.status_code == 200
    assert table(page.text, "rdv_equipes") == TEAMS
    assert table(page.text, "rdv_campagnes") == CAMPAIGNS
    assert table(page.text, "rdv_canaux") == CHANNELS
    assert table(page.text, "rdv_rappels") == REMINDERS
    assert header(page.text, "rdv_equipes") == ["Équipe", *COUNTS]
    assert header(page.text, "rdv_canaux") == ["Canal", *COUNTS]
    assert header(page.text, "rdv_rappels") == [
        "Rappels",
        "Proposés",
        "Honorés",
        "Manqués",
        "Taux de présence (%)",
    ]
    text = parse_page(page.text).text
    assert "Rendez-vous" in text and "dont la date et l'heure tombent dans la période" in text
    assert "honorés / (honorés + manqués)" in text
    # The key figures: the total, masked (3 missed: no rate).
    assert 'data-figure="proposed"><span class="kpi-label">Rendez-vous proposés</span>' in (
        page.text
    )
    kpis = _kpis(page.text)
    assert kpis == {
        "proposed": "15",
        "confirmed": "11",
        "attended": "7",
        "missed": "&lt; 5",
        "rate": "—",
        "delay": "4 h",
    }


def _kpis(page: str) -> dict[str, str]:
    return dict(
        re.findall(
            r'data-figure="(\w+)"><span class="kpi-label">[^<]*</span>'
            r'<span class="kpi-value">([^<]*)</span>',
            page,
        )
    )


def test_the_csv_is_the_masked_table(manager: TestClient) -> None:
    expected = {
        "rdv_equipes": (["Équipe", *COUNTS], TEAMS),
        "rdv_campagnes": (["Campagne", *COUNTS], CAMPAIGNS),
        "rdv_canaux": (["Canal", *COUNTS], CHANNELS),
    }
    for name, (columns, rows) in expected.items():
        response = manager.get(f"/tableau/resultats/{name}.csv", params=PERIOD)
        assert f'filename="{name}-20260302-20260322.csv"' in response.headers["content-disposition"]
        assert read_csv(response) == [columns, *rows]
    reminders = read_csv(manager.get("/tableau/resultats/rdv_rappels.csv", params=PERIOD))
    assert reminders[1:] == REMINDERS
    # No small count anywhere: only 0, 5 and more, "< 5" or "—".
    for name in CSV:
        for row in read_csv(manager.get(f"/tableau/resultats/{name}.csv", params=PERIOD))[1:]:
            for cell in row[1:9]:
                assert cell in ("< 5", "—", "0", "") or int(cell) >= 5, (name, row)


def test_the_team_filter(manager: TestClient) -> None:
    lens = read_csv(
        manager.get("/tableau/resultats/rdv_equipes.csv", params={**PERIOD, "equipe": "lens"})
    )
    assert lens[1:] == [
        ["Équipe Lens-Liévin", "12", "10", "6", H, H, "0", H, H, "—", "4"],
        ["Toutes les équipes", "12", "10", "6", H, H, "0", H, H, "—", "4"],
    ]
    lille = manager.get("/tableau/resultats", params={**PERIOD, "territoire": "Métropole lilloise"})
    assert table(lille.text, "rdv_equipes") == [
        ["Équipe Métropole lilloise", H, H, H, H, "0", H, "0", "0", "—", "—"],
        ["Toutes les équipes", H, H, H, H, "0", H, "0", "0", "—", "—"],
    ]


def test_the_impact_report_has_the_year_figures(manager: TestClient) -> None:
    page = manager.get("/tableau/impact", params={"annee": "2026", "pas": "trimestre"})
    assert page.status_code == 200
    # 2026: the period's 15, A7's of February, A1's and A2's of April: 18 proposed, 13
    # confirmed, 8 attended, 3 missed; 12 first appointments, median (240 + 300) / 2 min.
    found = _kpis(page.text)
    assert found == {
        "proposed": "18",
        "confirmed": "13",
        "attended": "8",
        "missed": "&lt; 5",
        "rate": "—",
        "delay": "4 h 30",
    }
    assert "impact-appointments" in page.text


def test_counsellors_and_strangers_are_refused(app_client: Any) -> None:
    client, _ = app_client
    client.cookies.clear()
    for name in CSV:
        response = client.get(f"/tableau/resultats/{name}.csv", follow_redirects=False)
        assert response.status_code in (303, 401), name
        assert "Proposés" not in response.text
    log_in(client, "lea@example.org", PASSWORD)
    for path in ["/tableau/resultats", *(f"/tableau/resultats/{n}.csv" for n in CSV)]:
        response = client.get(path, params=PERIOD)
        assert response.status_code == 403, path
        assert "responsables" in response.text
        assert "Honorés" not in response.text
    client.cookies.clear()
