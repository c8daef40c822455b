"""The simulator's manager mode in headless Chromium, with the real engine: a manager logged
into the dashboard sees, under each answer, what the engine understood; counsellors and
anonymous visitors neither see the switch nor get the data from the API."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from core.models import Channel, Role
from core.people import pseudonymise
from web.simulator import MANAGER_ONLY

pytestmark = [pytest.mark.engine, pytest.mark.browser]
PASSWORD = "un-mot-de-passe-solide"
XSS = "<img src=x onerror=\"document.body.dataset.pwned='1'\"> a lens"


@pytest.fixture(scope="module")
def accounts(stack: Any) -> dict[str, str]:
    """One manager, one counsellor (e-mails by role)."""
    service = stack.services.accounts
    emails = {"manager": "resp.sim@example.org", "counsellor": "cons.sim@example.org"}
    if service.by_email(emails["manager"]) is None:
        service.add(emails["manager"], "Romane", PASSWORD, role=Role.manager, team="lens")
        service.add(emails["counsellor"], "Karim", PASSWORD, team="lens")
    return emails


def log_in(page: Any, stack: Any, email: str) -> None:
    page.goto(f"{stack.app.url}/tableau")
    page.wait_for_url("**/tableau/connexion*")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("#login")
    page.wait_for_url("**/tableau")


def send(page: Any, text: str) -> dict[str, Any]:
    """Type a message; return the API's answer once the page has shown it."""
    boxes = page.locator(".inspect").count()
    with page.expect_response("**/simulateur/api/messages") as info:
        page.fill("#text", text)
        page.click("#send")
    data: dict[str, Any] = info.value.json()
    page.wait_for_function("n => document.querySelectorAll('.inspect').length > n", arg=boxes)
    return data


def press(page: Any, title: str) -> dict[str, Any]:
    boxes = page.locator(".inspect").count()
    with page.expect_response("**/simulateur/api/messages") as info:
        page.get_by_role("button", name=title).last.click()
    data: dict[str, Any] = info.value.json()
    page.wait_for_function("n => document.querySelectorAll('.inspect').length > n", arg=boxes)
    return data


def shown(page: Any) -> dict[str, str]:
    """The last inspection box, label -> value, as the page shows it."""
    box = page.locator(".inspect").last
    labels = box.locator("dt").all_inner_texts()
    values = box.locator("dd").all_inner_texts()
    return dict(zip(labels, values, strict=True))


def engine_turn(stack: Any, page: Any) -> Any:
    """What the engine itself says of the last turn (independently of the simulator)."""
    session = next(c for c in page.context.cookies() if c["name"] == "maraude_sim")["value"]
    sender = pseudonymise(stack.settings.secret_key, Channel.simulator, session)
    with ThreadPoolExecutor(1) as pool:  # Playwright's sync API holds this thread's loop
        return pool.submit(lambda: asyncio.run(_last_turn(stack, sender))).result()


async def _last_turn(stack: Any, sender: str) -> Any:
    from bot.engine_client import EngineClient

    client = EngineClient(stack.settings.engine_url, auth_token=stack.settings.engine_auth_token)
    try:
        return await client.last_turn(sender)
    finally:
        await client.aclose()


def test_manager_sees_what_the_engine_understood(
    stack: Any, page: Any, accounts: dict[str, str]
) -> None:
    log_in(page, stack, accounts["manager"])
    page.goto(f"{stack.app.url}/simulateur")
    page.check("#manager-mode")

    start = send(page, "/start")
    assert start["turn"]["intent"] == "start"
    assert "action_welcome" in shown(page)["Actions"]
    press(page, "Passer")  # the age, asked before consent
    assert "action_record_age" in shown(page)["Actions"]
    press(page, "OK pour moi")
    assert shown(page)["Intention"].startswith("consent_accept (")

    # Typed text: normalised text, intent with its confidence, actions, no crisis flag.
    data = send(page, "jcherche du taf")
    turn = data["turn"]
    assert turn["intent"] == "need_job" and turn["crisis_guard"] is False
    box = shown(page)
    assert box["Intention"] == f"need_job ({turn['confidence']:.2f})"
    assert box["Texte normalisé"] == turn["normalised"] == "je cherche du taf travail"
    assert box["Garde-fou crise"] == "non"
    assert box["Actions"] == " → ".join(turn["actions"]) and "triage_form" in turn["actions"]
    # The same turn as the engine reports it, read independently.
    truth = engine_turn(stack, page)
    assert (truth.intent, truth.normalised, truth.actions) == (
        turn["intent"],
        turn["normalised"],
        turn["actions"],
    )

    # An entity.
    send(page, "j'ai 19 ans")
    entities = shown(page)["Entités"]
    assert entities.startswith('age = "19"'), entities

    # Markup typed by a young person is shown as text, in the chat and in the inspection.
    turn = send(page, XSS)["turn"]
    box = shown(page)
    assert box["Texte normalisé"] == turn["normalised"] and "img" in turn["normalised"]
    assert box["Intention"] == f"{turn['intent']} ({turn['confidence']:.2f})"
    assert page.locator("#chat img").count() == 0
    assert page.evaluate("document.body.dataset.pwned") is None

    # A crisis message: the guard's flag.
    data = send(page, "jen peux plus jveux mourir")
    assert data["turn"]["intent"] == "crisis_suicide" and data["turn"]["crisis_guard"] is True
    assert shown(page)["Garde-fou crise"].startswith("oui")

    # Switched off: no more inspection, and the API is not even asked for it.
    page.uncheck("#manager-mode")
    with page.expect_request("**/simulateur/api/messages") as request:
        page.fill("#text", "merci")
        page.click("#send")
    assert json.loads(request.value.post_data) == {"text": "merci"}


def test_counsellor_gets_neither_the_switch_nor_the_data(
    stack: Any, page: Any, accounts: dict[str, str]
) -> None:
    log_in(page, stack, accounts["counsellor"])
    csrf = page.locator('meta[name="csrf-token"]').get_attribute("content")
    assert csrf
    page.goto(f"{stack.app.url}/simulateur")
    assert page.locator("#manager-mode").count() == 0
    # Straight to the API, with the counsellor's session and a valid CSRF token.
    response = page.request.post(
        f"{stack.app.url}/simulateur/api/messages",
        data={"text": "salut", "inspect": True},
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status == 403
    assert response.json()["detail"] == MANAGER_ONLY


def test_anonymous_visitor_gets_neither(stack: Any, page: Any) -> None:
    # The stack has a Telegram token: the simulator is for logged-in staff only
    # (tests/web/test_simulator_access.py covers both modes).
    page.goto(f"{stack.app.url}/simulateur")
    page.wait_for_url("**/tableau/connexion*")
    assert page.locator("#manager-mode").count() == 0
    url = f"{stack.app.url}/simulateur/api/messages"
    refused = page.request.post(url, data={"text": "salut", "inspect": True})
    assert refused.status == 401
    plain = page.request.post(url, data={"text": "salut"})
    assert plain.status == 401 and "turn" not in plain.json()


def test_manager_needs_the_csrf_token(stack: Any, page: Any, accounts: dict[str, str]) -> None:
    log_in(page, stack, accounts["manager"])
    page.goto(f"{stack.app.url}/simulateur")
    assert page.locator("#manager-mode").count() == 1
    url = f"{stack.app.url}/simulateur/api/messages"
    assert page.request.post(url, data={"text": "salut", "inspect": True}).status == 403
    token = page.locator("#manager-box").get_attribute("data-csrf")
    ok = page.request.post(
        url, data={"text": "salut", "inspect": True}, headers={"X-CSRF-Token": token}
    )
    assert ok.status == 200 and ok.json()["turn"]["intent"]
