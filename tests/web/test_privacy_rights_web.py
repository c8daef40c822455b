"""The privacy notice (/confidentialite) says everything the RGPD asks, with the structure's
own controller and DPO; the simulator's young person gets the /mesdonnees files too."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from maraude.app import create_app
from tests.support import free_port, make_settings
from tests.support.html import parse_page

CONTROLLER = "Mission Locale du Lensois, 12 rue Paul Bert, 62300 Lens"
DPO = "dpo@ml-lens.fr"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = make_settings(
        tmp_path,
        rasa_url=f"http://127.0.0.1:{free_port()}",  # the engine is down
        organisation={"controller": CONTROLLER, "dpo_contact": DPO, "retention_days": 180},
    )
    with TestClient(create_app(settings)) as client:
        yield client


def test_the_notice_has_every_section_the_rgpd_asks_for(client: TestClient) -> None:
    response = client.get("/confidentialite")
    assert response.status_code == 200
    page = response.text
    for section in (
        "responsable",
        "donnees",
        "finalites",
        "destinataires",
        "conservation",
        "urgence",
        "mineurs",
        "droits",
        "cnil",
    ):
        assert f'id="{section}"' in page, section
    for fact in (
        CONTROLLER,  # the controller and its DPO, from maraude.yml
        DPO,
        "6.1.a",  # legal bases: consent, public-interest mission, vital interest
        "6.1.e",
        "6.1.d",
        "180 jours",  # retention as set
        "/oubli",  # every right, and how to use it in the chat
        "/mesdonnees",
        "/corriger",
        "/stop",
        "15 ans",  # the age of digital consent, and under 15
        "https://www.cnil.fr/fr/plaintes",  # the right to complain
        "Équipe Lens-Liévin",  # recipients as they are: the teams, Telegram, the host
        "Telegram",
        "hébergeur",
    ):
        assert fact in page, fact
    # The old promise that nobody else sees anything is gone; the counsellors' group is named
    # only when there is one.
    assert "personne d'autre" not in page.lower()
    assert "groupe Telegram" not in page


def test_the_notice_names_the_counsellors_group_when_there_is_one(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, counsellor_group_id=-1001234567890)
    with TestClient(create_app(settings)) as client:
        assert "groupe Telegram" in client.get("/confidentialite").text


def test_the_simulator_gives_the_same_two_files(client: TestClient) -> None:
    page = client.get("/simulateur")
    assert page.status_code == 200
    assert parse_page(page.text).has("my-data")  # the "Mes données" button
    response = client.post("/simulateur/api/messages", json={"text": "/mesdonnees"})
    assert response.status_code == 200, response.text
    [reply] = response.json()["replies"]
    assert "tout ce qu'on garde sur toi" in reply["text"]
    readable, portable = reply["documents"]
    assert readable["filename"].endswith(".txt") and readable["mime_type"] == "text/plain"
    assert portable["mime_type"] == "application/json"
    assert "Tu nous écris sur : le simulateur web" in readable["content"]
    data = json.loads(portable["content"])
    assert data["person"]["channel"] == "simulator"
    assert data["controller"]["controller"] == CONTROLLER
    cookie = client.cookies.get("maraude_sim")
    assert cookie and cookie not in readable["content"] and cookie not in portable["content"]
