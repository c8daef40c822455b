"""The "Par source" section of the results page, its CSV exports and the impact report's
breakdown by channel, over HTTP on the real app (tests/support/sources.py's population):
small numbers masked on the page, in the chart and in the CSV, managers only.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from maraude.app import create_app
from tests.support import make_settings
from tests.support.analytics import PASSWORD
from tests.support.html import parse_page
from tests.support.results import log_in, read_csv, table
from tests.support.sources import SOURCES_END, seed_sources

PERIOD = {"du": "2026-03-02", "au": "2026-03-22"}
CSV = ("sources_campaigns", "sources_channels")
HEADER = [
    "Jeunes touchés",
    "Consentement donné",
    "Questionnaire terminé",
    "Mise en relation demandée",
    "Pris en charge",
    "Sortie positive",
    "Première réponse humaine : médiane (min)",
    "Pas encore suivis par une structure (%)",
    "Coût par jeune touché (€)",
]
# Counts 1-4 are "< 5"; a median, share or cost over fewer than 5 people is "—"; "" is
# nothing to compute (no reply, no answer, no cost entered).
CAMPAIGNS = [
    ["TikTok rentrée", "TikTok", "6", "5", "< 5", "5", "5", "< 5", "40", "83,3", "50,00"],
    ["Flyers abribus", "Flyer, affiche", *["< 5"] * 6, "—", "—", "—"],
    ["Instagram stories", "Instagram", *["< 5"] * 4, "0", "0", "", "", ""],
    ["TikTok été", "TikTok", "< 5", "< 5", "0", "0", "0", "0", "", "—", "—"],
    ["Sans campagne connue", "", "6", *["< 5"] * 5, "—", "—", ""],
]
CHANNELS = [
    ["Instagram", *["< 5"] * 4, "0", "0", "", "", ""],
    ["Snapchat", *["< 5"] * 6, "—", "—", ""],
    ["TikTok", "8", "7", "< 5", "5", "5", "< 5", "40", "85,7", "50,00"],
    ["Flyer, affiche", *["< 5"] * 6, "—", "—", "—"],
    ["Inconnu (ni campagne ni réponse)", "< 5", "0", "0", "< 5", "< 5", "0", "—", "", ""],
]


class Clock:
    def now(self) -> Any:
        return SOURCES_END


@pytest.fixture(scope="module")
def app_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Any]]:
    folder: Path = tmp_path_factory.mktemp("sources")
    app = create_app(make_settings(folder), clock=Clock())
    with TestClient(app) as client:
        services = app.state.services
        seed_sources(services.db, services.settings)  # its manager: sources@example.org
        services.accounts.add("lea@example.org", "Léa", PASSWORD, team="lens")
        yield client, services


@pytest.fixture
def manager(app_client: Any) -> Iterator[TestClient]:
    client, _ = app_client
    log_in(client, "sources@example.org", PASSWORD)
    yield client
    client.cookies.clear()


def header(page: str, name: str) -> list[str]:
    markup = next(
        t.inner for t in parse_page(page).all("data-table") if t.get("data-table") == name
    )
    return [html.unescape(h) for h in re.findall(r"<th[^>]*>([^<]*)</th>", markup)]


def chart(page: str, name: str) -> list[tuple[str, str]]:
    """(bar title "label : text", data-value) of a bar chart."""
    [found] = [c for c in parse_page(page).all("chart") if c.get("data-chart") == name]
    values = re.findall(r'class="bar-row" data-value="([^"]*)"', found.inner)
    titles = [
        html.unescape(t) for t in re.findall(r"<rect[^>]*><title>([^<]*)</title>", found.inner)
    ]
    return list(zip(titles, values, strict=True))


def test_the_tables_by_campaign_and_channel_are_masked(manager: TestClient) -> None:
    page = manager.get("/tableau/resultats", params=PERIOD)
    assert page.status_code == 200
    assert table(page.text, "sources_campaigns") == CAMPAIGNS
    assert table(page.text, "sources_channels") == CHANNELS
    assert header(page.text, "sources_campaigns") == ["Campagne", "Canal", *HEADER]
    assert header(page.text, "sources_channels") == ["Canal", *HEADER]
    # The chart: reached and positive by channel; a hidden count gets no bar at all.
    bars = chart(page.text, "chart-sources")
    assert bars[:2] == [
        ("Instagram · touchés : < 5", "0"),
        ("Instagram · sorties positives : 0", "0"),
    ]
    assert ("TikTok · touchés : 8", "8") in bars and (
        "TikTok · sorties positives : < 5",
        "0",
    ) in bars
    assert len(bars) == 10
    # The definitions, in French, with the masking rule.
    text = parse_page(page.text).text
    assert "Coût par jeune touché" in text and "moins de 5 jeunes : « < 5 »" in text
    assert "la première campagne (lien ou QR code)" in text
    assert "sources-filter-note" not in page.text


def test_the_csv_is_the_masked_table(manager: TestClient) -> None:
    campaigns = read_csv(manager.get("/tableau/resultats/sources_campaigns.csv", params=PERIOD))
    assert campaigns == [["Campagne", "Canal", *HEADER], *CAMPAIGNS]
    response = manager.get("/tableau/resultats/sources_channels.csv", params=PERIOD)
    assert (
        'filename="sources_channels-20260302-20260322.csv"'
        in response.headers["content-disposition"]
    )
    assert read_csv(response) == [["Canal", *HEADER], *CHANNELS]
    # No small count anywhere in the two files: only 0, 5 and more, or "< 5".
    for row in campaigns[1:]:
        for cell in row[2:8]:
            assert cell == "< 5" or cell == "0" or int(cell) >= 5


def test_team_and_territory_filter_the_campaigns(manager: TestClient) -> None:
    page = manager.get("/tableau/resultats", params={**PERIOD, "equipe": "lens"}).text
    # C1 and C3 only. A column with one hidden count withholds its smallest shown one ("—"):
    # C3's 2 reached would otherwise be the total minus C1's 6.
    assert table(page, "sources_campaigns") == [
        ["TikTok rentrée", "TikTok", "—", "—", "< 5", "—", "5", "< 5", "40", "83,3", "50,00"],
        ["Instagram stories", "Instagram", "< 5", "< 5", "< 5", "< 5", "0", "0", "", "", ""],
    ]
    assert "ceux de la campagne, pas du ticket" in parse_page(page).text
    lille = read_csv(
        manager.get(
            "/tableau/resultats/sources_channels.csv",
            params={**PERIOD, "territoire": "Métropole lilloise"},
        )
    )
    assert [row[:2] for row in lille[1:]] == [["TikTok", "< 5"], ["Flyer, affiche", "< 5"]]
    # A forged team or territory is ignored (every campaign), never an error.
    forged = manager.get("/tableau/resultats", params={**PERIOD, "equipe": "x' OR 1=1"})
    assert forged.status_code == 200
    assert table(forged.text, "sources_campaigns") == CAMPAIGNS


def test_the_impact_report_breaks_down_by_channel(manager: TestClient) -> None:
    page = manager.get("/tableau/impact", params={"annee": "2026", "pas": "trimestre"})
    assert page.status_code == 200
    rows = table(page.text, "sources_channels")
    # The year's cohort: February's A7 (C1) and F1 (C5, Discord), April's N1 (said flyer).
    assert [row[0] for row in rows] == [
        "Instagram",
        "Snapchat",
        "TikTok",
        "Discord",
        "Flyer, affiche",
        "Inconnu (ni campagne ni réponse)",
    ]
    # TikTok: 9 reached; replies 5, 20, 30, 40, 50, 60 min; 7 "non" of 8; (300 + 50 €) / 8.
    assert rows[2] == ["TikTok", "9", "8", "< 5", "6", "6", "< 5", "35", "87,5", "43,75"]
    assert rows[3] == ["Discord", "< 5", "< 5", "0", "0", "0", "0", "", "", "—"]
    export = parse_page(page.text).text
    assert "Par canal" in export
    assert "sources_channels.csv?du=2026-01-01&amp;au=2026-12-31" in page.text


def test_counsellors_and_strangers_are_refused(app_client: Any) -> None:
    client, _ = app_client
    client.cookies.clear()
    for name in CSV:
        response = client.get(f"/tableau/resultats/{name}.csv", follow_redirects=False)
        assert response.status_code in (303, 401), name
        assert "Jeunes touchés" not in response.text
    log_in(client, "lea@example.org", PASSWORD)
    for path in [
        "/tableau/resultats",
        "/tableau/impact",
        *(f"/tableau/resultats/{n}.csv" for n in CSV),
    ]:
        response = client.get(path, params=PERIOD)
        assert response.status_code == 403, path
        assert "responsables" in response.text
        assert "TikTok rentrée" not in response.text
    client.cookies.clear()


def test_bad_input_is_a_clear_refusal(manager: TestClient) -> None:
    unknown = manager.get("/tableau/resultats/sources_everything.csv", params=PERIOD)
    assert unknown.status_code == 404 and "Tableau inconnu" in unknown.text
    long = manager.get("/tableau/resultats/" + "s" * 60 + ".csv")
    assert 400 <= long.status_code < 500
    dates = manager.get(
        "/tableau/resultats/sources_campaigns.csv", params={"du": "2026-13-01", "au": "hier"}
    )
    assert dates.status_code == 200  # the default period instead, as every table does
    page = manager.get("/tableau/resultats", params={"du": "2026-03-22", "au": "2026-03-02"})
    assert page.status_code == 200 and "Période invalide" in page.text
