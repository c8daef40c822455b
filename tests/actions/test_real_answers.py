"""Issue 17 at the action level (real rasa_sdk Tracker + CollectingDispatcher, real database):
answers that only take what they mean, their message before the next question, the state of
the link with the counsellors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.fallback import ActionFallback
from actions.greet import ActionGreet
from actions.handoff import ActionOfferCounsellor, ActionRequestHandoff, LinkContext, since_fr
from actions.nudges import ActionOptOut
from actions.reading import bare_reaction, feelings, is_question, stops_questions, writer
from actions.triage import ActionTriageSummary
from actions.triage_ask import ActionAskSlot
from actions.triage_facts import phone_in
from actions.triage_form import ValidateTriageForm
from actions.triage_parsing import MISSING, Answer, parse_availability, parse_location, parse_phone
from core.clock import FixedClock
from core.models import TicketStatus
from core.vocabulary import SKIPPED
from handoff.link import LinkService
from handoff.requests import TriageSummary
from tests.support import make_desk
from tests.support.tickets import Desk, build
from tests.support.trackers import DOMAIN, slot_events, tracker

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)  # a Monday, 11h in Paris


def responses(dispatcher: CollectingDispatcher) -> list[str]:
    return [m.get("response") for m in dispatcher.messages]


async def run_form(form: ValidateTriageForm, t: Tracker) -> tuple[dict[str, Any], list[str | None]]:
    dispatcher = CollectingDispatcher()
    events = await form.run(dispatcher, t, DOMAIN)
    return slot_events(events), responses(dispatcher)


# What is an answer --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("je suis au fond du trou la", MISSING),
        ("reponds dabord a ma question", MISSING),
        ("bof", MISSING),
        ("23", MISSING),  # most often an age typed late: asked again
        ("dans le 23", "23"),
        ("le 93", "93"),
        ("jhabite a maubeuge", "Maubeuge"),
        ("saint-omer", "Saint Omer"),
        ("59100", "59100"),
        ("00123", MISSING),
    ],
)
def test_a_place_is_a_place_never_a_sentence(text: str, expected: str) -> None:
    assert parse_location(Answer(text, "inform")) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("06 12 34 56 78", "0612345678"),
        ("+33 6 12 34 56 78", "0612345678"),
        ("0033612345678", "0612345678"),
        ("07.12.34.56.78", "0712345678"),
        ("mon num c 0612345678 merci", "0612345678"),
        ("061234567", None),  # nine digits
        ("j'ai paye 115 euros", None),
    ],
)
def test_french_phone_numbers(text: str, expected: str | None) -> None:
    assert phone_in(text) == expected


def test_phone_and_availability_answers() -> None:
    assert parse_phone(Answer("/deny", "deny")) == SKIPPED
    assert parse_phone(Answer("jsp mon num", "inform")) == MISSING
    assert parse_availability(Answer("laprem", "inform")) == "l'après-midi"
    assert parse_availability(Answer('/inform{"when": "soir"}', "inform", [
        {"entity": "when", "value": "soir"}
    ])) == "le soir"  # fmt: skip
    assert parse_availability(Answer("mardi apres 14h", "inform")) == "mardi apres 14h"
    assert parse_availability(Answer("triste", "inform")) == MISSING


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("😭 😔", {"feelings"}),
        ("jsuis au fond du trou", {"feelings"}),
        ("jai honte de demander", {"feelings"}),
        ("mon fils a 19 ans il fait rien depuis le lycee", {"parent"}),
        ("jai besoin dune creche pour ma fille", set()),  # a young parent, not a parent writing
        ("c pour ma soeur elle cherche un taf", {"proche"}),
        ("stop avec tes questions", {"stop"}),
        ("c koi le rsa", {"question"}),
        ("?", {"bare"}),
        ("bof", {"bare"}),
        ("jcherche du taf", set()),
    ],
)
def test_what_kind_of_message(text: str, kinds: set[str]) -> None:
    found = {
        "feelings" if feelings(text) else "",
        writer(text) or "",
        "stop" if stops_questions(text) else "",
        "question" if is_question(text) else "",
        "bare" if bare_reaction(text) else "",
    } - {""}
    assert found == kinds


# The form ------------------------------------------------------------------------------------
async def test_junk_age_is_asked_again_once_differently_then_skipped() -> None:
    form = ValidateTriageForm()
    slots = {"needs": ["emploi"], "requested_slot": "age"}
    first, said = await run_form(form, tracker(text="triste", intent="inform", slots=slots))
    assert "age" not in first and said == ["utter_feelings"]  # a feeling first
    first, said = await run_form(form, tracker(text="azerty", intent="inform", slots=slots))
    assert "age" not in first and first["triage_retries"] == {"age": 1}
    again = CollectingDispatcher()
    await ActionAskSlot("age").run(again, tracker(slots={**slots, **first}), DOMAIN)
    assert responses(again) == ["utter_ask_age_again"]
    second, said = await run_form(
        form, tracker(text="azerty", intent="inform", slots={**slots, **first})
    )
    assert second["age"] == SKIPPED and second["requested_slot"] == "location"
    assert said == ["utter_skip_unclear"]


async def test_words_for_an_age_and_facts_from_earlier_messages() -> None:
    form = ValidateTriageForm()
    t = tracker(
        text="vingt deux", intent="inform", slots={"needs": ["emploi"], "requested_slot": "age"}
    )
    assert (await run_form(form, t))[0]["age"] == "22"
    # The first message said the town and the age: neither is asked.
    entities = [{"entity": "age", "value": "19"}, {"entity": "commune", "value": "Roubaix"}]
    first = {
        "event": "user",
        "text": "jai 19 ans jsuis sur roubaix",
        "parse_data": {"intent": {"name": "inform"}, "entities": entities},
    }
    t = tracker(text="je cherche un taf", intent="need_job", events=[first])
    slots, _ = await run_form(form, t)
    assert (slots["needs"], slots["age"], slots["location"]) == (["emploi"], "19", "Roubaix")
    assert slots["requested_slot"] == "situation"


async def test_feelings_first_and_the_triage_waits() -> None:
    form = ValidateTriageForm()
    slots, said = await run_form(form, tracker(text="jsuis au fond du trou", intent="need_morale"))
    assert slots["needs"] == ["moral / confiance"] and slots["triage_hold"] is True
    assert said == ["utter_feelings"]
    silent = CollectingDispatcher()
    await ActionAskSlot("age").run(silent, tracker(slots=slots), DOMAIN)
    assert silent.messages == []  # the question waits
    held = {**slots, "requested_slot": "age"}
    more, said = await run_form(
        form, tracker(text="c dur en ce moment", intent="inform", slots=held)
    )
    assert said == ["utter_feelings_heard"] and "age" not in more
    resume = tracker(
        text='/inform{"resume_triage": "oui"}',
        intent="inform",
        entities=[{"entity": "resume_triage", "value": "oui"}],
        slots=held,
    )
    assert (await run_form(form, resume))[0] == {"triage_hold": False}


async def test_a_question_mid_triage_is_noted_for_the_counsellor() -> None:
    form = ValidateTriageForm()
    slots = {"needs": ["emploi"], "age": "19", "requested_slot": "location"}
    events, said = await run_form(
        form, tracker(text="reponds dabord, jai droit au rsa ?", intent="inform", slots=slots)
    )
    assert said == ["utter_question_noted"]
    assert events["questions"] == ["reponds dabord, jai droit au rsa ?"]
    assert "location" not in events


async def test_a_parent_is_answered_as_a_parent_and_the_questions_stop() -> None:
    form = ValidateTriageForm()
    t = tracker(text="bonjour mon fils a 19 ans il fait rien", intent="need_orientation")
    events, said = await run_form(form, t)
    assert said == ["utter_parent_intro"]
    assert events["writer"] == "parent" and events["requested_slot"] is None
    # the form ends early: no summary of questions never asked
    summary = CollectingDispatcher()
    await ActionTriageSummary().run(summary, tracker(slots=events, active_loop=None), {})
    assert summary.messages == []


async def test_stop_the_questions_is_not_stop_the_follow_ups() -> None:
    form = ValidateTriageForm()
    slots = {"needs": ["emploi"], "requested_slot": "age"}
    events, said = await run_form(
        form, tracker(text="arrete tes questions", intent="insult", slots=slots)
    )
    assert said == ["utter_stop_questions"] and events["requested_slot"] is None

    class Recorder:
        opted: list[str] = []

        def opt_out(self, sender: str) -> None:
            self.opted.append(sender)

    recorder = Recorder()
    action = ActionOptOut(recorder)  # type: ignore[arg-type]
    stopped_form = [
        {"event": "user", "text": "stop"},
        {"event": "action", "name": "action_deactivate_loop"},
    ]
    typed = CollectingDispatcher()
    await action.run(
        typed, tracker(text="stop avec tes questions", intent="opt_out", events=stopped_form), {}
    )
    assert responses(typed) == ["utter_stop_questions"] and recorder.opted == []
    command = CollectingDispatcher()
    await action.run(command, tracker(text="/opt_out", intent="opt_out", events=stopped_form), {})
    assert responses(command) == ["utter_opt_out"] and recorder.opted == ["y-test"]


async def test_par_telephone_asks_the_number_then_when() -> None:
    form = ValidateTriageForm()
    base = {
        "needs": ["emploi"], "age": "19", "location": "Lens", "situation": "rien",
        "followed": "non", "consent": "granted",
    }  # fmt: skip
    chose = tracker(
        text='/inform{"contact": "telephone"}',
        intent="inform",
        entities=[{"entity": "contact", "value": "telephone"}],
        slots={**base, "requested_slot": "contact"},
    )
    events, _ = await run_form(form, chose)
    assert events["contact"] == "par téléphone" and events["requested_slot"] == "phone"
    number = tracker(text="06 12 34 56 78", intent="inform", slots={**base, **events})
    events2, _ = await run_form(form, number)
    assert events2["phone"] == "0612345678" and events2["requested_slot"] == "availability"
    when = tracker(text="plutot laprem", intent="inform", slots={**base, **events, **events2})
    events3, _ = await run_form(form, when)
    assert events3["availability"] == "l'après-midi" and events3["requested_slot"] is None
    # Without consent the number is not asked (nothing would be kept).
    no_consent = tracker(
        text='/inform{"contact": "telephone"}',
        intent="inform",
        entities=[{"entity": "contact", "value": "telephone"}],
        slots={**base, "consent": "refused", "requested_slot": "contact"},
    )
    assert (await run_form(form, no_consent))[0]["requested_slot"] == "availability"


# Outside the form ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("?", "utter_easy_choice"),
        ("ok", "utter_easy_choice"),
        ("jsuis pas fort a lecrit", "utter_writing_help"),
        ("😭 😔", "utter_feelings"),
        ("ma fille a 17 ans elle a arrete le lycee", "utter_parent_intro"),
        ("c koi le truc pour les apprentis", "utter_question_noted"),
        ("azertyuiop", "utter_default"),
    ],
)
async def test_the_fallback_answers_what_the_message_is(text: str, expected: str) -> None:
    dispatcher = CollectingDispatcher()
    await ActionFallback().run(dispatcher, tracker(text=text, intent="nlu_fallback"), {})
    assert responses(dispatcher) == [expected]
    assert "112" not in str(dispatcher.messages)


# The link with the counsellors ------------------------------------------------------------------
@pytest.fixture
def desk(sqlite_url: str) -> Desk:
    from core import migrate
    from core.db import Database

    migrate.upgrade(sqlite_url)
    return build(Database.from_url(sqlite_url), FixedClock(NOW))


def link_ctx(desk: Desk) -> LinkContext:
    return LinkContext(
        desk.handoff,
        LinkService(desk.db),
        "sous 48 h",
        make_desk(desk.db, desk.clock, requests=desk.handoff),
        clock=desk.clock,
    )


async def test_with_a_ticket_open_news_instead_of_a_second_offer(desk: Desk) -> None:
    _, pseudo = desk.person()
    desk.handoff.request(pseudo, TriageSummary(needs=["emploi"]), source="triage")
    ctx = link_ctx(desk)
    waiting = CollectingDispatcher()
    await ActionOfferCounsellor(ctx).run(waiting, tracker(sender=pseudo, intent="ask_human"), {})
    assert responses(waiting) == ["utter_news_waiting"]
    assert waiting.messages[0]["since"] == "il y a moins d'une heure"
    # "oui" again does not open a second ticket: news
    again = CollectingDispatcher()
    await ActionRequestHandoff(ctx).run(
        again, tracker(sender=pseudo, intent="affirm", slots={"handoff_requested": True}), {}
    )
    assert responses(again) == ["utter_news_waiting"]
    assert len(desk.handoff.open_requests(pseudo)) == 1


async def test_coming_back_after_closure_with_the_same_counsellor(desk: Desk) -> None:
    _, pseudo = desk.person()
    lea = desk.counsellor("Léa", team="lille")
    ref = desk.handoff.request(
        pseudo, TriageSummary(needs=["emploi"], location="Lille"), source="triage"
    )
    desk.tickets.claim(ref.ticket_id, lea)
    desk.tickets.resolve(ref.ticket_id, lea, next(iter(desk.tickets.outcomes)))
    ctx = link_ctx(desk)
    hello = CollectingDispatcher()
    greeted = await ActionGreet(link=ctx).run(
        hello, tracker(sender=pseudo, intent="greet", slots={"handoff_requested": True}), {}
    )
    assert responses(hello) == ["utter_welcome_back_link"]
    assert hello.messages[0]["counsellor"] == "Léa"
    assert [b["title"] for b in hello.messages[0]["buttons"]][0] == "Oui, avec Léa"
    assert slot_events(greeted)["returning_counsellor"] == lea.id
    same = CollectingDispatcher()
    t = tracker(
        sender=pseudo,
        text='/ask_human{"returning": "same"}',
        intent="ask_human",
        entities=[{"entity": "returning", "value": "same"}],
        slots={"handoff_requested": True, "needs": ["logement"]},
    )
    await ActionOfferCounsellor(ctx).run(same, t, {})
    assert responses(same) == ["utter_handoff_returning"]
    state = LinkService(desk.db).state(pseudo)
    assert state.open is not None and state.open.ticket_id != ref.ticket_id
    assert state.open.counsellor == "Léa" and state.open.status == TicketStatus.claimed


async def test_questions_and_phone_reach_the_ticket_with_consent_only(desk: Desk) -> None:
    _, pseudo = desk.person(consent=True)
    summary = TriageSummary(needs=["emploi"], phone="0612345678", questions=["le rsa a 18 ans ?"])
    desk.handoff.request(pseudo, summary, source="triage")
    link = LinkService(desk.db)
    assert link.add_to_open_request(pseudo, question="et la prime d'activite ?")
    [request] = desk.handoff.open_requests(pseudo)
    assert request.phone == "0612345678"
    assert request.questions == ["le rsa a 18 ans ?", "et la prime d'activite ?"]
    _, other_pseudo = desk.person()
    desk.handoff.request(other_pseudo, summary, source="triage")
    [kept] = desk.handoff.open_requests(other_pseudo)
    assert kept.phone is None and kept.questions == []  # no consent: not kept
    assert not link.add_to_open_request(other_pseudo, phone="0712345678")


def test_since_in_words() -> None:
    from zoneinfo import ZoneInfo

    paris = ZoneInfo("Europe/Paris")
    assert since_fr(NOW - timedelta(minutes=20), NOW, paris) == "il y a moins d'une heure"
    assert since_fr(NOW - timedelta(hours=3), NOW, paris) == "ce matin"
    assert since_fr(NOW - timedelta(days=1), NOW, paris) == "hier"
    assert since_fr(NOW - timedelta(days=3), NOW, paris) == "vendredi"
    assert since_fr(NOW - timedelta(days=20), NOW, paris) == "le 17 novembre"


async def test_a_yes_that_names_a_human_is_the_hand_off(desk: Desk) -> None:
    from actions.handoff import ActionAcknowledge

    _, pseudo = desk.person()
    ctx = link_ctx(desk)
    yes = CollectingDispatcher()
    t = tracker(sender=pseudo, text="oui passe moi quelqu'un", intent="affirm", active_loop=None)
    events = await ActionAcknowledge(ctx).run(yes, t, {})
    assert responses(yes) == ["utter_handoff_done"]
    assert slot_events(events)["handoff_requested"] is True
    assert len(desk.handoff.open_requests(pseudo)) == 1
    # a bare "ok" at the start of a conversation gets something to click, not "D'accord."
    ok = CollectingDispatcher()
    await ActionAcknowledge(ctx).run(ok, tracker(text="ok", intent="affirm", active_loop=None), {})
    assert responses(ok) == ["utter_easy_choice"]


async def test_a_run_on_message_not_understood_still_starts_the_triage() -> None:
    dispatcher = CollectingDispatcher()
    t = tracker(text="slt jai 22 ans jsuis sur roubaix je cherche un taf", intent="nlu_fallback")
    events = await ActionFallback().run(dispatcher, t, {})
    assert events == [{"event": "followup", "timestamp": None, "name": "triage_form"}]
    form_events, _ = await run_form(ValidateTriageForm(), t)
    assert (form_events["needs"], form_events["age"], form_events["location"]) == (
        ["emploi"],
        "22",
        "Roubaix",
    )


async def test_a_skip_with_a_feeling_is_a_feeling_and_questions_are_not_repeated() -> None:
    form = ValidateTriageForm()
    slots = {"requested_slot": "needs"}
    events, said = await run_form(
        form, tracker(text="jsp jsuis perdu", intent="dont_know", slots=slots)
    )
    assert said == ["utter_feelings"] and "needs" not in events
    # after a side answer this turn (a question noted), the question comes in other words
    side = tracker(
        slots={"requested_slot": "age"},
        events=[
            {"event": "user", "text": "c koi le cej ?"},
            {"event": "bot", "text": "Je sais pas te répondre sur ça, mais je le note"},
        ],
    )
    again = CollectingDispatcher()
    await ActionAskSlot("age").run(again, side, DOMAIN)
    assert responses(again) == ["utter_ask_age_again"]


async def test_yes_naming_a_structure_answers_the_followed_question() -> None:
    t = tracker(
        text="oui la mission locale mais ca sert a rien",
        intent="faq",
        slots={"needs": ["logement"], "age": "23", "location": "Roubaix", "situation": "rien",
               "requested_slot": "followed"},
    )  # fmt: skip
    events, said = await run_form(ValidateTriageForm(), t)
    assert events["followed"] == "oui (mission locale)" and said == []


async def test_the_same_question_never_twice_in_the_same_words() -> None:
    asked_again = {"event": "bot", "text": "Juste ta ville…", "metadata": {
        "utter_action": "utter_ask_location_again"
    }}  # fmt: skip
    t = tracker(
        slots={"requested_slot": "location", "triage_retries": {"location": 1}},
        events=[asked_again, {"event": "user", "text": "ben jcherche du taf depuis 8 mois"}],
    )
    dispatcher = CollectingDispatcher()
    await ActionAskSlot("location").run(dispatcher, t, DOMAIN)
    assert responses(dispatcher) == ["utter_ask_location"]
