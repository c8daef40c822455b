"""Around the triage form (actions/triage_form.py): the summary, corrections, "pourquoi tu
demandes ça ?"."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import reading
from actions.conversation import latest_answer
from actions.triage_slots import TRIAGE_SLOTS
from core.models import Milestone
from core.people import PeopleService
from core.vocabulary import SKIPPED

FIELD_LABELS = {
    "needs": "Ce que tu cherches",
    "age": "Âge",
    "location": "Où",
    "situation": "En ce moment",
    "followed": "Déjà suivi·e",
    "contact": "Contact",
    "phone": "Téléphone",
}


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
        if self.people is None:
            return []
        # The first summary of a triage marks it completed; a summary shown again after a
        # correction is the same triage.
        if not _summary_shown_before(tracker):
            await asyncio.to_thread(
                self.people.record_milestone, tracker.sender_id, Milestone.triage_completed
            )
        # Already followed by a structure ("oui"/"non", else not said) kept on the person for
        # the results' "invisible" share; each summary, so that a correction counts. Nothing
        # is kept under 15 (core/people.py).
        followed = tracker.get_slot("followed")
        await asyncio.to_thread(
            self.people.record_followed,
            tracker.sender_id,
            followed if isinstance(followed, str) else None,
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
        answer = latest_answer(tracker)
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
