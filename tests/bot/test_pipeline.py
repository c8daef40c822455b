"""The shared pipeline without an engine: commands, bad input, and the crisis fallback."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.engine_client import EngineClient
from bot.held import HeldMessages
from bot.messages import Button, Reply, replies_from_engine
from bot.pipeline import ConversationPipeline, is_valid_payload
from bot.texts import AppTexts, fold
from core import migrate
from core.db import Database
from core.erasure import ErasureService
from core.models import Channel
from core.people import PeopleService
from handoff.requests import HandoffService
from tests.fakes.json_http import JsonHandler, JsonServer
from tests.support import free_port, make_desk, repo_router

TEXTS = AppTexts.load()


@pytest.fixture
async def pipeline(sqlite_url: str):  # type: ignore[no-untyped-def]
    migrate.upgrade(sqlite_url)
    db = Database.from_url(sqlite_url)
    people = PeopleService(db, "p" * 40)
    # Nothing listens on this port: the engine is down.
    engine = EngineClient(f"http://127.0.0.1:{free_port()}", timeout=2)
    yield ConversationPipeline(
        people, engine, TEXTS, ErasureService(db, db), relay=make_desk(db), held=HeldMessages(db)
    )
    await engine.aclose()


@pytest.mark.parametrize(
    ("message", "number"),
    [
        ("jveux mourir", "3114"),
        ("jen peux plus jvais me foutre en l'air", "3114"),
        ("Je pense au suicide", "3114"),
        ("mon copain me frappe", "3919"),
        ("chui a la rue ce soir", "115"),
        ("mes darons m'ont mis dehors jsais pas ou dormir", "115"),
        # Only the engine's crisis guard (engine/crisis_patterns.txt, after the normaliser)
        # knows these: the app-side check must not be weaker than a conversation with the bot.
        ("jpense a la mort tout le temps", "3114"),
        ("jme taillade les bras", "3114"),
        ("il ma pete le nez", "3919"),
        ("jai plus de toit depuis hier", "115"),
    ],
)
async def test_crisis_gets_helplines_even_when_the_engine_is_down(
    pipeline: ConversationPipeline, message: str, number: str
) -> None:
    replies = await pipeline.handle_text(Channel.telegram, "100", message)
    assert any(number in r.text for r in replies)
    assert all(not r.buttons for r in replies)
    person = pipeline.people.identify(Channel.telegram, "100")
    [request] = pipeline.relay.requests.open_requests(person.pseudo_id)
    assert request.urgency == "crisis" and request.source == "crisis"
    assert request.excerpt is None  # no consent: the ticket, not the words


PHRASINGS = Path(__file__).parents[1] / "engine" / "phrasings"


def test_harmless_lookalikes_are_not_a_crisis_for_the_app_either() -> None:
    """The app's own check (engine down, counsellor holding the chat) alarms on none of the
    guard's harmless lookalikes ("à la rue de la gare", "jveux pas mourir"...)."""
    lookalikes = yaml.safe_load((PHRASINGS / "lookalikes.yml").read_text(encoding="utf-8"))
    assert len(lookalikes) >= 150
    alarms = [m for m in lookalikes if TEXTS.crisis_kinds(m)]
    assert alarms == []


def test_every_crisis_phrasing_gets_its_helplines_from_the_app_too() -> None:
    crisis = yaml.safe_load((PHRASINGS / "crisis.yml").read_text(encoding="utf-8"))
    missed = [
        (intent, m)
        for intent, messages in crisis.items()
        for m in messages
        if intent.removeprefix("crisis_") not in {k.name for k in TEXTS.crisis_kinds(m)}
    ]
    assert missed == []


def test_crisis_check_follows_the_engine_config(tmp_path: Path) -> None:
    """config.yml's extra patterns and extra lexicon reach the app's own check, as they reach
    the engine's guard; the shipped patterns still apply."""
    (tmp_path / "extra_patterns.txt").write_text(
        "[crisis_violence]\n\\bil me racket\\w*\n", encoding="utf-8"
    )
    (tmp_path / "words.txt").write_text("[words]\nrkt = racket\n", encoding="utf-8")
    (tmp_path / "config.yml").write_text(
        "pipeline:\n"
        "  - name: engine.components.Normaliser\n"
        "    extra_lexicons: [words.txt]\n"
        "  - name: DIETClassifier\n"
        "  - name: engine.components.CrisisGuard\n"
        "    extra_patterns: [extra_patterns.txt]\n",
        encoding="utf-8",
    )
    message = "il me rkt tous les jours a la sortie"
    assert TEXTS.crisis_kinds(message) == []
    texts = AppTexts.load(engine_config=tmp_path / "config.yml")
    assert [k.name for k in texts.crisis_kinds(message)] == ["violence"]
    assert [k.name for k in texts.crisis_kinds("jveux mourir")] == ["suicide"]
    # no config.yml, or one without the components: the shipped patterns and lexicon
    for config in (tmp_path / "missing.yml", None):
        shipped = AppTexts.load(engine_config=config)
        assert [k.name for k in shipped.crisis_kinds("jme taillade les bras")] == ["suicide"]
        assert shipped.crisis_kinds(message) == []


def test_crisis_check_follows_the_engine_priority(tmp_path: Path) -> None:
    """A CrisisGuard `priority` alone in config.yml orders the app's kinds as it orders the
    engine's verdict (the first kind is the urgent ticket's); by default suicide comes first."""
    (tmp_path / "config.yml").write_text(
        "pipeline:\n"
        "  - name: engine.components.CrisisGuard\n"
        "    priority: [crisis_shelter, crisis_suicide, crisis_violence]\n",
        encoding="utf-8",
    )
    message = "chui a la rue depuis hier jveux mourir"
    assert [k.name for k in TEXTS.crisis_kinds(message)] == ["suicide", "shelter"]
    texts = AppTexts.load(engine_config=tmp_path / "config.yml")
    assert [k.name for k in texts.crisis_kinds(message)] == ["shelter", "suicide"]
    assert [k.name for k in texts.crisis_kinds("jveux mourir")] == ["suicide"]


async def test_engine_down_gets_a_clear_notice(pipeline: ConversationPipeline) -> None:
    replies = await pipeline.handle_text(Channel.telegram, "101", "slt ca va")
    assert [r.text for r in replies] == [TEXTS.engine_down]


async def test_unknown_command_is_answered_without_the_engine(
    pipeline: ConversationPipeline,
) -> None:
    replies = await pipeline.handle_text(Channel.telegram, "102", "/hack@maraude_bot now")
    assert [r.text for r in replies] == [TEXTS.unknown_command]


async def test_forged_button_payload_is_refused(pipeline: ConversationPipeline) -> None:
    replies = await pipeline.handle_button(Channel.telegram, "103", "rm -rf /", "OK")
    assert [r.text for r in replies] == [TEXTS.button_expired]


async def test_huge_message_is_cut_and_said_so(pipeline: ConversationPipeline) -> None:
    replies = await pipeline.handle_text(Channel.simulator, "browser-huge", "a" * 50_000)
    assert replies[-1].text == TEXTS.too_long


async def test_empty_message(pipeline: ConversationPipeline) -> None:
    replies = await pipeline.handle_text(Channel.simulator, "browser-empty", "   ")
    assert [r.text for r in replies] == [TEXTS.unsupported_content]


def test_payload_format() -> None:
    assert is_valid_payload("/consent_accept")
    assert is_valid_payload('/inform{"age":"19"}')
    assert not is_valid_payload("consent_accept")
    assert not is_valid_payload("/x" + "y" * 300)
    assert not is_valid_payload('/a{"b":{"c":1}}')


def test_engine_output_to_replies() -> None:
    items = [
        {"recipient_id": "y", "text": "Salut"},
        {"recipient_id": "y", "text": "OK ?", "buttons": [{"title": "Oui", "payload": "/affirm"}]},
        {"recipient_id": "y", "buttons": [{"title": "Non", "payload": "/deny"}]},
        {"recipient_id": "y", "text": "   "},
        {"recipient_id": "y", "custom": {"x": 1}},
    ]
    assert replies_from_engine(items) == [
        Reply("Salut"),
        Reply("OK ?", (Button("Oui", "/affirm"), Button("Non", "/deny"))),
    ]


def test_fold() -> None:
    assert fold("J'suis À LA rue !!!") == "j suis a la rue"


class _SilentEngineHandler(JsonHandler):
    """An engine whose custom action failed: it answers, with no message at all."""

    def do_POST(self) -> None:
        self.read_json()
        self.reply_json([])

    def do_GET(self) -> None:
        self.reply_json({})


async def test_a_crisis_the_engine_left_unanswered_gets_the_apps_helplines(
    sqlite_url: str,
) -> None:
    migrate.upgrade(sqlite_url)
    db = Database.from_url(sqlite_url)
    handoff = HandoffService(db, repo_router())
    with JsonServer(_SilentEngineHandler) as engine:
        client = EngineClient(engine.url, timeout=5)
        pipeline = ConversationPipeline(
            PeopleService(db, "p" * 40),
            client,
            TEXTS,
            ErasureService(db, db),
            relay=make_desk(db, requests=handoff),
        )
        replies = await pipeline.handle_text(Channel.telegram, "200", "jvais me foutre en lair")
        quiet = await pipeline.handle_text(Channel.telegram, "201", "salut")
        await client.aclose()
    assert any("3114" in r.text for r in replies)
    person = pipeline.people.identify(Channel.telegram, "200")
    [request] = handoff.open_requests(person.pseudo_id)
    assert request.urgency == "crisis"
    assert quiet == []  # an ordinary message the engine did not answer is left alone
