"""The triage form: which questions, what counts as an answer, and what happens when the
message is not one.

Each answer is read by actions.triage_parsing; what is not an answer is never stored: the
question is asked again once, differently (`utter_ask_<slot>_again`), then skipped. Facts
stated in any message (an age, a town, a need) fill their slot whatever the question, and a
question whose answer is known is not asked. Before the question, the young person's own
message comes first (actions.reading): a feeling is acknowledged and the triage waits, a
question is answered or noted for the counsellor, someone writing for their child is answered
as a parent, "stop avec tes questions" stops the questions.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import reading
from actions.triage_parsing import (
    CONTACT_LABELS,
    MISSING,
    NEEDS,
    SKIPPED,
    Answer,
    age_in,
    age_stated,
    parse_age,
    parse_availability,
    parse_contact,
    parse_followed,
    parse_location,
    parse_needs,
    parse_phone,
    parse_situation,
    phone_in,
    place_stated,
    postcode_in,
)
from core.text import fold
from handoff.link import LinkService
from nudges.rules import Policies

log = logging.getLogger(__name__)

COMMUNES_LOOKUP = Path(__file__).resolve().parents[1] / "nlu_data" / "lookups" / "communes.yml"


@lru_cache(maxsize=1)
def known_communes() -> dict[str, str]:
    """Folded commune name -> its spelling, from the lookup `maraude train` writes from the
    territories of maraude.yml (the first spelling listed is the accented one)."""
    try:
        data = yaml.safe_load(COMMUNES_LOOKUP.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return {}
    names: dict[str, str] = {}
    for block in data.get("nlu") or []:
        for line in str(block.get("examples") or "").splitlines():
            name = line.strip().removeprefix("- ").strip()
            if name:
                names.setdefault(fold(name.replace("-", " ")), name)
    return names


TRIAGE_SLOTS = ("needs", "age", "location", "situation", "followed", "contact")
# Asked after the contact question when it applies: the number for "par téléphone" (only
# with consent), and when to be contacted.
FOLLOW_ON_SLOTS = ("phone", "availability")
PARSERS: dict[str, Callable[[Answer], Any]] = {
    "needs": parse_needs,
    "age": parse_age,
    "location": parse_location,
    "situation": parse_situation,
    "followed": parse_followed,
    "contact": parse_contact,
    "phone": parse_phone,
    "availability": parse_availability,
}
# The slots a finished triage starts afresh when the young person comes back after their
# ticket was closed (age, place and phone rarely change, and are not asked again).
FRESH_SLOTS = ("needs", "situation", "followed", "contact", "availability")
# Needs stated while another question is asked are added, except where the answer itself
# names work or training ("je bosse" to "tu fais quoi ?").
NO_NEED_FROM = ("situation", "followed", "contact", "availability", "phone")


def _answer(tracker: Tracker) -> Answer:
    return Answer.from_latest(tracker.latest_message)


def _requested(tracker: Tracker, slot: str) -> bool:
    return tracker.get_slot("requested_slot") == slot


def known_from_history(tracker: Tracker, entity: str) -> str | None:
    """The latest value of an entity the young person gave earlier in the conversation."""
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        for item in (event.get("parse_data") or {}).get("entities") or []:
            if item.get("entity") == entity and item.get("value") not in (None, ""):
                return str(item["value"])
    return None


def _user_texts(tracker: Tracker) -> list[str]:
    """What the young person typed in this conversation, latest first (no button payloads)."""
    texts = [
        str(e.get("text") or "")
        for e in reversed(tracker.events)
        if e.get("event") == "user" and not str(e.get("text") or "").startswith("/")
    ]
    latest = str(tracker.latest_message.get("text") or "")
    if latest and not latest.startswith("/") and (not texts or texts[0] != latest):
        texts.insert(0, latest)
    return texts


def consented(tracker: Tracker) -> bool:
    return tracker.get_slot("consent") == "granted"


class ValidateTriageForm(FormValidationAction):
    """Reads each answer; every answer also (re)schedules the "on reprend ?" nudge for a triage
    left part-way, or cancels it once every question is answered (nudges/rules.py)."""

    def __init__(
        self,
        policies: Policies | None = None,
        questions: Sequence[str] = TRIAGE_SLOTS,
        link: LinkService | None = None,
    ) -> None:
        super().__init__()
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

    # ---- extraction -------------------------------------------------------------------
    async def extract_needs(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        requested = tracker.get_slot("requested_slot")
        answer = _answer(tracker)
        current = tracker.get_slot("needs")
        if requested == "needs" or (requested is None and not current):
            value = parse_needs(answer)
            if value is None or (requested is None and value == SKIPPED):
                # "jsp" as a first message: the need question comes, with its buttons
                return {}
            return {"needs": value if isinstance(value, list) else [value]}
        # A need said on the way ("et un appart aussi") joins the others.
        if answer.intent in NEEDS and requested not in NO_NEED_FROM and not answer.is_payload:
            label = NEEDS[answer.intent]
            needs = [n for n in (current or []) if n != SKIPPED]
            if label not in needs:
                return {"needs": [*needs, label]}
        return {}

    async def extract_age(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        answer = _answer(tracker)
        if _requested(tracker, "age"):
            value = parse_age(answer)
            return {} if value in (None, MISSING) else {"age": value}
        if tracker.get_slot("age"):
            return {}
        # Given spontaneously now or earlier ("j'ai 19 ans et je cherche du taf").
        entity = answer.entity("age") or known_from_history(tracker, "age")
        value = age_in("", entity) if entity else None
        if value is None:
            value = next(filter(None, (age_stated(t) for t in _user_texts(tracker))), None)
        return {"age": value} if value else {}

    async def extract_location(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        answer = _answer(tracker)
        if _requested(tracker, "location"):
            value = parse_location(answer)
            return {} if value in (None, MISSING) else {"location": value}
        if tracker.get_slot("location"):
            return {}
        commune = answer.entity("commune") or known_from_history(tracker, "commune")
        postcode = postcode_in(
            "", answer.entity("postcode") or known_from_history(tracker, "postcode")
        )
        if commune and postcode:
            return {"location": f"{commune} ({postcode})"}
        value = commune or postcode
        if value is None:
            communes = known_communes()
            for text in _user_texts(tracker):
                place = place_stated(text, frozenset(communes))
                if place:
                    value = communes.get(fold(place), place)
                    break
        return {"location": value} if value else {}

    async def _requested_only(self, slot: str, tracker: Tracker) -> dict[str, Any]:
        if not _requested(tracker, slot):
            return {}
        value = PARSERS[slot](_answer(tracker))
        return {} if value in (None, MISSING) else {slot: value}

    async def extract_situation(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        return await self._requested_only("situation", tracker)

    async def extract_followed(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        return await self._requested_only("followed", tracker)

    async def extract_contact(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if not _requested(tracker, "contact"):
            return {}
        value = parse_contact(_answer(tracker))
        if value in (None, MISSING):
            return {}
        if isinstance(value, str):  # skipped
            return {"contact": value}
        how, when = value
        return {"contact": how, "availability": when} if when else {"contact": how}

    async def extract_phone(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        return await self._requested_only("phone", tracker)

    async def extract_availability(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        return await self._requested_only("availability", tracker)

    # ---- the message before the question ---------------------------------------------
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        answer = _answer(tracker)
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
                answer = _answer(tracker)
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
        if self.policies is not None:
            await self._schedule_nudge(tracker, events)
        return events

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
            noted = await self._note_question(text, dispatcher, tracker)
            if requested is None:  # a question that also started the triage: both
                return [*noted, *(await super().run(dispatcher, tracker, domain))]
            return noted
        return None

    async def _note_question(
        self, text: str, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> list[EventType]:
        """A question the bot cannot answer: said honestly, kept for the counsellor."""
        dispatcher.utter_message(response="utter_question_noted")
        questions = list(tracker.get_slot("questions") or [])
        if text not in questions:
            questions.append(text[:300])
        if tracker.get_slot("handoff_requested") and self.link is not None:
            try:
                await asyncio.to_thread(
                    self.link.add_to_open_request, tracker.sender_id, question=text
                )
            except Exception:
                log.exception("could not note the question on the open ticket")
        return [SlotSet("questions", questions[-10:]), SlotSet("triage_hold", False)]

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
        if _answer(tracker).external:
            return  # a nudge the app triggered is not an answer: it must not re-plan itself
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
for _slot in PARSERS:
    setattr(ValidateTriageForm, f"validate_{_slot}", _passthrough(_slot))


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


YES_NO = {"oui": True, "ouais": True, "ouai": True, "ui": True, "non": False, "nan": False}
# What the form itself runs between a message and its question (not a side answer).
FORM_STEPS = frozenset({"action_listen", "triage_form", "validate_triage_form"})


def _after_a_side_answer(tracker: Tracker) -> bool:
    """Since the latest message, the bot said something else before asking again (an FAQ,
    "pourquoi ?", a question noted for the counsellor)."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return False
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
