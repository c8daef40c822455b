"""An appointment's follow-ups through the real services and the real sweeper (SQLite and
PostgreSQL), at a fixed clock: reminders after "Ça me va" at the right local times, the next
one planned after each, none after a cancellation, kept after /stop, never counted against the
weekly cap, a Sunday reminder allowed; the counsellors asked to mark it; a missed one nudged
kindly the next day, with the counsellor's follow-up date. The young person writes through the
simulator (no push: what is sent is stored in the ticket's transcript)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from core.models import AppointmentStatus, Channel, FollowUpKind, FollowUpStatus
from handoff.accounts import CounsellorRef
from handoff.appointments import AppointmentView
from handoff.tickets import TicketView
from nudges.store import NUDGE_KINDS, YOUTH_KINDS
from tests.handoff.appointments.support import Held, move_to, paris, phone, visit
from tests.support.world import World

# Monday 2 March 2026, 10:00 in Paris.
CLOCK_START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
WEDNESDAY_1430 = paris(2026, 3, 4, 14, 30)


@pytest.fixture
def world_db_url(db_url: str) -> str:
    return db_url


class Listener:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    async def on_ticket_event(
        self, kind: str, ticket: TicketView, actor: CounsellorRef | None, data: dict[str, Any]
    ) -> None:
        self.events.append((kind, data))


@pytest.fixture
def listener(world: World) -> Listener:
    heard = Listener()
    world.desk.add_listener(heard)
    return heard


async def simulator_person(world: World) -> Held:
    """A young person on the simulator whose ticket Sam holds."""
    counsellor = world.counsellor("Sam")
    person_id, pseudo = world.person(channel=Channel.simulator, consent=True)
    ticket_id = await world.ticket(pseudo)
    await world.desk.claim(ticket_id, counsellor, "web")
    return Held(counsellor, person_id, pseudo, ticket_id)


async def confirmed(world: World, held: Held, starts: datetime = WEDNESDAY_1430) -> int:
    desk = world.services.appointment_desk
    view = await desk.propose(held.ticket_id, held.counsellor, visit(starts), "web")
    await desk.youth_answer(held.person_id, view.id, "ok")
    return view.id


def pending(world: World, held: Held, kind: FollowUpKind) -> list[datetime]:
    return [f.due_at for f in world.followups.pending(held.person_id) if f.kind == kind]


def bot_texts(world: World, held: Held) -> list[str]:
    return [m.text for m in world.tickets.transcript(held.ticket_id) if m.origin == "bot"]


async def sweep_at(world: World, moment: datetime) -> None:
    move_to(world.clock, moment)
    await world.services.sweeper.sweep()


def local(moments: list[datetime]) -> list[str]:
    return [m.astimezone(paris(2026, 1, 1, 0).tzinfo).strftime("%a %H:%M") for m in moments]


async def test_reminders_the_day_before_and_two_hours_before(world: World) -> None:
    held = await simulator_person(world)
    appointment = await confirmed(world, held)
    assert local(pending(world, held, FollowUpKind.appointment_reminder)) == ["Tue 14:30"]
    # The counsellors will be asked to mark it 1 h after its end (45 min).
    assert local(pending(world, held, FollowUpKind.appointment_unmarked)) == ["Wed 16:15"]

    await sweep_at(world, paris(2026, 3, 3, 14, 29))
    assert not any("Petit rappel" in t for t in bot_texts(world, held))
    await sweep_at(world, paris(2026, 3, 3, 14, 30))
    [day_before] = [t for t in bot_texts(world, held) if "Petit rappel" in t]
    assert "un rdv sur place demain à 14h30 avec Sam" in day_before
    assert "Mission Locale de Lens (démo)" in day_before and "je peux plus venir" in day_before
    assert world.services.appointments.get(appointment).reminders_sent == 1
    assert local(pending(world, held, FollowUpKind.appointment_reminder)) == ["Wed 12:30"]

    await sweep_at(world, paris(2026, 3, 4, 12, 30))
    [soon] = [t for t in bot_texts(world, held) if "C'est bientôt" in t]
    assert "aujourd'hui à 14h30" in soon
    assert world.services.appointments.get(appointment).reminders_sent == 2
    assert pending(world, held, FollowUpKind.appointment_reminder) == []


async def test_the_reminder_carries_the_cant_come_button(world: World) -> None:
    held = await simulator_person(world)
    appointment = await confirmed(world, held)
    assert world.followups.claim_due("w") == []  # nothing due yet
    view = world.services.appointments.get(appointment)
    reply = world.services.appointment_desk.reminder(view)
    assert [(b.title, b.payload) for b in reply.buttons] == [
        ("Je peux plus venir", f'/rdv_cancel{{"rdv":"{appointment}"}}')
    ]


async def test_no_reminder_before_an_answer_nor_after_a_cancellation(world: World) -> None:
    held = await simulator_person(world)
    desk = world.services.appointment_desk
    view = await desk.propose(held.ticket_id, held.counsellor, phone(WEDNESDAY_1430), "web")
    assert pending(world, held, FollowUpKind.appointment_reminder) == []
    await desk.youth_answer(held.person_id, view.id, "unsure")
    assert pending(world, held, FollowUpKind.appointment_reminder) == []
    await desk.youth_answer(held.person_id, view.id, "ok")
    assert len(pending(world, held, FollowUpKind.appointment_reminder)) == 1
    # The counsellor replaces it: the old one's reminder goes, the new one waits for "ok".
    newer = await desk.propose(held.ticket_id, held.counsellor, phone(paris(2026, 3, 5, 10)), "web")
    assert pending(world, held, FollowUpKind.appointment_reminder) == []
    await desk.youth_answer(held.person_id, newer.id, "ok")
    assert local(pending(world, held, FollowUpKind.appointment_reminder)) == ["Wed 10:00"]
    await desk.youth_cancel(held.person_id)  # "je peux plus venir"
    assert pending(world, held, FollowUpKind.appointment_reminder) == []
    # Its ask to mark attendance has nothing to ask any more.
    await sweep_at(world, paris(2026, 3, 5, 12))
    assert not any("passé" in n.text for n in world.tickets.notes(held.ticket_id))


async def test_a_reminder_of_an_appointment_no_longer_active_is_obsolete(world: World) -> None:
    held = await simulator_person(world)
    appointment = await confirmed(world, held)
    # Cancelled behind the rules' back (e.g. erased listener): the due job is dropped.
    world.followups.cancel(held.person_id, kinds=[FollowUpKind.appointment_reminder], reason="t")
    world.followups.schedule(
        held.person_id,
        FollowUpKind.appointment_reminder,
        paris(2026, 3, 3, 14, 30),
        ticket_id=held.ticket_id,
        payload={"appointment_id": appointment},
    )
    world.services.appointments.cancel(appointment, held.counsellor)
    await sweep_at(world, paris(2026, 3, 3, 14, 30))
    assert not any("Petit rappel" in t for t in bot_texts(world, held))
    assert FollowUpKind.appointment_reminder not in [f.kind for f in world.followups.pending()]


async def test_reminders_survive_stop_and_are_never_capped(world: World) -> None:
    held = await simulator_person(world)
    assert FollowUpKind.appointment_reminder not in NUDGE_KINDS
    assert FollowUpKind.appointment_reminder in YOUTH_KINDS
    appointment = await confirmed(world, held)
    # The weekly cap is reached (3 light nudges sent this week).
    for _ in range(world.settings.nudges.cap_per_week):
        world.followups.schedule(held.person_id, FollowUpKind.triage_nudge, world.clock.now())
        [job] = world.followups.claim_due("w")
        assert world.followups.mark_sent(job.id, "w")
    world.followups.schedule(
        held.person_id, FollowUpKind.triage_nudge, world.clock.now() + timedelta(hours=1)
    )
    # /stop: the nudges go, the appointment's reminder stays.
    world.nudge_rules.opt_out(held.pseudo)
    assert [f.kind for f in world.followups.pending(held.person_id)] == [
        FollowUpKind.appointment_reminder,
        FollowUpKind.appointment_unmarked,
    ]
    await sweep_at(world, paris(2026, 3, 3, 14, 30))
    assert any("Petit rappel" in t for t in bot_texts(world, held))
    # The next one is planned even though the person opted out.
    assert local(pending(world, held, FollowUpKind.appointment_reminder)) == ["Wed 12:30"]
    # A light nudge is not (opted out).
    assert (
        world.followups.schedule(held.person_id, FollowUpKind.youth_silent, world.clock.now())
        is None
    )
    # Cancelling the appointment stops them.
    await world.services.appointment_desk.youth_cancel(held.person_id, appointment)
    assert pending(world, held, FollowUpKind.appointment_reminder) == []


async def test_a_sunday_reminder_of_monday_goes_out_and_a_nudge_waits(world: World) -> None:
    held = await simulator_person(world)
    await confirmed(world, held, paris(2026, 3, 9, 15))  # Monday 9 March
    [due] = pending(world, held, FollowUpKind.appointment_reminder)
    assert due == paris(2026, 3, 8, 15)  # Sunday: a quiet day for nudges, not for reminders
    world.followups.schedule(held.person_id, FollowUpKind.triage_nudge, due)
    await sweep_at(world, due)
    assert any("Petit rappel" in t for t in bot_texts(world, held))
    [nudge] = [f for f in world.followups.pending(held.person_id) if f.kind == "triage_nudge"]
    assert nudge.due_at == paris(2026, 3, 9, 9)  # postponed to Monday morning
    # The 2-hour one (13:00 Monday) is planned; the night stays quiet for it too.
    assert pending(world, held, FollowUpKind.appointment_reminder) == [paris(2026, 3, 9, 13)]
    sweeper = world.services.sweeper
    assert world.followups.claim_due("peek", 100) == []  # nothing else due
    calendar = sweeper.calendar.nightly_only()
    assert calendar.allows(paris(2026, 3, 8, 15)) and not calendar.allows(paris(2026, 3, 8, 22))


async def test_the_counsellors_are_asked_to_mark_it(world: World, listener: Listener) -> None:
    held = await simulator_person(world)
    appointment = await confirmed(world, held)
    await sweep_at(world, paris(2026, 3, 4, 16, 15))
    notes = [n.text for n in world.tickets.notes(held.ticket_id)]
    assert "Rendez-vous de 14h30 passé : dis s'il a eu lieu (venu·e, pas venu·e, reporté)." in notes
    [(_, data)] = [(k, d) for k, d in listener.events if k == "appointment_unmarked"]
    assert isinstance(data["appointment"], AppointmentView)
    assert data["appointment"].id == appointment
    # Marked already: nothing asked.
    other = await simulator_person(world)
    second = await confirmed(world, other, paris(2026, 3, 5, 10))
    move_to(world.clock, paris(2026, 3, 5, 11))
    await world.services.appointment_desk.mark(second, other.counsellor, "attended", "web")
    await sweep_at(world, paris(2026, 3, 5, 11, 45))
    assert not any("passé" in n.text for n in world.tickets.notes(other.ticket_id))


async def test_a_missed_appointment_is_nudged_kindly_the_next_day(world: World) -> None:
    held = await simulator_person(world)
    appointment = await confirmed(world, held)
    move_to(world.clock, paris(2026, 3, 4, 16))
    desk = world.services.appointment_desk
    await desk.mark(appointment, held.counsellor, AppointmentStatus.missed, "web")
    assert pending(world, held, FollowUpKind.appointment_missed) == [paris(2026, 3, 5, 10)]
    assert FollowUpKind.appointment_missed in NUDGE_KINDS  # a light nudge: capped
    # The counsellor's follow-up: the ticket's follow-up date, reminded that day.
    ticket = world.tickets.get(held.ticket_id)
    assert ticket.follow_up_at == paris(2026, 3, 5, 10)
    assert pending(world, held, FollowUpKind.counsellor_reminder) == [paris(2026, 3, 5, 10)]
    await sweep_at(world, paris(2026, 3, 5, 10))
    [missed] = [t for t in bot_texts(world, held) if "On s'est loupé" in t]
    assert "On en refixe un ?" in missed
    sent = [
        f
        for f in world.followups.pending(None)
        if f.kind == FollowUpKind.appointment_missed and f.status == FollowUpStatus.pending
    ]
    assert sent == []


async def test_a_corrected_mark_cancels_the_missed_nudge(world: World) -> None:
    held = await simulator_person(world)
    appointment = await confirmed(world, held)
    move_to(world.clock, paris(2026, 3, 4, 16))
    desk = world.services.appointment_desk
    await desk.mark(appointment, held.counsellor, "missed", "web")
    await desk.mark(appointment, held.counsellor, "attended", "web")
    assert pending(world, held, FollowUpKind.appointment_missed) == []
    await sweep_at(world, paris(2026, 3, 5, 10))
    assert not any("On s'est loupé" in t for t in bot_texts(world, held))
