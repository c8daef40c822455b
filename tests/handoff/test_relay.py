"""The relay in the conversation pipeline (engine down): while a counsellor holds the ticket,
the young person talks to them; crises still get the helplines; resolving gives the bot back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from bot.engine_client import EngineAnswer, EngineClient
from bot.texts import AppTexts
from core.models import Channel, EventKind, Origin, TicketStatus, Urgency
from handoff.accounts import CounsellorRef
from handoff.requests import TriageSummary
from handoff.tickets import TicketView
from tests.support import free_port
from tests.support.world import World

TEXTS = AppTexts.load()
USER = "browser-relay-0123456789"


class CountingEngine(EngineClient):
    """The real client (nothing listens: the engine is down) that counts what it was sent."""

    def __init__(self) -> None:
        super().__init__(f"http://127.0.0.1:{free_port()}", timeout=2)
        self.sent: list[str] = []

    async def exchange(
        self, sender: str, message: str, metadata: dict[str, Any] | None = None
    ) -> EngineAnswer:
        self.sent.append(message)
        return await super().exchange(sender, message, metadata)


@dataclass
class Recorder:
    """What the desk sends to simulator users, and what it tells its listeners."""

    sent: list[tuple[str, list[str]]] = field(default_factory=list)
    events: list[tuple[str, int, dict[str, Any]]] = field(default_factory=list)

    async def send(self, channel_user_id: str, texts: list[str]) -> bool:
        self.sent.append((channel_user_id, list(texts)))
        return True

    async def on_ticket_event(
        self, kind: str, ticket: TicketView, actor: CounsellorRef | None, data: dict[str, Any]
    ) -> None:
        self.events.append((kind, ticket.id, data))


@pytest.fixture
async def engine(world: World) -> AsyncIterator[CountingEngine]:
    """The conversation pipeline's engine client, counting."""
    counting = CountingEngine()
    world.services.pipeline.engine = counting
    yield counting
    await counting.aclose()


@pytest.fixture
def recorder(world: World) -> Recorder:
    """The desk's sender for simulator users, and one of its listeners."""
    recording = Recorder()
    world.desk.register_sender(Channel.simulator, recording.send)
    world.desk.add_listener(recording)
    return recording


async def say(world: World, text: str) -> list[str]:
    replies = await world.services.pipeline.handle_text(Channel.simulator, USER, text)
    return [r.text for r in replies]


async def ask_for_a_counsellor(world: World) -> int:
    _, pseudo = world.person(USER, channel=Channel.simulator)
    summary = TriageSummary(needs=["need_job"], location="59100")
    return await world.ticket(pseudo, summary, source="ask_human")


def anna(world: World) -> CounsellorRef:
    return world.counsellor("Anna", team="lille")


def in_ticket(world: World, ticket_id: int) -> list[tuple[str, str]]:
    return [
        (str(item.origin), item.text)
        for item in world.tickets.transcript(ticket_id)
        if item.in_ticket
    ]


async def test_before_the_claim_the_bot_answers(world: World, engine: CountingEngine) -> None:
    ticket_id = await ask_for_a_counsellor(world)
    assert await say(world, "allo ?") == [TEXTS.engine_down]
    assert engine.sent == ["allo ?"]
    assert world.tickets.get(ticket_id).status is TicketStatus.new
    assert in_ticket(world, ticket_id) == []


async def test_the_whole_hand_off_relay(
    world: World, engine: CountingEngine, recorder: Recorder
) -> None:
    counsellor = anna(world)
    ticket_id = await ask_for_a_counsellor(world)

    await world.desk.claim(ticket_id, counsellor, via="web")
    claimed = TEXTS.handoff_claimed.format(name="Anna")
    assert recorder.sent == [(USER, [claimed])]

    # The young person's text goes to the counsellor, not to the engine.
    assert await say(world, "slt jsuis dispo demain aprem") == []
    assert engine.sent == []
    view = world.tickets.get(ticket_id)
    assert view.status is TicketStatus.waiting_counsellor
    assert view.last_youth_at == world.clock.now()
    assert ("youth_message", ticket_id, {"text": "slt jsuis dispo demain aprem"}) in (
        recorder.events
    )

    # The counsellor's reply reaches the young person, signed with the first name.
    delivery = await world.desk.reply(ticket_id, counsellor, "Super, je t'appelle à 14h ?", "web")
    assert recorder.sent[-1] == (USER, ["Anna (conseiller·e) :\nSuper, je t'appelle à 14h ?"])
    assert delivery.ticket.status is TicketStatus.waiting_youth

    # An old keyboard button pressed now is an answer to the counsellor, by its title.
    replies = await world.services.pipeline.handle_button(Channel.simulator, USER, "/affirm", "Oui")
    assert replies == [] and engine.sent == []
    assert world.tickets.get(ticket_id).status is TicketStatus.waiting_counsellor

    # /conseiller while already talking with Anna.
    assert await say(world, "/conseiller") == [TEXTS.handoff_already.format(name="Anna")]
    assert "Tu es déjà en lien avec Anna" in TEXTS.handoff_already.format(name="Anna")
    assert engine.sent == []

    assert in_ticket(world, ticket_id) == [
        ("bot", claimed),
        ("youth", "slt jsuis dispo demain aprem"),
        ("counsellor", "Super, je t'appelle à 14h ?"),
        ("youth", "Oui"),
    ]
    counsellor_items = [
        i for i in world.tickets.transcript(ticket_id) if i.origin is Origin.counsellor
    ]
    assert [i.counsellor_name for i in counsellor_items] == ["Anna"]

    # /stop still goes to the engine (which is down).
    assert await say(world, "/stop") == [TEXTS.engine_down]
    assert engine.sent == ["/opt_out"]

    # Resolving hands the conversation back to the bot, and says so.
    await world.desk.resolve(ticket_id, counsellor, "mission_locale", None, via="web")
    assert recorder.sent[-1] == (USER, [TEXTS.handoff_closed.format(name="Anna")])
    assert await say(world, "re") == [TEXTS.engine_down]
    # The /stop held while the engine was down is tried first; "re" is held behind it.
    assert engine.sent == ["/opt_out", "/opt_out"]
    assert ("youth", "re") not in in_ticket(world, ticket_id)
    assert world.tickets.get(ticket_id).status is TicketStatus.resolved


async def test_a_crisis_during_the_hand_off_gets_the_helplines_and_escalates(
    world: World, engine: CountingEngine, recorder: Recorder
) -> None:
    counsellor = anna(world)
    ticket_id = await ask_for_a_counsellor(world)
    await world.desk.claim(ticket_id, counsellor, via="web")
    assert world.tickets.get(ticket_id).priority == 1

    replies = await say(world, "jen peux plus jveux mourir")
    assert len(replies) == 1 and "3114" in replies[0]
    assert engine.sent == []
    view = world.tickets.get(ticket_id)
    assert (view.urgency, view.priority, view.crisis_kind) == (Urgency.crisis, 0, "suicide")
    assert view.status is TicketStatus.waiting_counsellor and view.assignee_id == counsellor.id
    assert EventKind.escalated in [e.kind for e in world.tickets.events(ticket_id)]
    # The counsellor sees the message and what the bot answered.
    assert in_ticket(world, ticket_id)[-2:] == [
        ("youth", "jen peux plus jveux mourir"),
        ("bot", replies[0]),
    ]
    kinds = [kind for kind, tid, _ in recorder.events if tid == ticket_id]
    assert kinds[-3:] == ["youth_message", "escalated", "bot_message"]
    # Still one ticket, still with Anna.
    assert [t.id for t in world.tickets.queue()] == [ticket_id]


async def test_a_release_gives_the_bot_back_until_someone_claims_again(
    world: World, engine: CountingEngine, recorder: Recorder
) -> None:
    counsellor = anna(world)
    ticket_id = await ask_for_a_counsellor(world)
    await world.desk.claim(ticket_id, counsellor, via="web")
    await world.desk.release(ticket_id, counsellor, via="web")
    assert await say(world, "ya quelqu'un ?") == [TEXTS.engine_down]
    assert engine.sent == ["ya quelqu'un ?"]
    # Releasing does not write to the young person (the ticket stays in the queue).
    assert recorder.sent == [(USER, [TEXTS.handoff_claimed.format(name="Anna")])]
