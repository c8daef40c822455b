"""The "mineur·e" flag of a 16-year-old's ticket, from the age band said before consent (no
exact age needed), where counsellors read it: the dashboard's queue and ticket page, the REST
API, and the Telegram bridge's ticket post. The real app behind Starlette's TestClient on
SQLite; people and tickets made through the services as the bot makes them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from starlette.testclient import TestClient

from core.clock import FixedClock
from core.models import Channel, Role
from handoff.bridge.rendering import summary_text
from handoff.requests import TriageSummary
from maraude.app import create_app
from tests.support import make_settings
from tests.support.dashboard import CLOCK_START, account, logged_in
from tests.support.html import parse_page


@pytest.fixture
def http(tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(make_settings(tmp_path), clock=FixedClock(CLOCK_START))
    with TestClient(app) as client:
        yield client


@pytest.fixture
def services(http: TestClient) -> Any:
    return http.app.state.services  # type: ignore[attr-defined]


def ticket_for(services: Any, key: str, band: str | None, age: str | None) -> int:
    """A young person who said `band` before consent, consented, and asked for a counsellor."""
    ref = services.people.identify(Channel.telegram, key)
    services.people.record_age_band(ref.pseudo_id, band)
    services.people.record_consent(ref.pseudo_id, True)
    summary = TriageSummary(needs=["emploi"], age=age, location="Lens")
    return int(services.handoff.request(ref.pseudo_id, summary, source="triage").ticket_id)


def test_a_16_year_olds_ticket_shows_the_minor_flag_everywhere(
    http: TestClient, services: Any
) -> None:
    sixteen = ticket_for(services, "16", "15_17", "15-17 ans")  # a band button, no exact age
    adult = ticket_for(services, "22", "18_25", "22")
    unsaid = ticket_for(services, "xx", None, None)
    boss = account(services, "Nadia", role=Role.manager)
    client = logged_in(http, services, boss)

    # the dashboard's queue: one badge, on the 16-year-old's line
    rows = {row["id"]: row for row in client.queue()}
    assert (rows[sixteen]["minor"], rows[adult]["minor"], rows[unsaid]["minor"]) == (
        True,
        False,
        False,
    )
    shown = parse_page(client.get("/tableau").text)
    assert [m.text for m in shown.all("minor")] == ["mineur·e"]
    assert [r.get("data-ticket") for r in shown.all("queue-row") if r.has("minor")] == [
        str(sixteen)
    ]
    # the ticket page
    assert 'id="minor"' in client.ticket_page(sixteen).text
    assert 'id="minor"' not in client.ticket_page(adult).text

    # the REST API: the list and the ticket
    headers = {"Authorization": f"Bearer {services.accounts.create_token(boss.id, 'tests')}"}
    listed = http.get("/api/v1/tickets", headers=headers)
    assert listed.status_code == 200, listed.text
    flags = {item["id"]: item["minor"] for item in listed.json()["items"]}
    assert flags == {sixteen: True, adult: False, unsaid: False}
    detail = http.get(f"/api/v1/tickets/{sixteen}", headers=headers).json()
    assert detail["minor"] is True and detail["summary"]["age"] == "15-17 ans"

    # the Telegram bridge's ticket post
    teams = {team.id: team.name for team in services.settings.teams}
    outcomes = services.tickets.outcomes
    tz = ZoneInfo("Europe/Paris")
    post = summary_text(services.tickets.get(sixteen), teams, outcomes, tz)
    assert post.splitlines()[0].endswith("· mineur·e")
    assert "Âge : 15-17 ans" in post
    assert "mineur·e" not in summary_text(services.tickets.get(adult), teams, outcomes, tz)
