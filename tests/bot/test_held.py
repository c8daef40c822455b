"""Messages held while every engine is down (bot/held.py) and their replay (bot/pipeline.py,
bot/replay.py, the job of maraude/jobs.py), through the real services on a real database, the
real python-telegram-bot client against the fake Bot API, and an engine over real HTTP that
is down (nothing listens) then up (tests/support/echo_engine.py: answers "réponse à <msg>").
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.held import HOLD_WINDOW, MAX_HELD, HeldMessages
from bot.pipeline import ERASE_ACCEPT, Exchange
from bot.texts import AppTexts
from core.clock import FixedClock
from core.db import Database
from core.models import Channel, Direction, HeldMessage, Origin, Urgency
from core.people import LoggedMessage, PeopleService
from maraude.jobs import REPLAY_JOB, replay_held
from tests.fakes.telegram_api import FakeTelegramServer
from tests.support import TEST_TOKEN
from tests.support.echo_engine import EchoEngine, answer, down_client
from tests.support.world import World

TEXTS = AppTexts.load()
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CHAT = 5550042
USER = str(CHAT)


class Observed:
    """A pipeline observer that keeps what it is told (as the studio's observers are told)."""

    def __init__(self) -> None:
        self.seen: list[Exchange] = []

    async def after_exchange(self, exchange: Exchange) -> None:
        self.seen.append(exchange)


def held_rows(world: World) -> int:
    with world.services.db.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(HeldMessage)) or 0)


@pytest.fixture
def echo() -> Iterator[EchoEngine]:
    with EchoEngine() as engine:
        yield engine


@pytest.fixture
async def tg_world(
    tmp_path: Path, clock: FixedClock, fake_telegram: FakeTelegramServer
) -> AsyncIterator[World]:
    """The real services with a Telegram channel on the fake Bot API (not polling: the test
    calls the pipeline as the channel's handlers do), the engine down."""
    world = World(
        tmp_path,
        clock,
        telegram_bot_token=TEST_TOKEN,
        telegram_api_base_url=fake_telegram.url,
    )
    telegram = world.services.telegram
    assert telegram is not None
    await telegram.application.bot.initialize()
    world.services.pipeline.engine = down_client()
    yield world
    await world.services.pipeline.engine.aclose()
    await telegram.application.bot.shutdown()
    await world.close()


async def say(world: World, text: str) -> list[str]:
    replies = await world.services.pipeline.handle_text(Channel.telegram, USER, text)
    return [r.text for r in replies]


def sent(tg: FakeTelegramServer) -> list[str]:
    return [m["text"] for m in tg.sent_messages(CHAT)]


# The store ---------------------------------------------------------------------------------
def test_the_store_keeps_order_cap_window_and_claims(database: Database) -> None:
    clock = FixedClock(START)
    people = PeopleService(database, "secret", clock)
    someone = people.identify(Channel.telegram, "1")
    other = people.identify(Channel.simulator, "session-de-test-0001")
    held = HeldMessages(database, clock, cap=3)
    assert not held.has(someone.id) and held.waiting() == []

    for text in ("un", "deux", "trois"):
        assert held.hold(someone.id, text, text, True)
        clock.advance(seconds=1)
    assert not held.hold(someone.id, "quatre", "quatre", True)  # over the cap: not kept
    assert held.hold(other.id, "/start", "Commencer", False)
    assert held.has(someone.id)
    items = held.of(someone.id)
    assert [i.message for i in items] == ["un", "deux", "trois"]
    # People waiting longest first; a channel filter (those with an outlet).
    assert [w.person_id for w in held.waiting()] == [someone.id, other.id]
    assert [w.pseudo_id for w in held.waiting(channels=[Channel.simulator])] == [other.pseudo_id]

    # A claim is a compare-and-set: a second runner with the same reading gets nothing.
    first = items[0]
    assert held.claim(first) and not held.claim(first)
    held.release(first)  # no engine at all: the attempt does not count
    assert held.of(someone.id)[0].attempts == 0
    assert held.remove(first.id) and not held.remove(first.id)  # answers kept by one runner

    # A day later, what was not answered is dropped (counted, no content logged).
    clock.advance(seconds=HOLD_WINDOW.total_seconds() + 1)
    assert held.drop_expired() == 3 and held.dropped == 3
    assert held.waiting() == [] and held.count() == 0

    assert held.hold(someone.id, "cinq", "cinq", True)
    assert held.erase(someone.id) == 1 and not held.has(someone.id)


# Engine down, then back: the replay job ----------------------------------------------------
async def test_held_while_down_then_the_job_replays_in_order_through_telegram(
    tg_world: World, fake_telegram: FakeTelegramServer, echo: EchoEngine, caplog: Any
) -> None:
    world, services = tg_world, tg_world.services
    _, pseudo = world.person(USER, consent=True)
    caplog.set_level(logging.INFO)
    observed = Observed()
    services.pipeline.add_observer(observed)

    for text in ("salut", "tu es là ?", "je cherche un taf"):
        assert await say(world, text) == [TEXTS.engine_down]
    assert "réessaie" not in TEXTS.engine_down.lower() and "message" in TEXTS.engine_down
    assert held_rows(world) == 3
    # The incoming messages are logged once, when held, with the notice.
    assert world.people.transcript(pseudo) == [
        msg
        for text in ("salut", "tu es là ?", "je cherche un taf")
        for msg in (
            LoggedMessage(Direction.incoming, Origin.youth, text),
            LoggedMessage(Direction.outgoing, Origin.bot, TEXTS.engine_down),
        )
    ]

    await replay_held(services)  # still down: nothing happens
    assert held_rows(world) == 3 and sent(fake_telegram) == []

    services.pipeline.engine = echo.client()  # an engine answers again
    await replay_held(services)
    assert sent(fake_telegram) == [
        TEXTS.replay_lead_in,
        answer("salut"),
        answer("tu es là ?"),
        answer("je cherche un taf"),
    ]
    assert echo.messages(pseudo) == ["salut", "tu es là ?", "je cherche un taf"]
    assert held_rows(world) == 0
    # The answers are logged when produced, the incoming messages not a second time.
    transcript = world.people.transcript(pseudo)
    assert [m.text for m in transcript if m.direction is Direction.incoming] == [
        "salut",
        "tu es là ?",
        "je cherche un taf",
    ]
    assert [m.text for m in transcript[-3:]] == [
        answer("salut"),
        answer("tu es là ?"),
        answer("je cherche un taf"),
    ]
    # Observers (the studio) ran for the replayed messages, as for live ones, not when held.
    assert [(e.shown, e.typed, [r.text for r in e.replies]) for e in observed.seen] == [
        (text, True, [answer(text)]) for text in ("salut", "tu es là ?", "je cherche un taf")
    ]

    await replay_held(services)  # nothing left: nothing sent twice
    assert len(sent(fake_telegram)) == 4
    for word in ("salut", "taf", USER):
        assert word not in caplog.text  # no content, no chat id in the logs
    assert services.scheduler is not None and services.scheduler.get_job(REPLAY_JOB) is not None


async def test_a_crisis_while_down_gets_the_helplines_at_once_and_nothing_is_replayed(
    tg_world: World, fake_telegram: FakeTelegramServer, echo: EchoEngine
) -> None:
    world, services = tg_world, tg_world.services
    _, pseudo = world.person(USER, consent=True)
    assert await say(world, "slt") == [TEXTS.engine_down]
    crisis = await say(world, "je veux mourir")
    assert crisis == TEXTS.without_engine(TEXTS.crisis_kinds("je veux mourir"))
    assert crisis != [TEXTS.engine_down]
    [ticket] = world.tickets.tickets_of(pseudo)
    assert ticket.urgency is Urgency.crisis  # a counsellor has it now
    # Neither the crisis nor "slt" is replayed: a welcome in the middle of a crisis would be
    # out of place (the counsellor of the urgent ticket sees both in the conversation).
    assert held_rows(world) == 0

    services.pipeline.engine = echo.client()
    await replay_held(services)
    assert echo.messages(pseudo) == []
    assert sent(fake_telegram) == []


async def test_a_new_message_after_recovery_gets_the_held_ones_answered_first(
    tg_world: World, echo: EchoEngine
) -> None:
    world, services = tg_world, tg_world.services
    _, pseudo = world.person(USER, consent=True)
    await say(world, "un")
    await say(world, "/start")  # a command is held too (its payload goes to the engine)
    services.pipeline.engine = echo.client()
    assert await say(world, "trois") == [
        TEXTS.replay_lead_in,
        answer("un"),
        answer("/start"),
        answer("trois"),
    ]
    assert echo.messages(pseudo) == ["un", "/start", "trois"]
    assert held_rows(world) == 0
    assert await say(world, "quatre") == [answer("quatre")]  # no lead-in once caught up


async def test_a_crisis_after_recovery_does_not_wait_behind_held_messages(
    tg_world: World, echo: EchoEngine
) -> None:
    world, services = tg_world, tg_world.services
    _, pseudo = world.person(USER, consent=True)
    await say(world, "un")
    await say(world, "deux")
    services.pipeline.engine = echo.client()
    # The engine takes the crisis at once; the older messages are not replayed after it.
    assert await say(world, "je veux mourir") == [answer("je veux mourir")]
    assert echo.messages(pseudo) == ["je veux mourir"]
    assert held_rows(world) == 0
    await replay_held(services)
    assert echo.messages(pseudo) == ["je veux mourir"]


async def test_down_again_mid_replay_keeps_the_rest_in_order(
    tg_world: World, echo: EchoEngine
) -> None:
    world, services = tg_world, tg_world.services
    _, pseudo = world.person(USER, consent=True)
    await say(world, "un")
    await say(world, "deux")
    # Still down when the person writes again: the new one waits behind the others.
    assert await say(world, "trois") == [TEXTS.engine_down]
    held = services.pipeline.held
    assert held is not None
    person = world.people.get(pseudo)
    assert person is not None
    first = held.of(person.id)[0]
    assert first.attempts == 0  # tried with no engine at all: the attempt was given back
    services.pipeline.engine = echo.client()
    assert await say(world, "quatre") == [
        TEXTS.replay_lead_in,
        answer("un"),
        answer("deux"),
        answer("trois"),
        answer("quatre"),
    ]


async def test_the_cap_is_said_and_the_window_drops_old_messages(
    tg_world: World, echo: EchoEngine, caplog: Any
) -> None:
    world, services = tg_world, tg_world.services
    person_id, _ = world.person(USER, consent=True)
    held = services.pipeline.held
    assert held is not None
    for n in range(MAX_HELD - 1):  # (written over time: the flood gate is not the point here)
        assert held.hold(person_id, f"message {n}", f"message {n}", True)
    assert await say(world, "le dernier gardé") == [TEXTS.engine_down]
    # Over the cap the message is not kept, and the answer says so.
    assert await say(world, "encore un") == [TEXTS.engine_down_full]
    assert held_rows(world) == MAX_HELD
    caplog.set_level(logging.INFO)
    world.clock.advance(seconds=HOLD_WINDOW.total_seconds() + 1)
    services.pipeline.engine = echo.client()
    await replay_held(services)  # a day late: dropped, not answered
    assert held_rows(world) == 0 and echo.received == []
    assert f"{MAX_HELD} dropped unanswered" in caplog.text and "message 1" not in caplog.text


# Privacy -----------------------------------------------------------------------------------
async def test_oubli_erases_the_held_messages(tg_world: World) -> None:
    world, pipeline = tg_world, tg_world.services.pipeline
    _, pseudo = world.person(USER, consent=True)
    await say(world, "salut")
    # The app's own /oubli question (engine down) is not held.
    [question] = await pipeline.handle_text(Channel.telegram, USER, "/oubli")
    assert question.text == TEXTS.erasure["confirm"] and held_rows(world) == 1
    done = await pipeline.handle_button(Channel.telegram, USER, ERASE_ACCEPT, "Oui")
    assert [r.text for r in done] == [TEXTS.erasure["done"]]
    assert world.people.get(pseudo) is None and held_rows(world) == 0


def test_erase_app_deletes_held_rows_even_without_the_database_cascade(
    tmp_path: Path, clock: FixedClock
) -> None:
    world = World(tmp_path, clock)
    try:
        person_id, pseudo = world.person("77")
        held = world.services.pipeline.held
        assert held is not None and held.hold(person_id, "coucou", "coucou", True)
        with world.services.db.engine.connect() as connection:  # SQLite without its pragma
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        assert world.services.erasure.erase_app(pseudo)
        assert held_rows(world) == 0
    finally:
        world.services.db.dispose()
        world.services.erasure.dispose()


async def test_the_retention_purge_erases_held_messages(world: World) -> None:
    services = world.services
    person_id, pseudo = world.person("88", consent=True)
    held = services.pipeline.held
    assert held is not None and held.hold(person_id, "allo", "allo", True)
    assert services.retention is not None
    world.clock.advance(days=services.settings.organisation.retention_days + 1)
    report = await services.retention.purge(services.desk.forget)
    assert report.people == 1
    assert world.people.get(pseudo) is None and held_rows(world) == 0


async def test_the_export_lists_held_messages(world: World) -> None:
    person_id, pseudo = world.person("99")
    held = world.services.pipeline.held
    assert held is not None and held.hold(person_id, "/ask_human", "Parler à quelqu'un", False)
    rights = world.services.pipeline.rights
    assert rights is not None
    export = rights.exporter.export(pseudo)
    assert export is not None
    [row] = export.data["held_messages"]
    assert (row["message"], row["shown"], row["typed"]) == (
        "/ask_human",
        "Parler à quelqu'un",
        False,
    )
    assert "held_message" not in export.data["other"]
    assert "Parler à quelqu'un" in export.as_text()


async def test_held_messages_of_the_web_chat_are_answered_into_its_outbox(
    world: World, echo: EchoEngine
) -> None:
    """The web chat's page cannot be pushed to either, but it reads its outbox live: the
    replay job answers its held messages there (the web chat's outlet), in order, once."""
    services = world.services
    services.pipeline.engine = down_client()
    chat = services.webchat
    token = chat.new_token()
    for text in ("salut", "je cherche un taf"):
        answer_now = await chat.send(token, text=text)
        assert [r.text for r in answer_now.replies] == [TEXTS.engine_down]
    person = chat.person(token)
    assert person is not None and held_rows(world) == 2
    assert services.webchat_store.since(person.id, 0) == []

    services.pipeline.engine = echo.client()
    await replay_held(services)
    items = services.webchat_store.since(person.id, 0)
    assert [item.reply.text for item in items] == [
        TEXTS.replay_lead_in,
        answer("salut"),
        answer("je cherche un taf"),
    ]
    assert {item.origin for item in items} == {"bot"}  # not a counsellor's answer: no e-mail
    await replay_held(services)
    assert len(services.webchat_store.since(person.id, 0)) == 3 and held_rows(world) == 0
