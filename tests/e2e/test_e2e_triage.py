"""End to end through the fake Bot API: the triage, and a crisis in the middle of it."""

from __future__ import annotations

from typing import Any

import pytest

from core.models import ConsentStatus
from tests.support.chat import Chat, text_of
from tests.support.telegram import keyboard, pseudo, start

pytestmark = pytest.mark.engine


def test_full_triage_with_buttons_and_free_text(stack: Any) -> None:
    chat = Chat(stack)
    start(stack, chat.user)
    assert "?" in text_of(chat.press("OK pour moi"))  # the opening question

    assert "âge" in text_of(chat.say("jcherche du taf")).lower()
    assert "habites" in text_of(chat.say("j'ai 19 ans")).lower()
    situation = chat.say("59100")
    assert "Rien pour l'instant" in dict(keyboard(situation[-1]))
    assert "accompagne" in text_of(chat.press("Rien pour l'instant")).lower()
    assert "recontacte" in text_of(chat.press("Non")).lower()
    # "par tel" asks for the number (consent given), "le matin" already said when
    assert "numéro" in text_of(chat.say("appelle moi plutot le matin"))
    summary = chat.say("06 12 34 56 78")
    resume = text_of(summary)
    for expected in ("emploi", "19", "59100", "ni emploi", "non", "par téléphone", "le matin"):
        assert expected in resume, resume
    assert "0612345678" in resume
    assert "recontacte" in text_of(chat.press("C'est bon")).lower()
    done = text_of(chat.press("Oui"))
    assert stack.settings.organisation.promised_delay in done

    sender = pseudo(stack, chat.user)
    [request] = stack.services.handoff.open_requests(sender)
    assert request.needs == ["emploi"] and request.age == "19" and request.location == "59100"
    assert request.situation == "ni emploi, ni études, ni formation"
    assert (request.followed, request.contact) == ("non", "par téléphone")
    assert (request.availability, request.phone) == ("le matin", "0612345678")
    assert request.urgency == "normal" and request.source == "triage"
    assert "jcherche du taf" in (request.excerpt or "")
    assert stack.services.people.get(sender).consent is ConsentStatus.granted


def test_crisis_in_the_middle_of_the_triage(stack: Any) -> None:
    chat = Chat(stack)
    start(stack, chat.user)
    chat.press("OK pour moi")
    chat.say("jcherche un appart")
    crisis = chat.say("jen peux plus jveux mourir")
    assert "3114" in crisis[0]["text"]  # numbers first, no question before them
    assert not any(keyboard(m) for m in crisis)
    assert "priorité" in text_of(crisis)
    [request] = stack.services.handoff.open_requests(pseudo(stack, chat.user))
    assert request.urgency == "crisis" and request.crisis_kind == "suicide"
    assert request.needs == ["logement"]
