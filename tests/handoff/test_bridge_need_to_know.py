"""Need to know in the counsellors' Telegram group (the real app polling the fake Bot API).

A counsellor of another team gets, for a ticket's buttons and topic, exactly what a ticket
that does not exist gets: "Ce bouton n'est pas (ou plus) valable." for a button, "Ticket #N
introuvable. Ton message n'a pas été transmis." for what they write (a reply, /note,
/fausse_alerte); nothing reaches the young person or the ticket. Their own team, the counsellor
holding it and managers act as usual; a team transfer moves who may act.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.models import Role, TicketStatus, Urgency
from handoff.bridge.handlers import BUTTON_INVALID, NOT_SENT
from handoff.requests import CrisisSignal
from tests.fakes.telegram_api import FakeTelegramServer
from tests.support.bridge import SUMMARY, SUMMARY_TEAM, Env, running_bridge
from tests.support.waiting import eventually

CAMILLE, SAM, NADIA = 9101, 9102, 9103


@pytest.fixture
def env(tmp_path: Path, fake_telegram: FakeTelegramServer) -> Iterator[Env]:
    with running_bridge(tmp_path, fake_telegram) as env:
        yield env


def callbacks(message: dict[str, Any]) -> list[str]:
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    return [button["callback_data"] for row in rows for button in row]


def gone(ticket_id: int) -> str:
    """What the bridge answers a message in the topic of a ticket that does not exist."""
    return NOT_SENT.format(error=f"Ticket #{ticket_id} introuvable.")


def test_another_teams_counsellor_gets_what_an_unknown_ticket_gets(env: Env) -> None:
    assert SUMMARY_TEAM == "lens"
    chat_id, pseudo = env.young_person()
    ticket_id = env.ticket(
        pseudo,
        SUMMARY,
        urgency=Urgency.crisis,
        crisis_kind="suicide",
        signal=CrisisSignal(text="me tuer", tier="high", reason="pattern", kind="suicide"),
    )
    env.topic_of(ticket_id)
    camille = env.counsellor("Camille", CAMILLE)  # Lens
    sam = env.counsellor("Sam", SAM, team="lille")
    env.counsellor("Nadia", NADIA, role=Role.manager, team=None)
    private_before = env.private_texts(chat_id)

    # Buttons: as a button of a ticket that does not exist.
    for data in (f"tk:{ticket_id}:claim", f"tk:{ticket_id}:close"):
        theirs = env.press(ticket_id, SAM, data, first_name="Sam")
        unknown = env.press(ticket_id, SAM, data.replace(str(ticket_id), "99999"), "Sam")
        assert (theirs["text"], theirs["show_alert"]) == (BUTTON_INVALID, True), data
        assert (unknown["text"], unknown["show_alert"]) == (BUTTON_INVALID, True), data

    # Messages in the topic: a reply, a note, a false alarm: as if the ticket were gone.
    for text in ("Salut, je suis Sam", "/note rappeler", "/fausse_alerte une blague"):
        expected = env.topic_texts(ticket_id).count(gone(ticket_id)) + 1
        env.write(ticket_id, SAM, text, first_name="Sam")
        eventually(
            lambda: env.topic_texts(ticket_id).count(gone(ticket_id)) == expected,  # noqa: B023
            what=f"the answer to {text!r}",
        )

    time.sleep(0.3)  # let anything wrongly triggered happen
    ticket = env.get(ticket_id)
    assert (ticket.status, ticket.assignee_id, ticket.urgency) == (
        TicketStatus.new,
        None,
        Urgency.crisis,
    )
    assert env.services.tickets.notes(ticket_id) == []
    assert [e.kind for e in env.services.tickets.events(ticket_id)] == ["created"]
    assert env.private_texts(chat_id) == private_before
    assert not any("Sam" in text for text in env.topic_texts(ticket_id) if text != gone(ticket_id))

    # Léa's team takes it; Sam still cannot release or close it.
    assert not env.press(ticket_id, CAMILLE, f"tk:{ticket_id}:claim").get("show_alert")
    assert env.get(ticket_id).assignee_id == camille.id
    eventually(lambda: env.get(ticket_id).status is TicketStatus.claimed, what="the claim")
    for data in (f"tk:{ticket_id}:release", f"tk:{ticket_id}:close"):
        answer = env.press(ticket_id, SAM, data, first_name="Sam")
        assert (answer["text"], answer["show_alert"]) == (BUTTON_INVALID, True), data
    # A manager sees every team: may close it (the outcomes keyboard comes up).
    answer = env.press(ticket_id, NADIA, f"tk:{ticket_id}:close", first_name="Nadia")
    assert answer["text"] == "Choisis l'issue du ticket."
    env.press(ticket_id, NADIA, f"tk:{ticket_id}:back", first_name="Nadia")

    # A team transfer (from the dashboard) gives the ticket to Lille: Sam now acts on it.
    env.in_app(env.services.desk.transfer(ticket_id, camille, to_team="lille", via="web"))
    assert env.get(ticket_id).team == "lille"
    eventually(
        lambda: f"tk:{ticket_id}:claim" in callbacks(env.summary(ticket_id)),
        what="the summary's claim button again",
    )
    answer = env.press(ticket_id, SAM, f"tk:{ticket_id}:claim", first_name="Sam")
    assert not answer.get("show_alert"), answer
    assert env.get(ticket_id).assignee_id == sam.id
    # ... and Camille, of Lens, no longer does.
    env.write(ticket_id, CAMILLE, "Je suis toujours là ?")
    env.wait_topic_text(ticket_id, gone(ticket_id))
