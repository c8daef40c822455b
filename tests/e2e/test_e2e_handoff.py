"""End to end: a young person on (fake) Telegram, the real engine, a counsellor on the dashboard.

triage → ticket → claim in the dashboard → the counsellor's reply reaches the young person →
their answer reaches the counsellor → resolve → the bot answers again.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from core.models import Role, TicketStatus
from tests.support.chat import Chat, text_of
from tests.support.dashboard import DashboardClient
from tests.support.telegram import pseudo, start

pytestmark = pytest.mark.engine
PASSWORD = "mot-de-passe-solide"


def wait_for(condition: Any, what: str, timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_triage_ticket_dashboard_relay_and_back_to_the_bot(stack: Any) -> None:
    services = stack.services
    chat = Chat(stack)
    start(stack, chat.user)
    chat.press("OK pour moi")
    chat.say("jcherche du taf")
    chat.say("22 ans")
    chat.say("j'habite à Liévin")
    chat.press("Rien pour l'instant")
    chat.press("Non")
    chat.say("ici dans le chat le soir")
    chat.press("C'est bon")
    done = text_of(chat.press("Oui"))
    assert stack.settings.organisation.promised_delay in done

    # The request is a ticket, routed by the commune, waiting in the queue.
    [ticket] = services.tickets.tickets_of(pseudo(stack, chat.user))
    assert (ticket.status, ticket.team) == (TicketStatus.new, "lens")
    assert ticket.summary["needs"] == ["emploi"] and ticket.summary["age"] == "22"

    email = f"lea.{chat.user}@example.org"
    services.accounts.add(email, "Léa", PASSWORD, role=Role.counsellor, team="lens")
    dashboard = DashboardClient.connect(stack.app.url)
    try:
        dashboard.login(email, PASSWORD)
        assert ticket.id in [row["id"] for row in dashboard.queue()]

        # Claim: the young person is told who picked up their request.
        before = len(stack.telegram.sent_messages(chat.user))
        assert not dashboard.errors(dashboard.claim(ticket.id))
        notice = stack.telegram.wait_for_messages(chat.user, before + 1)[-1]["text"]
        assert "Léa" in notice

        # The counsellor's reply reaches the young person through the bot, signed.
        dashboard.reply(ticket.id, "Salut ! Tu es dispo demain 18h pour un appel ?")
        relayed = stack.telegram.wait_for_messages(chat.user, before + 2)[-1]["text"]
        assert relayed.startswith("Léa (conseiller·e) :")
        assert "demain 18h" in relayed

        # The young person's answer goes to the counsellor, not to the engine.
        sent_before = len(stack.telegram.sent_messages(chat.user))
        stack.telegram.push_message(chat.user, "ouais grave, merci")
        wait_for(
            lambda: any(
                m["text"] == "ouais grave, merci" for m in dashboard.messages(ticket.id)["messages"]
            ),
            "the young person's answer on the dashboard",
        )
        time.sleep(1)
        assert len(stack.telegram.sent_messages(chat.user)) == sent_before  # the bot kept quiet
        assert services.tickets.get(ticket.id).status is TicketStatus.waiting_counsellor

        # Resolve: the young person is told, and the bot answers again.
        assert not dashboard.errors(dashboard.resolve(ticket.id, "mission_locale", "RDV pris"))
        closing = stack.telegram.wait_for_messages(chat.user, sent_before + 1)[-1]["text"]
        assert "terminé l'échange" in closing
        resolved = services.tickets.get(ticket.id)
        assert (resolved.status, resolved.outcome) == (TicketStatus.resolved, "mission_locale")
        back = chat.say("c'est quoi le service civique ?")
        assert "civique" in text_of(back).lower()
    finally:
        dashboard.http.close()
