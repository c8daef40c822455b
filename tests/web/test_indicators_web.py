"""The funders' indicators page and its CSV over HTTP (the real app, TestClient): who may see
them, the masked figures of a seeded quarter, the period and filter choices, bad parameters
(a French message, never a 500), and the CSV a funder reads on its own.

The population: tests/support/indicators.py's `seed_indicators`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from core.erasure import ErasureService
from core.models import Role
from maraude.app import create_app
from studio.analytics.archive import StatsArchive
from studio.analytics.masking import masked_column
from tests.support import make_settings
from tests.support.analytics import END, PASSWORD, HandClock
from tests.support.html import parse_page
from tests.support.indicators import seed_indicators
from tests.support.results import log_in, read_csv, table

PAGE = "/tableau/indicateurs"
CSV = "/tableau/indicateurs.csv"
Q1 = {"annee": "2026", "trimestre": "T1"}


def serve(folder: Path) -> Iterator[tuple[Any, Any, Any]]:
    app = create_app(make_settings(folder), clock=HandClock(END))
    with TestClient(app):
        services = app.state.services
        population = seed_indicators(services.db, services.settings)
        services.accounts.add("chef@example.org", "Chef", PASSWORD, role=Role.manager)
        services.accounts.add("admin@example.org", "Ada", PASSWORD, role=Role.admin)
        services.accounts.add("lea@example.org", "Léa", PASSWORD, team="lens")
        yield app, services, population


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Any, Any]]:
    """One seeded app for the tests that only read (seeding takes seconds)."""
    yield from serve(tmp_path_factory.mktemp("indicators"))


@pytest.fixture
def app_client(shared: Any) -> tuple[TestClient, Any, Any]:
    """A browser of its own (cookies) on the shared app."""
    app, services, population = shared
    return TestClient(app), services, population


def cards(page: str) -> dict[str, str]:
    return {
        str(c.get("data-indicator")): c.one("indicator-value").text
        for c in parse_page(page).all("indicator")
    }


# Who -----------------------------------------------------------------------------------------
def test_anonymous_visitors_are_sent_to_the_login(app_client: Any) -> None:
    client, _, _ = app_client
    for path in (PAGE, CSV):
        response = client.get(path, params=Q1, follow_redirects=False)
        assert response.status_code == 303, path
        assert "/tableau/connexion" in response.headers["location"]


def test_counsellors_are_refused(app_client: Any) -> None:
    client, _, _ = app_client
    log_in(client, "lea@example.org", PASSWORD)
    for path in (PAGE, CSV):
        response = client.get(path, params=Q1)
        assert response.status_code == 403, path
        assert "responsables" in response.text
        assert "10" not in parse_page(response.text).text.split()  # no figure leaks
    assert not parse_page(client.get("/tableau").text).has("nav-indicators")


@pytest.mark.parametrize("email", ["chef@example.org", "admin@example.org"])
def test_managers_read_the_quarter_masked(app_client: Any, email: str) -> None:
    client, services, _ = app_client
    log_in(client, email, PASSWORD)
    nav = parse_page(client.get("/tableau").text).one("nav-indicators")
    assert nav.get("href") == PAGE
    response = client.get(PAGE, params=Q1)
    assert response.status_code == 200
    page = response.text
    assert services.settings.organisation.name in parse_page(page).text
    assert "T1 2026, du 01/01/2026 au 31/03/2026" in parse_page(page).text
    assert "édité le 03/04/2026 11:00" in parse_page(page).text  # END, Paris summer time
    # Key figures: 2 positive exits are fewer than 5; 6 of 9 answers "not followed"; the
    # median of the 5 first replies (30, 40, 60, 90, 420 min).
    assert cards(page) == {
        "reperes": "10",
        "mobilises": "9",
        "orientes": "7",
        "sorties": "< 5",
        "invisibles": "66,7 %",
        "reply": "1 h",
    }
    assert table(page, "indicateurs") == [
        ["Instagram", "< 5", "0", "0", "0", "—", "—"],
        ["TikTok", "6", "6", "< 5", "< 5", "83,3", "—"],  # 3 replies: no median
        ["Discord", "< 5", "< 5", "< 5", "0", "—", "—"],
        ["Flyer, affiche", "< 5", "< 5", "< 5", "0", "—", "—"],
        ["Total", "10", "9", "7", "< 5", "66,7", "60"],
    ]
    assert ["Orienté·e vers la Mission Locale", "< 5"] in table(page, "sorties")
    assert table(page, "sorties")[-1] == ["Toutes les sorties positives", "< 5"]
    assert not parse_page(page).has("indicators-error")
    html = parse_page(page)
    terms = [t.text for t in html.all("definition-term")]
    texts = dict(zip(terms, (d.text for d in html.all("definition-text")), strict=True))
    assert terms[:4] == [
        "Jeunes repérés",
        "Jeunes mobilisés",
        "Jeunes orientés",
        "Sorties positives",
    ]
    assert "consentement" in texts["Jeunes mobilisés"]
    assert "Emploi" in texts["Sorties positives"]  # the positive outcomes, named
    assert "« < 5 »" in html.text and "simulateur" in html.text


def test_period_and_filters(app_client: Any) -> None:
    client, _, _ = app_client
    log_in(client, "chef@example.org", PASSWORD)
    # No choice: the current quarter (END is 3 April 2026: T2), selected in the form.
    page = client.get(PAGE).text
    assert "indicateurs T2 2026" in page
    assert table(page, "indicateurs")[-1] == ["Total", "0", "0", "0", "< 5", "—", "—"]
    year = client.get(PAGE, params={"annee": "2026", "trimestre": "annee"}).text
    assert "indicateurs année 2026" in year
    assert table(year, "indicateurs")[-1][:5] == ["Total", "10", "9", "7", "< 5"]
    assert client.get(PAGE, params={"annee": "2026"}).text.count("année 2026") >= 1
    lens = client.get(PAGE, params={**Q1, "equipe": "lens"}).text
    assert table(lens, "indicateurs")[-1][:5] == ["Total", "5", "5", "< 5", "< 5"]
    assert "dernière demande" in parse_page(lens).one("indicators-report").text
    assert 'value="lens" selected' in lens and 'value="T1" selected' in lens


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"annee": "0", "trimestre": "T1"}, "Année invalide"),
        ({"annee": "99999999999999999999999", "trimestre": "T1"}, "Année invalide"),
        ({"annee": "1999"}, "Année invalide"),
        ({"annee": "2031"}, "Année invalide"),
        ({"annee": "-2026"}, "Année invalide"),
        ({"annee": "2026", "trimestre": "T9"}, "Trimestre invalide"),
        ({"annee": "2026", "trimestre": "T1" * 500}, "Trimestre invalide"),
        ({"annee": "2026", "equipe": "inconnue"}, "Équipe inconnue"),
        ({"annee": "2026", "territoire": "Atlantide"}, "Territoire inconnu"),
        ({"annee": "２０２６"}, "Année invalide"),  # full-width digits
    ],
)
def test_bad_parameters_fall_back_with_a_french_message(
    app_client: Any, params: dict[str, str], message: str
) -> None:
    client, _, _ = app_client
    log_in(client, "chef@example.org", PASSWORD)
    page = client.get(PAGE, params=params)
    assert page.status_code == 200
    assert message in parse_page(page.text).one("indicators-error").text
    export = client.get(CSV, params=params)
    assert export.status_code == 400
    assert "Export impossible" in export.text and message.lower() in export.text.lower()


def test_the_csv_is_the_page_in_a_file(app_client: Any) -> None:
    client, services, _ = app_client
    log_in(client, "chef@example.org", PASSWORD)
    response = client.get(CSV, params=Q1)
    rows = read_csv(response)
    assert 'filename="indicateurs-2026-T1.csv"' in response.headers["content-disposition"]
    assert rows[0] == ["Structure", services.settings.organisation.name]
    assert rows[2] == ["Période", "T1 2026 (du 01/01/2026 au 31/03/2026)"]
    assert rows[3] == ["Périmètre", "toutes équipes, tous territoires"]
    header = rows.index(
        [
            "Source",
            "Jeunes repérés",
            "Jeunes mobilisés",
            "Jeunes orientés",
            "Sorties positives",
            "Part des invisibles (%)",
            "Délai médian de première réponse (min)",
        ]
    )
    assert rows[header + 2] == ["TikTok", "6", "6", "< 5", "< 5", "83,3", "—"]
    assert rows[header + 5] == ["Total", "10", "9", "7", "< 5", "66,7", "60"]
    assert ["Orienté·e vers la Mission Locale", "< 5"] in rows
    assert ["Emploi", "0"] in rows
    definitions = rows.index(["Définitions"])
    assert rows[definitions + 1][0] == "Jeunes repérés"
    # No count of 1 to 4 anywhere in the file.
    cells = [cell for row in rows[header:definitions] for cell in row]
    assert not {"1", "2", "3", "4"} & set(cells)
    # The year, and a team.
    year = read_csv(client.get(CSV, params={"annee": "2026", "trimestre": "annee"}))
    assert year[2] == ["Période", "année 2026 (du 01/01/2026 au 31/12/2026)"]
    lens = read_csv(client.get(CSV, params={**Q1, "equipe": "lens"}))
    assert lens[3][1].startswith("équipe ")


def test_erased_people_stay_in_the_figures(tmp_path: Path) -> None:
    app, services, population = next(serve(tmp_path))
    client = TestClient(app)
    erasure = ErasureService(
        services.db,
        services.db,
        HandClock(END),
        before_erase=(StatsArchive(services.settings).fold,),
    )
    for name in ("P1", "P2", "P3", "P5"):  # TikTok, all with a consent
        erasure.erase_app(population.pseudo[name])
    log_in(client, "chef@example.org", PASSWORD)
    rows = table(client.get(PAGE, params=Q1).text, "indicateurs")
    assert rows[-1][:5] == ["Total", "10", "9", "7", "< 5"]
    erased = ["Personnes effacées (source non conservée)", "< 5", "< 5", "< 5", "< 5", "—", "—"]
    assert erased in rows
    assert rows[1] == ["TikTok", "< 5", "< 5", "< 5", "< 5", "—", "—"]  # P4, P6 left


def test_a_lone_hidden_count_cannot_be_found_back_from_the_total() -> None:
    # 3 hidden, 6 and 9 shown, total 18: 18 - 6 - 9 would give the 3 back.
    assert masked_column([3, 6, 9], 18) == ["< 5", "—", "9"]
    assert masked_column([3, 2, 9], 14) == ["< 5", "< 5", "9"]  # two hidden: enough
    assert masked_column([3, 0, 0], 3) == ["< 5", "0", "0"]  # the total is hidden too
    assert masked_column([0, 5, 7], 12) == ["0", "5", "7"]
