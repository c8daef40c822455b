"""The web simulator driven in headless Debian Chromium through Playwright.

The stack has a Telegram token: the simulator is for logged-in staff (tests/web/
test_simulator_access.py covers who may use it), so each test logs in first."""

from __future__ import annotations

from typing import Any

import pytest

from core.models import ConsentStatus
from tests.support.dashboard import PASSWORD

pytestmark = [pytest.mark.engine, pytest.mark.browser]
STAFF = "staff.simulateur@example.org"


def open_simulator(page: Any, stack: Any) -> None:
    """Log into the dashboard (a counsellor), and land on the simulator."""
    accounts = stack.services.accounts
    if accounts.by_email(STAFF) is None:
        accounts.add(STAFF, "Sacha", PASSWORD, team="lens")
    page.goto(f"{stack.app.url}/simulateur")
    page.wait_for_url("**/tableau/connexion*")
    page.fill("#email", STAFF)
    page.fill("#password", PASSWORD)
    page.click("#login")
    page.wait_for_url("**/simulateur")


def send(page: Any, text: str) -> None:
    page.fill("#text", text)
    page.click("#send")


def test_simulator_conversation(stack: Any, page: Any) -> None:
    open_simulator(page, stack)
    assert "Simulateur" in page.title()
    send(page, "/start")
    page.get_by_role("button", name="Passer").click()  # the age, asked before consent
    page.get_by_role("button", name="OK pour moi").wait_for()
    chat = page.locator("#chat")
    assert "robot" in chat.inner_text().lower()
    assert stack.settings.organisation.name in chat.inner_text()

    bot_before = page.locator(".msg.bot:not(.typing)").count()
    page.get_by_role("button", name="OK pour moi").click()
    page.wait_for_function(
        "n => document.querySelectorAll('.msg.bot:not(.typing)').length > n", arg=bot_before
    )
    assert page.get_by_role("button", name="OK pour moi").is_disabled()

    people = stack.services.people
    cookie = next(c for c in page.context.cookies() if c["name"] == "maraude_sim")
    from core.models import Channel
    from core.people import pseudonymise

    pseudo = pseudonymise(stack.settings.secret_key, Channel.simulator, cookie["value"])
    assert people.get(pseudo).consent is ConsentStatus.granted

    payload = "<img src=x onerror=\"document.body.dataset.pwned='1'\"> t'es un robot ?"
    bot_before = page.locator(".msg.bot:not(.typing)").count()
    send(page, payload)
    page.wait_for_function(
        "n => document.querySelectorAll('.msg.bot:not(.typing)').length > n", arg=bot_before
    )
    assert page.locator(".msg.me").last.inner_text() == payload  # shown as text
    assert page.locator("#chat img").count() == 0
    assert page.evaluate("document.body.dataset.pwned") is None
    assert page.locator(".msg.bot").last.inner_text().strip()  # the bot answered it


def test_simulator_reset_starts_a_new_person(stack: Any, page: Any) -> None:
    open_simulator(page, stack)
    first = next(c for c in page.context.cookies() if c["name"] == "maraude_sim")["value"]
    page.click("#reset")
    page.wait_for_function("document.querySelectorAll('.msg').length === 0")
    second = next(c for c in page.context.cookies() if c["name"] == "maraude_sim")["value"]
    assert first != second
