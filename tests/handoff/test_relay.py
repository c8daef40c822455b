"""The relay in the conversation pipeline (engine down): while a counsellor holds the ticket,
the young person talks to them; crises still get the helplines; resolving gives the bot back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from argon2 import PasswordHasher

from bot.engine_client import EngineClient
from bot.pipeline import ConversationPipeline
from bot.texts import AppTexts
from core import migrate
from core.clock import FixedClock
from core.db import Database
from core.erasure import ErasureService
from core.models import Channel, EventKind, Origin, TicketStatus, Urgency
from core.people import PeopleService
from core.settings import load_settings
from handoff.accounts import AccountService, CounsellorRef
from handoff.desk import DeskTexts, HandoffDesk
from handoff.requests import HandoffService, TriageSummary
from handoff.tickets import TicketService, TicketView
from tests.support import ROOT, free_port, repo_router

TEXTS = AppTexts.load()
SETTINGS = load_settings(ROOT / "maraude.yml")
USER = "browser-relay-0123456789"


class CountingEngine(EngineClient):
    """The real client (nothing listens: the engine is down) that counts what it was sent."""

    def __init__(self) -> None:
        super().__init__(f"http://127.0.0.1:{free_port()}", timeout=2)
        self.sent: list[str] = []

    async def send(
        self, sender: str, message: str, metadata: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        self.sent.append(message)
        return await super().send(sender, message, metadata)


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


@dataclass
class World:
    pipeline: ConversationPipeline
    desk: HandoffDesk
    engine: CountingEngine
    recorder: Recorder
    accounts: AccountService
    clock: FixedClock

    @property
    def tickets(self) -> TicketService:
        return self.desk.tickets

    async def say(self, text: str) -> list[str]:
        return [r.text for r in await self.pipeline.handle_text(Channel.simulator, USER, text)]

    def ask_for_a_counsellor(self) -> int:
        person = self.pipeline.people.identify(Channel.simulator, USER)
        return self.desk.requests.request(
            person.pseudo_id,
            TriageSummary(needs=["need_job"], location="59100"),
            source="ask_human",
        ).ticket_id


@pytest.fixture
async def world(sqlite_url: str) -> AsyncIterator[World]:
    """The pipeline and the desk wired as maraude/app.py build_services does."""
    migrate.upgrade(sqlite_url)
    db = Database.from_url(sqlite_url)
    clock = FixedClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    router = repo_router()
    people = PeopleService(db, "p" * 40, clock)
    handoff = HandoffService(db, router, clock)
    tickets = TicketService(
        db, SETTINGS.handoff, router, clock, team_ids=[t.id for t in SETTINGS.teams]
    )
    desk = HandoffDesk(
        tickets,
        DeskTexts(
            claimed=TEXTS.handoff_claimed,
            closed=TEXTS.handoff_closed,
            already=TEXTS.handoff_already,
            counsellor_prefix=SETTINGS.handoff.counsellor_prefix,
        ),
        requests=handoff,
    )
    recorder = Recorder()
    desk.register_sender(Channel.simulator, recorder.send)
    desk.add_listener(recorder)
    engine = CountingEngine()
    pipeline = ConversationPipeline(people, engine, TEXTS, ErasureService(db, db), relay=desk)
    accounts = AccountService(db, clock, PasswordHasher(time_cost=1, memory_cost=1024))
    yield World(pipeline, desk, engine, recorder, accounts, clock)
    await engine.aclose()
    db.dispose()


def anna(world: World) -> CounsellorRef:
    return world.accounts.add("anna@example.org", "Anna", "motdepasse-solide", team="lille")


def in_ticket(world: World, ticket_id: int) -> list[tuple[str, str]]:
    return [
        (str(item.origin), item.text)
        for item in world.tickets.transcript(ticket_id)
        if item.in_ticket
    ]


async def test_before_the_claim_the_bot_answers(world: World) -> None:
    ticket_id = world.ask_for_a_counsellor()
    assert await world.say("allo ?") == [TEXTS.engine_down]
    assert world.engine.sent == ["allo ?"]
    assert world.tickets.get(ticket_id).status is TicketStatus.new
    assert in_ticket(world, ticket_id) == []


async def test_the_whole_hand_off_relay(world: World) -> None:
    counsellor = anna(world)
    ticket_id = world.ask_for_a_counsellor()

    await world.desk.claim(ticket_id, counsellor, via="web")
    claimed = TEXTS.handoff_claimed.format(name="Anna")
    assert world.recorder.sent == [(USER, [claimed])]

    # The young person's text goes to the counsellor, not to the engine.
    assert await world.say("slt jsuis dispo demain aprem") == []
    assert world.engine.sent == []
    view = world.tickets.get(ticket_id)
    assert view.status is TicketStatus.waiting_counsellor
    assert view.last_youth_at == world.clock.now()
    assert ("youth_message", ticket_id, {"text": "slt jsuis dispo demain aprem"}) in (
        world.recorder.events
    )

    # The counsellor's reply reaches the young person, signed with the first name.
    delivery = await world.desk.reply(ticket_id, counsellor, "Super, je t'appelle à 14h ?", "web")
    assert world.recorder.sent[-1] == (USER, ["Anna (conseiller·e) :\nSuper, je t'appelle à 14h ?"])
    assert delivery.ticket.status is TicketStatus.waiting_youth

    # An old keyboard button pressed now is an answer to the counsellor, by its title.
    replies = await world.pipeline.handle_button(Channel.simulator, USER, "/affirm", "Oui")
    assert replies == [] and world.engine.sent == []
    assert world.tickets.get(ticket_id).status is TicketStatus.waiting_counsellor

    # /conseiller while already talking with Anna.
    assert await world.say("/conseiller") == [TEXTS.handoff_already.format(name="Anna")]
    assert "Tu es déjà en lien avec Anna" in TEXTS.handoff_already.format(name="Anna")
    assert world.engine.sent == []

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
    assert await world.say("/stop") == [TEXTS.engine_down]
    assert world.engine.sent == ["/opt_out"]

    # Resolving hands the conversation back to the bot, and says so.
    await world.desk.resolve(ticket_id, counsellor, "mission_locale", None, via="web")
    assert world.recorder.sent[-1] == (USER, [TEXTS.handoff_closed.format(name="Anna")])
    assert await world.say("re") == [TEXTS.engine_down]
    assert world.engine.sent == ["/opt_out", "re"]
    assert ("youth", "re") not in in_ticket(world, ticket_id)
    assert world.tickets.get(ticket_id).status is TicketStatus.resolved


async def test_a_crisis_during_the_hand_off_gets_the_helplines_and_escalates(
    world: World,
) -> None:
    counsellor = anna(world)
    ticket_id = world.ask_for_a_counsellor()
    await world.desk.claim(ticket_id, counsellor, via="web")
    assert world.tickets.get(ticket_id).priority == 1

    replies = await world.say("jen peux plus jveux mourir")
    assert len(replies) == 1 and "3114" in replies[0]
    assert world.engine.sent == []
    view = world.tickets.get(ticket_id)
    assert (view.urgency, view.priority, view.crisis_kind) == (Urgency.crisis, 0, "suicide")
    assert view.status is TicketStatus.waiting_counsellor and view.assignee_id == counsellor.id
    assert EventKind.escalated in [e.kind for e in world.tickets.events(ticket_id)]
    # The counsellor sees the message and what the bot answered.
    assert in_ticket(world, ticket_id)[-2:] == [
        ("youth", "jen peux plus jveux mourir"),
        ("bot", replies[0]),
    ]
    kinds = [kind for kind, tid, _ in world.recorder.events if tid == ticket_id]
    assert kinds[-3:] == ["youth_message", "escalated", "bot_message"]
    # Still one ticket, still with Anna.
    assert [t.id for t in world.tickets.queue()] == [ticket_id]


async def test_a_release_gives_the_bot_back_until_someone_claims_again(world: World) -> None:
    counsellor = anna(world)
    ticket_id = world.ask_for_a_counsellor()
    await world.desk.claim(ticket_id, counsellor, via="web")
    await world.desk.release(ticket_id, counsellor, via="web")
    assert await world.say("ya quelqu'un ?") == [TEXTS.engine_down]
    assert world.engine.sent == ["ya quelqu'un ?"]
    # Releasing does not write to the young person (the ticket stays in the queue).
    assert world.recorder.sent == [(USER, [TEXTS.handoff_claimed.format(name="Anna")])]
