"""Triage actions with real rasa_sdk Tracker + CollectingDispatcher, and the answer parsers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.fallback import ActionFallback
from actions.greet import ActionGreet
from actions.handoff import ActionRequestHandoff, LinkContext
from actions.triage import ActionCorrect, ActionExplainQuestion, ActionTriageSummary
from actions.triage_form import ValidateTriageForm
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
from core import migrate
from core.db import Database
from core.models import Channel
from core.people import PeopleService
from core.vocabulary import SKIPPED
from handoff.desk import HandoffDesk
from handoff.requests import HandoffService
from tests.support import make_desk, repo_router
from tests.support.trackers import DOMAIN, slot_events, tracker


# Parsers ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "intent", "expected"),
    [
        ("jcherche du taf et un appart", "need_job", ["emploi", "logement"]),
        ("/need_money", "need_money", ["argent / aides"]),
        ("g pa le permis", "need_mobility", ["mobilité"]),
        ("passer", "dont_know", SKIPPED),
        ("pourquoi tu demandes ca", "ask_why", None),
    ],
)
def test_parse_needs(text: str, intent: str, expected: Any) -> None:
    assert parse_needs(Answer(text, intent)) == expected


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (Answer("j'ai 19 ans", "inform", [{"entity": "age", "value": "19"}]), "19"),
        (Answer("22 piges", "inform"), "22"),
        (Answer("dix-neuf ans", "inform", [{"entity": "age", "value": "19"}]), "19"),
        (Answer("jsp", "dont_know"), SKIPPED),
        (Answer("bientot vingt", "inform"), "20"),
        (Answer("vingt-deux", "inform"), "22"),
        (Answer("dix sept ans", "inform"), "17"),
        (Answer("triste", "inform"), MISSING),
        (Answer("45 ans", "inform"), MISSING),
        (Answer("t un robot", "bot_challenge"), None),
    ],
)
def test_parse_age(answer: Answer, expected: str | None) -> None:
    assert parse_age(answer) == expected


def test_parse_location_situation_followed_contact() -> None:
    assert (
        parse_location(Answer("59100", "inform", [{"entity": "postcode", "value": "59100"}]))
        == "59100"
    )
    assert (
        parse_location(
            Answer("jsuis a lievin", "inform", [{"entity": "commune", "value": "Liévin"}])
        )
        == "Liévin"
    )
    assert parse_location(Answer("le 93", "inform")) == "93"
    assert parse_location(Answer("passer", "dont_know")) == SKIPPED
    assert (
        parse_situation(
            Answer(
                '/inform{"situation": "rien"}', "inform", [{"entity": "situation", "value": "rien"}]
            )
        )
        == "ni emploi, ni études, ni formation"
    )
    assert parse_situation(Answer("je bosse en interim", "inform")) == "en emploi"
    assert parse_situation(Answer("jsuis en 1ere", "inform")) == "à l'école / en études"
    assert parse_followed(Answer("/affirm", "affirm")) == "oui"
    assert parse_followed(Answer("oui la mission locale", "affirm")) == "oui (mission locale)"
    assert parse_followed(Answer("nan", "deny")) == "non"
    assert parse_contact(
        Answer(
            '/inform{"contact": "telephone"}',
            "inform",
            [{"entity": "contact", "value": "telephone"}],
        )
    ) == ("par téléphone", None)
    assert parse_contact(Answer("appelle moi le matin", "inform")) == ("par téléphone", "le matin")
    assert parse_contact(Answer("apres 18h", "inform")) == ("ici, par message", "apres 18h")
    assert parse_contact(Answer("jsp", "dont_know")) == SKIPPED


# Form validation --------------------------------------------------------------------------
async def test_form_activation_takes_the_need_from_the_first_message() -> None:
    form = ValidateTriageForm()
    dispatcher = CollectingDispatcher()
    events = await form.run(dispatcher, tracker(text="jcherche du taf", intent="need_job"), DOMAIN)
    assert slot_events(events)["needs"] == ["emploi"]


async def test_form_fills_the_requested_slot_only() -> None:
    form = ValidateTriageForm()
    t = tracker(
        text="j'ai 19 ans",
        intent="inform",
        entities=[{"entity": "age", "value": "19"}],
        slots={"needs": ["emploi"], "requested_slot": "age"},
    )
    assert slot_events(await form.run(CollectingDispatcher(), t, DOMAIN)) == {
        "age": "19",
        "requested_slot": "location",
    }
    t = tracker(text="appelle moi le soir", intent="inform", slots={"requested_slot": "contact"})
    assert slot_events(await form.run(CollectingDispatcher(), t, DOMAIN)) == {
        "contact": "par téléphone",
        "availability": "le soir",
        "requested_slot": "needs",  # the first question still unanswered in this tracker
    }


async def test_a_digression_fills_nothing() -> None:
    t = tracker(text="pourquoi tu demandes ca", intent="ask_why", slots={"requested_slot": "age"})
    events = slot_events(await ValidateTriageForm().run(CollectingDispatcher(), t, DOMAIN))
    # only requested_slot, which Rasa ignores when it decides the form was not answered
    assert set(events) <= {"requested_slot"}


# Summary, correction, why, fallback, greet -------------------------------------------------
FULL = {
    "needs": ["emploi", "logement"],
    "age": "19",
    "location": "Lens",
    "situation": "en emploi",
    "followed": "non",
    "contact": "par téléphone",
    "availability": "le matin",
}


async def test_summary_lists_every_answer() -> None:
    dispatcher = CollectingDispatcher()
    await ActionTriageSummary().run(dispatcher, tracker(slots=FULL, active_loop=None), {})
    [message] = dispatcher.messages
    assert message["response"] == "utter_triage_summary"
    assert "emploi, logement" in message["summary"] and "Lens" in message["summary"]
    assert "par téléphone (le matin)" in message["summary"]


async def test_correct_a_field_asks_it_again() -> None:
    dispatcher = CollectingDispatcher()
    t = tracker(
        text='/correct{"field": "age"}',
        intent="correct",
        entities=[{"entity": "field", "value": "age"}],
        slots=FULL,
        active_loop=None,
    )
    events = await ActionCorrect().run(dispatcher, t, {})
    assert {"event": "slot", "timestamp": None, "name": "age", "value": None} in events
    assert events[-1] == {"event": "followup", "timestamp": None, "name": "triage_form"}


async def test_correct_without_field_asks_which_one() -> None:
    dispatcher = CollectingDispatcher()
    assert (
        await ActionCorrect().run(dispatcher, tracker(text="/correct", intent="correct"), {}) == []
    )
    assert dispatcher.messages[0]["response"] == "utter_ask_correct_field"


async def test_correct_with_the_new_value() -> None:
    dispatcher = CollectingDispatcher()
    t = tracker(
        text="non en fait j'ai 20 ans",
        intent="correct",
        entities=[{"entity": "age", "value": "20"}],
        slots={"requested_slot": "location"},
    )
    assert slot_events(await ActionCorrect().run(dispatcher, t, {})) == {"age": "20"}


async def test_why_explains_the_current_question() -> None:
    dispatcher = CollectingDispatcher()
    await ActionExplainQuestion().run(dispatcher, tracker(slots={"requested_slot": "age"}), {})
    assert dispatcher.messages[0]["response"] == "utter_why_age"


async def test_second_misunderstanding_in_a_row_offers_a_human() -> None:
    fallback = {"event": "user", "text": "azer", "parse_data": {"intent": {"name": "nlu_fallback"}}}
    understood = {"event": "user", "text": "slt", "parse_data": {"intent": {"name": "greet"}}}
    answered = {"event": "action", "name": "action_greet"}
    missed = {"event": "action", "name": "action_fallback"}
    once = CollectingDispatcher()
    await ActionFallback().run(
        once, tracker(text="azer", events=[understood, answered, fallback]), {}
    )
    assert [m["response"] for m in once.messages] == ["utter_default"]
    twice = CollectingDispatcher()
    await ActionFallback().run(twice, tracker(text="azer", events=[fallback, missed, fallback]), {})
    # choices and a human (the buttons of utter_default_twice), never an emergency number
    assert [m["response"] for m in twice.messages] == ["utter_default_twice"]


async def test_greet_offers_to_resume_a_triage_left_half_way() -> None:
    back = CollectingDispatcher()
    await ActionGreet().run(
        back, tracker(slots={"needs": ["emploi"], "age": "19"}, active_loop=None), {}
    )
    assert back.messages[0]["response"] == "utter_welcome_back"
    fresh = CollectingDispatcher()
    await ActionGreet().run(fresh, tracker(active_loop=None), {})
    assert fresh.messages[0]["response"] == "utter_greet"


# Hand-off request -------------------------------------------------------------------------
@pytest.fixture
def services(sqlite_url: str) -> tuple[PeopleService, HandoffService]:
    migrate.upgrade(sqlite_url)
    db = Database.from_url(sqlite_url)
    return PeopleService(db, "h" * 40), HandoffService(db, repo_router())


def desk_of(handoff: HandoffService) -> HandoffDesk:
    """The desk in front of `handoff` (same database), as the app wires it."""
    return make_desk(handoff._db, requests=handoff)


async def test_request_handoff_stores_the_structured_summary(services: Any) -> None:
    people, handoff = services
    person = people.identify(Channel.telegram, "321")
    people.record_consent(person.pseudo_id, granted=True)
    events = [{"event": "user", "text": "jcherche du taf"}, {"event": "user", "text": "/affirm"}]
    t = tracker(
        sender=person.pseudo_id, intent="affirm", slots=FULL, events=events, active_loop=None
    )
    dispatcher = CollectingDispatcher()
    ctx = LinkContext(handoff, None, "sous 48 h", desk_of(handoff))
    result = await ActionRequestHandoff(ctx).run(dispatcher, t, {})
    assert slot_events(result) == {"handoff_requested": True, "returning_counsellor": None}
    assert dispatcher.messages[0] == {
        **dispatcher.messages[0],
        "response": "utter_handoff_done",
        "delay": "sous 48 h",
    }
    [request] = handoff.open_requests(person.pseudo_id)
    assert request.needs == ["emploi", "logement"] and request.age == "19"
    assert (request.location, request.situation, request.followed) == ("Lens", "en emploi", "non")
    assert (request.contact, request.availability) == ("par téléphone", "le matin")
    assert request.urgency == "normal" and request.source == "triage"
    assert request.excerpt == "jcherche du taf"  # button presses are not their words


async def test_crisis_escalates_the_open_request(services: Any) -> None:
    people, handoff = services
    person = people.identify(Channel.telegram, "322")
    action = ActionRequestHandoff(LinkContext(handoff, None, "sous 48 h", desk_of(handoff)))
    await action.run(
        CollectingDispatcher(),
        tracker(sender=person.pseudo_id, intent="affirm", slots={"needs": ["emploi"]}),
        {},
    )
    dispatcher = CollectingDispatcher()
    await action.run(dispatcher, tracker(sender=person.pseudo_id, intent="crisis_suicide"), {})
    # a crisis reaching this action takes the crisis path: helplines, then the urgent ticket
    responses = [m["response"] for m in dispatcher.messages]
    assert responses == ["utter_crisis_suicide", "utter_handoff_urgent"]
    assert "jours ouvrés" not in str(dispatcher.messages)
    [request] = handoff.open_requests(person.pseudo_id)
    assert request.urgency == "crisis" and request.crisis_kind == "suicide"
    assert request.needs == ["emploi"]
    assert request.excerpt is None  # no consent given: no free text kept


@pytest.mark.parametrize(
    "parse",
    [
        parse_age,
        parse_availability,
        parse_contact,
        parse_followed,
        parse_location,
        parse_needs,
        parse_phone,
        parse_situation,
    ],
)
def test_a_nudge_the_app_triggered_is_never_taken_for_an_answer(parse: Any) -> None:
    # Rasa writes an external intent as a user turn whose text is "EXTERNAL: <intent>".
    nudge = Answer("EXTERNAL: EXTERNAL_triage_nudge", "EXTERNAL_triage_nudge")
    assert nudge.digression and parse(nudge) is None


# Questions chosen in maraude.yml (`triage.questions`) --------------------------------------
async def test_form_asks_only_the_configured_questions_in_their_order() -> None:
    form = ValidateTriageForm(questions=["needs", "contact", "age"])
    t = tracker(
        text="jcherche du taf",
        intent="need_job",
        slots={"requested_slot": "needs"},
    )
    events = await form.run(CollectingDispatcher(), t, DOMAIN)
    assert slot_events(events)["needs"] == ["emploi"]
    # contact comes next (not age, not location: the configured order, situation not asked)
    assert slot_events(events)["requested_slot"] == "contact"


async def test_form_is_done_once_the_configured_questions_are_answered() -> None:
    form = ValidateTriageForm(questions=["needs", "age"])
    t = tracker(
        text="19 ans",
        intent="inform",
        entities=[{"entity": "age", "value": "19"}],
        slots={"requested_slot": "age", "needs": ["emploi"]},
    )
    events = await form.run(CollectingDispatcher(), t, DOMAIN)
    assert slot_events(events)["age"] == "19"
    assert slot_events(events)["requested_slot"] is None


async def test_greet_counts_only_the_configured_questions() -> None:
    done = tracker(slots={"needs": ["emploi"], "age": "19"}, active_loop=None)
    short = CollectingDispatcher()
    await ActionGreet(questions=["needs", "age"]).run(short, done, {})
    assert short.messages[0]["response"] == "utter_greet"
    full = CollectingDispatcher()
    await ActionGreet().run(full, done, {})
    assert full.messages[0]["response"] == "utter_welcome_back"


def test_settings_refuse_unknown_or_repeated_questions(tmp_path: Path) -> None:
    from core.settings import SettingsError
    from tests.support import make_settings

    assert make_settings(tmp_path, triage={"questions": ["age", "needs"]}).triage.questions == [
        "age",
        "needs",
    ]
    with pytest.raises(SettingsError, match="unknown question"):
        make_settings(tmp_path, triage={"questions": ["needs", "shoe_size"]})
    with pytest.raises(SettingsError, match="twice"):
        make_settings(tmp_path, triage={"questions": ["needs", "needs"]})
