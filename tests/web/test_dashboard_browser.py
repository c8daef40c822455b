"""The counsellor dashboard in headless Debian Chromium (Playwright), against the real app
served by uvicorn (no engine needed): login, live queue, claim, reply, resolve, and a young
person's XSS payload shown as text."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from core.models import Channel, Origin, TicketStatus
from handoff.requests import TriageSummary
from tests.support import AppServer, make_settings

pytestmark = [pytest.mark.browser]
PASSWORD = "un-mot-de-passe-solide"
XSS = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'
LIVE_TIMEOUT = 20_000  # ms: the pages poll every 5 s


@pytest.fixture(scope="module")
def server(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    folder: Path = tmp_path_factory.mktemp("dashboard")
    with AppServer(make_settings(folder)) as app:
        app.services.accounts.add("lea@example.org", "Léa", PASSWORD, team="lens")
        yield app


_people = iter(range(1, 10_000))


def new_ticket(services: Any, needs: list[str], excerpt: str | None = None) -> tuple[int, int]:
    """A young person (consenting) asks for a counsellor: (ticket id, person id)."""
    person = services.people.identify(Channel.simulator, f"navigateur-{next(_people)}")
    services.people.record_consent(person.pseudo_id, True)
    ref = services.handoff.request(
        person.pseudo_id,
        TriageSummary(needs=needs, location="Lens", excerpt=excerpt),
        source="triage",
    )
    return int(ref.ticket_id), int(person.id)


def youth_says(services: Any, ticket_id: int, text: str) -> None:
    """What the pipeline does with a young person's message during the hand-off (in a
    thread of its own: Playwright's sync API keeps an event loop running in this one)."""
    view = services.tickets.get(ticket_id)
    with ThreadPoolExecutor(1) as pool:
        pool.submit(lambda: asyncio.run(services.desk.youth_message(view, text))).result()


def log_in(page: Any, server: AppServer) -> None:
    page.goto(f"{server.url}/tableau")
    page.wait_for_url("**/tableau/connexion")
    page.fill("#email", "lea@example.org")
    page.fill("#password", PASSWORD)
    page.click("#login")
    page.wait_for_url("**/tableau")


def test_login_live_queue_claim_reply_resolve(page: Any, server: AppServer) -> None:
    services = server.services
    first, _ = new_ticket(services, ["emploi"])
    log_in(page, server)
    assert "File d'attente" in page.title()
    page.locator(f'tr[data-ticket="{first}"]').wait_for()

    # A new ticket shows up without a reload.
    page.evaluate("window.__sameDocument = true")
    second, person = new_ticket(services, ["logement", "argent / aides"])
    row = page.locator(f'tr[data-ticket="{second}"]')
    row.wait_for(timeout=LIVE_TIMEOUT)
    assert page.evaluate("window.__sameDocument") is True
    assert "logement, argent / aides" in row.inner_text()
    assert page.locator("#queue-count").inner_text() == "2"

    # Claim from the queue: the ticket page opens with the reply box.
    row.get_by_role("button", name="Je prends").click()
    page.wait_for_url(f"**/tableau/tickets/{second}")
    assert f"Tu as pris le ticket #{second}" in page.locator(".flash-ok").inner_text()
    assert services.tickets.get(second).status == TicketStatus.claimed

    # A canned reply fills the box; the counsellor edits it and sends.
    canned = services.settings.handoff.canned_replies[1]
    page.select_option("#canned", index=2)
    assert page.input_value("#reply-text") == canned
    page.fill("#reply-text", "Salut, c'est Léa. On s'appelle demain ?")
    page.click("#send-reply")
    page.locator(".flash-ok", has_text="Message envoyé au jeune.").wait_for()
    sent = services.tickets.outgoing_since(person, 0)
    assert [(m.origin, m.counsellor_name, m.text) for m in sent][-1] == (
        Origin.counsellor,
        "Léa",
        "Salut, c'est Léa. On s'appelle demain ?",
    )
    assert (
        page.locator(".line.from-counsellor")
        .last.inner_text()
        .endswith("Salut, c'est Léa. On s'appelle demain ?")
    )

    # The young person's answer appears without a reload.
    page.evaluate("window.__sameDocument = true")
    youth_says(services, second, "ok demain 10h")
    page.locator(".line.from-youth", has_text="ok demain 10h").wait_for(timeout=LIVE_TIMEOUT)
    assert page.evaluate("window.__sameDocument") is True

    # Resolve with an outcome.
    page.select_option("#outcome", "mission_locale")
    page.fill("#outcome-comment", "RDV pris à la ML de Lens")
    page.click("#resolve")
    page.locator(".flash-ok", has_text="clôturé").wait_for()
    view = services.tickets.get(second)
    assert (view.status, view.outcome) == (TicketStatus.resolved, "mission_locale")
    assert page.locator("#resolve").count() == 0

    # Back on the queue, the resolved ticket is gone.
    page.click("text=File d'attente")
    page.wait_for_url("**/tableau")
    assert page.locator(f'tr[data-ticket="{second}"]').count() == 0
    assert page.locator(f'tr[data-ticket="{first}"]').count() == 1


def test_a_young_persons_xss_payload_is_shown_as_text(page: Any, server: AppServer) -> None:
    services = server.services
    log_in(page, server)
    # In the queue, rendered by the live refresh (JSON + textContent).
    ticket, _ = new_ticket(services, [XSS], excerpt=XSS)
    row = page.locator(f'tr[data-ticket="{ticket}"]')
    row.wait_for(timeout=LIVE_TIMEOUT)
    assert XSS in row.inner_text()
    assert page.locator("#queue img, #queue script").count() == 0

    lea = services.accounts.by_email("lea@example.org")
    services.tickets.claim(ticket, lea)
    youth_says(services, ticket, XSS)
    page.goto(f"{server.url}/tableau/tickets/{ticket}")
    # Rendered by the server (Jinja autoescape)...
    assert page.locator(".line.from-youth .text").last.inner_text() == XSS
    assert f"« {XSS} »" in page.locator("#summary").inner_text()
    # ...and by the live refresh of the transcript.
    youth_says(services, ticket, XSS + " encore")
    page.locator(".line.from-youth .text", has_text="encore").wait_for(timeout=LIVE_TIMEOUT)
    assert page.locator(".line.from-youth .text").last.inner_text() == XSS + " encore"
    assert page.locator("main img, main script").count() == 0
    assert page.evaluate("typeof window.__xss") == "undefined"
