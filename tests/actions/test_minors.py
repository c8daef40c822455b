"""The age asked before consent and the under-15 path (actions/welcome.py, actions/minors.py)
with real rasa_sdk Trackers and CollectingDispatchers, on the app's services (build_services)
and a real SQLite database; the age parsers (actions/triage_parsing.py).
"""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.fallback import ActionFallback
from actions.greet import ActionGreet
from actions.handoff import ActionOfferCounsellor, LinkContext
from actions.minors import ActionMinorCallback, MinorCallback
from actions.triage_form import ValidateTriageForm
from actions.triage_parsing import MISSING, AgeBand, Answer, parse_age, parse_age_band
from actions.welcome import ActionRecordAge, ActionRecordConsent
from core.models import ConsentStatus, Direction, Origin
from core.people import LoggedMessage
from core.vocabulary import SKIPPED, UNDER_15
from handoff.link import LinkService
from tests.support.trackers import DOMAIN
from tests.support.world import World

PHONE = "06 12 34 56 78"


def tracker(
    sender: str,
    text: str,
    intent: str,
    *,
    entities: list[dict[str, Any]] | None = None,
    slots: dict[str, Any] | None = None,
    active_loop: str | None = None,
) -> Tracker:
    return Tracker(
        sender_id=sender,
        slots={"requested_slot": None, **(slots or {})},
        latest_message={
            "text": text,
            "intent": {"name": intent, "confidence": 0.95},
            "entities": entities or [],
        },
        events=[],
        paused=False,
        followup_action=None,
        active_loop={"name": active_loop} if active_loop else {},
        latest_action_name="action_listen",
    )


def band_button(band: str) -> dict[str, Any]:
    return {"entity": "age_band", "value": band}


def responses(dispatcher: CollectingDispatcher) -> list[str]:
    return [m["response"] for m in dispatcher.messages]


def slots_of(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def record_age(world: World) -> ActionRecordAge:
    return ActionRecordAge(world.people, "Mission Locale de Lens", "https://ml.example/rgpd", 365)


def link(world: World) -> LinkContext:
    return LinkContext(world.handoff, LinkService(world.services.db), "sous 2 jours", world.desk)


async def run(action: Any, t: Tracker) -> tuple[list[str], dict[str, Any], CollectingDispatcher]:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, t, DOMAIN)
    return responses(dispatcher), slots_of(events), dispatcher


# The parsers ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "intent", "entities", "expected"),
    [
        (
            '/inform{"age_band": "moins_15"}',
            "inform",
            [band_button("moins_15")],
            ("moins_15", None),
        ),
        ('/inform{"age_band": "18_25"}', "inform", [band_button("18_25")], ("18_25", None)),
        ("16", "inform", [{"entity": "age", "value": "16"}], ("15_17", "16")),
        ("jai 14 ans", "inform", [], ("moins_15", "14")),
        ("douze ans", "inform", [], ("moins_15", "12")),
        ("30", "inform", [], ("plus_25", "30")),
        ("moins de 15 ans", "inform", [], ("moins_15", None)),
        ("-15", "inform", [], ("moins_15", None)),
        ("15-17", "inform", [], ("15_17", None)),
        ("entre 18 et 25", "inform", [], ("18_25", None)),
        ("+25", "inform", [], ("plus_25", None)),
    ],
)
def test_the_age_band_from_a_button_words_or_an_age(
    text: str, intent: str, entities: list[dict[str, Any]], expected: tuple[str, str | None]
) -> None:
    assert parse_age_band(Answer(text, intent, entities)) == AgeBand(*expected)


@pytest.mark.parametrize(
    ("text", "intent", "expected"),
    [
        ("10", "inform", MISSING),  # out of 12-30: asked again, never stored
        ("45", "inform", MISSING),
        ("31 ans", "inform", MISSING),
        (PHONE, "inform", MISSING),  # a phone number is no age
        ("jsp", "inform", MISSING),
        ("/dont_know", "dont_know", SKIPPED),
        ("passer", "dont_know", SKIPPED),
        ("jveux mourir", "crisis_suicide", None),  # not an answer: the crisis rules answer it
    ],
)
def test_what_is_not_an_age_band(text: str, intent: str, expected: str | None) -> None:
    assert parse_age_band(Answer(text, intent)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("10", MISSING), ("11 ans", MISSING), ("12", "12"), ("30", "30"), ("31", MISSING)],
)
def test_the_triage_keeps_ages_of_12_to_30_only(text: str, expected: str) -> None:
    assert parse_age(Answer(text, "inform")) == expected


# 15 and more: the consent question --------------------------------------------------------
async def test_a_16_year_old_is_asked_consent_and_the_band_is_kept(world: World) -> None:
    _, pseudo = world.person()
    said, slots, dispatcher = await run(
        record_age(world), tracker(pseudo, "16", "inform", slots={"welcome_step": "age"})
    )
    assert said == ["utter_privacy_summary", "utter_ask_consent"]
    assert dispatcher.messages[0]["retention_days"] == 365
    assert slots == {"age_band": "15_17", "age": "16", "welcome_step": "consent"}
    assert world.people.get(pseudo).age_band == "15_17"  # type: ignore[union-attr]


async def test_a_band_button_fills_the_age_with_its_words(world: World) -> None:
    _, pseudo = world.person()
    t = tracker(
        pseudo,
        '/inform{"age_band": "18_25"}',
        "inform",
        entities=[band_button("18_25")],
        slots={"welcome_step": "age"},
    )
    said, slots, _ = await run(record_age(world), t)
    assert said == ["utter_privacy_summary", "utter_ask_consent"]
    assert slots["age"] == "18-25 ans" and slots["age_band"] == "18_25"


async def test_passer_asks_consent_and_keeps_no_band(world: World) -> None:
    _, pseudo = world.person()
    t = tracker(pseudo, "/dont_know", "dont_know", slots={"welcome_step": "age"})
    said, slots, _ = await run(record_age(world), t)
    assert said == ["utter_privacy_summary", "utter_ask_consent"]
    # the triage's own age question may still come (with its reason, skippable too)
    assert slots == {"age_band": None, "welcome_step": "consent"}
    assert world.people.get(pseudo).age_band is None  # type: ignore[union-attr]


# Out of 12-30: asked again once, never stored ----------------------------------------------
async def test_an_age_out_of_range_is_asked_again_then_not_stored(world: World) -> None:
    _, pseudo = world.person()
    said, slots, _ = await run(
        record_age(world), tracker(pseudo, "45", "inform", slots={"welcome_step": "age"})
    )
    assert said == ["utter_ask_age_band_again"]
    assert slots == {"welcome_step": "age_again"}  # no age, no band
    assert world.people.get(pseudo).age_band is None  # type: ignore[union-attr]
    said, slots, _ = await run(
        record_age(world), tracker(pseudo, "45", "inform", slots={"welcome_step": "age_again"})
    )
    assert said == ["utter_privacy_summary", "utter_ask_consent"]  # the second time: skipped
    assert "age" not in slots and slots["age_band"] is None


async def test_an_age_under_12_said_twice_is_under_15_without_the_age(world: World) -> None:
    _, pseudo = world.person()
    said, slots, _ = await run(
        record_age(world), tracker(pseudo, "10", "inform", slots={"welcome_step": "age"})
    )
    assert said == ["utter_ask_age_band_again"]
    said, slots, _ = await run(
        record_age(world),
        tracker(pseudo, "jai 10 ans", "inform", slots={"welcome_step": "age_again"}),
    )
    assert said[0] == "utter_under15_explain"
    assert slots["age"] == "moins de 15 ans"  # not "10"
    assert world.people.get(pseudo).age_band == UNDER_15  # type: ignore[union-attr]


# Under 15 ------------------------------------------------------------------------------------
async def test_under_15_is_told_why_given_the_helplines_and_offered_a_call_back(
    world: World,
) -> None:
    person_id, pseudo = world.person(consent=True)  # had said ok before (an earlier /start)
    world.people.log_messages(person_id, [LoggedMessage(Direction.incoming, Origin.youth, "salut")])
    assert len(world.people.transcript(pseudo)) == 1
    t = tracker(pseudo, "jai 14 ans", "inform", slots={"welcome_step": "age", "consent": "granted"})
    said, slots, _ = await run(record_age(world), t)
    assert said == [
        "utter_under15_explain",
        "utter_under15_helplines",
        "utter_under15_callback_offer",
    ]
    assert slots == {
        "age_band": UNDER_15,
        "age": "14",
        "consent": None,
        "welcome_step": "callback",
    }
    person = world.people.get(pseudo)
    assert person is not None and person.under_15 and person.consent is ConsentStatus.unknown
    assert world.people.transcript(pseudo) == []  # what was kept under the old consent went
    # and nothing is kept from now on
    kept = world.people.log_messages(
        person_id, [LoggedMessage(Direction.incoming, Origin.youth, "jsuis en 4e")]
    )
    assert kept == 0 and world.people.transcript(pseudo) == []


@pytest.mark.parametrize("intent", ["consent_accept", "affirm"])
async def test_under_15_cannot_consent_alone(world: World, intent: str) -> None:
    _, pseudo = world.person()
    world.people.record_age_band(pseudo, UNDER_15)
    said, slots, _ = await run(
        ActionRecordConsent(world.people, MinorCallback(link(world))),
        tracker(pseudo, "ok", intent, slots={"age_band": UNDER_15, "welcome_step": "consent"}),
    )
    assert said == ["utter_under15_no_consent"]
    assert slots == {"consent": None, "welcome_step": None}
    assert world.people.get(pseudo).consent is ConsentStatus.unknown  # type: ignore[union-attr]
    assert world.people.consent_history(pseudo) == []
    # even without the slot (a tracker that forgot it): the person's band decides
    said, slots, _ = await run(
        ActionRecordConsent(world.people), tracker(pseudo, "/consent_accept", "consent_accept")
    )
    assert said == ["utter_under15_no_consent"] and slots["consent"] is None
    assert world.people.consent_history(pseudo) == []


async def test_under_15_call_back_by_phone_keeps_only_what_it_needs(world: World) -> None:
    _, pseudo = world.person()
    world.people.record_age_band(pseudo, UNDER_15)
    action = ActionMinorCallback(link(world))
    slots = {
        "age_band": UNDER_15,
        "welcome_step": "callback",
        "needs": ["santé"],
        "situation": "en 4e au college",
        "questions": ["cest grave si jai pas envie de manger ?"],
    }
    press = tracker(
        pseudo,
        '/ask_human{"contact": "telephone"}',
        "ask_human",
        entities=[{"entity": "contact", "value": "telephone"}],
        slots=slots,
    )
    said, set_, _ = await run(action, press)
    assert said == ["utter_under15_ask_phone"]
    assert set_["welcome_step"] == "phone" and set_["handoff_requested"] is True
    [request] = world.handoff.open_requests(pseudo)
    assert request.minor is True and request.age == "moins de 15 ans"
    assert request.needs == ["santé"] and request.contact == "par téléphone"
    # no words of theirs: no excerpt, no questions, no situation
    assert request.excerpt is None and request.questions == [] and request.situation is None

    slots["welcome_step"] = "phone"
    said, set_, dispatcher = await run(
        action, tracker(pseudo, f"cest le {PHONE}", "inform", slots=slots)
    )
    assert said == ["utter_under15_phone_noted"]
    assert dispatcher.messages[0]["delay"] == "sous 2 jours"
    [request] = world.handoff.open_requests(pseudo)
    assert request.phone == "0612345678"  # kept without consent: the call-back needs it
    assert request.ticket_id is not None
    ticket = world.tickets.get(request.ticket_id)
    assert ticket.minor is True
    assert world.people.transcript(pseudo) == []


async def test_under_15_phone_not_given_then_a_message_here(world: World) -> None:
    _, pseudo = world.person()
    world.people.record_age_band(pseudo, UNDER_15)
    action = ActionMinorCallback(link(world))
    slots = {"age_band": UNDER_15, "welcome_step": "phone"}
    said, set_, _ = await run(action, tracker(pseudo, "euh", "nlu_fallback", slots=slots))
    assert said == ["utter_ask_phone_again"] and set_ == {"welcome_step": "phone_again"}
    slots["welcome_step"] = "phone_again"
    said, set_, _ = await run(action, tracker(pseudo, "/deny", "deny", slots=slots))
    assert said == ["utter_under15_callback_done"] and set_ == {"welcome_step": None}


@pytest.mark.parametrize(
    ("intent", "said"),
    [
        ("affirm", ["utter_under15_callback_done"]),
        ("consent_refuse", ["utter_under15_no_callback"]),
    ],
)
async def test_under_15_typed_yes_or_no_to_the_call_back(
    world: World, intent: str, said: list[str]
) -> None:
    _, pseudo = world.person()
    world.people.record_age_band(pseudo, UNDER_15)
    t = tracker(pseudo, "oui", intent, slots={"age_band": UNDER_15, "welcome_step": "callback"})
    got, _, _ = await run(ActionRecordConsent(world.people, MinorCallback(link(world))), t)
    assert got == said
    requests = world.handoff.open_requests(pseudo)
    assert len(requests) == (1 if intent == "affirm" else 0)
    if requests:
        assert requests[0].contact == "ici, par message" and requests[0].phone is None
    assert world.people.consent_history(pseudo) == []


# 15-17: the ticket says "mineur·e" ----------------------------------------------------------
async def test_a_16_year_olds_ticket_carries_the_minor_flag(world: World) -> None:
    _, pseudo = world.person(consent=True)
    world.people.record_age_band(pseudo, "15_17")
    ctx = link(world)
    # a band pressed at the welcome, no exact age in the triage
    t = tracker(pseudo, "oui", "affirm", slots={"age": "15-17 ans", "needs": ["emploi"]})
    await ctx.hand_off(CollectingDispatcher(), t)
    [request] = world.handoff.open_requests(pseudo)
    assert request.minor is True
    assert request.ticket_id is not None
    assert world.tickets.get(request.ticket_id).minor is True


async def test_an_adults_ticket_has_no_minor_flag(world: World) -> None:
    _, pseudo = world.person(consent=True)
    world.people.record_age_band(pseudo, "18_25")
    await link(world).hand_off(
        CollectingDispatcher(), tracker(pseudo, "oui", "affirm", slots={"age": "19"})
    )
    [request] = world.handoff.open_requests(pseudo)
    assert request.minor is False


# An age under 15 said in the triage (the welcome's question skipped) -------------------------
async def test_an_age_under_15_said_in_the_triage_stops_keeping_anything(world: World) -> None:
    person_id, pseudo = world.person(consent=True)
    world.people.log_messages(person_id, [LoggedMessage(Direction.incoming, Origin.youth, "slt")])
    form = ValidateTriageForm(people=world.people)
    t = tracker(
        pseudo,
        "13",
        "inform",
        slots={"requested_slot": "age", "needs": ["formation"], "consent": "granted"},
        active_loop="triage_form",
    )
    said, slots, _ = await run(form, t)
    assert "utter_under15_in_triage" in said
    assert slots["age"] == "13" and slots["age_band"] == UNDER_15 and slots["consent"] is None
    person = world.people.get(pseudo)
    assert person is not None and person.under_15 and person.consent is ConsentStatus.unknown
    assert world.people.transcript(pseudo) == []


async def test_jsp_to_the_consent_question_keeps_nothing(world: World) -> None:
    _, pseudo = world.person()
    t = tracker(pseudo, "jsp", "dont_know", slots={"welcome_step": "consent"})
    said, slots, _ = await run(record_age(world), t)
    assert said == ["utter_consent_later"] and slots == {"welcome_step": None}
    assert world.people.consent_history(pseudo) == []


async def test_the_call_back_buttons_pressed_after_a_question_still_ask_for_it(
    world: World,
) -> None:
    """An FAQ answer came in between: "conseiller" or the offer's button is still the
    call-back (no second offer to answer)."""
    _, pseudo = world.person()
    world.people.record_age_band(pseudo, UNDER_15)
    ctx = link(world)
    ctx.minor_callback = MinorCallback(ctx).request
    t = tracker(
        pseudo,
        '/ask_human{"contact": "chat"}',
        "ask_human",
        entities=[{"entity": "contact", "value": "chat"}],
        slots={"age_band": UNDER_15, "welcome_step": "callback"},
    )
    said, slots, _ = await run(ActionOfferCounsellor(ctx), t)
    assert said == ["utter_under15_callback_done"] and slots["welcome_step"] is None
    [request] = world.handoff.open_requests(pseudo)
    assert request.minor and request.contact == "ici, par message"
    # once answered, "conseiller" is the usual offer again
    said, _, _ = await run(ActionOfferCounsellor(ctx), tracker(pseudo, "conseiller", "ask_human"))
    assert said == ["utter_news_waiting"]  # the ticket is open: its news


async def test_hello_after_the_welcome_is_no_resume_offer() -> None:
    """The age band pressed at the welcome is no triage begun: "slt" gets a hello."""
    dispatcher = CollectingDispatcher()
    t = tracker("y-greet", "slt", "greet", slots={"age": "15-17 ans", "age_band": "15_17"})
    await ActionGreet().run(dispatcher, t, DOMAIN)
    assert responses(dispatcher) == ["utter_greet"]


async def test_a_number_typed_by_an_under_15_is_a_call_back_with_its_number(world: World) -> None:
    _, pseudo = world.person()
    world.people.record_age_band(pseudo, UNDER_15)
    ctx = link(world)
    ctx.minor_callback = MinorCallback(ctx).request
    t = tracker(
        pseudo, "rappelez moi au 07 11 22 33 44", "nlu_fallback", slots={"age_band": UNDER_15}
    )
    said, slots, _ = await run(ActionFallback(ctx), t)
    assert said == ["utter_under15_phone_noted"]  # not "tape /start et dis ok"
    [request] = world.handoff.open_requests(pseudo)
    assert request.phone == "0711223344" and request.minor and request.excerpt is None
    assert world.people.transcript(pseudo) == []
