"""The hand-off relay reaches simulator users: counsellor messages and desk notices are polled
from /simulateur/api/updates (the real app, no engine), and shown by the page (Chromium)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest
from fastapi.testclient import TestClient

from bot.texts import AppTexts
from core.models import Channel
from core.people import pseudonymise
from handoff.accounts import CounsellorRef
from handoff.requests import TriageSummary
from maraude.app import create_app
from tests.support import AppServer, free_port, headless_chromium, make_settings

TEXTS = AppTexts.load()
T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a desk coroutine on its own loop, off any loop of the test's thread."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    # Nothing listens on the engine's port: the engine is down.
    settings = make_settings(tmp_path, rasa_url=f"http://127.0.0.1:{free_port()}")
    with TestClient(create_app(settings)) as client:
        yield client


def services(client: TestClient) -> Any:
    return client.app.state.services  # type: ignore[attr-defined]


def open_session(client: TestClient) -> str:
    assert client.get("/simulateur").status_code == 200
    cookie = client.cookies.get("maraude_sim")
    assert cookie
    return cookie


def say(client: TestClient, text: str) -> dict[str, Any]:
    response = client.post("/simulateur/api/messages", json={"text": text})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def hand_off(client: TestClient, cookie: str) -> int:
    """The young person behind this browser session asked for a counsellor."""
    svc = services(client)
    pseudo = pseudonymise(svc.settings.secret_key, Channel.simulator, cookie)
    ref = svc.handoff.request(pseudo, TriageSummary(location="59100"), source="ask_human")
    return int(ref.ticket_id)


def counsellor(client: TestClient, first_name: str = "Anna") -> CounsellorRef:
    """A counsellor of the team `hand_off`'s tickets go to (59100: Lille)."""
    account: CounsellorRef = services(client).accounts.add(
        f"{first_name.lower()}@example.org", first_name, "motdepasse-solide", team="lille"
    )
    return account


def updates(client: TestClient, after: int | None) -> dict[str, Any]:
    params = {} if after is None else {"after": after}
    response = client.get("/simulateur/api/updates", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_updates_need_a_simulator_session(client: TestClient) -> None:
    response = client.get("/simulateur/api/updates?after=0")
    assert response.status_code == 400
    assert "recharge la page" in response.json()["detail"]
    open_session(client)
    assert client.get("/simulateur/api/updates?after=-1").status_code == 422
    assert client.get("/simulateur/api/updates?after=abc").status_code == 422
    # A session that never wrote is nobody yet: nothing to show, and nobody is created.
    assert updates(client, 0) == {"messages": [], "last": 0}
    assert updates(client, None) == {"messages": [], "last": 0}
    assert services(client).tickets.queue() == []


def test_the_hand_off_reaches_the_simulator_page(client: TestClient) -> None:
    cookie = open_session(client)
    assert say(client, "slt")["replies"] == [{"text": TEXTS.engine_down, "buttons": []}]
    start = updates(client, None)
    assert start == {"messages": [], "last": 0}
    ticket_id = hand_off(client, cookie)
    anna = counsellor(client)
    desk = services(client).desk

    run(desk.claim(ticket_id, anna, via="web"))
    claimed = updates(client, start["last"])
    assert [(m["origin"], m["text"], m["from"], m["label"]) for m in claimed["messages"]] == [
        ("bot", TEXTS.handoff_claimed.format(name="Anna"), None, None)
    ]
    assert claimed["last"] == claimed["messages"][0]["id"]
    assert updates(client, claimed["last"]) == {"messages": [], "last": claimed["last"]}

    payload = "<img src=x onerror=alert(1)> Salut, c'est Anna !"
    run(desk.reply(ticket_id, anna, payload, via="web"))
    run(desk.reply(ticket_id, anna, "Tu es dispo demain ?", via="web"))
    replies = updates(client, claimed["last"])
    assert [(m["origin"], m["text"], m["from"], m["label"]) for m in replies["messages"]] == [
        ("counsellor", payload, "Anna", "Anna (conseiller·e)"),
        ("counsellor", "Tu es dispo demain ?", "Anna", "Anna (conseiller·e)"),
    ]
    ids = [m["id"] for m in replies["messages"]]
    assert ids == sorted(ids) and replies["last"] == ids[-1]

    # The young person's answer goes to Anna: no reply from the bot, nothing to poll.
    answer = say(client, "oui demain aprem")
    assert answer == {"replies": [], "shown": []}
    assert updates(client, replies["last"])["messages"] == []
    transcript = services(client).tickets.transcript(ticket_id)
    assert transcript[-1].text == "oui demain aprem" and transcript[-1].in_ticket

    # A crisis: the helplines come in the reply, and the poll must not show them again.
    crisis = say(client, "jveux mourir")
    [helplines] = crisis["replies"]
    assert "3114" in helplines["text"]
    polled = updates(client, replies["last"])["messages"]
    assert [m["text"] for m in polled] == [helplines["text"]]
    assert crisis["shown"] == [polled[0]["id"]]

    run(desk.resolve(ticket_id, anna, "mission_locale", None, via="web"))
    closing = updates(client, polled[0]["id"])["messages"]
    assert [m["text"] for m in closing] == [TEXTS.handoff_closed.format(name="Anna")]
    # The bot has the conversation back.
    assert say(client, "re")["replies"] == [{"text": TEXTS.engine_down, "buttons": []}]


def test_updates_are_for_this_session_only_and_capped(client: TestClient) -> None:
    cookie = open_session(client)
    say(client, "slt")
    ticket_id = hand_off(client, cookie)
    anna = counsellor(client)
    desk = services(client).desk
    run(desk.claim(ticket_id, anna, via="web"))
    for i in range(60):
        services(client).tickets.reply(ticket_id, anna, f"message {i}")

    first = updates(client, 0)
    assert len(first["messages"]) == 50
    assert first["messages"][0]["text"] == TEXTS.handoff_claimed.format(name="Anna")
    rest = updates(client, first["last"])
    assert [m["text"] for m in rest["messages"]] == [f"message {i}" for i in range(49, 60)]
    # Starting without a cursor skips the history: only what comes next is shown.
    assert updates(client, None) == {"messages": [], "last": rest["last"]}

    # Another browser sees nothing of it.
    client.post("/simulateur/api/reset")
    assert client.cookies.get("maraude_sim") != cookie
    say(client, "slt")
    assert updates(client, 0) == {"messages": [], "last": 0}


def test_updates_are_off_with_the_simulator(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        rasa_url=f"http://127.0.0.1:{free_port()}",
        server={"simulator_enabled": False},
    )
    with TestClient(create_app(settings)) as client:
        client.cookies.set("maraude_sim", "a" * 24)
        assert client.get("/simulateur/api/updates?after=0").status_code == 404


# The page itself, in headless Chromium -----------------------------------------------------
@pytest.mark.browser
def test_the_page_shows_counsellor_messages_as_text(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, rasa_url=f"http://127.0.0.1:{free_port()}")
    with headless_chromium() as browser, AppServer(settings) as app:
        page = browser.new_page()
        page.set_default_timeout(15_000)
        page.goto(f"{app.url}/simulateur")
        page.fill("#text", "slt")
        page.click("#send")
        page.get_by_text(TEXTS.engine_down).wait_for()

        cookie = next(c for c in page.context.cookies() if c["name"] == "maraude_sim")
        svc = app.services
        pseudo = pseudonymise(settings.secret_key, Channel.simulator, cookie["value"])
        ticket_id = svc.handoff.request(pseudo, TriageSummary(), source="ask_human").ticket_id
        anna = svc.accounts.add(
            "anna@example.org", "Anna", "motdepasse-solide", team=svc.settings.handoff.default_team
        )
        run(svc.desk.claim(ticket_id, anna, via="web"))
        page.locator(".msg.relay", has_text="a pris ta demande").wait_for()

        payload = "<img src=x onerror=\"document.body.dataset.pwned='1'\"> coucou"
        run(svc.desk.reply(ticket_id, anna, payload, via="web"))
        bubble = page.locator(".msg.relay.counsellor").last
        bubble.wait_for()
        assert bubble.inner_text() == f"Anna (conseiller·e) :\n{payload}"
        assert page.locator("#chat img").count() == 0
        assert page.evaluate("document.body.dataset.pwned") is None

        # A crisis during the hand-off: the helplines once, not again from the poll.
        page.fill("#text", "jveux mourir")
        page.click("#send")
        page.locator(".msg.bot", has_text="3114").first.wait_for()
        run(svc.desk.reply(ticket_id, anna, "Je suis là, j'appelle.", via="web"))
        page.locator(".msg.relay.counsellor", has_text="j'appelle").wait_for()
        assert page.locator(".msg.bot", has_text="3114").count() == 1

        run(svc.desk.resolve(ticket_id, anna, "sante", None, via="web"))
        page.locator(".msg.relay", has_text="a terminé l'échange avec toi").wait_for()
        assert page.locator(".msg.relay").count() == 4
