"""An under-15 conversation through the real pipeline leaves no stored message: the app's
services (build_services) on SQLite, and a small stand-in engine that runs the app's own
actions (the executor the action server serves) for the welcome, the age and the call-back,
and answers anything else with a plain text, as the real engine would answer an FAQ.

Then the engine's tracker of the idle conversation is erased (core/minors.py).
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

from bot.engine_client import EngineClient
from core.clock import FixedClock
from core.db import Database
from core.minors import MinorsService
from core.models import Channel, ConsentStatus, Message, NluTurn, YoungPerson
from core.vocabulary import UNDER_15
from tests.fakes.json_http import JsonHandler, JsonServer
from tests.support.world import World

PAYLOAD = re.compile(r"^/(\w+)(\{.*\})?$")
# The stand-in engine's policy: after which message which of our actions runs.
ACTIONS = {
    "start": "action_welcome",
    "inform": "action_record_age",
    "ask_human": "action_minor_callback",
}


class MiniEngine(JsonHandler):
    """Runs the app's actions for payloads, keeps the slots per sender; a typed message gets
    an FAQ-like answer (intent faq). `world` is set by the test."""

    world: World
    slots: dict[str, dict[str, Any]] = {}

    def do_POST(self) -> None:
        body = self.read_json()
        sender, message = body["sender"], body["message"]
        match = PAYLOAD.match(message)
        if match is None:
            self.reply_json([{"recipient_id": sender, "text": "La Mission Locale, c'est..."}])
            return
        intent = match.group(1)
        entities = [
            {"entity": k, "value": v} for k, v in json.loads(match.group(2) or "{}").items()
        ]
        slots = self.slots.setdefault(sender, {})
        call = {
            "next_action": ACTIONS[intent],
            "sender_id": sender,
            "version": "3.6.21",
            "domain": {"responses": {}, "slots": {}, "forms": {}},
            "tracker": {
                "sender_id": sender,
                "slots": dict(slots),
                "latest_message": {
                    "text": message,
                    "intent": {"name": intent, "confidence": 1.0},
                    "entities": entities,
                },
                "events": [],
                "paused": False,
                "followup_action": None,
                "active_loop": {},
                "latest_action_name": "action_listen",
            },
        }
        ran = asyncio.run(self.world.services.actions.run(call))
        result = ran.model_dump() if ran is not None else {}
        for event in result.get("events", []):
            if event.get("event") == "slot":
                slots[event["name"]] = event["value"]
        replies = [
            {"recipient_id": sender, "text": r["response"], "buttons": r.get("buttons") or []}
            for r in result.get("responses", [])
        ]
        self.reply_json(replies)

    def do_GET(self) -> None:  # the tracker the observers read: the last typed message
        self.reply_json(
            {
                "latest_message": {
                    "text": "cest quoi la mission locale",
                    "intent": {"name": "faq", "confidence": 0.9},
                    "entities": [],
                },
                "events": [],
            }
        )


def tracker_store(url: str) -> Database:
    """The engine's tracker store with Rasa's `events` table and a few events per sender."""
    db = Database.from_url(url)
    with db.transaction() as session:
        session.execute(
            text(
                "CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, sender_id TEXT, "
                "type_name TEXT, timestamp REAL, data TEXT)"
            )
        )
    return db


def store_events(db: Database, sender: str, n: int = 3) -> None:
    with db.transaction() as session:
        for i in range(n):
            session.execute(
                text(
                    "INSERT INTO events (sender_id, type_name, timestamp, data) "
                    "VALUES (:s, 'user', :t, '{}')"
                ),
                {"s": sender, "t": float(i)},
            )


def events_of(db: Database, sender: str) -> int:
    with db.transaction() as session:
        return int(
            session.scalar(text("SELECT COUNT(*) FROM events WHERE sender_id = :s"), {"s": sender})
            or 0
        )


async def test_an_under_15_conversation_leaves_no_stored_message(
    world: World, tmp_path: Path
) -> None:
    MiniEngine.world = world
    MiniEngine.slots = {}
    pipeline = world.services.pipeline
    with JsonServer(MiniEngine) as engine:
        client = EngineClient(engine.url, timeout=10)
        pipeline.engine = client
        try:
            welcome = await pipeline.handle_text(Channel.telegram, "1414", "/start")
            band = await pipeline.handle_button(
                Channel.telegram, "1414", '/inform{"age_band": "moins_15"}', "Moins de 15 ans"
            )
            asked = await pipeline.handle_text(
                Channel.telegram, "1414", "cest quoi la mission locale"
            )
            callback = await pipeline.handle_button(
                Channel.telegram, "1414", '/ask_human{"contact": "chat"}', "Qu'on m'écrive ici"
            )
        finally:
            await client.aclose()
    assert [r.text for r in welcome] == ["utter_welcome", "utter_ask_age_band"]
    assert [r.text for r in band] == [
        "utter_under15_explain",
        "utter_under15_helplines",
        "utter_under15_callback_offer",
    ]
    assert asked and [r.text for r in callback] == ["utter_under15_callback_done"]

    person = world.people.identify(Channel.telegram, "1414")
    assert person.age_band == UNDER_15 and person.consent is ConsentStatus.unknown
    with world.services.db.transaction() as session:
        messages = session.scalar(
            select(func.count()).select_from(Message).where(Message.person_id == person.id)
        )
        texts = session.scalars(select(NluTurn.text).where(NluTurn.person_id == person.id)).all()
    assert messages == 0  # no message, in or out
    assert all(t is None for t in texts)  # the manager studio keeps no text either
    # the call-back: a ticket with the band, no words of theirs
    [request] = world.handoff.open_requests(person.pseudo_id)
    assert request.minor and request.age == "moins de 15 ans" and request.excerpt is None
    assert request.contact == "ici, par message"

    # The engine's tracker of the conversation is erased once it has been idle for a session.
    store = tracker_store(world.settings.tracker_store_url)
    store_events(store, person.pseudo_id)
    adult = world.people.identify(Channel.telegram, "1919")
    world.people.record_age_band(adult.pseudo_id, "18_25")
    store_events(store, adult.pseudo_id)
    clock = world.clock
    assert isinstance(clock, FixedClock)
    minors = MinorsService(world.services.db, world.settings.tracker_store_url, clock)
    assert minors.forget_idle().events == 0  # still talking: the engine needs its memory
    assert events_of(store, person.pseudo_id) == 3
    later = MinorsService(
        world.services.db,
        world.settings.tracker_store_url,
        FixedClock(clock.now() + timedelta(minutes=61)),
    )
    report = later.forget_idle()
    assert (report.people, report.events) == (1, 3)
    assert events_of(store, person.pseudo_id) == 0
    assert events_of(store, adult.pseudo_id) == 3  # an adult's conversation is not touched
    assert later.forget_idle().events == 0  # safe to repeat
    with world.services.db.transaction() as session:
        assert session.get(YoungPerson, person.id) is not None  # the call-back still reaches them
    store.dispose()


def test_forgetting_without_a_tracker_table_is_harmless(world: World, tmp_path: Path) -> None:
    person = world.people.identify(Channel.telegram, "1313")
    world.people.record_age_band(person.pseudo_id, UNDER_15)
    clock = world.clock
    assert isinstance(clock, FixedClock)
    minors = MinorsService(
        world.services.db,
        f"sqlite:///{tmp_path / 'empty-tracker.db'}",
        FixedClock(clock.now() + timedelta(hours=2)),
    )
    assert minors.forget_idle().events == 0
