"""Around the triage form (actions/triage_form.py): the summary, corrections, "pourquoi tu
demandes ça ?", hello again, and what the bot says when it did not understand."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import reading
from actions.handoff import LinkContext, returning_buttons
from actions.triage_form import TRIAGE_SLOTS, consented, known_communes
from actions.triage_parsing import NEED_WORDS, SKIPPED, Answer, age_stated, phone_in, place_stated
from core.models import Milestone
from core.people import PeopleService
from core.text import fold

log = logging.getLogger(__name__)

FIELD_LABELS = {
    "needs": "Ce que tu cherches",
    "age": "Âge",
    "location": "Où",
    "situation": "En ce moment",
    "followed": "Déjà suivi·e",
    "contact": "Contact",
    "phone": "Téléphone",
}


def _answer(tracker: Tracker) -> Answer:
    return Answer.from_latest(tracker.latest_message)


def summary_text(tracker: Tracker) -> str:
    lines = []
    for slot in (*TRIAGE_SLOTS, "phone"):
        raw = tracker.get_slot(slot)
        if slot == "phone" and not raw:
            continue
        if isinstance(raw, list):
            raw = ", ".join(raw)
        availability = tracker.get_slot("availability")
        if slot == "contact" and availability and availability != SKIPPED:
            raw = f"{raw} ({availability})"
        lines.append(f"• {FIELD_LABELS[slot]} : {raw if raw not in (None, '') else SKIPPED}")
    return "\n".join(lines)


class ActionTriageSummary(Action):
    """The short summary to confirm or correct."""

    def __init__(
        self, people: PeopleService | None = None, questions: Sequence[str] = TRIAGE_SLOTS
    ) -> None:
        self.people = people  # records the "triage completed" funnel milestone
        self.questions = tuple(questions)

    def name(self) -> str:
        return "action_triage_summary"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if any(tracker.get_slot(slot) is None for slot in self.questions):
            # The form stopped before its end (a parent, "stop avec tes questions"): the
            # validation already said why; there is nothing to summarise.
            return []
        dispatcher.utter_message(response="utter_triage_summary", summary=summary_text(tracker))
        # The first summary of a triage marks it completed; a summary shown again after a
        # correction is the same triage.
        if self.people is not None and not _summary_shown_before(tracker):
            await asyncio.to_thread(
                self.people.record_milestone, tracker.sender_id, Milestone.triage_completed
            )
        return []


def _summary_shown_before(tracker: Tracker) -> bool:
    """The summary already ran in this triage (since the form last started)."""
    for event in reversed(tracker.events):
        if event.get("event") == "active_loop" and event.get("name") == "triage_form":
            return False
        if event.get("event") == "action" and event.get("name") == "action_triage_summary":
            return True
    return False


class ActionCorrect(Action):
    """Correcting an earlier answer: ask which one, then ask that question again."""

    def name(self) -> str:
        return "action_correct"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        answer = _answer(tracker)
        if not answer.is_payload and reading.writing_trouble(answer.text):
            # "jecri mal, dsl" reads like a correction: it is trouble writing
            dispatcher.utter_message(response="utter_writing_help")
            return []
        field_name = answer.entity("field")
        if field_name in TRIAGE_SLOTS:
            events: list[EventType] = [SlotSet(field_name, None)]
            if field_name == "contact":
                events.append(SlotSet("availability", None))
            dispatcher.utter_message(response="utter_correct_ok")
            return [*events, FollowupAction("triage_form")]
        # A correction that carries the new value ("non en fait j'ai 20 ans").
        age, location = answer.entity("age"), answer.entity("postcode") or answer.entity("commune")
        if age or location:
            events = []
            if age:
                events.append(SlotSet("age", age))
            if location:
                events.append(SlotSet("location", location))
            dispatcher.utter_message(response="utter_correct_done")
            if tracker.active_loop_name == "triage_form":
                return events
            return [*events, FollowupAction("action_triage_summary")]
        dispatcher.utter_message(response="utter_ask_correct_field")
        return []


class ActionExplainQuestion(Action):
    """'Pourquoi tu demandes ça ?': explain the current question, then the form asks again."""

    def name(self) -> str:
        return "action_explain_question"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        slot = tracker.get_slot("requested_slot")
        response = f"utter_why_{slot}" if slot in TRIAGE_SLOTS else "utter_why_general"
        dispatcher.utter_message(response=response)
        return []


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
        answer = _answer(tracker)
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
            return await self._question(text, dispatcher, tracker)
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
        return [SlotSet("phone", phone), SlotSet("contact", "par téléphone")]

    async def _question(
        self, text: str, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> list[EventType]:
        """A question the bot has no answer for: said honestly, kept for the counsellor."""
        dispatcher.utter_message(response="utter_question_noted")
        questions = list(tracker.get_slot("questions") or [])
        if text not in questions:
            questions.append(text[:300])
        if self.link is not None and self.link.link is not None:
            try:
                await asyncio.to_thread(
                    self.link.link.add_to_open_request, tracker.sender_id, question=text
                )
            except Exception:
                log.exception("could not note the question on the open ticket")
        return [SlotSet("questions", questions[-10:])]


def triage_facts_in(text: str) -> bool:
    """A need in words, an age ("22 ans") or a town said in passing."""
    folded = fold(text)
    if any(re.search(pattern, folded) for pattern in NEED_WORDS.values()):
        return True
    return bool(age_stated(text) or place_stated(text, frozenset(known_communes())))


MISUNDERSTOOD = frozenset({"action_fallback", "action_out_of_scope"})


def _misunderstood_before(tracker: Tracker) -> bool:
    """The bot's previous answer (before the latest message) was already a "pas compris"."""
    seen_user = 0
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            seen_user += 1
            if seen_user > 1:
                return False
        elif event.get("event") == "action" and seen_user == 1:
            if event.get("name") in MISUNDERSTOOD:
                return True
            if event.get("name") not in ("action_listen", None):
                return False
    return False


class ActionGreet(Action):
    """Hello; for someone who left a triage half-way, the offer to pick it up again; for
    someone whose ticket was closed, a welcome back with the counsellor who knew them."""

    def __init__(
        self, questions: Sequence[str] = TRIAGE_SLOTS, link: LinkContext | None = None
    ) -> None:
        self.questions = tuple(questions)  # maraude.yml `triage.questions`
        self.link = link

    def name(self) -> str:
        return "action_greet"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if self.link is not None and tracker.get_slot("handoff_requested"):
            state = await self.link.state(tracker.sender_id)
            if state.open is not None:
                dispatcher.utter_message(response="utter_greet_again")
                self.link.news(dispatcher, state.open)
                return []
            past = state.last_closed
            if past is not None and past.counsellor is not None:
                dispatcher.utter_message(
                    response="utter_welcome_back_link",
                    counsellor=past.counsellor,
                    buttons=returning_buttons(past.counsellor),
                )
                return [SlotSet("returning_counsellor", past.counsellor_id)]
        filled = [s for s in self.questions if tracker.get_slot(s) is not None]
        unfinished = filled and len(filled) < len(self.questions)
        if unfinished and not tracker.get_slot("handoff_requested"):
            dispatcher.utter_message(response="utter_welcome_back")
        else:
            dispatcher.utter_message(response="utter_greet")
        return []
