"""Asking a triage question (`action_ask_<slot>`): never the same words twice in a row."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.conversation import since_user_message
from actions.triage_slots import PARSERS

# What the form itself runs between a message and its question (not a side answer).
FORM_STEPS = frozenset({"action_listen", "triage_form", "validate_triage_form"})


class ActionAskSlot(Action):
    """Asks a triage question: silent while the triage waits (a feeling was just shared),
    in other words the second time (`utter_ask_<slot>_again`: the first answer was not one)."""

    def __init__(self, slot: str) -> None:
        self.slot = slot

    def name(self) -> str:
        return f"action_ask_{self.slot}"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if tracker.get_slot("triage_hold"):
            return []
        # Asked again in other words after a failed answer, or after a side answer (an FAQ,
        # "pourquoi ?"): never the same sentence twice in a row.
        again = (tracker.get_slot("triage_retries") or {}).get(self.slot) or _after_a_side_answer(
            tracker
        )
        plain, other = f"utter_ask_{self.slot}", f"utter_ask_{self.slot}_again"
        response = other if again else plain
        if _last_question(tracker) == response:  # never the same words twice in a row
            response = plain if again else other
        dispatcher.utter_message(response=response)
        return []


def _after_a_side_answer(tracker: Tracker) -> bool:
    """Since the latest message, the bot said something else before asking again (an FAQ,
    "pourquoi ?", a question noted for the counsellor)."""
    for event in since_user_message(tracker):
        if event.get("event") == "bot":
            return True
        name = event.get("name") or ""
        if event.get("event") == "action" and name not in FORM_STEPS:
            if not name.startswith("action_ask_"):
                return True
    return False


def _last_question(tracker: Tracker) -> str | None:
    """The response of the bot's latest triage question (its `utter_action`)."""
    for event in reversed(tracker.events):
        if event.get("event") == "bot":
            name = str((event.get("metadata") or {}).get("utter_action") or "")
            if name.startswith("utter_ask_"):
                return name
    return None


ASK_ACTIONS = tuple(ActionAskSlot(slot) for slot in PARSERS)
