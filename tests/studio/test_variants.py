"""Wording experiments: the variant catalog (real and crafted domains), the exposures recorded
from conversation exchanges and from nudges, and their erasure.

The engine is a small stdlib HTTP server speaking Rasa's REST channel, tracker and
trigger_intent endpoints (no trained model needed); the database is real (SQLite, and
PostgreSQL through the gated `database` fixture)."""

from __future__ import annotations

import textwrap
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.engine_client import EngineClient
from bot.messages import replies_from_engine
from bot.pipeline import ConversationPipeline, Exchange
from bot.texts import AppTexts
from core.clock import FixedClock
from core.db import Database
from core.erasure import ErasureService
from core.models import Channel, FollowUpKind, ResponseExposure
from core.people import PeopleService
from handoff.desk import DeskTexts, HandoffDesk
from handoff.tickets import TicketService
from maraude.app import create_app
from nudges.contract import EngineNudge
from nudges.delivery import ChannelDelivery
from nudges.store import FollowUpService
from studio.experiments.catalog import DomainVariants, Variant, VariantCatalog, domain_files
from studio.experiments.exposures import ExperimentService
from tests.fakes.json_http import JsonHandler, JsonServer
from tests.support import ROOT, make_desk, make_settings, repo_router

DOMAIN = ROOT / "domain"
NOW = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
OFFER_A = "Tu veux qu'un·e conseiller·e te recontacte ?"
OFFER_B = (
    "Si tu veux, un·e conseiller·e peut te recontacter, juste pour en parler, "
    "sans engagement. Ça te va ?"
)
TEXTS = AppTexts.load()


def write_domain(folder: Path, files: dict[str, str]) -> Path:
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(content), encoding="utf-8")
    return folder


def all_domain_responses() -> dict[str, list[dict[str, Any]]]:
    responses: dict[str, list[dict[str, Any]]] = {}
    for path in domain_files(DOMAIN):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        responses.update(data.get("responses") or {})
    return responses


def fill(template: str) -> str:
    """What Rasa's interpolator makes of a template with some slot values (multi-line too)."""
    return template.replace("{summary}", "- un taf\n- 19 ans, Lille").replace(
        "{delay}", "sous 48 h"
    )


# The real domain ---------------------------------------------------------------------------
def test_the_real_domain_runs_the_counsellor_offer_experiment() -> None:
    catalog = VariantCatalog.load(DOMAIN)
    assert catalog.problems == ()
    assert catalog.experiments == {"utter_offer_counsellor": ["directe", "sans_pression"]}
    assert catalog.match(OFFER_A) == Variant("utter_offer_counsellor", "directe", OFFER_A)
    assert catalog.match(OFFER_B) == Variant("utter_offer_counsellor", "sans_pression", OFFER_B)


def test_every_other_message_of_the_real_domain_is_not_a_variant() -> None:
    catalog = VariantCatalog.load(DOMAIN)
    checked = 0
    for name, variations in all_domain_responses().items():
        for variation in variations:
            text = variation.get("text")
            if not isinstance(text, str):
                continue
            found = catalog.match(fill(text))
            if name == "utter_offer_counsellor":
                assert found is not None and found.variant == variation["id"]
            else:
                assert found is None, (name, text)
            checked += 1
    assert checked > 60  # the whole domain was walked, not an empty list
    for text in TEXTS.without_engine(TEXTS.crisis_kinds("slt")) + [
        TEXTS.engine_down,
        TEXTS.too_long,
    ]:
        assert catalog.match(text) is None


@pytest.mark.parametrize(
    "shown",
    [
        "  Tu veux qu'un·e conseiller·e te recontacte ?\n",
        "Tu veux qu'un·e  conseiller·e\nte recontacte ?",
        "Tu veux qu'un·e conseiller·e te recontacte\u00a0?",  # non-breaking space
    ],
)
def test_whitespace_does_not_matter(shown: str) -> None:
    assert VariantCatalog.load(DOMAIN).match(shown) == Variant(
        "utter_offer_counsellor", "directe", OFFER_A
    )


@pytest.mark.parametrize(
    "shown",
    [
        "Tu veux qu'un·e conseiller·e te recontacte",  # the question mark is a word
        "Tu veux qu'un·e conseiller·e te recontacte ? Oui",
        "tu veux qu'un·e conseiller·e te recontacte ?",  # case counts
        "",
    ],
)
def test_near_misses_are_not_variants(shown: str) -> None:
    assert VariantCatalog.load(DOMAIN).match(shown) is None


def test_matching_is_fast_on_the_real_domain() -> None:
    catalog = VariantCatalog.load(DOMAIN)
    texts = [
        fill(str(v["text"])) for vs in all_domain_responses().values() for v in vs if "text" in v
    ]
    rounds = 20
    started = time.perf_counter()
    for _ in range(rounds):
        for text in texts:
            catalog.match(text)
    per_match = (time.perf_counter() - started) / (rounds * len(texts))
    print(f"\n{len(texts)} domain texts, {per_match * 1e6:.1f} µs per match")
    assert per_match < 0.002


# Crafted domains ---------------------------------------------------------------------------
CRAFTED = {
    "offer.yml": """\
        version: "3.1"
        responses:
          utter_done:
            - id: a
              text: "C'est noté ! On te recontacte {delay}. Si c'est urgent, écris-moi."
              buttons:
                - title: "Ok"
                  payload: "/affirm"
            - id: b-long_2
              text: |
                Top, je transmets.
                Un·e conseiller·e te recontacte {delay}.
          utter_summary:
            - text: "Je résume :\\n{summary}\\nC'est bon ?"
        """,
    "nested/catchall.yml": """\
        version: "3.1"
        responses:
          utter_plain:
            - text: "Bonjour !"
          utter_echo:
            - id: generic
              text: "Tu as dit : {said}"
            - id: short
              text: "{said} ?"
          utter_specific:
            - text: "Tu as dit : {said}, c'est bien ça ?"
          utter_image:
            - image: "https://example.org/a.png"
        """,
}


@pytest.fixture
def crafted(tmp_path: Path) -> VariantCatalog:
    return VariantCatalog.load(write_domain(tmp_path / "domain", CRAFTED))


def test_placeholders_match_any_value_even_on_several_lines(crafted: VariantCatalog) -> None:
    assert crafted.experiments == {
        "utter_done": ["a", "b-long_2"],
        "utter_echo": ["generic", "short"],
    }
    done = "C'est noté ! On te recontacte demain matin. Si c'est urgent, écris-moi."
    assert crafted.match(done) == Variant(
        "utter_done",
        "a",
        "C'est noté ! On te recontacte {delay}. Si c'est urgent, écris-moi.",
    )
    # A block scalar (multi-line template, trailing newline), filled with a multi-line value.
    found = crafted.match("Top, je transmets.\nUn·e conseiller·e te recontacte sous\n48 h.")
    assert found is not None and (found.response, found.variant) == ("utter_done", "b-long_2")
    # Rasa leaves a placeholder as is when the slot is missing: still recognised.
    found = crafted.match("Top, je transmets. Un·e conseiller·e te recontacte {delay}.")
    assert found is not None and found.variant == "b-long_2"


def test_the_most_specific_template_wins_and_responses_without_ids_are_ignored(
    crafted: VariantCatalog,
) -> None:
    assert crafted.match("Tu as dit : un taf") == Variant(
        "utter_echo", "generic", "Tu as dit : {said}"
    )
    # utter_specific (no ids) is more specific than the generic variant: not taken for it.
    assert crafted.match("Tu as dit : un taf, c'est bien ça ?") is None
    assert crafted.match("Je résume :\n- un taf\nC'est bon ?") is None
    assert crafted.match("Bonjour !") is None
    found = crafted.match("un taf ?")
    assert found is not None and found.variant == "short"


def test_a_domain_file_alone_and_a_domain_without_experiments(tmp_path: Path) -> None:
    single = tmp_path / "domain.yml"
    single.write_text(
        'version: "3.1"\nresponses:\n  utter_x:\n    - id: un\n      text: "Salut"\n'
        '    - id: deux\n      text: "Coucou"\n',
        encoding="utf-8",
    )
    catalog = VariantCatalog.load(single)
    assert catalog.match("Coucou") == Variant("utter_x", "deux", "Coucou")
    plain = write_domain(
        tmp_path / "plain", {"a.yml": 'responses:\n  utter_x:\n    - text: "Salut"\n'}
    )
    empty = VariantCatalog.load(plain)
    assert not empty and len(empty) == 0 and empty.match("Salut") is None
    with pytest.raises(FileNotFoundError):
        VariantCatalog.load(tmp_path / "nowhere")


def test_badly_declared_experiments_are_reported_and_not_recorded(tmp_path: Path) -> None:
    domain = write_domain(
        tmp_path / "domain",
        {
            "bad.yml": """\
                responses:
                  utter_dup:
                    - id: a
                      text: "Un"
                    - id: a
                      text: "Deux"
                  utter_partial:
                    - id: a
                      text: "Trois"
                    - text: "Quatre"
                  utter_long:
                    - id: "un identifiant bien trop long pour la colonne variant"
                      text: "Cinq"
                  utter_blank:
                    - id: a
                      text: "{only}"
                    - id: b
                      custom: {x: 1}
                  utter_twins:
                    - id: a
                      text: "Pareil"
                    - id: b
                      text: " Pareil "
                  utter_ok:
                    - id: a
                      text: "Six"
                """,
            "more.yml": 'responses:\n  utter_ok:\n    - id: b\n      text: "Sept"\n',
        },
    )
    catalog = VariantCatalog.load(domain)
    problems = "\n".join(catalog.problems)
    assert "utter_dup: duplicate variant ids: a" in problems
    assert "utter_partial: some variations have an id and others not" in problems
    assert "utter_long: variation 1: id 'un identifiant" in problems
    assert "utter_blank: variation 1 (id a) is only placeholders" in problems
    assert "utter_blank: variation 2 (id b) has no text to recognise" in problems
    assert "utter_twins: two variations have the same text" in problems
    assert "more.yml: utter_ok: response defined twice" in problems
    assert catalog.experiments == {"utter_ok": ["b"]}  # the later definition, as Rasa merges
    for text in ("Un", "Deux", "Trois", "Quatre", "Cinq", "Six", "Pareil", "n'importe quoi"):
        assert catalog.match(text) is None


def test_the_domain_is_read_again_when_it_changes(tmp_path: Path) -> None:
    domain = write_domain(
        tmp_path / "domain", {"r.yml": 'responses:\n  utter_x:\n    - text: "Salut"\n'}
    )
    clock = FixedClock(NOW)
    source = DomainVariants(domain, clock=clock, every=30)
    assert source.current().match("Salut") is None
    (domain / "r.yml").write_text(
        'responses:\n  utter_x:\n    - id: a\n      text: "Salut"\n    - id: b\n      text: "Yo"\n',
        encoding="utf-8",
    )
    clock.advance(seconds=10)
    assert source.current().match("Salut") is None  # not looked at yet
    clock.advance(seconds=25)
    assert source.current().match("Salut") == Variant("utter_x", "a", "Salut")
    (domain / "r.yml").write_text("responses: [oops", encoding="utf-8")
    clock.advance(seconds=31)
    assert source.current().match("Yo") == Variant("utter_x", "b", "Yo")  # last good one


# Exposures ---------------------------------------------------------------------------------
def exposures(db: Database) -> list[tuple[int, str, str, datetime]]:
    with db.transaction() as session:
        rows = session.execute(
            select(
                ResponseExposure.person_id,
                ResponseExposure.response,
                ResponseExposure.variant,
                ResponseExposure.created_at,
            ).order_by(ResponseExposure.id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


async def test_an_exchange_records_the_variants_shown(database: Database) -> None:
    clock = FixedClock(NOW)
    people = PeopleService(database, "v" * 40, clock)
    person = people.identify(Channel.telegram, "42")
    service = ExperimentService(database, VariantCatalog.load(DOMAIN), clock)
    # What Rasa's REST channel returns: text, then buttons in a separate item.
    replies = replies_from_engine(
        [
            {"recipient_id": person.pseudo_id, "text": "C'est noté."},
            {"recipient_id": person.pseudo_id, "text": OFFER_B},
            {
                "recipient_id": person.pseudo_id,
                "buttons": [
                    {"title": "Oui", "payload": "/affirm"},
                    {"title": "Non merci", "payload": "/deny"},
                ],
            },
        ]
    )
    assert [r.text for r in replies] == ["C'est noté.", OFFER_B] and replies[1].buttons
    await service.after_exchange(Exchange(person, "C'est bon", False, None, replies))
    clock.advance(minutes=3)
    shown_again = replies_from_engine([{"text": OFFER_A}])
    await service.after_exchange(Exchange(person, "hein", True, None, shown_again))
    await service.after_exchange(
        Exchange(person, "slt", True, None, replies_from_engine([{"text": "Salut !"}]))
    )
    assert exposures(database) == [
        (person.id, "utter_offer_counsellor", "sans_pression", NOW),
        (person.id, "utter_offer_counsellor", "directe", NOW + timedelta(minutes=3)),
    ]
    assert service.exposures(person.id) == [
        ("utter_offer_counsellor", "sans_pression"),
        ("utter_offer_counsellor", "directe"),
    ]


async def test_erasure_removes_the_exposures_and_a_late_exposure_is_dropped(
    database: Database,
) -> None:
    people = PeopleService(database, "v" * 40)
    alice = people.identify(Channel.telegram, "1")
    bob = people.identify(Channel.telegram, "2")
    service = ExperimentService(database, VariantCatalog.load(DOMAIN))
    for person in (alice, bob):
        assert service.record(person.id, [OFFER_A]) == [
            Variant("utter_offer_counsellor", "directe", OFFER_A)
        ]
    ErasureService(database, database).erase(alice.pseudo_id)
    assert [row[0] for row in exposures(database)] == [bob.id]
    # The exchange of an erased person finishing late: no row, no error.
    replies = replies_from_engine([{"text": OFFER_B}])
    await service.after_exchange(Exchange(alice, "oui", True, None, replies))
    assert [row[0] for row in exposures(database)] == [bob.id]


# A small Rasa: REST channel, tracker, trigger_intent ---------------------------------------
class FakeRasa(JsonServer):
    def __init__(self, messages: list[dict[str, Any]]) -> None:
        self.messages = messages
        rasa = self

        class Handler(JsonHandler):
            def do_POST(self) -> None:
                self.read_json()
                if self.path.endswith("/trigger_intent"):
                    self.reply_json({"tracker": {}, "messages": rasa.messages})
                else:
                    self.reply_json(rasa.messages)

            def do_GET(self) -> None:
                self.reply_json(
                    {
                        "latest_message": {
                            "text": "c bon",
                            "intent": {"name": "affirm", "confidence": 0.97},
                            "entities": [],
                        },
                        "events": [],
                    }
                )

        super().__init__(Handler)
        self.start()


@pytest.fixture
def rasa() -> Iterator[FakeRasa]:
    fake = FakeRasa([{"text": OFFER_A, "buttons": [{"title": "Oui", "payload": "/affirm"}]}])
    yield fake
    fake.close()


@pytest.fixture
async def engine(rasa: FakeRasa) -> AsyncIterator[EngineClient]:
    client = EngineClient(rasa.url, timeout=5)
    yield client
    await client.aclose()


async def test_the_pipeline_tells_the_service_what_the_engine_said(
    database: Database, engine: EngineClient
) -> None:
    people = PeopleService(database, "v" * 40)
    pipeline = ConversationPipeline(
        people,
        engine,
        TEXTS,
        ErasureService(database, database),
        relay=make_desk(database),
    )
    pipeline.add_observer(ExperimentService(database, VariantCatalog.load(DOMAIN)))
    replies = await pipeline.handle_text(Channel.simulator, "browser-1", "c bon")
    assert [r.text for r in replies] == [OFFER_A]
    person = people.identify(Channel.simulator, "browser-1")
    assert [row[:3] for row in exposures(database)] == [
        (person.id, "utter_offer_counsellor", "directe")
    ]


async def test_a_nudge_variant_sent_by_the_sweeper_is_recorded(
    database: Database, engine: EngineClient, rasa: FakeRasa, tmp_path: Path
) -> None:
    domain = write_domain(
        tmp_path / "domain",
        {
            "nudges.yml": """\
                responses:
                  utter_triage_nudge:
                    - id: court
                      text: "On reprend ?"
                    - id: long
                      text: "Il reste quelques questions. On continue ?"
                """
        },
    )
    rasa.messages = [
        {"text": "Il reste quelques questions. On continue ?"},
        {"buttons": [{"title": "On reprend", "payload": "/affirm"}]},
    ]
    clock = FixedClock(NOW)
    people = PeopleService(database, "v" * 40, clock)
    followups = FollowUpService(database, clock)
    settings = make_settings(tmp_path)
    tickets = TicketService(
        database, settings.handoff, repo_router(), clock, team_ids=[t.id for t in settings.teams]
    )
    desk = HandoffDesk(
        tickets,
        DeskTexts(
            claimed=TEXTS.handoff_claimed,
            closed=TEXTS.handoff_closed,
            already=TEXTS.handoff_already,
            counsellor_prefix=settings.handoff.counsellor_prefix,
        ),
    )
    experiments = ExperimentService(database, DomainVariants(domain, clock=clock), clock)
    deliver = ChannelDelivery(
        people=people, tickets=tickets, desk=desk, engine=engine, experiments=experiments
    )
    person = people.identify(Channel.simulator, "sim-nudge")
    followups.schedule(person.id, FollowUpKind.triage_nudge, NOW)
    [job] = followups.claim_due("w1")
    await deliver(job, EngineNudge("EXTERNAL_triage_nudge", {"nudge_step": 1}))
    assert exposures(database) == [(person.id, "utter_triage_nudge", "long", NOW)]


def test_the_app_wires_the_service_into_the_pipeline_and_the_sweeper(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path, nudges={"enabled": False}))
    with TestClient(app):
        services = app.state.services
        experiments = services.experiments
        assert isinstance(experiments, ExperimentService)
        assert experiments in services.pipeline.observers
        assert services.sweeper is not None and services.sweeper.deliver.experiments is experiments
        assert experiments.variants_in([OFFER_B, "Salut"]) == [
            Variant("utter_offer_counsellor", "sans_pression", OFFER_B)
        ]
