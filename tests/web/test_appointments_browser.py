"""The ticket page's "Rendez-vous" section in headless Chromium against the real app: a
counsellor proposes an appointment (listed at once), is warned outside opening hours with
the values kept, then proposes it anyway; no script error, CSP violation or failed request
(but the expected 422 of the warning)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from core.clock import FixedClock
from core.models import Channel
from handoff.requests import TriageSummary
from tests.support import AppServer, make_settings
from tests.support.browser import dashboard_page

pytestmark = [pytest.mark.browser]
PASSWORD = "un-mot-de-passe-solide"
CLOCK_START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # Monday, 10:00 in Paris


@pytest.fixture(scope="module")
def server(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    folder: Path = tmp_path_factory.mktemp("appointments")
    with AppServer(make_settings(folder), clock=FixedClock(CLOCK_START)) as app:
        app.services.accounts.add("lea@example.org", "Léa", PASSWORD, team="lens")
        yield app


def held_ticket(services: Any, key: str) -> int:
    person = services.people.identify(Channel.simulator, f"navigateur-rdv-{key}")
    services.people.record_consent(person.pseudo_id, True)
    ref = services.handoff.request(
        person.pseudo_id, TriageSummary(needs=["emploi"], location="Lens"), source="triage"
    )
    lea = services.accounts.by_email("lea@example.org")
    services.tickets.claim(ref.ticket_id, lea)
    return int(ref.ticket_id)


def warned(response: Any) -> bool:
    return response.status == 422 and response.url.endswith("/rendez-vous")


@pytest.mark.parametrize("viewport", ["laptop", "phone"])
def test_propose_then_listed(browser: Any, server: AppServer, viewport: str) -> None:
    ticket_id = held_ticket(server.services, viewport)
    with dashboard_page(
        browser, server.url, viewport, "lea@example.org", PASSWORD, expected=warned
    ) as page:
        page.goto(f"{server.url}/tableau/tickets/{ticket_id}")
        section = page.locator("#appointments")
        assert "Aucun rendez-vous pour ce ticket." in section.inner_text()
        page.select_option("#appointment-kind", "phone")
        page.fill("#appointment-day", "2026-03-04")
        page.fill("#appointment-time", "14:30")
        page.fill("#appointment-call-from", "03 21 00 00 00")
        page.fill("#appointment-note", "Prépare tes questions.")
        page.click("#appointment-propose")
        page.wait_for_url(f"**/tableau/tickets/{ticket_id}")
        line = page.locator('[data-test="appointment"]').first
        line.wait_for()
        text = line.inner_text()
        assert "04/03/2026 à 14:30" in text and "Appel téléphonique" in text
        assert "Proposé, sans réponse" in text and "Prépare tes questions." in text

        # Outside opening hours: warned, the values kept, then proposed anyway.
        page.select_option("#appointment-kind", "in_person")
        page.select_option("#appointment-site", "henin")
        page.fill("#appointment-day", "2026-03-05")
        page.fill("#appointment-time", "19:00")
        page.click("#appointment-propose")
        page.locator("#appointment-anyway").wait_for()
        assert "en dehors des horaires" in page.locator("#appointment-error").inner_text()
        assert page.input_value("#appointment-time") == "19:00"
        assert page.input_value("#appointment-site") == "henin"
        page.check("#appointment-anyway")
        page.click("#appointment-propose")
        page.wait_for_url(f"**/tableau/tickets/{ticket_id}")
        newest = page.locator('[data-test="appointment"]').first
        newest.wait_for()
        assert "05/03/2026 à 19:00" in newest.inner_text()
        assert "hors horaires d'ouverture" in newest.inner_text()
        statuses = page.locator('[data-test="appointment-status"]').all_inner_texts()
        assert statuses == ["Proposé, sans réponse", "Reporté"]  # the first one was replaced
