"""Where the young person writes (Telegram, Chat web), where counsellors read it: the
dashboard's queue (page and live feed) and ticket page, the REST API, and the Telegram bridge's
ticket post; and a dashboard reply to a web ticket reaches the web chat's outbox. The real app
behind Starlette's TestClient on SQLite; people and tickets made through the services."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from starlette.testclient import TestClient

from core.clock import FixedClock
from core.models import Channel, Role
from core.vocabulary import CHANNEL_LABELS, channel_label
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


def ticket_for(services: Any, channel: Channel, key: str) -> tuple[int, int]:
    """A young person on `channel` who consented and asked for a counsellor: (person, ticket)."""
    ref = services.people.identify(channel, key)
    services.people.record_consent(ref.pseudo_id, True)
    summary = TriageSummary(needs=["emploi"], location="Lens")
    request = services.handoff.request(ref.pseudo_id, summary, source="triage")
    return ref.id, int(request.ticket_id)


def test_every_channel_has_one_label() -> None:
    assert set(CHANNEL_LABELS) == {c.value for c in Channel}
    assert channel_label(Channel.web) == "Chat web" and channel_label("telegram") == "Telegram"
    assert channel_label("fax") == "fax"  # an unknown value is shown as stored


def test_the_channel_shows_everywhere_and_a_reply_reaches_the_web_chat(
    http: TestClient, services: Any
) -> None:
    web_person, web = ticket_for(services, Channel.web, "a-page-token-key")
    _, telegram = ticket_for(services, Channel.telegram, "1234")
    boss = account(services, "Nadia", role=Role.manager)
    client = logged_in(http, services, boss)

    # the queue's live feed and page
    rows = {row["id"]: row for row in client.queue()}
    assert (rows[web]["channel"], rows[web]["channel_label"]) == ("web", "Chat web")
    assert (rows[telegram]["channel"], rows[telegram]["channel_label"]) == (
        "telegram",
        "Telegram",
    )
    page = parse_page(client.get("/tableau").text)
    shown = {
        row.get("data-ticket"): [badge.text for badge in row.all("channel")]
        for row in page.all("queue-row")
    }
    assert shown == {str(web): ["Chat web"], str(telegram): ["Telegram"]}
    # the ticket page
    assert 'id="ticket-channel"' in client.ticket_page(web).text
    assert ">Chat web</span>" in client.ticket_page(web).text
    assert ">Telegram</span>" in client.ticket_page(telegram).text

    # the REST API: the list and the ticket
    headers = {"Authorization": f"Bearer {services.accounts.create_token(boss.id, 'tests')}"}
    listed = http.get("/api/v1/tickets", headers=headers)
    assert listed.status_code == 200, listed.text
    channels = {
        item["id"]: (item["channel"], item["channel_label"]) for item in listed.json()["items"]
    }
    assert channels == {web: ("web", "Chat web"), telegram: ("telegram", "Telegram")}
    detail = http.get(f"/api/v1/tickets/{web}", headers=headers).json()
    assert detail["channel"] == "web"

    # the Telegram bridge's ticket post
    teams = {team.id: team.name for team in services.settings.teams}
    tz = ZoneInfo("Europe/Paris")
    post = summary_text(services.tickets.get(web), teams, services.tickets.outcomes, tz)
    assert "Canal : Chat web" in post.splitlines()
    post = summary_text(services.tickets.get(telegram), teams, services.tickets.outcomes, tz)
    assert "Canal : Telegram" in post.splitlines()

    # a reply from the dashboard lands in the web chat's outbox, signed
    assert client.claim(web).status_code == 200
    assert client.reply(web, "Coucou, on s'appelle ?").status_code == 200
    texts = [item.reply.text for item in services.webchat_store.since(web_person, 0)]
    assert texts[-1] == "Nadia (conseiller·e) :\nCoucou, on s'appelle ?"
    assert len(texts) == 2  # the claim notice, then the reply
