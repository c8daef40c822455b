"""The crisis actions (actions/crisis.py) with real rasa_sdk Tracker + CollectingDispatcher and
the app's services (build_services) on a real SQLite database; the pure helpers
(actions/crisis_support.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.crisis import (
    ActionCrisis,
    ActionCrisisFollowup,
    ActionSafetyAnswer,
    ActionSafetyCheck,
)
from actions.crisis_context import CrisisContext
from actions.crisis_support import followup_topic, hours_fr, is_minor, presence_fr
from core.calendar import OpeningHours
from core.db import Database
from handoff.requests import HandoffService, TriageSummary
from tests.support import make_desk, repo_router
from tests.support.world import World

HOURS = OpeningHours.parse({"mon-fri": "09:00-12:30, 13:30-17:30"})
# Friday 4 December 2026, 22:00 in Paris: the team is away until Monday 9:00.
FRIDAY_NIGHT = datetime(2026, 12, 4, 21, 0, tzinfo=UTC)
CLOCK_START = FRIDAY_NIGHT  # where the `clock` fixture (tests/conftest.py) starts


def tracker(
    sender: str,
    text: str,
    intent: str,
    *,
    confidence: float = 0.95,
    slots: dict[str, Any] | None = None,
    risk: dict[str, Any] | None = None,
    normalised: str | None = None,
    entities: list[dict[str, Any]] | None = None,
    events: list[dict[str, Any]] | None = None,
    active_loop: str | None = None,
) -> Tracker:
    latest: dict[str, Any] = {
        "text": normalised or text,
        "text_original": text,
        "text_normalised": normalised or text,
        "intent": {"name": intent, "confidence": confidence},
        "entities": entities or [],
    }
    if risk is not None:
        latest["crisis_risk"] = risk
    return Tracker(
        sender_id=sender,
        slots=dict(slots or {}),
        latest_message=latest,
        events=events or [],
        paused=False,
        followup_action=None,
        active_loop={"name": active_loop} if active_loop else {},
        latest_action_name="action_listen",
    )


def responses(dispatcher: CollectingDispatcher) -> list[str]:
    return [m["response"] for m in dispatcher.messages]


def slots_of(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def crisis_context(world: World) -> CrisisContext:
    """What the crisis actions share, on the world's services, with the team's HOURS."""
    return CrisisContext(world.handoff, world.desk, HOURS, world.clock)


def open_request(world: World, pseudo: str) -> Any:
    [request] = world.handoff.open_requests(pseudo)
    return request


PATTERN_RISK = {"tier": "high", "reason": "pattern", "kind": "crisis_suicide", "detail": "x"}


# High risk ----------------------------------------------------------------------------------
async def test_crisis_gives_the_helplines_an_urgent_ticket_and_when_the_team_is_there(
    world: World,
) -> None:
    _, pseudo = world.person("1")  # no consent
    risk = {**PATTERN_RISK, "detail": "je veux plus etre la"}
    t = tracker(pseudo, "jveux plus etre la ce soir", "crisis_suicide", risk=risk)
    dispatcher = CollectingDispatcher()
    events = await ActionCrisis(crisis_context(world)).run(dispatcher, t, {})
    assert responses(dispatcher) == ["utter_crisis_suicide", "utter_handoff_urgent"]
    presence = dispatcher.messages[1]["presence"]
    assert "elle revient lundi à 9h" in presence and "jours ouvrés" not in presence
    assert slots_of(events) == {
        "crisis_mode": True,
        "crisis_kinds": ["suicide"],
        "safety_pending": None,
        "handoff_requested": True,
    }
    request = open_request(world, pseudo)
    assert (request.urgency, request.crisis_kind, request.excerpt) == ("crisis", "suicide", None)
    [signal] = world.alarms.signals(request.ticket_id)
    # the message that raised the alarm is on the ticket although consent was never given
    assert signal.text == "jveux plus etre la ce soir"
    assert (signal.tier, signal.reason, signal.detail) == (
        "high",
        "pattern",
        "je veux plus etre la",
    )


async def test_a_minor_put_out_gets_the_119_and_the_ticket_says_so(world: World) -> None:
    _, pseudo = world.person("2")
    t = tracker(
        pseudo,
        "jai 16 ans mes darons mont mis dehors",
        "crisis_shelter",
        risk={**PATTERN_RISK, "kind": "crisis_shelter"},
    )
    dispatcher = CollectingDispatcher()
    await ActionCrisis(crisis_context(world)).run(dispatcher, t, {})
    assert responses(dispatcher)[0] == "utter_crisis_shelter_minor"
    assert open_request(world, pseudo).minor is True


async def test_the_age_from_the_triage_counts_too(world: World) -> None:
    _, pseudo = world.person("3")
    t = tracker(pseudo, "mon beau pere me frappe", "crisis_violence", slots={"age": "17"})
    dispatcher = CollectingDispatcher()
    await ActionCrisis(crisis_context(world)).run(dispatcher, t, {})
    assert responses(dispatcher)[0] == "utter_crisis_violence_minor"


async def test_the_same_crisis_again_gets_an_answer_not_the_same_block(world: World) -> None:
    _, pseudo = world.person("4")
    action = ActionCrisis(crisis_context(world))
    first = CollectingDispatcher()
    events = await action.run(first, tracker(pseudo, "jsuis a la rue", "crisis_shelter"), {})
    again = CollectingDispatcher()
    t = tracker(pseudo, "le 115 repond pas", "crisis_shelter", slots=slots_of(events))
    await action.run(again, t, {})
    assert responses(again) == ["utter_crisis_busy_shelter"]  # no block, no "j'ai prévenu"


async def test_a_new_kind_gets_its_helplines(world: World) -> None:
    _, pseudo = world.person("5")
    action = ActionCrisis(crisis_context(world))
    events = await action.run(
        CollectingDispatcher(), tracker(pseudo, "jsuis a la rue", "crisis_shelter"), {}
    )
    dispatcher = CollectingDispatcher()
    t = tracker(pseudo, "et jveux mourir", "crisis_suicide", slots=slots_of(events))
    events = await action.run(dispatcher, t, {})
    assert responses(dispatcher) == ["utter_crisis_suicide"]
    assert slots_of(events)["crisis_kinds"] == ["shelter", "suicide"]
    assert open_request(world, pseudo).crisis_kind == "suicide"  # the latest kind, on the request


async def test_a_new_crisis_after_the_ticket_closed_gets_every_block_again(world: World) -> None:
    _, pseudo = world.person("6")
    stale = {"crisis_mode": True, "crisis_kinds": ["shelter"]}  # no open ticket any more
    dispatcher = CollectingDispatcher()
    await ActionCrisis(crisis_context(world)).run(
        dispatcher, tracker(pseudo, "jdors dehors", "crisis_shelter", slots=stale), {}
    )
    assert responses(dispatcher) == ["utter_crisis_shelter", "utter_handoff_urgent"]


async def test_open_hours_say_the_team_is_there_now(world: World) -> None:
    world.clock.advance(days=3, hours=-11)  # Monday 7 December, 11:00 in Paris
    _, pseudo = world.person("7")
    dispatcher = CollectingDispatcher()
    await ActionCrisis(crisis_context(world)).run(
        dispatcher, tracker(pseudo, "x", "crisis_violence"), {}
    )
    assert dispatcher.messages[1]["presence"] == "L'équipe est là en ce moment, jusqu'à 12h30."


# The crisis conversation ----------------------------------------------------------------------
async def _in_crisis(world: World, key: str) -> tuple[str, dict[str, Any]]:
    _, pseudo = world.person(key)
    events = await ActionCrisis(crisis_context(world)).run(
        CollectingDispatcher(),
        tracker(pseudo, "jai un plan pour ce soir", "crisis_suicide", risk=PATTERN_RISK),
        {},
    )
    return pseudo, slots_of(events)


async def test_three_follow_ups_get_three_different_answers(world: World) -> None:
    pseudo, slots = await _in_crisis(world, "10")
    action = ActionCrisisFollowup(crisis_context(world))
    said = []
    for text, intent in [
        ("jveux pas appeler jveux juste parler a quelqu'un maintenant", "nlu_fallback"),
        ("il regarde mon tel", "nlu_fallback"),
        ("jvais appeler avec elle", "affirm"),
        ("...", "nlu_fallback"),
        ("hmm", "nlu_fallback"),
    ]:
        dispatcher = CollectingDispatcher()
        events = await action.run(dispatcher, tracker(pseudo, text, intent, slots=slots), {})
        slots.update(slots_of(events))
        said.append(responses(dispatcher))
    assert said == [
        ["utter_crisis_talk_now_suicide", "utter_crisis_presence"],
        ["utter_crisis_discreet"],
        ["utter_crisis_calling"],
        ["utter_crisis_followup_4"],
        ["utter_crisis_followup_1"],
    ]
    flat = [r for rs in said for r in rs]
    assert "utter_crisis_suicide" not in flat and "utter_default" not in flat


async def test_talking_now_says_when_the_team_is_there(world: World) -> None:
    pseudo, slots = await _in_crisis(world, "11")
    dispatcher = CollectingDispatcher()
    t = tracker(pseudo, "/ask_human", "ask_human", slots=slots)
    await ActionCrisisFollowup(crisis_context(world)).run(dispatcher, t, {})
    assert responses(dispatcher) == ["utter_crisis_talk_now_suicide", "utter_crisis_presence"]
    assert "du lundi au vendredi, de 9h à 17h30" in dispatcher.messages[1]["presence"]


async def test_the_numbers_offered_then_given(world: World) -> None:
    pseudo, slots = await _in_crisis(world, "12")
    slots.update(crisis_turns=1.0)  # the next default answer is the offer
    action = ActionCrisisFollowup(crisis_context(world))
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker(pseudo, "bof", "nlu_fallback", slots=slots), {})
    assert responses(dispatcher) == ["utter_crisis_followup_2"]
    slots.update(slots_of(events))
    dispatcher = CollectingDispatcher()
    await action.run(dispatcher, tracker(pseudo, "/affirm", "affirm", slots=slots), {})
    assert responses(dispatcher) == ["utter_crisis_numbers_suicide"]


async def test_a_minor_saying_the_115_refuses_them_gets_the_119(world: World) -> None:
    _, pseudo = world.person("13")
    events = await ActionCrisis(crisis_context(world)).run(
        CollectingDispatcher(), tracker(pseudo, "jsuis dehors", "crisis_shelter"), {}
    )
    dispatcher = CollectingDispatcher()
    t = tracker(pseudo, "ils prennent pas les mineurs", "nlu_fallback", slots=slots_of(events))
    await ActionCrisisFollowup(crisis_context(world)).run(dispatcher, t, {})
    assert responses(dispatcher) == ["utter_crisis_minor"]
    assert open_request(world, pseudo).minor is True


async def test_the_crisis_conversation_ends_with_the_urgent_ticket(world: World) -> None:
    _, pseudo = world.person("14")
    world.handoff.request(pseudo, TriageSummary(), source="triage")  # a normal ticket only
    dispatcher = CollectingDispatcher()
    t = tracker(pseudo, "merci", "thanks", slots={"crisis_mode": True, "crisis_kinds": ["x"]})
    events = await ActionCrisisFollowup(crisis_context(world)).run(dispatcher, t, {})
    assert dispatcher.messages == []
    kinds = [e["event"] for e in events]
    # the message is replayed to the ordinary rules, out of the crisis conversation
    assert kinds == ["rewind", "slot", "slot", "slot", "action", "user"]
    assert slots_of(events)["crisis_mode"] is False
    assert events[-1]["text"] == "merci" and events[-1]["parse_data"]["intent"]["name"] == "thanks"


# Medium risk ------------------------------------------------------------------------------------
MEDIUM = {
    "tier": "medium",
    "reason": "intent",
    "kind": "crisis_suicide",
    "detail": "crisis_suicide 0.31",
    "resume": {"name": "inform", "confidence": 0.29},
}
PAUSED_TRIAGE = [
    {"event": "active_loop", "name": "triage_form"},
    {"event": "user", "text": "bah rien jai arrete les cours"},
    {"event": "action", "name": "action_deactivate_loop"},
    {"event": "active_loop", "name": None},
]


async def test_the_safety_question_is_asked_once_a_day(world: World) -> None:
    _, pseudo = world.person("20", consent=True)
    action = ActionSafetyCheck(crisis_context(world))
    t = tracker(
        pseudo, "bah rien jai arrete les cours", "crisis_check", risk=MEDIUM, events=PAUSED_TRIAGE
    )
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, t, {})
    assert responses(dispatcher) == ["utter_ask_safety"]
    slots = slots_of(events)
    assert slots["safety_asked"] == "2026-12-04"  # the day in Paris
    pending = slots["safety_pending"]
    assert (pending["text"], pending["form"], pending["intent"]) == (
        "bah rien jai arrete les cours",
        "triage_form",
        "inform",
    )
    # later the same day: no second question, the message goes on (flagged)
    dispatcher = CollectingDispatcher()
    t = tracker(pseudo, "jsuis vide", "crisis_check", risk=MEDIUM, slots=slots)
    events = await action.run(dispatcher, t, {})
    assert dispatcher.messages == []
    assert [e["event"] for e in events] == ["rewind", "action", "user"]
    assert events[-1]["parse_data"]["intent"] == {"name": "inform", "confidence": 0.29}
    # the next day, the question again
    world.clock.advance(hours=12)
    dispatcher = CollectingDispatcher()
    await action.run(dispatcher, t, {})
    assert responses(dispatcher) == ["utter_ask_safety"]


async def test_yes_flags_the_message_and_replays_it_to_the_paused_triage(world: World) -> None:
    _, pseudo = world.person("21", consent=True)
    dispatcher = CollectingDispatcher()
    asked = await ActionSafetyCheck(crisis_context(world)).run(
        dispatcher,
        tracker(
            pseudo,
            "bah rien jai arrete les cours",
            "crisis_check",
            risk=MEDIUM,
            events=PAUSED_TRIAGE,
        ),
        {},
    )
    dispatcher = CollectingDispatcher()
    t = tracker(pseudo, "/affirm", "affirm", slots=slots_of(asked))
    events = await ActionSafetyAnswer(crisis_context(world)).run(dispatcher, t, {})
    assert responses(dispatcher) == ["utter_safety_ok"]
    assert [e["event"] for e in events] == ["rewind", "rewind", "slot", "slot", "action", "user"]
    assert events[-1]["text"] == "bah rien jai arrete les cours"
    assert events[-1]["parse_data"]["intent"]["name"] == "inform"
    # flagged, waiting for a ticket: the next ticket shows it
    ref = world.handoff.request(pseudo, TriageSummary(needs=["emploi"]), source="triage")
    [signal] = world.alarms.signals(ref.ticket_id)
    assert (signal.tier, signal.answer, signal.text) == (
        "medium",
        "oui",
        "bah rien jai arrete les cours",
    )
    assert world.handoff.open_requests(pseudo)[0].urgency == "normal"


async def test_yes_to_a_message_with_nothing_to_go_on_with_opens_the_door(world: World) -> None:
    _, pseudo = world.person("22")
    risk = {**MEDIUM, "reason": "danger_words", "resume": {"name": "nlu_fallback"}}
    asked = await ActionSafetyCheck(crisis_context(world)).run(
        CollectingDispatcher(), tracker(pseudo, "jme sens vide", "crisis_check", risk=risk), {}
    )
    dispatcher = CollectingDispatcher()
    t = tracker(pseudo, "oui ca va", "affirm", slots=slots_of(asked))
    events = await ActionSafetyAnswer(crisis_context(world)).run(dispatcher, t, {})
    assert responses(dispatcher) == ["utter_safety_ok_more"]  # never "j'ai pas compris"
    assert slots_of(events) == {"safety_pending": None}


@pytest.mark.parametrize(("answer", "said"), [("deny", "non"), ("dont_know", "jsp")])
async def test_no_or_dont_know_is_the_high_risk_path(world: World, answer: str, said: str) -> None:
    _, pseudo = world.person(f"23{answer}")
    asked = await ActionSafetyCheck(crisis_context(world)).run(
        CollectingDispatcher(),
        tracker(pseudo, "jsais plus quoi faire de moi", "crisis_check", risk=MEDIUM),
        {},
    )
    dispatcher = CollectingDispatcher()
    t = tracker(pseudo, f"/{answer}", answer, slots=slots_of(asked))
    events = await ActionCrisis(crisis_context(world)).run(dispatcher, t, {})
    assert responses(dispatcher) == ["utter_crisis_suicide", "utter_handoff_urgent"]
    assert slots_of(events)["safety_pending"] is None
    request = open_request(world, pseudo)
    assert (request.urgency, request.crisis_kind) == ("crisis", "suicide")
    [signal] = world.alarms.signals(request.ticket_id)
    assert (signal.reason, signal.answer) == ("safety_answer", said)
    assert signal.text == "jsais plus quoi faire de moi"  # the worrying message, not "Non"


async def test_why_the_question_is_explained(world: World) -> None:
    _, pseudo = world.person("24")
    asked = await ActionSafetyCheck(crisis_context(world)).run(
        CollectingDispatcher(), tracker(pseudo, "jsuis vide", "crisis_check", risk=MEDIUM), {}
    )
    dispatcher = CollectingDispatcher()
    t = tracker(pseudo, "pk tu demandes ca", "ask_why", slots=slots_of(asked))
    assert await ActionSafetyCheck(crisis_context(world)).run(dispatcher, t, {}) == []
    assert responses(dispatcher) == ["utter_safety_why", "utter_ask_safety"]


# Pure helpers ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "intent", "topic"),
    [
        ("le 115 repond pas", None, "busy"),
        ("ca sonne occupe", None, "busy"),
        ("personne décroche", None, "busy"),
        ("je veux pas appeler je veux juste parler a quelqu'un maintenant", None, "talk"),
        ("il regarde mon tel", None, "discreet"),
        ("je vais appeler avec elle", None, "calling"),
        ("ils prennent pas les mineurs", None, "minor"),
        ("c'est quoi le numero deja", None, "numbers"),
        ("merci", None, "thanks"),
        ("a plus", "goodbye", "goodbye"),
        ("/ask_human", "ask_human", "talk"),
        ("ok", "affirm", "other"),
    ],
)
def test_followup_topics(text: str, intent: str | None, topic: str) -> None:
    assert followup_topic(text, intent, None) == topic


def test_yes_and_no_answer_the_numbers_offer() -> None:
    assert followup_topic("/affirm", "affirm", "numbers") == "numbers_yes"
    assert followup_topic("non", "deny", "numbers") == "numbers_no"


@pytest.mark.parametrize(
    ("text", "age", "minor"),
    [
        ("jai 16 ans", None, True),
        ("je suis mineure", None, True),
        ("16 ans et ils mont mis dehors", None, True),
        ("ils prennent pas les mineurs", None, True),
        ("jsuis dehors", "17", True),
        ("jai 19 ans", None, False),
        ("ma soeur a 14 ans", None, False),
        ("jsuis dehors", "22", False),
    ],
)
def test_minors(text: str, age: str | None, minor: bool) -> None:
    assert is_minor(text, age) is minor


def test_team_presence_in_plain_words() -> None:
    assert hours_fr(HOURS) == "du lundi au vendredi, de 9h à 17h30"
    assert presence_fr(HOURS, FRIDAY_NIGHT) == (
        "L'équipe est là du lundi au vendredi, de 9h à 17h30 : elle revient lundi à 9h. "
        "D'ici là, ce sont ces numéros qui répondent."
    )
    lunch = datetime(2026, 12, 7, 11, 45, tzinfo=UTC)  # Monday 12:45 in Paris
    assert "elle revient aujourd'hui à 13h30" in presence_fr(HOURS, lunch)
    thursday = datetime(2026, 12, 24, 18, 0, tzinfo=UTC)  # Christmas Eve, 19:00
    assert "elle revient le 28 décembre à 9h" not in presence_fr(HOURS, thursday)
    assert "elle revient lundi à 9h" in presence_fr(HOURS, thursday)  # 25th is a holiday
    saturday = OpeningHours.parse({"mon-fri": "09:00-17:00", "sat": "10:00-12:00"})
    assert hours_fr(saturday) == "du lundi au vendredi, de 9h à 17h et le samedi, de 10h à 12h"


async def test_the_helplines_go_out_even_when_the_database_fails(tmp_path: Any) -> None:
    broken = Database.from_url(f"sqlite:///{tmp_path / 'no-tables.db'}")  # never migrated
    handoff = HandoffService(broken, repo_router())
    context = CrisisContext(handoff, make_desk(broken, requests=handoff), HOURS)
    dispatcher = CollectingDispatcher()
    events = await ActionCrisis(context).run(
        dispatcher, tracker("y-1", "jvais me foutre en lair", "crisis_suicide"), {}
    )
    assert responses(dispatcher) == ["utter_crisis_suicide", "utter_handoff_urgent"]
    assert slots_of(events)["crisis_mode"] is True
    dispatcher = CollectingDispatcher()
    t = tracker("y-1", "jsuis vide", "crisis_check", risk=MEDIUM, slots={"safety_asked": "x"})
    await ActionSafetyCheck(context).run(dispatcher, t, {})
    assert responses(dispatcher) == ["utter_ask_safety"]
    broken.dispose()


async def test_the_urgent_ticket_keeps_what_the_triage_knew(world: World) -> None:
    _, pseudo = world.person("30", consent=True)
    events = [{"event": "user", "text": "jcherche un appart"}]
    slots = {"needs": ["logement"], "age": "19"}
    t = tracker(pseudo, "jveux mourir", "crisis_suicide", slots=slots, events=events)
    await ActionCrisis(crisis_context(world)).run(CollectingDispatcher(), t, {})
    request = open_request(world, pseudo)
    assert (request.needs, request.age, request.excerpt) == (
        ["logement"],
        "19",
        "jcherche un appart",
    )
