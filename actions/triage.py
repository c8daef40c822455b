"""The triage conversation: form validation, summary, corrections and hand-off requests."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.crisis import ActionCrisis, CrisisContext
from actions.crisis_support import crisis_kind
from actions.summary import summary_from, words_of
from actions.triage_parsing import (
    SKIPPED,
    Answer,
    parse_age,
    parse_contact,
    parse_followed,
    parse_location,
    parse_needs,
    parse_situation,
)
from handoff.desk import HandoffDesk
from handoff.models import Milestone, Urgency
from handoff.policies import Policies
from handoff.services.handoff import HandoffService
from handoff.services.people import PeopleService

log = logging.getLogger(__name__)

TRIAGE_SLOTS = ("needs", "age", "location", "situation", "followed", "contact")
FIELD_LABELS = {
    "needs": "Ce que tu cherches",
    "age": "Âge",
    "location": "Où",
    "situation": "En ce moment",
    "followed": "Déjà suivi·e",
    "contact": "Contact",
}


def _answer(tracker: Tracker) -> Answer:
    return Answer.from_latest(tracker.latest_message)


def _requested(tracker: Tracker, slot: str) -> bool:
    return tracker.get_slot("requested_slot") == slot


class ValidateTriageForm(FormValidationAction):
    """Reads each answer with actions.triage_parsing; a digression fills nothing.

    Every answer also (re)schedules the "on reprend ?" nudge for a triage left part-way, or
    cancels it once every question is answered (handoff/policies.py)."""

    def __init__(
        self, policies: Policies | None = None, questions: Sequence[str] = TRIAGE_SLOTS
    ) -> None:
        super().__init__()
        self.policies = policies
        # The questions asked, in order (maraude.yml `triage.questions`); others are skipped.
        self.questions = tuple(questions)

    def name(self) -> str:
        return "validate_triage_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> list[str]:
        """The configured questions, in the configured order (the domain lists all six)."""
        return [slot for slot in self.questions if slot in domain_slots]

    async def extract_needs(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        # Also on activation (no requested slot yet): "jcherche du taf" both starts the
        # triage and answers its first question.
        requested = tracker.get_slot("requested_slot")
        if requested not in (None, "needs"):
            return {}
        if requested is None and tracker.get_slot("needs"):
            return {}
        value = parse_needs(_answer(tracker))
        if value is None:
            return {}
        return {"needs": value if isinstance(value, list) else [value]}

    async def extract_age(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        answer = _answer(tracker)
        if not _requested(tracker, "age"):
            # An age given spontaneously ("j'ai 19 ans et je cherche du taf") is kept too.
            entity = answer.entity("age")
            return {"age": entity} if entity and not tracker.get_slot("age") else {}
        value = parse_age(answer)
        return {"age": value} if value else {}

    async def extract_location(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if not _requested(tracker, "location"):
            return {}
        value = parse_location(_answer(tracker))
        return {"location": value} if value else {}

    async def extract_situation(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if not _requested(tracker, "situation"):
            return {}
        value = parse_situation(_answer(tracker))
        return {"situation": value} if value else {}

    async def extract_followed(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if not _requested(tracker, "followed"):
            return {}
        value = parse_followed(_answer(tracker))
        return {"followed": value} if value else {}

    async def extract_contact(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if not _requested(tracker, "contact"):
            return {}
        value = parse_contact(_answer(tracker))
        if value is None:
            return {}
        if isinstance(value, str):  # skipped
            return {"contact": value}
        how, when = value
        return {"contact": how, "availability": when}

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        events = await super().run(dispatcher, tracker, domain)
        # Availability is not a required slot (never asked on its own): rasa_sdk drops it
        # from the validated events, so it rides along with the contact answer here.
        if any(e.get("event") == "slot" and e.get("name") == "contact" for e in events):
            events.append(SlotSet("availability", tracker.get_slot("availability")))
        if self.policies is not None and not _answer(tracker).external:
            # A nudge the app triggered is not an answer: it must not re-plan itself.
            await self._schedule_nudge(tracker, events)
        return events

    async def _schedule_nudge(self, tracker: Tracker, events: list[EventType]) -> None:
        slots = {slot: tracker.get_slot(slot) for slot in self.questions}
        slots.update({e["name"]: e.get("value") for e in events if e.get("event") == "slot"})
        complete = all(slots.get(slot) is not None for slot in self.questions)
        assert self.policies is not None
        try:
            await asyncio.to_thread(self.policies.triage_progress, tracker.sender_id, complete)
        except Exception:  # a nudge must never break the triage itself
            log.exception("could not schedule the triage nudge for %s", tracker.sender_id)


def _passthrough(slot: str) -> Any:
    async def validate(
        self: ValidateTriageForm,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> dict[str, Any]:
        return {slot: value}

    return validate


# Values are parsed in extract_*; validation only passes them on.
for _slot in ("needs", "age", "location", "situation", "followed", "contact"):
    setattr(ValidateTriageForm, f"validate_{_slot}", _passthrough(_slot))


def summary_text(tracker: Tracker) -> str:
    lines = []
    for slot in TRIAGE_SLOTS:
        raw = tracker.get_slot(slot)
        if isinstance(raw, list):
            raw = ", ".join(raw)
        if slot == "contact" and tracker.get_slot("availability"):
            raw = f"{raw} ({tracker.get_slot('availability')})"
        lines.append(f"• {FIELD_LABELS[slot]} : {raw if raw not in (None, '') else SKIPPED}")
    return "\n".join(lines)


class ActionTriageSummary(Action):
    """The short summary to confirm or correct."""

    def __init__(self, people: PeopleService | None = None) -> None:
        self.people = people  # records the "triage completed" funnel milestone

    def name(self) -> str:
        return "action_triage_summary"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
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
    """Not understood: ask to rephrase; the second time in a row, offer a human."""

    def name(self) -> str:
        return "action_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        user_turns = [e for e in tracker.events if e.get("event") == "user"]
        previous = user_turns[-2] if len(user_turns) >= 2 else None
        previous_intent = ((previous or {}).get("parse_data") or {}).get("intent") or {}
        if previous_intent.get("name") == "nlu_fallback":
            dispatcher.utter_message(response="utter_default_twice")
            dispatcher.utter_message(response="utter_offer_counsellor")
        else:
            dispatcher.utter_message(response="utter_default")
        return []


class ActionGreet(Action):
    """Hello, or, for someone who left a triage half-way, the offer to pick it up again."""

    def __init__(self, questions: Sequence[str] = TRIAGE_SLOTS) -> None:
        self.questions = tuple(questions)  # maraude.yml `triage.questions`

    def name(self) -> str:
        return "action_greet"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        filled = [s for s in self.questions if tracker.get_slot(s) is not None]
        unfinished = filled and len(filled) < len(self.questions)
        if unfinished and not tracker.get_slot("handoff_requested"):
            dispatcher.utter_message(response="utter_welcome_back")
        else:
            dispatcher.utter_message(response="utter_greet")
        return []


class ActionRequestHandoff(Action):
    """Stores the hand-off request with the triage summary.

    A crisis never waits for "2 jours ouvrés": should a crisis intent reach this action, the
    crisis path answers it (actions/crisis.py: the helplines and an urgent ticket)."""

    def __init__(
        self,
        handoff: HandoffService,
        promised_delay: str,
        desk: HandoffDesk | None = None,
        crisis: CrisisContext | None = None,
    ) -> None:
        self.handoff = handoff
        self.promised_delay = promised_delay
        self.desk = desk  # told of the new or changed ticket (the counsellors' bridge listens)
        self.crisis = crisis

    def name(self) -> str:
        return "action_request_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if crisis_kind(intent):
            crisis = self.crisis or CrisisContext(self.handoff, self.desk)
            return await ActionCrisis(crisis).run(dispatcher, tracker, domain)
        source = "triage" if tracker.get_slot("needs") else "ask_human"
        excerpt = words_of(tracker)
        try:
            ref = await asyncio.to_thread(
                self.handoff.request,
                tracker.sender_id,
                summary_from(tracker, excerpt),
                source=source,
                urgency=Urgency.normal,
            )
        except LookupError:
            log.warning("hand-off for unknown sender %s not stored", tracker.sender_id)
        else:
            if self.desk is not None:
                await self.desk.ticket_changed(ref.ticket_id, ref.change)
        dispatcher.utter_message(response="utter_handoff_done", delay=self.promised_delay)
        return [SlotSet("handoff_requested", True)]
