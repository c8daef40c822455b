"""The funnel and the impact report by the young person's channel (Telegram, Chat web) over
HTTP on the real app (tests/support/sources.py's population, six of them on the web chat):
the tables on the results page and the impact report, masked as the per-source ones, the
same in CSV, managers only.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from starlette.testclient import TestClient

from core.models import Channel, YoungPerson
from maraude.app import create_app
from tests.support import make_settings
from tests.support.analytics import PASSWORD
from tests.support.html import parse_page
from tests.support.results import log_in, read_csv, table
from tests.support.sources import SOURCES_END, seed_sources

PERIOD = {"du": "2026-03-02", "au": "2026-03-22"}
WEB = ("A1", "A2", "B1", "B2", "H1", "U1")
FUNNEL_HEADER = [
    "Canal de discussion",
    "Conversations commencées",
    "Consentement donné",
    "Questionnaire terminé",
    "Mise en relation demandée",
    "Pris en charge",
    "Première réponse d'un·e conseiller·e",
    "Sortie positive",
]
# Counts (tests/studio/test_channel_split.py): Telegram 12 8 2 4 3 3 1, web 6 5 4 6 6 6 3,
# the open demo's simulations 2 2 1 1 1 1 1. A column with exactly one hidden count withholds
# its smallest shown one ("—"): the web's 6 reached would otherwise be 20 - 12 - the hidden 2.
FUNNEL = [
    ["Telegram", "12", "8", "< 5", "< 5", "< 5", "< 5", "< 5"],
    ["Chat web", "—", "—", "< 5", "6", "6", "6", "< 5"],
    ["Simulateur", *["< 5"] * 7],
    ["Total", "20", "15", "7", "11", "10", "10", "5"],
]


class Clock:
    def now(self) -> Any:
        return SOURCES_END


@pytest.fixture(scope="module")
def app_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Any]]:
    folder: Path = tmp_path_factory.mktemp("channels")
    app = create_app(make_settings(folder), clock=Clock())
    with TestClient(app) as client:
        services = app.state.services
        population = seed_sources(services.db, services.settings)
        with services.db.transaction() as session:
            session.execute(
                update(YoungPerson)
                .where(YoungPerson.pseudo_id.in_([population.pseudo[n] for n in WEB]))
                .values(channel=Channel.web)
            )
        services.accounts.add("lea@example.org", "Léa", PASSWORD, team="lens")
        yield client, services


@pytest.fixture
def manager(app_client: Any) -> Iterator[TestClient]:
    client, _ = app_client
    log_in(client, "sources@example.org", PASSWORD)
    yield client
    client.cookies.clear()


def test_the_results_page_splits_the_funnel_by_channel(app_client: Any, manager: Any) -> None:
    _, services = app_client
    assert not services.settings.simulations_hidden  # the open demo: simulations show
    page = manager.get("/tableau/resultats", params=PERIOD)
    assert page.status_code == 200
    assert table(page.text, "entonnoir_canaux") == FUNNEL
    assert "Par canal de discussion" in parse_page(page.text).text
    assert "entonnoir_canaux.csv?du=2026-03-02&amp;au=2026-03-22" in page.text
    response = manager.get("/tableau/resultats/entonnoir_canaux.csv", params=PERIOD)
    assert (
        'filename="entonnoir_canaux-20260302-20260322.csv"'
        in (response.headers["content-disposition"])
    )
    assert read_csv(response) == [FUNNEL_HEADER, *FUNNEL]


def test_the_impact_report_splits_by_channel(manager: TestClient) -> None:
    page = manager.get("/tableau/impact", params={"annee": "2026", "pas": "mois"})
    assert page.status_code == 200
    # The year: Telegram 15 3 5 4 2 (March's 12, A7 and F1 in February, N1 in April), web
    # 6 4 6 6 3, simulations 2 1 1 1 1; totals 23 8 12 11 6.
    expected = [
        ["Telegram", "15", "< 5", "—", "< 5", "< 5"],
        ["Chat web", "—", "< 5", "6", "6", "< 5"],
        ["Simulateur", *["< 5"] * 5],
        ["Total", "23", "8", "12", "11", "6"],
    ]
    assert table(page.text, "impact_canaux") == expected
    response = manager.get("/tableau/resultats/impact_canaux.csv", params={"annee": "2026"})
    assert 'filename="impact_canaux-2026.csv"' in response.headers["content-disposition"]
    rows = read_csv(response)
    assert rows[0][:2] == ["Canal de discussion", "Jeunes touchés"]
    assert rows[1:] == expected
    # Another year: nobody, two rows at zero (never hidden: 0 names nobody).
    empty = manager.get("/tableau/resultats/impact_canaux.csv", params={"annee": "2024"})
    assert read_csv(empty)[1:] == [
        ["Telegram", *["0"] * 5],
        ["Chat web", *["0"] * 5],
        ["Total", *["0"] * 5],
    ]


def test_counsellors_and_strangers_are_refused(app_client: Any) -> None:
    client, _ = app_client
    paths = ["/tableau/resultats/entonnoir_canaux.csv", "/tableau/resultats/impact_canaux.csv"]
    client.cookies.clear()
    for path in paths:
        response = client.get(path, params=PERIOD, follow_redirects=False)
        assert response.status_code in (303, 401), path
        assert "Chat web" not in response.text
    log_in(client, "lea@example.org", PASSWORD)
    for path in paths:
        response = client.get(path, params=PERIOD)
        assert response.status_code == 403, path
        assert "Chat web" not in response.text
    client.cookies.clear()
