"""What the bot says to a message it did not place (`action_fallback`, `action_out_of_scope`):
an answer to what the message is, else a request to rephrase."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import reading
from actions.conversation import consented, latest_answer, since_user_message
from actions.greet import ActionGreet
from actions.handoff import LinkContext
from actions.questions import note_question
from actions.triage_facts import age_stated, known_communes, phone_in, place_stated
from actions.triage_parsing import CONTACT_LABELS, NEED_WORDS
from core.text import fold
from core.vocabulary import UNDER_15

log = logging.getLogger(__name__)


class ActionFallback(Action):
    """A message the bot did not place (nlu_fallback, or out of scope): answer what it is
    (a phone number, a feeling, someone writing for their child, trouble writing, a bare
    "?" or "ok", a question), else ask to rephrase; the second time in a row, choices and
    a human. Never an emergency number: risk words go to the crisis net before this."""

    def __init__(self, link: LinkContext | None = None, name: str = "action_fallback") -> None:
        self.link = link
        self._name = name

    def name(self) -> str:
        return self._name

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        answer = latest_answer(tracker)
        text = "" if answer.is_payload else answer.text
        phone = phone_in(text)
        if phone:
            return await self._phone(phone, dispatcher, tracker)
        who = reading.writer(text) if not tracker.get_slot("writer") else None
        if who is not None:
            dispatcher.utter_message(response=f"utter_{who}_intro")
            return [SlotSet("writer", who)]
        if reading.writing_trouble(text):
            dispatcher.utter_message(response="utter_writing_help")
            return []
        if reading.feelings(text):
            dispatcher.utter_message(response="utter_feelings")
            return []
        if reading.stops_questions(text):
            dispatcher.utter_message(response="utter_stop_questions")
            return []
        if reading.bare_reaction(text):
            dispatcher.utter_message(response="utter_easy_choice")
            return []
        if reading.greets(text) and tracker.get_slot("handoff_requested"):
            # "coucou cest encore moi": hello again, with the news or the counsellor they knew
            return await ActionGreet(link=self.link).run(dispatcher, tracker, domain)
        if reading.is_question(text):
            # a question the bot has no answer for: said honestly, kept for the counsellor
            link = self.link.link if self.link is not None else None
            return await note_question(text, dispatcher, tracker, link)
        if triage_facts_in(text) and not tracker.get_slot("handoff_requested"):
            # "slt jai 22 ans jsuis sur roubaix je cherche un taf": not understood as a whole,
            # but it says what the triage asks: the triage takes it from there.
            return [FollowupAction("triage_form")]
        if _misunderstood_before(tracker):
            dispatcher.utter_message(response="utter_default_twice")
        elif self._name == "action_out_of_scope":
            dispatcher.utter_message(response="utter_out_of_scope")
        else:
            dispatcher.utter_message(response="utter_default")
        return []

    async def _phone(
        self, phone: str, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> list[EventType]:
        hook = self.link.minor_callback if self.link is not None else None
        if hook is not None and tracker.get_slot("age_band") == UNDER_15:
            # under 15 (no consent possible alone): a number typed is a call-back asked for
            return await hook(dispatcher, tracker, True, phone)
        if not consented(tracker):
            dispatcher.utter_message(response="utter_phone_no_consent")
            return []
        dispatcher.utter_message(response="utter_phone_noted")
        if self.link is not None and self.link.link is not None:
            try:
                await asyncio.to_thread(
                    self.link.link.add_to_open_request, tracker.sender_id, phone=phone
                )
            except Exception:
                log.exception("could not add the phone number to the open ticket")
        return [SlotSet("phone", phone), SlotSet("contact", CONTACT_LABELS["telephone"])]


def triage_facts_in(text: str) -> bool:
    """A need in words, an age ("22 ans") or a town said in passing."""
    folded = fold(text)
    if any(re.search(pattern, folded) for pattern in NEED_WORDS.values()):
        return True
    return bool(age_stated(text) or place_stated(text, frozenset(known_communes())))


MISUNDERSTOOD = frozenset({"action_fallback", "action_out_of_scope"})


def _misunderstood_before(tracker: Tracker) -> bool:
    """The bot's previous answer (before the latest message) was already a "pas compris"."""
    for event in since_user_message(tracker, back=1):
        if event.get("event") == "action":
            if event.get("name") in MISUNDERSTOOD:
                return True
            if event.get("name") not in ("action_listen", None):
                return False
    return False
