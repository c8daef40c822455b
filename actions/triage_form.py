"""The triage form (`validate_triage_form`): which questions in which order, and what happens
around an answer.

What each message fills is read in actions/triage_slots.py (each answer by
actions/triage_parsing.py); what is not an answer is never stored: the question is asked again
once, differently (`utter_ask_<slot>_again`, actions/triage_ask.py), then skipped. A question
whose answer is known is not asked. Before the question, the young person's own message comes
first (actions/reading.py): a feeling is acknowledged and the triage waits, a question is
answered or noted for the counsellor, someone writing for their child is answered as a parent,
"stop avec tes questions" stops the questions.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import reading
from actions.conversation import consented, latest_answer
from actions.questions import note_question
from actions.triage_facts import phone_in
from actions.triage_parsing import CONTACT_LABELS, MISSING, Answer
from actions.triage_slots import FILLERS, PARSERS, TRIAGE_SLOTS
from core.people import PeopleService
from core.text import fold
from core.vocabulary import AGE_MIN, SKIPPED, UNDER_15, band_of_age
from handoff.link import LinkService
from nudges.rules import FollowUpRules

log = logging.getLogger(__name__)

# The slots a finished triage starts afresh when the young person comes back after their
# ticket was closed (age, place and phone rarely change, and are not asked again).
FRESH_SLOTS = ("needs", "situation", "followed", "contact", "availability")
YES_NO = {"oui": True, "ouais": True, "ouai": True, "ui": True, "non": False, "nan": False}


class ValidateTriageForm(FormValidationAction):
    """Reads each answer; every answer also (re)schedules the "on reprend ?" nudge for a triage
    left part-way, or cancels it once every question is answered (nudges/rules.py)."""

    def __init__(
        self,
        policies: FollowUpRules | None = None,
        questions: Sequence[str] = TRIAGE_SLOTS,
        link: LinkService | None = None,
        people: PeopleService | None = None,
    ) -> None:
        super().__init__()
        self.people = people  # an age under 15 said in the triage: nothing kept from then on
        self.policies = policies
        # The questions asked, in order (maraude.yml `triage.questions`); others are skipped.
        self.questions = tuple(questions)
        self.link = link  # to note a question on an open ticket

    def name(self) -> str:
        return "validate_triage_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> list[str]:
        """The configured questions in their order, and after the contact question the phone
        number (for "par téléphone", with consent) and when to be contacted."""
        slots = list(self.questions)
        if "contact" in slots:
            contact = tracker.get_slot("contact")
            extra = []
            if contact == CONTACT_LABELS["telephone"] and consented(tracker):
                extra.append("phone")
            if contact not in (None, SKIPPED):
                extra.append("availability")
            at = slots.index("contact") + 1
            slots[at:at] = extra
        return [slot for slot in slots if slot in domain_slots]

    async def next_requested_slot(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> EventType | None:
        """Always chosen here (rasa_sdk leaves it to Rasa when the list equals the domain's):
        the first question of `required_slots` still unanswered, or None when all are."""
        required = await self.required_slots(self.domain_slots(domain), dispatcher, tracker, domain)
        return SlotSet(
            "requested_slot", next((s for s in required if tracker.slots.get(s) is None), None)
        )

    # ---- the message before the question ---------------------------------------------
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        answer = latest_answer(tracker)
        requested = tracker.get_slot("requested_slot")
        fresh = await self._fresh_start(tracker) if requested is None else []
        if fresh:
            for event in fresh:
                tracker.slots[event["name"]] = event["value"]
            dispatcher.utter_message(response="utter_welcome_back_fresh")
        if answer.external:
            return await super().run(dispatcher, tracker, domain)
        if not answer.is_payload and reading.stops_questions(answer.text):
            if not (answer.intent or "").startswith("crisis"):
                # "arrete tes questions" (read as an insult or an opt-out): the questions stop,
                # the follow-ups stay (/stop stops those).
                dispatcher.utter_message(response="utter_stop_questions")
                return [*fresh, SlotSet("triage_hold", False), SlotSet("requested_slot", None)]
        if requested == "followed" and answer.intent == "faq" and not answer.is_payload:
            # "oui la mission locale mais ca sert a rien" names a structure the FAQ knows,
            # but it answers "quelqu'un t'accompagne déjà ?": read it as that answer.
            first = fold(answer.text).split()[:1]
            if first and first[0] in YES_NO:
                name = "affirm" if YES_NO[first[0]] else "deny"
                tracker.latest_message["intent"] = {"name": name, "confidence": 1.0}
                answer = latest_answer(tracker)
        if answer.digression:
            # Not an answer: nothing is extracted either (a town read into "jsuis pas fort a
            # lecrit" would keep the form going), so Rasa hands the message to the rules.
            return []
        early = await self._before_answer(answer, requested, dispatcher, tracker, domain)
        if early is not None:
            return fresh + early
        events = await super().run(dispatcher, tracker, domain)
        extra = await self._after_answer(answer, requested, dispatcher, tracker, domain, events)
        if any(e.get("event") == "slot" and e.get("name") == "requested_slot" for e in extra):
            # Rasa asks the first requested_slot it finds in the events: a skipped question
            # moves on to the next one, so the earlier choice goes.
            events = [e for e in events if e.get("name") != "requested_slot"]
        events = fresh + events + extra
        events += await self._under_15(events, dispatcher, tracker)
        if self.policies is not None:
            await self._schedule_nudge(tracker, events)
        return events

    async def _under_15(
        self, events: list[EventType], dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> list[EventType]:
        """An age under 15 said in the triage (the welcome's question skipped): the consent
        given goes, nothing is kept from then on, and the young person is told why."""
        ages = [e.get("value") for e in events if e.get("event") == "slot" and e["name"] == "age"]
        age = str(ages[-1]) if ages else ""
        if not age.isdigit() or band_of_age(int(age)) != UNDER_15 or int(age) < AGE_MIN:
            return []
        if tracker.get_slot("age_band") == UNDER_15 or self.people is None:
            return []
        try:
            await asyncio.to_thread(self.people.record_age_band, tracker.sender_id, UNDER_15)
        except LookupError:
            log.warning("age band for unknown sender %s not recorded", tracker.sender_id)
        dispatcher.utter_message(response="utter_under15_in_triage")
        return [SlotSet("age_band", UNDER_15), SlotSet("consent", None)]

    async def _fresh_start(self, tracker: Tracker) -> list[EventType]:
        """A triage that starts again after the young person's ticket was closed asks about
        now, not about last time (age, place and phone are kept)."""
        if not tracker.get_slot("handoff_requested") or self.link is None:
            return []
        try:
            state = await asyncio.to_thread(self.link.state, tracker.sender_id)
        except Exception:
            log.exception("could not read the link state")
            return []
        if state.open is not None:
            return []
        return [SlotSet(slot, None) for slot in FRESH_SLOTS] + [
            SlotSet("handoff_requested", False),
            SlotSet("triage_retries", None),
        ]

    def _valid(self, requested: str | None, answer: Answer) -> bool:
        if requested not in PARSERS:
            return False
        value = PARSERS[requested](answer)
        if value == SKIPPED and not answer.is_payload:
            # "jsp jsuis perdu", "jsais pas jsuis pas fort a lecrit": what they said first
            if reading.feelings(answer.text) or reading.writing_trouble(answer.text):
                return False
        return value not in (None, MISSING)

    async def _before_answer(
        self,
        answer: Answer,
        requested: str | None,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> list[EventType] | None:
        """Events that answer the message itself (the question then waits or comes again),
        or None to read it as an answer."""
        text = "" if answer.is_payload else answer.text
        if answer.entity("resume_triage"):
            # "Voir ce qui peut m'aider": the question comes (again).
            return None if requested is None else [SlotSet("triage_hold", False)]
        if answer.entity("tell_more"):
            dispatcher.utter_message(response="utter_feelings_listen")
            return [SlotSet("triage_hold", True)]
        if not text:
            return None
        who = reading.writer(text) if not tracker.get_slot("writer") else None
        if who == "parent":
            events = await super().run(dispatcher, tracker, domain)  # keep the need they said
            dispatcher.utter_message(response="utter_parent_intro")
            return [*events, SlotSet("writer", "parent"), SlotSet("requested_slot", None)]
        if who == "proche":
            dispatcher.utter_message(response="utter_proche_intro")
            return [*(await super().run(dispatcher, tracker, domain)), SlotSet("writer", "proche")]
        phone = phone_in(text)
        if phone and requested not in (None, "phone"):
            # A number typed at any question: kept (with consent) for the call-back.
            if not consented(tracker):
                dispatcher.utter_message(response="utter_phone_no_consent")
                return [SlotSet("triage_hold", False)]
            dispatcher.utter_message(response="utter_phone_noted")
            kept: list[EventType] = [SlotSet("phone", phone), SlotSet("triage_hold", False)]
            if tracker.get_slot("contact") in (None, SKIPPED):
                kept.append(SlotSet("contact", CONTACT_LABELS["telephone"]))
            return kept
        if self._valid(requested, answer):
            return None
        if text.strip() == "?" and requested in PARSERS:
            dispatcher.utter_message(response=f"utter_why_{requested}")
            return [SlotSet("triage_hold", False)]
        if reading.writing_trouble(text):
            dispatcher.utter_message(response="utter_writing_help")
            return [SlotSet("triage_hold", True)]
        if reading.feelings(text) or tracker.get_slot("triage_hold"):
            events = await super().run(dispatcher, tracker, domain) if requested is None else []
            held = tracker.get_slot("triage_hold")
            dispatcher.utter_message(response="utter_feelings_heard" if held else "utter_feelings")
            return [*events, SlotSet("triage_hold", True)]
        if reading.is_question(text):
            # kept on the open ticket too once the young person asked for someone
            link = self.link if tracker.get_slot("handoff_requested") else None
            noted = [
                *(await note_question(text, dispatcher, tracker, link)),
                SlotSet("triage_hold", False),
            ]
            if requested is None:  # a question that also started the triage: both
                return [*noted, *(await super().run(dispatcher, tracker, domain))]
            return noted
        return None

    async def _after_answer(
        self,
        answer: Answer,
        requested: str | None,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
        events: list[EventType],
    ) -> list[EventType]:
        extra: list[EventType] = []
        filled = {e["name"] for e in events if e.get("event") == "slot"}
        if tracker.get_slot("triage_hold"):
            extra.append(SlotSet("triage_hold", False))
        phone = phone_in(answer.text) if not answer.is_payload else None
        if phone and requested != "phone" and consented(tracker):
            extra.append(SlotSet("phone", phone))
        # Not an answer, and nothing else said that we kept ("jsuis sur roubaix" to "quel
        # âge ?" fills the place, and the age question simply comes again).
        if requested in PARSERS and not filled - {"requested_slot"}:
            value = PARSERS[requested](answer)
            if value == MISSING:
                extra += await self._not_an_answer(requested, dispatcher, tracker, domain)
        return extra

    async def _not_an_answer(
        self,
        slot: str,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> list[EventType]:
        """Asked again once, differently; the second time the question is skipped."""
        retries = dict(tracker.get_slot("triage_retries") or {})
        if not retries.get(slot):
            retries[slot] = 1
            return [SlotSet("triage_retries", retries)]
        dispatcher.utter_message(response="utter_skip_unclear")
        tracker.slots[slot] = SKIPPED
        required = await self.required_slots(self.domain_slots(domain), dispatcher, tracker, domain)
        following = next((s for s in required if tracker.slots.get(s) is None), None)
        return [SlotSet(slot, SKIPPED), SlotSet("requested_slot", following)]

    async def _schedule_nudge(self, tracker: Tracker, events: list[EventType]) -> None:
        if latest_answer(tracker).external:
            return  # a nudge the app triggered is not an answer: it must not re-plan itself
        slots = {slot: tracker.get_slot(slot) for slot in self.questions}
        slots.update({e["name"]: e.get("value") for e in events if e.get("event") == "slot"})
        complete = all(slots.get(slot) is not None for slot in self.questions)
        assert self.policies is not None
        try:
            await asyncio.to_thread(self.policies.triage_progress, tracker.sender_id, complete)
        except Exception:  # a nudge must never break the triage itself
            log.exception("could not schedule the triage nudge for %s", tracker.sender_id)


def _extract(slot: str) -> Any:
    async def extract(
        self: ValidateTriageForm,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> dict[str, Any]:
        return FILLERS[slot](tracker)

    return extract


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


# What each message fills is read by `extract_<slot>` (actions/triage_slots.py); validation
# only passes the values on.
for _slot in PARSERS:
    setattr(ValidateTriageForm, f"extract_{_slot}", _extract(_slot))
    setattr(ValidateTriageForm, f"validate_{_slot}", _passthrough(_slot))
