"""Nudges and appointment reminders to a young person of the web chat, through the real
services and the real sweeper: they land in the person's outbox (bot/webchat/store.py), the
page shows them live or on return; quiet hours and the weekly cap still apply."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.engine_client import EngineClient
from core.models import Channel, FollowUpKind
from nudges.delivery import ChannelDelivery
from tests.fakes.json_http import JsonHandler, JsonServer
from tests.handoff.appointments.support import move_to, paris, visit
from tests.support.world import World

# Monday 2 March 2026, 10:00 in Paris.
CLOCK_START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NUDGE = "Hey ! On reprend où on s'était arrêté ?"


@pytest.fixture
def world_db_url(db_url: str) -> str:
    return db_url


class TriggerEngine(JsonServer):
    """Rasa's `POST /conversations/{id}/trigger_intent`: a nudge with its buttons."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        engine = self

        class Handler(JsonHandler):
            def do_POST(self) -> None:
                self.read_json()
                engine.calls.append(self.path)
                self.reply_json(
                    {
                        "tracker": {},
                        "messages": [
                            {"recipient_id": "x", "text": NUDGE},
                            {
                                "recipient_id": "x",
                                "buttons": [
                                    {"title": "Oui", "payload": "/affirm"},
                                    {"title": "Plus tard", "payload": "/deny"},
                                ],
                            },
                        ],
                    }
                )

        super().__init__(Handler)


@pytest.fixture
async def engine(world: World) -> AsyncIterator[TriggerEngine]:
    with TriggerEngine() as server:
        delivery = world.services.sweeper.deliver
        assert isinstance(delivery, ChannelDelivery)
        client = EngineClient(server.url, timeout=10)
        delivery.engine = client
        yield server
        await client.aclose()


def outbox(world: World, person_id: int) -> list[Any]:
    return world.services.webchat_store.since(person_id, 0)


async def sweep_at(world: World, moment: datetime) -> None:
    move_to(world.clock, moment)
    await world.services.sweeper.sweep()


async def test_a_triage_nudge_lands_in_the_outbox_with_its_buttons(
    world: World, engine: TriggerEngine
) -> None:
    person_id, pseudo = world.person("page-key", channel=Channel.web, consent=True)
    world.nudge_rules.triage_progress(pseudo, complete=False)  # left part-way: 4 h later
    await sweep_at(world, paris(2026, 3, 2, 13, 59))
    assert outbox(world, person_id) == [] and engine.calls == []
    await sweep_at(world, paris(2026, 3, 2, 14, 0))
    [item] = outbox(world, person_id)
    assert item.reply.text == NUDGE and item.origin == "bot"
    assert [(b.title, b.payload) for b in item.reply.buttons] == [
        ("Oui", "/affirm"),
        ("Plus tard", "/deny"),
    ]
    assert engine.calls == [f"/conversations/{pseudo}/trigger_intent"]
    # A nudge is no counsellor's answer: no e-mail notice for it.
    assert world.services.webchat_store.due_notices() == []


async def test_quiet_hours_hold_a_web_nudge_until_the_morning(
    world: World, engine: TriggerEngine
) -> None:
    person_id, pseudo = world.person("page-key", channel=Channel.web, consent=True)
    move_to(world.clock, paris(2026, 3, 2, 18, 0))
    world.nudge_rules.triage_progress(pseudo, complete=False)  # due at 22:00: quiet
    await sweep_at(world, paris(2026, 3, 2, 22, 0))
    await sweep_at(world, paris(2026, 3, 3, 8, 59))
    assert outbox(world, person_id) == []
    await sweep_at(world, paris(2026, 3, 3, 9, 0))
    assert [v.reply.text for v in outbox(world, person_id)] == [NUDGE]


async def test_the_weekly_cap_holds_for_a_web_person(world: World, engine: TriggerEngine) -> None:
    person_id, _ = world.person("page-key", channel=Channel.web, consent=True)
    cap = world.settings.nudges.cap_per_week
    for _ in range(cap + 1):
        world.followups.schedule(person_id, FollowUpKind.triage_nudge, world.clock.now(), step=1)
        await world.services.sweeper.sweep()
        world.clock.advance(hours=1)
    assert [v.reply.text for v in outbox(world, person_id)] == [NUDGE] * cap


async def test_an_appointment_reminder_lands_in_the_outbox_with_the_cant_come_button(
    world: World,
) -> None:
    counsellor = world.counsellor("Sam")
    person_id, pseudo = world.person("page-key", channel=Channel.web, consent=True)
    ticket_id = await world.ticket(pseudo)
    await world.desk.claim(ticket_id, counsellor, "web")
    desk = world.services.appointment_desk
    view = await desk.propose(ticket_id, counsellor, visit(paris(2026, 3, 4, 14, 30)), "web")
    await desk.youth_answer(person_id, view.id, "ok")
    before = len(outbox(world, person_id))  # the proposal and the confirmation went there
    assert before >= 1

    await sweep_at(world, paris(2026, 3, 3, 14, 29))
    assert len(outbox(world, person_id)) == before
    await sweep_at(world, paris(2026, 3, 3, 14, 30))
    [reminder] = outbox(world, person_id)[before:]
    assert "Petit rappel" in reminder.reply.text and "demain à 14h30" in reminder.reply.text
    assert [(b.title, b.payload) for b in reminder.reply.buttons] == [
        ("Je peux plus venir", f'/rdv_cancel{{"rdv":"{view.id}"}}')
    ]
    assert world.services.appointments.get(view.id).reminders_sent == 1
    # The next one, two hours before; never in the night.
    await sweep_at(world, paris(2026, 3, 4, 12, 30) - timedelta(minutes=1))
    assert len(outbox(world, person_id)) == before + 1
    await sweep_at(world, paris(2026, 3, 4, 12, 30))
    assert "C'est bientôt" in outbox(world, person_id)[-1].reply.text
