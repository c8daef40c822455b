"""InsightsService (NLU turns, misunderstood inbox, annotations) on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from bot.pipeline import Exchange
from core.clock import FixedClock
from core.db import Database
from core.erasure import ErasureService
from core.models import Channel, NluTurn, Role
from core.people import PeopleService, PersonRef
from core.turns import LOW_CONFIDENCE, TurnInfo
from handoff.accounts import AccountService
from maraude.app import create_app
from maraude.services import CONSENT_REFUSED_HOOKS
from studio.insights import (
    OUT_OF_SCOPE,
    InsightsService,
    TurnView,
    UnknownIntent,
    domain_intents,
    group_turns,
)
from tests.support import make_settings
from tests.support.dashboard import PASSWORD, DashboardClient, account, logged_in
from tests.support.html import parse_page

SECRET = "s" * 40
CLOCK_START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ENTITIES = [{"entity": "postcode", "value": "59100", "extractor": "RegexEntityExtractor"}]


def turn(
    text: str,
    intent: str = "nlu_fallback",
    confidence: float = 0.3,
    *,
    normalised: str | None = None,
    entities: list[dict[str, object]] | None = None,
) -> TurnInfo:
    return TurnInfo(
        text=text,
        normalised=normalised if normalised is not None else text.lower(),
        intent=intent,
        confidence=confidence,
        entities=list(entities or []),
        actions=["action_default_fallback" if intent == "nlu_fallback" else "utter_x"],
        model="20260301-120000-warm-rasa.tar.gz",
    )


@pytest.fixture
def people(database: Database, clock: FixedClock) -> PeopleService:
    return PeopleService(database, SECRET, clock, on_consent_refused=CONSENT_REFUSED_HOOKS)


@pytest.fixture
def insights(database: Database, clock: FixedClock) -> InsightsService:
    return InsightsService(database, clock)


def person(people: PeopleService, key: str, consent: bool | None = True) -> PersonRef:
    ref = people.identify(Channel.simulator, key)
    if consent is not None:
        people.record_consent(ref.pseudo_id, consent)
    return ref


def rows(database: Database, person_id: int | None = None) -> list[NluTurn]:
    with database.transaction() as session:
        query = select(NluTurn).order_by(NluTurn.id)
        if person_id is not None:
            query = query.where(NluTurn.person_id == person_id)
        return list(session.scalars(query))


def observe(
    insights: InsightsService,
    ref: PersonRef,
    exchange_turn: TurnInfo | None,
    *,
    shown: str,
    typed: bool = True,
) -> None:
    asyncio.run(insights.after_exchange(Exchange(ref, shown, typed, exchange_turn, [])))


# Recording ---------------------------------------------------------------------------------
def test_typed_turn_is_recorded_with_its_text_when_consent_is_granted(
    insights: InsightsService, people: PeopleService, database: Database
) -> None:
    ref = person(people, "a")
    observe(
        insights,
        ref,
        turn(
            "Jcherche un appart 59100",
            "need_housing",
            0.91,
            normalised="je cherche un appart 59100",
            entities=ENTITIES,
        ),
        shown="Jcherche un appart 59100",
    )
    [row] = rows(database)
    assert (row.person_id, row.text, row.normalised) == (
        ref.id,
        "Jcherche un appart 59100",
        "je cherche un appart 59100",
    )
    assert (row.intent, row.confidence, row.fallback) == ("need_housing", 0.91, False)
    assert row.action == "utter_x" and row.model == "20260301-120000-warm-rasa.tar.gz"
    assert row.entities == ENTITIES and row.created_at == CLOCK_START
    assert row.annotated_intent is None and row.exported_at is None


def test_without_consent_only_the_anonymous_part_is_kept(
    insights: InsightsService, people: PeopleService, database: Database
) -> None:
    undecided = person(people, "u", consent=None)
    refused = person(people, "r", consent=False)
    observe(
        insights,
        undecided,
        turn("jsuis a lens 59100", entities=ENTITIES),
        shown="jsuis a lens 59100",
    )
    observe(insights, refused, turn("mon num 0612345678"), shown="mon num 0612345678")
    first, second = rows(database)
    for row in (first, second):
        assert row.text is None and row.normalised is None
        assert row.intent == "nlu_fallback" and row.fallback is True
    assert first.entities == [{"entity": "postcode", "extractor": "RegexEntityExtractor"}]
    assert insights.misunderstood() == []
    assert insights.counts().hidden == 2


def test_consent_is_read_again_when_recording(
    insights: InsightsService, people: PeopleService, database: Database
) -> None:
    """The PersonRef the pipeline holds is from before the engine ran the consent action."""
    stale = person(people, "c", consent=None)
    people.record_consent(stale.pseudo_id, True)  # what the consent action just did
    observe(insights, stale, turn("ok vas y garde", "consent_accept", 0.55), shown="ok vas y garde")
    [row] = rows(database)
    assert row.text == "ok vas y garde"


def test_buttons_commands_and_unread_turns_are_not_recorded(
    insights: InsightsService, people: PeopleService, database: Database
) -> None:
    ref = person(people, "b")
    observe(
        insights,
        ref,
        turn("/consent_accept", "consent_accept", 1.0),
        shown="OK pour moi",
        typed=False,
    )
    observe(insights, ref, None, shown="salut")  # the engine's tracker could not be read
    assert rows(database) == []


def test_an_erased_person_is_not_recorded(
    insights: InsightsService, people: PeopleService, database: Database
) -> None:
    ref = person(people, "e")
    ErasureService(database, database).erase(ref.pseudo_id)
    assert insights.record(ref.id, "coucou", turn("coucou")) is None
    assert rows(database) == []


def test_text_is_made_storable(
    insights: InsightsService, people: PeopleService, database: Database
) -> None:
    ref = person(people, "n")
    insights.record(ref.id, "a\x00b \ud800", turn("a\x00b"))
    [row] = rows(database)
    assert row.text == "ab ?"


# Privacy -----------------------------------------------------------------------------------
def test_refusing_consent_later_drops_the_turn_texts(
    insights: InsightsService, people: PeopleService, database: Database
) -> None:
    ref = person(people, "p")
    other = person(people, "q")
    for who in (ref, other):
        insights.record(who.id, "jsuis a lens 59100", turn("jsuis a lens 59100", entities=ENTITIES))
    [mine] = rows(database, ref.id)
    insights.annotate([mine.id], "inform", None)
    people.record_consent(ref.pseudo_id, False)
    [mine] = rows(database, ref.id)
    assert mine.text is None and mine.normalised is None
    assert mine.entities == [{"entity": "postcode", "extractor": "RegexEntityExtractor"}]
    assert mine.intent == "nlu_fallback"  # the anonymous statistics stay
    assert insights.export_selection() == []  # an annotation without its text is not exported
    [theirs] = rows(database, other.id)
    assert theirs.text == "jsuis a lens 59100" and theirs.entities == ENTITIES


def test_erasure_deletes_the_turns(
    insights: InsightsService, people: PeopleService, database: Database
) -> None:
    ref = person(people, "x")
    other = person(people, "y")
    for who in (ref, other, ref):
        insights.record(who.id, "truc bizarre", turn("truc bizarre"))
    ErasureService(database, database).erase(ref.pseudo_id)
    with database.transaction() as session:
        assert session.scalar(select(func.count(NluTurn.id))) == 1
    assert [r.person_id for r in rows(database)] == [other.id]


# Inbox -------------------------------------------------------------------------------------
def test_misunderstood_means_fallback_or_low_confidence_not_yet_annotated(
    insights: InsightsService, people: PeopleService, clock: FixedClock
) -> None:
    ref = person(people, "m")
    ids = {}
    for text, intent, confidence in [
        ("blabla du fallback", "nlu_fallback", 0.95),
        ("pas sur du tout", "need_job", LOW_CONFIDENCE - 0.01),
        ("tout a fait compris", "need_job", LOW_CONFIDENCE),
        ("bien compris", "greet", 0.99),
    ]:
        clock.advance(minutes=1)
        ids[text] = insights.record(ref.id, text, turn(text, intent, confidence))
    pending = insights.misunderstood()
    assert [t.text for t in pending] == ["pas sur du tout", "blabla du fallback"]  # newest first
    assert pending[0].intent == "need_job" and pending[0].fallback is False
    assert insights.annotate([ids["pas sur du tout"]], "need_job", None) == 1
    assert [t.text for t in insights.misunderstood()] == ["blabla du fallback"]
    counts = insights.counts()
    assert (counts.pending, counts.annotated, counts.exported, counts.hidden) == (1, 1, 0, 0)


def view(i: int, text: str, intent: str = "nlu_fallback") -> TurnView:
    return TurnView(i, text, None, intent, 0.2, intent == "nlu_fallback", None, CLOCK_START)


def test_grouping_puts_look_alike_messages_together_deterministically() -> None:
    turns = [
        view(1, "je cherche un stage"),
        view(2, "c koi le rsa", "faq/aides"),
        view(3, "Je cherche un stage !!", "need_training"),
        view(4, "jcherche un stage"),
        view(5, "mon chien est malade"),
        view(6, "cest koi le rsa", "faq/aides"),
        view(7, "je cherche un appart"),
    ]
    groups = group_turns(turns)
    assert [[t.id for t in g.turns] for g in groups] == [[1, 3, 4], [2, 6], [5], [7]]
    assert groups[0].count == 3 and groups[0].id == 1
    assert groups[0].intents == [("nlu_fallback", 2), ("need_training", 1)]
    assert groups[0].examples(2) == ["je cherche un stage", "Je cherche un stage !!"]
    shuffled = turns[:]
    random.Random(7).shuffle(shuffled)
    assert group_turns(shuffled) == groups


def test_grouping_uses_the_normalised_text_when_there_is_one() -> None:
    a = TurnView(1, "jsp quoi faire", "je sais pas quoi faire", None, 0.3, False, None, CLOCK_START)
    b = TurnView(
        2, "jsais pas quoi faire", "je sais pas quoi faire", None, 0.3, False, None, CLOCK_START
    )
    assert len(group_turns([a, b])) == 1
    raw = [view(1, "jsp quoi faire"), view(2, "sais pas trop quoi faire")]
    assert len(group_turns(raw)) == 2


def test_groups_of_the_service(insights: InsightsService, people: PeopleService) -> None:
    ref = person(people, "g")
    for text in ("truc chelou", "un truc chelou", "rien a voir"):
        insights.record(ref.id, text, turn(text))
    groups = insights.groups()
    assert [sorted(t.text for t in g.turns) for g in groups] == [
        ["truc chelou", "un truc chelou"],
        ["rien a voir"],
    ]


# Annotation --------------------------------------------------------------------------------
def test_annotate_checks_the_intent_against_the_domain(
    insights: InsightsService, people: PeopleService, database: Database
) -> None:
    ref = person(people, "i")
    manager = AccountService(database).add(
        "chef@example.org", "Chef", "un-mot-de-passe-solide", role=Role.manager
    )
    first = insights.record(ref.id, "quel est le montant du cej", turn("x"))
    second = insights.record(ref.id, "tu kiffes le foot", turn("y"))
    assert first is not None and second is not None
    for bad in ("faq", "nlu_fallback", "EXTERNAL_triage_nudge", "need_pizza", ""):
        with pytest.raises(UnknownIntent):
            insights.annotate([first], bad, manager.id)
    assert {"faq/cej", "need_job", OUT_OF_SCOPE} <= set(insights.intents())
    assert insights.annotate([first], "faq/cej", manager.id) == 1
    assert insights.annotate([first, second], OUT_OF_SCOPE, manager.id) == 1  # first: done
    assert insights.annotate([first], "need_job", manager.id) == 0  # the first manager wins
    by_id = {r.id: r for r in rows(database)}
    assert by_id[first].annotated_intent == "faq/cej"
    assert by_id[second].annotated_intent == OUT_OF_SCOPE
    assert by_id[first].annotated_by == manager.id and by_id[first].annotated_at == CLOCK_START


def test_export_selection_and_mark_exported(
    insights: InsightsService, people: PeopleService, clock: FixedClock
) -> None:
    ref = person(people, "s")
    a = insights.record(ref.id, "un", turn("un"))
    b = insights.record(ref.id, "deux", turn("deux"))
    insights.record(ref.id, "trois", turn("trois"))  # not annotated
    assert a is not None and b is not None
    insights.annotate([b], "thanks", None)
    insights.annotate([a], OUT_OF_SCOPE, None)
    assert [(x.id, x.text, x.intent) for x in insights.export_selection()] == [
        (a, "un", OUT_OF_SCOPE),
        (b, "deux", "thanks"),
    ]
    clock.advance(hours=1)
    assert insights.mark_exported([a, b]) == 2
    assert insights.mark_exported([a]) == 0
    assert insights.export_selection() == []
    assert insights.annotate([a], "greet", None) == 0  # exported: settled
    counts = insights.counts()
    assert (counts.pending, counts.annotated, counts.exported) == (1, 0, 2)


def test_domain_intents_reads_every_domain_file(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text(
        'version: "3.1"\nintents:\n  - greet\n  - ask:\n      use_entities: []\n'
        "  - EXTERNAL_ping\n  - faq\n",
        encoding="utf-8",
    )
    (tmp_path / "b.yml").write_text(
        "intents:\n  - greet\n  - need_job\nresponses:\n"
        "  utter_faq/zeta:\n    - text: z\n  utter_faq/alpha:\n    - text: a\n"
        "  utter_greet:\n    - text: salut\n",
        encoding="utf-8",
    )
    assert domain_intents(tmp_path) == ["greet", "ask", "faq/alpha", "faq/zeta", "need_job"]


# Dashboard page (/tableau/incompris), over HTTP on SQLite ----------------------------------
@pytest.fixture
def http(tmp_path: Path, clock: FixedClock) -> Iterator[TestClient]:
    app = create_app(make_settings(tmp_path), clock=clock)
    with TestClient(app) as client:
        yield client


def inbox_rows(page: str) -> dict[int, str]:
    """Turn id -> its message cell as served (HTML) on the inbox page (turns with a text)."""
    return {
        int(row.get("data-turn") or 0): row.one("turn-text").inner
        for row in parse_page(page).all("turn")
        if row.has("turn-text")
    }


def test_inbox_page_groups_annotates_and_is_for_managers_only(
    http: TestClient, clock: FixedClock
) -> None:
    services: Any = http.app.state.services  # type: ignore[attr-defined]
    young = person(services.people, "web")
    ids = {
        text: services.insights.record(young.id, text, turn(text, "need_job", 0.42))
        for text in (
            "jcherche un stage de cuisine",
            "je cherche un stage en cuisine",
            "<script>alert(1)</script> tu connais le foot",
            "bien compris",
        )
    }
    services.insights.record(young.id, "compris", turn("compris", "greet", 0.99))
    counsellor = account(services, "Lina")
    manager = account(services, "Marc", role=Role.manager)

    lina = logged_in(http, services, counsellor)
    assert 'id="nav-inbox"' not in lina.get("/tableau").text
    denied = lina.get("/tableau/incompris")
    assert denied.status_code == 403 and "réservée aux responsables" in denied.text
    refused = lina.post(
        "/tableau/incompris/annoter", groupe="need_job", tour=str(ids["bien compris"])
    )
    assert refused.status_code == 403
    assert services.insights.counts().annotated == 0

    marc = DashboardClient(TestClient(http.app))
    assert marc.login(manager.email, PASSWORD).status_code == 200
    queue = marc.get("/tableau")
    assert 'id="nav-inbox"' in queue.text
    page = marc.get("/tableau/incompris")
    assert page.status_code == 200 and "Messages incompris" in page.text
    assert f"confiance sous {round(LOW_CONFIDENCE * 100)} %" in page.text  # the app's threshold
    shown = inbox_rows(page.text)
    assert set(shown) == set(ids.values())  # the well-understood message is not there
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text and "<script>alert" not in page.text
    # French names only (core/intents.py), never the intent's code on screen
    assert "besoin : emploi" in page.text and "(need_job)" not in page.text
    assert "42 %" in page.text
    stage = [ids["jcherche un stage de cuisine"], ids["je cherche un stage en cuisine"]]
    groups = [group.get("data-group") for group in parse_page(page.text).all("group")]
    assert len(groups) == 3 and groups[0] == str(stage[0])  # the biggest group first

    # the group goes to need_training, but its second message is left for later
    done = marc.post(
        "/tableau/incompris/annoter",
        groupe="need_training",
        tour=[str(i) for i in stage],  # type: ignore[arg-type]
        **{f"intention_{stage[1]}": "plus_tard"},
    )
    assert marc.flashes(done) == [
        "1 message annoté, 1 laissé pour plus tard. Exporte-les avec « maraude annotate export »."
    ]
    assert stage[0] not in inbox_rows(done.text) and stage[1] in inbox_rows(done.text)

    oddity = ids["<script>alert(1)</script> tu connais le foot"]
    bad = marc.post("/tableau/incompris/annoter", groupe="need_pizza", tour=str(oddity))
    assert marc.errors(bad) == ["Intention inconnue dans le domaine : need_pizza."]
    empty = marc.post("/tableau/incompris/annoter", groupe="", tour=str(oddity))
    assert marc.errors(empty) == ["Choisis une intention (ou « hors sujet ») pour ce groupe."]
    ok = marc.post(
        "/tableau/incompris/annoter",
        groupe="",
        tour=str(oddity),
        **{f"intention_{oddity}": OUT_OF_SCOPE},
    )
    assert marc.flashes(ok)[0].startswith("1 message annoté.")
    again = marc.post("/tableau/incompris/annoter", groupe="greet", tour=str(oddity))
    assert marc.errors(again) == ["Ces messages étaient déjà annotés (par un·e collègue ?)."]
    forged = http.post(
        "/tableau/incompris/annoter", data={"groupe": "greet", "tour": str(stage[1])}
    )
    assert forged.status_code == 403  # no CSRF token

    assert [(a.text, a.intent) for a in services.insights.export_selection()] == [
        ("jcherche un stage de cuisine", "need_training"),
        ("<script>alert(1)</script> tu connais le foot", OUT_OF_SCOPE),
    ]
    with services.db.transaction() as session:
        annotated_by = session.scalar(select(NluTurn.annotated_by).where(NluTurn.id == stage[0]))
    assert annotated_by == manager.id


# Intents by their French names --------------------------------------------------------------
def test_every_intent_of_the_domain_has_its_french_name_defined_once() -> None:
    from core.intents import INTENT_LABELS, NEED_LABELS, NO_INTENT, intent_label
    from core.vocabulary import NEEDS
    from studio.insights import DEFAULT_DOMAIN

    contract = (
        "greet goodbye affirm deny thanks bot_challenge ask_human opt_out delete_data dont_know "
        "out_of_scope inform need_job need_training need_orientation need_housing need_money "
        "need_health need_mobility need_admin need_morale need_childcare crisis_suicide "
        "crisis_violence crisis_shelter faq/cej faq/service_civique faq/mission_locale "
        "faq/apprentissage faq/aides nlu_fallback"
    ).split()
    for name in contract:
        assert name in INTENT_LABELS, name
    for name in domain_intents(DEFAULT_DOMAIN):  # a new one gets a readable name at least
        assert intent_label(name) != name and "_" not in intent_label(name), name
    assert tuple(NEED_LABELS.values()) == NEEDS  # the triage's words for the needs
    assert intent_label("need_job") == "besoin : emploi"
    assert intent_label("faq/cej") == "question : Contrat d'Engagement Jeune (CEJ)"
    assert intent_label("faq/bourse_permis") == "question : bourse permis"  # a new FAQ key
    assert intent_label("need_sport") == "besoin : sport"
    assert intent_label("crisis_autre") == "CRISE : autre"
    assert intent_label("truc_nouveau") == "autre : truc nouveau"
    assert intent_label(None) == intent_label("") == NO_INTENT


# A message's own analysis, and its place in the conversation ---------------------------------
def test_a_message_after_a_crisis_replay_does_not_take_the_earlier_analysis(
    insights: InsightsService, people: PeopleService, database: Database, clock: FixedClock
) -> None:
    """After the safety question, actions/crisis.py replays the worrying message: the
    engine's latest message is then that earlier one, not the young person's answer."""
    ref = person(people, "crise")
    worrying = "jsuis au bout jcrois"
    observe(insights, ref, turn(worrying, "crisis_check", 0.41), shown=worrying)
    clock.advance(minutes=1)
    replayed = TurnInfo(
        text=worrying,
        normalised="je suis au bout je crois",
        intent="need_morale",
        confidence=0.38,
        actions=["utter_morale"],
    )
    observe(insights, ref, replayed, shown="oui ca va")
    first, answer = rows(database, ref.id)
    assert (first.text, first.intent, first.confidence) == (worrying, "crisis_check", 0.41)
    assert (answer.text, answer.intent, answer.confidence) == ("oui ca va", None, None)
    assert answer.normalised is None and answer.fallback is False
    assert answer.action == "utter_morale"  # what the bot did after it is still this exchange
    # In the inbox each message has its own analysis: "oui ca va" is not shown as need_morale.
    assert [(t.text, t.intent) for t in insights.misunderstood()] == [(worrying, "crisis_check")]
    # The same text with other spacing or case is the same message.
    clock.advance(minutes=1)
    observe(insights, ref, turn("JSUIS  au bout", "need_morale", 0.3), shown="jsuis au bout")
    assert rows(database, ref.id)[-1].intent == "need_morale"


def test_the_inbox_shows_the_bots_message_before_and_its_answer_after(
    http: TestClient, clock: FixedClock
) -> None:
    from core.models import Direction, Origin
    from core.people import LoggedMessage
    from studio.turn_context import turn_contexts

    services: Any = http.app.state.services  # type: ignore[attr-defined]
    young = person(services.people, "ctx")
    other = person(services.people, "ctx2")

    def said(who: PersonRef, *lines: tuple[str, str]) -> None:
        services.people.log_messages(
            who.id,
            [
                LoggedMessage(
                    Direction.incoming if by == "jeune" else Direction.outgoing,
                    Origin.youth if by == "jeune" else Origin.bot,
                    text,
                )
                for by, text in lines
            ],
        )

    said(young, ("robot", "Salut !"), ("robot", "T'as quel âge ?"), ("jeune", "bof chais pas"))
    said(young, ("robot", "Pas de souci, on passe."), ("robot", "Tu cherches quoi ?"))
    first = services.insights.record(
        young.id, "bof chais pas", turn("bof chais pas", "inform", 0.3)
    )
    clock.advance(minutes=3)
    said(other, ("robot", "Question de l'autre"), ("jeune", "jsp trop"), ("robot", "Réponse autre"))
    services.insights.record(other.id, "jsp trop", turn("jsp trop"))
    clock.advance(minutes=2)
    said(young, ("jeune", "jsp trop"), ("robot", "J'ai pas compris, tu peux reformuler ?"))
    second = services.insights.record(young.id, "jsp trop", turn("jsp trop"))
    nothing = services.insights.record(young.id, "jamais logué", turn("jamais logué"))

    contexts = turn_contexts(services.db, services.insights.misunderstood())
    assert first is not None and second is not None and nothing is not None
    assert contexts[first].asked == "T'as quel âge ?"
    assert contexts[first].answered == ["Pas de souci, on passe.", "Tu cherches quoi ?"]
    assert contexts[second].asked == "Tu cherches quoi ?"  # the other person's are not hers
    assert contexts[second].answered == ["J'ai pas compris, tu peux reformuler ?"]
    assert nothing not in contexts

    manager = account(services, "Marc", role=Role.manager)
    marc = DashboardClient(TestClient(http.app))
    assert marc.login(manager.email, PASSWORD).status_code == 200
    page = marc.get("/tableau/incompris").text
    cell = inbox_rows(page)[first]
    assert cell.index("T&#39;as quel âge ?") < cell.index("bof chais pas")
    assert cell.index("bof chais pas") < cell.index("Tu cherches quoi ?")
    assert "Robot avant" in cell and "Robot après" in cell
    assert "donne une info (âge, code postal, commune)" in page
