"""End to end through the fake Bot API: the triage, and a crisis in the middle of it."""

from __future__ import annotations

from typing import Any

import pytest

from core.models import ConsentStatus
from tests.e2e.test_e2e_telegram import keyboard, new_user, pseudo, start

pytestmark = pytest.mark.engine


class Chat:
    """One young person talking to the bot through the fake Telegram server."""

    def __init__(self, stack: Any) -> None:
        self.tg, self.user = stack.telegram, new_user()

    def say(self, text: str) -> list[dict[str, Any]]:
        before = len(self.tg.sent_messages(self.user))
        self.tg.push_message(self.user, text)
        return self._new(before)

    def press(self, title: str) -> list[dict[str, Any]]:
        message = next(m for m in reversed(self.tg.sent_messages(self.user)) if keyboard(m))
        data = dict(keyboard(message))[title]
        before = len(self.tg.sent_messages(self.user))
        self.tg.push_callback(self.user, message["message_id"], data)
        return self._new(before)

    def _new(self, before: int) -> list[dict[str, Any]]:
        # Wait for the answer, then a short quiet moment so multi-message answers are whole.
        self.tg.wait_for_messages(self.user, before + 1, timeout=30)
        count = -1
        while count != len(self.tg.sent_messages(self.user)):
            count = len(self.tg.sent_messages(self.user))
            try:
                self.tg.wait_for_messages(self.user, count + 1, timeout=0.7)
            except AssertionError:
                break
        return self.tg.sent_messages(self.user)[before:]


def text_of(messages: list[dict[str, Any]]) -> str:
    return "\n".join(m["text"] for m in messages)


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
