"""The young person's side of an appointment through the real pipeline and services: the
proposal's buttons, the availability typed after "on change ?", "je peux plus venir" (never
before a crisis), and the question after /stop. The engine is a stand-in that runs the real
opt-out action (rasa_sdk Tracker and CollectingDispatcher) on /stop and records what reached it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot.appointments import button_payload, cant_come, parse_button
from bot.pipeline import is_valid_payload
from core.models import AppointmentStatus, Channel, FollowUpKind
from handoff.accounts import CounsellorRef
from handoff.tickets import TicketView
from tests.handoff.appointments.support import (
    OPT_OUT_TEXT,
    Held,
    StandInEngine,
    paris,
    phone,
    visit,
)
from tests.support.world import World

CLOCK_START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # Monday 10:00 in Paris
WEDNESDAY_1430 = paris(2026, 3, 4, 14, 30)


class Listener:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    async def on_ticket_event(
        self, kind: str, ticket: TicketView, actor: CounsellorRef | None, data: dict[str, Any]
    ) -> None:
        self.events.append((kind, data))

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.events if kind.startswith("appointment_")]


@pytest.fixture
def engine(world: World) -> StandInEngine:
    stand_in = StandInEngine(world.nudge_rules)
    world.services.pipeline.engine = stand_in  # type: ignore[assignment]
    return stand_in


@pytest.fixture
def listener(world: World) -> Listener:
    heard = Listener()
    world.desk.add_listener(heard)
    return heard


async def young_person(world: World, key: str, *, hold: bool = True) -> Held:
    """A young person on Telegram (`key`: their chat id) with a ticket, held by Sam."""
    counsellor = world.counsellor("Sam")
    person_id, pseudo = world.person(key, consent=True)
    ticket_id = await world.ticket(pseudo)
    if hold:
        await world.desk.claim(ticket_id, counsellor, "web")
    return Held(counsellor, person_id, pseudo, ticket_id)


async def proposed(world: World, held: Held, starts: datetime = WEDNESDAY_1430) -> int:
    view = await world.services.appointment_desk.propose(
        held.ticket_id, held.counsellor, visit(starts), "web"
    )
    return view.id


async def press(world: World, key: str, intent: str, appointment: int, title: str) -> list[Any]:
    payload = button_payload(intent, appointment)
    assert is_valid_payload(payload)
    return await world.services.pipeline.handle_button(Channel.telegram, key, payload, title)


async def say(world: World, key: str, text: str) -> list[Any]:
    return await world.services.pipeline.handle_text(Channel.telegram, key, text)


def status(world: World, appointment: int) -> AppointmentStatus:
    return world.services.appointments.get(appointment).status


def test_the_payloads_are_read_back() -> None:
    assert parse_button('/rdv_ok{"rdv":"12"}') == ("rdv_ok", 12)
    assert parse_button(button_payload("rdv_stop_cancel", 7)) == ("rdv_stop_cancel", 7)
    for other in ('/rdv_boom{"rdv":"1"}', "/rdv_ok", '/affirm{"rdv":"1"}', '/rdv_ok{"rdv":"x"}'):
        assert parse_button(other) is None


@pytest.mark.parametrize(
    "text",
    [
        "je peux plus venir",
        "je peu plus venir",
        "Je peux plus venir !",
        "jpeux pas venir demain",
        "j'peux pas venir",
        "annule le rdv",
        "annule mon rendez-vous stp",
        "je pourrai pas venir",
        "je ne pourrai pas venir finalement",
        "jvais pas pouvoir venir",
        "je viendrai pas",
        "dsl je veux annuler",
    ],
)
def test_ways_of_saying_i_cannot_come(text: str) -> None:
    assert cant_come(text)


@pytest.mark.parametrize(
    "text",
    [
        "je peux venir",
        "je peux venir demain ?",
        "je sais pas si je peux venir",
        "je peux pas venir à 14h mais à 16h oui",
        "si je peux pas venir je fais quoi",
        "j'en peux plus",
        "bonjour",
    ],
)
def test_not_a_cancellation(text: str) -> None:
    assert not cant_come(text)


async def test_ca_me_va_confirms_and_sends_the_calendar_file(
    world: World, engine: StandInEngine, listener: Listener
) -> None:
    held = await young_person(world, "5001")
    appointment = await proposed(world, held)
    [reply] = await press(world, "5001", "rdv_ok", appointment, "Ça me va")
    assert "c'est noté pour mercredi 4 mars à 14h30" in reply.text
    [document] = reply.documents
    assert document.filename == "rendez-vous-2026-03-04-14h30.ics"
    assert document.mime_type == "text/calendar"
    assert "DTSTART;TZID=Europe/Paris:20260304T143000" in document.content
    assert status(world, appointment) == AppointmentStatus.confirmed
    assert engine.received == []  # answered before the relay and the engine
    assert listener.kinds() == ["appointment_proposed", "appointment_answered"]
    # The reminder is planned; the press and the answer are in the ticket's transcript.
    assert [f.kind for f in world.followups.pending(held.person_id)][:1] == [
        FollowUpKind.appointment_reminder
    ]
    transcript = [m.text for m in world.tickets.transcript(held.ticket_id)]
    assert transcript.index("Ça me va") < transcript.index(reply.text)  # in order


async def test_somebody_elses_appointment_is_not_theirs(
    world: World, engine: StandInEngine
) -> None:
    held = await young_person(world, "5002")
    other = await young_person(world, "5003")
    appointment = await proposed(world, held)
    # The simulator does not check which buttons were shown: the service does.
    [reply] = await press(world, "5003", "rdv_ok", appointment, "Ça me va")
    assert reply.text == world.services.appointment_desk.wording("closed")
    [reply] = await press(world, "5003", "rdv_cancel", appointment, "Je peux plus venir")
    assert reply.text == world.services.appointment_desk.wording("nothing_to_cancel")
    assert status(world, appointment) == AppointmentStatus.proposed
    assert other.person_id != held.person_id


async def test_on_change_then_the_availability_reaches_the_counsellor(
    world: World, engine: StandInEngine, listener: Listener
) -> None:
    held = await young_person(world, "5004")
    appointment = await proposed(world, held)
    [asked] = await press(world, "5004", "rdv_change", appointment, "Pas possible, on change ?")
    assert "Dis-moi en un message quand t'es dispo" in asked.text and "Sam" in asked.text
    [sent] = await say(world, "5004", "plutôt jeudi aprem ou vendredi matin")
    assert sent.text == "C'est transmis à Sam, on te repropose un créneau."
    view = world.services.appointments.get(appointment)
    assert view.status == AppointmentStatus.change_requested
    assert view.youth_reply == "plutôt jeudi aprem ou vendredi matin"
    [(_, data)] = [(k, d) for k, d in listener.events if k == "appointment_availability"]
    assert data["text"] == "plutôt jeudi aprem ou vendredi matin"
    # Still relayed to the counsellor who holds the conversation, as usual.
    assert "youth_message" in [k for k, _ in listener.events]
    texts = [m.text for m in world.tickets.transcript(held.ticket_id)]
    assert "plutôt jeudi aprem ou vendredi matin" in texts
    # The next message is a plain message to the counsellor again.
    assert await say(world, "5004", "merci") == []
    assert world.services.appointments.get(appointment).youth_reply == (
        "plutôt jeudi aprem ou vendredi matin"
    )
    assert engine.received == []


async def test_the_availability_without_a_counsellor_holding_the_chat(
    world: World, engine: StandInEngine
) -> None:
    held = await young_person(world, "5005")
    appointment = await proposed(world, held)
    world.tickets.resolve(held.ticket_id, held.counsellor, "mission_locale")  # not relaying
    await press(world, "5005", "rdv_change", appointment, "Pas possible, on change ?")
    [sent] = await say(world, "5005", "lundi 10h")
    assert "C'est transmis à Sam" in sent.text
    assert world.services.appointments.get(appointment).youth_reply == "lundi 10h"
    assert engine.received == []
    assert "lundi 10h" in [m.text for m in world.people.transcript(held.pseudo)]


async def test_je_peux_plus_venir_cancels_and_tells_the_counsellor(
    world: World, engine: StandInEngine, listener: Listener
) -> None:
    held = await young_person(world, "5006")
    appointment = await proposed(world, held)
    await press(world, "5006", "rdv_ok", appointment, "Ça me va")
    [reply] = await say(world, "5006", "jpeux pas venir demain dsl")
    assert reply.text.startswith("Ok, j'annule le rdv de mercredi 4 mars à 14h30")
    view = world.services.appointments.get(appointment)
    assert view.status == AppointmentStatus.cancelled and view.cancelled_by == "youth"
    [(_, data)] = [(k, d) for k, d in listener.events if k == "appointment_cancelled"]
    assert data["by"] == "youth"
    transcript = [m.text for m in world.tickets.transcript(held.ticket_id)]
    assert transcript.index("jpeux pas venir demain dsl") < transcript.index(reply.text)
    assert world.followups.pending(held.person_id) == [
        f
        for f in world.followups.pending(held.person_id)
        if f.kind != FollowUpKind.appointment_reminder
    ]
    # Nothing more to cancel: the words go the usual way (to the counsellor).
    assert await say(world, "5006", "je peux plus venir") == []
    assert engine.received == []


async def test_a_crisis_comes_first(world: World, engine: StandInEngine) -> None:
    held = await young_person(world, "5007")
    appointment = await proposed(world, held)
    replies = await say(world, "5007", "je peux plus venir jveux mourir")
    assert any("3114" in r.text for r in replies)
    assert status(world, appointment) == AppointmentStatus.proposed
    # Nor is a crisis taken as the availability.
    await press(world, "5007", "rdv_change", appointment, "Pas possible, on change ?")
    replies = await say(world, "5007", "jveux mourir")
    assert any("3114" in r.text for r in replies)
    assert world.services.appointments.get(appointment).youth_reply is None


async def test_stop_asks_whether_to_keep_the_appointment(
    world: World, engine: StandInEngine
) -> None:
    held = await young_person(world, "5008")
    appointment = await proposed(world, held)
    await press(world, "5008", "rdv_ok", appointment, "Ça me va")
    stopped, question = await say(world, "5008", "/stop")
    assert stopped.text == OPT_OUT_TEXT
    assert "Tu as un rdv mercredi 4 mars à 14h30" in question.text
    assert [b.title for b in question.buttons] == ["Garder le rdv", "Annuler le rdv"]
    assert [parse_button(b.payload) for b in question.buttons] == [
        ("rdv_stop_keep", appointment),
        ("rdv_stop_cancel", appointment),
    ]
    [kept] = await press(world, "5008", "rdv_stop_keep", appointment, "Garder le rdv")
    assert "ton rdv est gardé" in kept.text
    assert status(world, appointment) == AppointmentStatus.confirmed
    assert FollowUpKind.appointment_reminder in [
        f.kind for f in world.followups.pending(held.person_id)
    ]
    # Later, "Annuler le rdv" (an old keyboard still works) cancels it and its reminders.
    [cancelled] = await press(world, "5008", "rdv_stop_cancel", appointment, "Annuler le rdv")
    assert "j'annule le rdv" in cancelled.text
    assert status(world, appointment) == AppointmentStatus.cancelled
    assert FollowUpKind.appointment_reminder not in [
        f.kind for f in world.followups.pending(held.person_id)
    ]


async def test_stop_without_an_appointment_asks_nothing(
    world: World, engine: StandInEngine
) -> None:
    await young_person(world, "5009")
    assert [r.text for r in await say(world, "5009", "/stop")] == [OPT_OUT_TEXT]
    # Not opted out (an engine that did not run the opt-out): nothing asked either.
    held = await young_person(world, "5010")
    await proposed(world, held, paris(2026, 3, 5, 10))
    replies = await say(world, "5010", "stop")  # typed: the stand-in just answers
    assert [r.text for r in replies] == []  # relayed to Sam, no question
    replies = await world.services.appointment_desk.after_stop(held.person_id)
    assert replies == []


async def test_a_phone_appointment_proposal_reads_well(world: World) -> None:
    held = await young_person(world, "5011")
    desk = world.services.appointment_desk
    view = await desk.propose(held.ticket_id, held.counsellor, phone(WEDNESDAY_1430), "web")
    [proposal] = [
        m.text for m in world.tickets.transcript(held.ticket_id) if "te propose" in m.text
    ]
    assert proposal.startswith("Sam te propose un appel mercredi 4 mars à 14h30.")
    assert "On t'appelle au 03 21 00 00 00" in proposal
    assert view.call_from == "03 21 00 00 00"
