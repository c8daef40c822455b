"""The triage's questions, and what each message fills (the form's `extract_<slot>`).

A question's answer is read by its parser (actions/triage_parsing.py) while it is asked; what is
not an answer is never stored (MISSING). Facts stated in any message (an age, a town, a need)
fill their slot whatever the question, from this message or an earlier one.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from rasa_sdk import Tracker

from actions.conversation import known_from_history, latest_answer, user_texts
from actions.triage_facts import age_in, age_stated, known_communes, place_stated, postcode_in
from actions.triage_parsing import (
    MISSING,
    Answer,
    parse_age,
    parse_availability,
    parse_contact,
    parse_followed,
    parse_location,
    parse_needs,
    parse_phone,
    parse_situation,
)
from core.intents import NEED_LABELS
from core.text import fold
from core.vocabulary import SKIPPED

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
# Needs stated while another question is asked are added, except where the answer itself
# names work or training ("je bosse" to "tu fais quoi ?").
NO_NEED_FROM = ("situation", "followed", "contact", "availability", "phone")


def _requested(tracker: Tracker, slot: str) -> bool:
    return tracker.get_slot("requested_slot") == slot


def needs_filled(tracker: Tracker) -> dict[str, Any]:
    """The answer to the need question (or a first message that names a need); a need said on
    the way joins the others."""
    requested = tracker.get_slot("requested_slot")
    answer = latest_answer(tracker)
    current = tracker.get_slot("needs")
    if requested == "needs" or (requested is None and not current):
        value = parse_needs(answer)
        if value is None or (requested is None and value == SKIPPED):
            # "jsp" as a first message: the need question comes, with its buttons
            return {}
        return {"needs": value if isinstance(value, list) else [value]}
    # A need said on the way ("et un appart aussi") joins the others.
    if answer.intent in NEED_LABELS and requested not in NO_NEED_FROM and not answer.is_payload:
        label = NEED_LABELS[answer.intent]
        needs = [n for n in (current or []) if n != SKIPPED]
        if label not in needs:
            return {"needs": [*needs, label]}
    return {}


def age_filled(tracker: Tracker) -> dict[str, Any]:
    answer = latest_answer(tracker)
    if _requested(tracker, "age"):
        value = parse_age(answer)
        return {} if value in (None, MISSING) else {"age": value}
    if str(tracker.get_slot("age") or "").isdigit():
        return {}
    # Given spontaneously now or earlier ("j'ai 19 ans et je cherche du taf"): an age said
    # gives way to nothing, a band (or "passer") said at the welcome gives way to an age.
    entity = answer.entity("age") or known_from_history(tracker, "age")
    value = age_in("", entity) if entity else None
    if value is None:
        value = next(filter(None, (age_stated(t) for t in user_texts(tracker))), None)
    if value and value != tracker.get_slot("age"):
        return {"age": value}
    return {}


def location_filled(tracker: Tracker) -> dict[str, Any]:
    answer = latest_answer(tracker)
    if _requested(tracker, "location"):
        value = parse_location(answer)
        return {} if value in (None, MISSING) else {"location": value}
    if tracker.get_slot("location"):
        return {}
    commune = answer.entity("commune") or known_from_history(tracker, "commune")
    postcode = postcode_in("", answer.entity("postcode") or known_from_history(tracker, "postcode"))
    if commune and postcode:
        return {"location": f"{commune} ({postcode})"}
    value = commune or postcode
    if value is None:
        communes = known_communes()
        for text in user_texts(tracker):
            place = place_stated(text, frozenset(communes))
            if place:
                value = communes.get(fold(place), place)
                break
    return {"location": value} if value else {}


def contact_filled(tracker: Tracker) -> dict[str, Any]:
    """How to be contacted, and when if the answer says it too."""
    if not _requested(tracker, "contact"):
        return {}
    value = parse_contact(latest_answer(tracker))
    if value in (None, MISSING):
        return {}
    if isinstance(value, str):  # skipped
        return {"contact": value}
    how, when = value
    return {"contact": how, "availability": when} if when else {"contact": how}


def filled_when_asked(slot: str, tracker: Tracker) -> dict[str, Any]:
    """A slot only its own question fills."""
    if not _requested(tracker, slot):
        return {}
    value = PARSERS[slot](latest_answer(tracker))
    return {} if value in (None, MISSING) else {slot: value}


# What the latest message fills, slot by slot: {slot: value}, or {} for nothing.
FILLERS: dict[str, Callable[[Tracker], dict[str, Any]]] = {
    "needs": needs_filled,
    "age": age_filled,
    "location": location_filled,
    "situation": partial(filled_when_asked, "situation"),
    "followed": partial(filled_when_asked, "followed"),
    "contact": contact_filled,
    "phone": partial(filled_when_asked, "phone"),
    "availability": partial(filled_when_asked, "availability"),
}
