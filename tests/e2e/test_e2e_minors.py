"""End to end, the age asked before consent: the real python-telegram-bot client polling a
fake Bot API, the real app, the real trained Rasa engine calling the app's actions, SQLite.

Under 15: no message stored, the helplines and a call-back, the engine's tracker erased once
the conversation is idle; 15-17: the ticket says "mineur·e"; an age out of 12-30 is asked again
and never stored.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text

from core.clock import FixedClock, SystemClock
from core.db import Database
from core.minors import MinorsService
from core.models import ConsentStatus, Message, YoungPerson
from core.vocabulary import UNDER_15
from tests.support.telegram import age_question, keyboard, new_user, pseudo, start, texts

pytestmark = pytest.mark.engine


def press(stack: Any, user: int, title: str, replies: int = 1) -> list[dict[str, Any]]:
    """Press `title` on the latest keyboard offering it; the bot's `replies` messages."""
    tg = stack.telegram
    message = next(m for m in reversed(tg.sent_messages(user)) if title in dict(keyboard(m)))
    before = len(tg.sent_messages(user))
    tg.push_callback(user, message["message_id"], dict(keyboard(message))[title])
    return list(tg.wait_for_messages(user, before + replies, timeout=30)[before:])


def say(stack: Any, user: int, line: str, replies: int = 1) -> list[dict[str, Any]]:
    tg = stack.telegram
    before = len(tg.sent_messages(user))
    tg.push_message(user, line)
    return list(tg.wait_for_messages(user, before + replies, timeout=30)[before:])


def engine_slots(stack: Any, sender: str) -> dict[str, Any]:
    response = httpx.get(
        f"{stack.engine.url}/conversations/{sender}/tracker",
        params={"include_events": "NONE", "token": stack.settings.engine_auth_token},
        timeout=10,
    )
    response.raise_for_status()
    return dict(response.json().get("slots") or {})


def stored_messages(stack: Any, person_id: int) -> int:
    with stack.services.db.transaction() as session:
        return int(
            session.scalar(
                select(func.count()).select_from(Message).where(Message.person_id == person_id)
            )
            or 0
        )


def tracker_events(stack: Any, sender: str) -> int:
    db = Database.from_url(stack.settings.tracker_store_url)
    try:
        with db.transaction() as session:
            found = session.scalar(
                text("SELECT COUNT(*) FROM events WHERE sender_id = :s"), {"s": sender}
            )
            return int(found or 0)
    finally:
        db.dispose()


def test_under_15_nothing_stored_helplines_and_a_call_back(stack: Any) -> None:
    tg, user = stack.telegram, new_user()
    question = age_question(stack, user)
    assert list(dict(keyboard(question))) == [
        "Moins de 15 ans",
        "15-17 ans",
        "18-25 ans",
        "Plus de 25 ans",
        "Passer",
    ]
    assert "OK pour moi" not in "".join(str(keyboard(m)) for m in tg.sent_messages(user))
    said = "\n".join(texts(press(stack, user, "Moins de 15 ans", replies=3)))
    assert "parent" in said and "je garde rien" in said.lower()
    assert "119" in said and "0 800 235 236" in said
    offer = tg.sent_messages(user)[-1]
    assert list(dict(keyboard(offer))) == ["Qu'on m'écrive ici", "Qu'on m'appelle", "Non merci"]

    answer = "\n".join(texts(say(stack, user, "cest quoi la mission locale")))
    assert "Mission Locale" in answer  # still answered
    done = "\n".join(texts(press(stack, user, "Qu'on m'écrive ici")))
    assert "t'écrit ici" in done

    sender = pseudo(stack, user)
    person = stack.services.people.get(sender)
    assert person.age_band == UNDER_15 and person.consent is ConsentStatus.unknown
    assert stored_messages(stack, person.id) == 0
    assert stack.services.people.consent_history(sender) == []
    [request] = stack.services.handoff.open_requests(sender)
    assert request.minor and request.age == "moins de 15 ans"
    assert request.excerpt is None and request.questions == []

    # once the conversation is idle for a session, the engine's memory of it goes too
    assert tracker_events(stack, sender) > 0
    later = FixedClock(SystemClock().now() + timedelta(minutes=61))
    report = MinorsService(stack.services.db, stack.settings.tracker_store_url, later).forget_idle()
    assert report.events > 0
    assert tracker_events(stack, sender) == 0
    with stack.services.db.transaction() as session:
        assert session.scalar(select(YoungPerson.id).where(YoungPerson.pseudo_id == sender))


def test_a_16_year_olds_ticket_says_mineur(stack: Any) -> None:
    user = new_user()
    question = start(stack, user, age="15-17 ans")
    assert "15 ans" in question["text"]  # "Dès 15 ans, c'est toi qui décides."
    press(stack, user, "OK pour moi", replies=2)
    offer = say(stack, user, "jveux parler a un conseiller")
    assert any(keyboard(m) for m in offer)
    press(stack, user, "Oui")
    sender = pseudo(stack, user)
    assert stack.services.people.get(sender).age_band == "15_17"
    [request] = stack.services.handoff.open_requests(sender)
    assert request.minor is True
    assert stack.services.tickets.get(request.ticket_id).minor is True


def test_an_age_out_of_range_is_asked_again_and_never_stored(stack: Any) -> None:
    user = new_user()
    age_question(stack, user)
    [again] = say(stack, user, "45")
    assert "âge" in again["text"] and "Passer" in dict(keyboard(again))  # asked again, once
    summary, consent = say(stack, user, "45", replies=2)  # then the consent question
    assert "garde" in summary["text"]
    assert list(dict(keyboard(consent))) == ["OK pour moi", "Non merci"]
    sender = pseudo(stack, user)
    assert stack.services.people.get(sender).age_band is None
    slots = engine_slots(stack, sender)
    assert slots.get("age") is None and slots.get("age_band") is None
