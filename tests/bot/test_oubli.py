"""/oubli through the real services (maraude/services.py): the app's data goes at once, engine
up or down; "c'est effacé" only once it is gone; the engine's tracker erasure is pending until
the tracker store can be reached, then done by the retry job."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.engine_client import EngineClient
from bot.pipeline import ERASE_ACCEPT, ERASE_KEEP
from core.db import Database
from core.erasure import ErasureService
from core.models import (
    Channel,
    Direction,
    HandoffRequest,
    Message,
    Origin,
    PendingErasure,
    Ticket,
    YoungPerson,
)
from core.people import LoggedMessage
from core.vocabulary import ERASE_SIGNAL
from maraude.jobs import TRACKER_GRACE, retry_tracker_erasures
from tests.fakes.json_http import JsonHandler, JsonServer
from tests.support import free_port
from tests.support.trackers_store import add_events, tracker_events
from tests.support.world import World

USER = "5550001"


def rows(world: World, model: Any) -> int:
    with world.services.db.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


async def someone_with_a_ticket(world: World) -> str:
    """A young person with consent, messages, a ticket and an engine tracker."""
    _, pseudo = world.person(USER, consent=True)
    person = world.people.get(pseudo)
    assert person is not None
    world.people.log_messages(person.id, [LoggedMessage(Direction.incoming, Origin.youth, "slt")])
    await world.ticket(pseudo)
    add_events(world.settings.tracker_store_url, pseudo, 3)
    return pseudo


@pytest.fixture
async def engine_down(world: World) -> AsyncIterator[None]:
    """Nothing listens where the pipeline looks for the engine."""
    down = EngineClient(f"http://127.0.0.1:{free_port()}", timeout=2)
    world.services.pipeline.engine = down
    yield
    await down.aclose()


async def test_oubli_with_the_engine_down_erases_the_app_data_at_once(
    world: World, engine_down: None
) -> None:
    pseudo = await someone_with_a_ticket(world)
    pipeline = world.services.pipeline
    texts = pipeline.texts.erasure

    [question] = await pipeline.handle_text(Channel.telegram, USER, "/oubli")
    assert question.text == texts["confirm"]
    assert [(b.title, b.payload) for b in question.buttons] == [
        (texts["accept"], ERASE_ACCEPT),
        (texts["keep"], ERASE_KEEP),
    ]
    assert world.people.get(pseudo) is not None  # asked, nothing erased yet

    kept = await pipeline.handle_button(Channel.telegram, USER, ERASE_KEEP, texts["keep"])
    assert [r.text for r in kept] == [texts["cancelled"]]
    assert world.people.get(pseudo) is not None and rows(world, Ticket) == 1

    done = await pipeline.handle_button(Channel.telegram, USER, ERASE_ACCEPT, texts["accept"])
    assert [r.text for r in done] == [texts["done"]]
    assert "effacé" in done[0].text
    # The app's data is gone at once...
    assert world.people.get(pseudo) is None
    for model in (YoungPerson, Message, Ticket, HandoffRequest):
        assert rows(world, model) == 0, model
    # ...the engine's tracker waits for the retry job (the engine may still save a turn).
    assert tracker_events(world.settings.tracker_store_url, pseudo) == 3
    [pending] = world.services.erasure.pending()
    assert (pending.pseudo_id, pending.reason, pending.attempts) == (pseudo, "request", 0)

    await retry_tracker_erasures(world.services)  # too early: within the grace period
    assert tracker_events(world.settings.tracker_store_url, pseudo) == 3
    world.clock.advance(seconds=TRACKER_GRACE.total_seconds())
    await retry_tracker_erasures(world.services)
    assert tracker_events(world.settings.tracker_store_url, pseudo) == 0
    assert world.services.erasure.pending() == []


async def test_a_tracker_store_out_of_reach_stays_pending_until_it_is_back(
    world: World, engine_down: None
) -> None:
    pseudo = await someone_with_a_ticket(world)
    services = world.services
    # The tracker store (say a PostgreSQL server) is down: nothing listens on its port.
    unreachable = Database.from_url(f"postgresql+psycopg://maraude@127.0.0.1:{free_port()}/x")
    services.erasure.dispose()
    services.erasure = ErasureService(services.db, unreachable, world.clock)
    services.pipeline.erasure = services.erasure
    pipeline = services.pipeline

    done = await pipeline.handle_button(Channel.telegram, USER, ERASE_ACCEPT, "Oui")
    assert [r.text for r in done] == [pipeline.texts.erasure["done"]]
    assert world.people.get(pseudo) is None
    world.clock.advance(minutes=10)
    for _ in range(2):
        await retry_tracker_erasures(services)
    [pending] = services.erasure.pending()
    assert pending.attempts == 2 and pending.last_error == "OperationalError"
    assert tracker_events(world.settings.tracker_store_url, pseudo) == 3
    services.erasure.dispose()

    # Back: the same store the engine uses (settings.tracker_store_url).
    services.erasure = ErasureService(
        services.db, Database.from_url(world.settings.tracker_store_url), world.clock
    )
    await retry_tracker_erasures(services)
    assert services.erasure.pending() == []
    assert tracker_events(world.settings.tracker_store_url, pseudo) == 0


class _EraseEngine(JsonHandler):
    """The engine's side of a confirmed /oubli: the confirmation and the erase signal."""

    def do_POST(self) -> None:
        self.read_json()
        self.reply_json(
            [
                {"recipient_id": "x", "text": "C'est fait : j'ai tout effacé."},
                {"recipient_id": "x", "custom": ERASE_SIGNAL},
            ]
        )


@pytest.fixture
async def engine_up(world: World) -> AsyncIterator[None]:
    server = JsonServer(_EraseEngine)
    server.start()
    up = EngineClient(server.url, timeout=5)
    world.services.pipeline.engine = up
    yield
    await up.aclose()
    server.close()


async def test_with_the_engine_up_the_tracker_goes_right_after_the_saved_turn(
    world: World, engine_up: None
) -> None:
    pseudo = await someone_with_a_ticket(world)
    replies = await world.services.pipeline.handle_button(Channel.telegram, USER, "/affirm", "Oui")
    assert [r.text for r in replies] == ["C'est fait : j'ai tout effacé."]
    assert world.people.get(pseudo) is None and rows(world, Ticket) == 0
    assert tracker_events(world.settings.tracker_store_url, pseudo) == 0
    assert world.services.erasure.pending() == [] and rows(world, PendingErasure) == 0


async def test_no_confirmation_when_the_app_data_could_not_be_erased(
    world: World, engine_up: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    pseudo = await someone_with_a_ticket(world)

    def broken(pseudo_id: str, reason: str = "request") -> bool:
        raise RuntimeError("database gone")

    monkeypatch.setattr(world.services.erasure, "erase_app", broken)
    pipeline = world.services.pipeline
    replies = await pipeline.handle_button(Channel.telegram, USER, "/affirm", "Oui")
    assert [r.text for r in replies] == [pipeline.texts.erasure["failed"]]
    assert not any("effacé" in r.text for r in replies)
    replies = await pipeline.handle_button(Channel.telegram, USER, ERASE_ACCEPT, "Oui")
    assert [r.text for r in replies] == [pipeline.texts.erasure["failed"]]
    assert world.people.get(pseudo) is not None  # nothing half-done
    assert tracker_events(world.settings.tracker_store_url, pseudo) == 3
