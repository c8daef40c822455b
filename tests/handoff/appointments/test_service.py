"""The appointment service on SQLite and PostgreSQL: a counsellor's draft checked (French
messages), the opening hours warning, one appointment ahead per ticket, the young person's
side naming the person, attendance, need to know."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.models import AppointmentKind, AppointmentStatus, EventKind
from handoff.appointments import (
    AppointmentConflict,
    AppointmentDraft,
    AppointmentInvalid,
    AppointmentNotFound,
    OutsideOpeningHours,
)
from handoff.tickets import TicketNotFound
from tests.handoff.appointments.support import held_ticket, move_to, paris, phone, visit
from tests.support.world import World

# Monday 2 March 2026, 10:00 in Paris.
CLOCK_START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TUESDAY_1430 = paris(2026, 3, 3, 14, 30)


@pytest.fixture
def world_db_url(db_url: str) -> str:
    return db_url


def _events(world: World, ticket_id: int, kind: EventKind) -> list[dict[str, object]]:
    return [e.data for e in world.tickets.events(ticket_id) if e.kind == kind]


@pytest.mark.parametrize(
    ("draft", "message"),
    [
        (phone(paris(2026, 3, 2, 9, 30)), "Le rendez-vous doit être dans le futur"),
        (phone(paris(2026, 3, 2, 10, 10)), "au moins 15 minutes après maintenant"),
        (phone(datetime(2026, 3, 3, 14, 30)), "sans fuseau horaire"),
        (phone(paris(2026, 10, 1, 10)), "dans les 6 prochains mois"),
        (phone(TUESDAY_1430, duration_minutes=5), "entre 10 minutes et 8 heures"),
        (phone(TUESDAY_1430, call_from="pas un numéro"), "Indique le numéro d'où tu appelleras"),
        (visit(TUESDAY_1430, site="nulle-part"), "Choisis un des lieux de la structure"),
        (
            AppointmentDraft(AppointmentKind.video, TUESDAY_1430, location="http://x.example"),
            "doit commencer par https://",
        ),
        (phone(TUESDAY_1430, note="x" * 501), "Le mot pour le jeune dépasse 500 caractères"),
    ],
)
async def test_a_draft_that_makes_no_sense_is_refused_in_french(
    world: World, draft: AppointmentDraft, message: str
) -> None:
    held = await held_ticket(world)
    with pytest.raises(AppointmentInvalid, match=message):
        world.services.appointments.propose(held.ticket_id, held.counsellor, draft)
    assert world.services.appointments.for_ticket(held.ticket_id) == []


async def test_a_draft_is_cleaned(world: World) -> None:
    held = await held_ticket(world)
    view, replaced = world.services.appointments.propose(
        held.ticket_id, held.counsellor, phone(TUESDAY_1430, call_from="+33 3 21 00 00 00")
    )
    assert replaced is None
    assert view.call_from == "03 21 00 00 00"
    assert view.duration_minutes == 45  # appointments.default_duration
    assert view.status == AppointmentStatus.proposed
    assert view.counsellor_name == "Sam" and view.person_id == held.person_id
    assert view.starts_at == TUESDAY_1430
    assert _events(world, held.ticket_id, EventKind.appointment_proposed)[0]["appointment"] == (
        view.id
    )


async def test_outside_opening_hours_warns_then_goes_on_when_confirmed(world: World) -> None:
    held = await held_ticket(world)
    service = world.services.appointments
    evening = paris(2026, 3, 3, 18, 30)  # the teams close at 17:30
    with pytest.raises(OutsideOpeningHours, match="en dehors des horaires d'ouverture"):
        service.propose(held.ticket_id, held.counsellor, visit(evening))
    # Ending after closing time is outside too.
    with pytest.raises(OutsideOpeningHours):
        service.propose(held.ticket_id, held.counsellor, visit(paris(2026, 3, 3, 17)))
    view, _ = service.propose(
        held.ticket_id, held.counsellor, visit(evening, allow_outside_hours=True)
    )
    assert view.outside_hours is True
    inside, _ = service.propose(held.ticket_id, held.counsellor, visit(TUESDAY_1430))
    assert inside.outside_hours is False


async def test_one_appointment_ahead_per_ticket(world: World) -> None:
    held = await held_ticket(world)
    service = world.services.appointments
    first, _ = service.propose(held.ticket_id, held.counsellor, phone(TUESDAY_1430))
    second, replaced = service.propose(
        held.ticket_id, held.counsellor, phone(paris(2026, 3, 4, 10))
    )
    assert replaced is not None and replaced.id == first.id
    old = service.get(first.id)
    assert old.status == AppointmentStatus.rescheduled and old.replaced_by_id == second.id
    assert [a.id for a in service.for_ticket(held.ticket_id) if a.active] == [second.id]
    assert service.next_of_person(held.person_id) == service.get(second.id)
    [event] = [
        e
        for e in _events(world, held.ticket_id, EventKind.appointment_proposed)
        if e["appointment"] == second.id
    ]
    assert event["replaces"] == first.id
    # A replaced one cannot be marked.
    world.clock.advance(days=3)
    with pytest.raises(AppointmentConflict, match="remplacé par un autre"):
        service.mark(first.id, held.counsellor, "attended")


async def test_the_young_person_reaches_only_their_own_appointments(world: World) -> None:
    held = await held_ticket(world)
    other = await held_ticket(world, "Awa")
    service = world.services.appointments
    view, _ = service.propose(held.ticket_id, held.counsellor, phone(TUESDAY_1430))
    for call in (
        lambda: service.answer(other.person_id, view.id, "ok"),
        lambda: service.youth_reply(other.person_id, view.id, "lundi"),
        lambda: service.youth_cancel(other.person_id, view.id),
        lambda: service.get_own(other.person_id, view.id),
        lambda: service.answer(held.person_id, view.id + 1000, "ok"),
    ):
        with pytest.raises(AppointmentNotFound):
            call()
    assert service.youth_cancel(other.person_id) is None  # nothing of theirs to cancel
    assert service.get(view.id).status == AppointmentStatus.proposed
    # Through the desk: the same answer as a closed appointment, nothing told to anybody.
    replies = await world.services.appointment_desk.youth_answer(other.person_id, view.id, "ok")
    assert [r.text for r in replies] == [world.services.appointment_desk.wording("closed")]
    assert _events(world, held.ticket_id, EventKind.appointment_answered) == []


async def test_answering_twice_changes_nothing(world: World) -> None:
    held = await held_ticket(world)
    service = world.services.appointments
    view, _ = service.propose(held.ticket_id, held.counsellor, phone(TUESDAY_1430))
    first = service.answer(held.person_id, view.id, "ok")
    world.clock.advance(minutes=5)
    again = service.answer(held.person_id, view.id, "ok")
    assert first == again
    assert again.status == AppointmentStatus.confirmed
    assert again.confirmed_at == CLOCK_START
    assert len(_events(world, held.ticket_id, EventKind.appointment_answered)) == 1
    # Another answer is recorded (they changed their mind).
    changed = service.answer(held.person_id, view.id, "change")
    assert changed.status == AppointmentStatus.change_requested
    with pytest.raises(AppointmentInvalid):
        service.answer(held.person_id, view.id, "peut-être")


async def test_an_answer_to_a_past_or_cancelled_appointment_is_a_conflict(world: World) -> None:
    held = await held_ticket(world)
    service = world.services.appointments
    view, _ = service.propose(held.ticket_id, held.counsellor, phone(TUESDAY_1430))
    service.cancel(view.id, held.counsellor)
    with pytest.raises(AppointmentConflict):
        service.answer(held.person_id, view.id, "ok")
    with pytest.raises(AppointmentConflict, match="n'est plus à venir"):
        service.cancel(view.id, held.counsellor)
    later, _ = service.propose(held.ticket_id, held.counsellor, phone(TUESDAY_1430))
    world.clock.advance(days=2)
    with pytest.raises(AppointmentConflict):
        service.answer(held.person_id, later.id, "ok")
    assert service.youth_cancel(held.person_id, later.id) is None  # already started


async def test_attendance_is_marked_once_the_time_has_come(world: World) -> None:
    held = await held_ticket(world)
    service = world.services.appointments
    view, _ = service.propose(held.ticket_id, held.counsellor, phone(TUESDAY_1430))
    with pytest.raises(AppointmentConflict, match="n'a pas encore eu lieu"):
        service.mark(view.id, held.counsellor, "attended")
    with pytest.raises(AppointmentInvalid, match="venu·e, pas venu·e ou reporté"):
        service.mark(view.id, held.counsellor, "confirmed")
    move_to(world.clock, TUESDAY_1430 + timedelta(minutes=50))
    assert service.unmarked() == [service.get(view.id)]
    marked = service.mark(view.id, held.counsellor, "missed")
    assert marked.status == AppointmentStatus.missed and marked.marked_by_id == held.counsellor.id
    assert service.unmarked() == []
    corrected = service.mark(view.id, held.counsellor, AppointmentStatus.attended)
    assert corrected.status == AppointmentStatus.attended
    assert [e["status"] for e in _events(world, held.ticket_id, EventKind.appointment_marked)] == [
        "missed",
        "attended",
    ]


async def test_a_closed_ticket_can_still_be_marked_by_its_holder(world: World) -> None:
    held = await held_ticket(world)
    service = world.services.appointments
    view, _ = service.propose(held.ticket_id, held.counsellor, visit(TUESDAY_1430))
    move_to(world.clock, TUESDAY_1430 + timedelta(hours=2))
    world.tickets.resolve(held.ticket_id, held.counsellor, "mission_locale")
    assert not world.tickets.get(held.ticket_id).is_open
    assert service.mark(view.id, held.counsellor, "attended").status == "attended"
    # Proposing needs the ticket held and open.
    with pytest.raises(Exception, match=".+"):
        service.propose(held.ticket_id, held.counsellor, visit(paris(2026, 3, 5, 10)))


async def test_need_to_know(world: World) -> None:
    held = await held_ticket(world)
    service = world.services.appointments
    view, _ = service.propose(held.ticket_id, held.counsellor, phone(TUESDAY_1430))
    stranger = world.counsellor("Lina", team="lille")  # another team
    with pytest.raises(AppointmentNotFound):
        service.get(view.id, stranger)
    with pytest.raises(TicketNotFound):
        service.for_ticket(held.ticket_id, stranger)
    with pytest.raises(TicketNotFound):
        service.propose(held.ticket_id, stranger, phone(TUESDAY_1430))
    with pytest.raises(AppointmentNotFound):
        service.cancel(view.id, stranger)
    move_to(world.clock, TUESDAY_1430 + timedelta(hours=1))
    with pytest.raises(AppointmentNotFound):
        service.mark(view.id, stranger, "attended")
    # The team sees it, the holder acts on it; the digest lists it by team.
    colleague = world.counsellor("Noa")
    assert [a.id for a in service.for_ticket(held.ticket_id, colleague)] == [view.id]
    assert [a.id for a in service.unmarked(teams=["lille"])] == []
    assert [a.id for a in service.unmarked(teams=[view.team])] == [view.id]
    assert [a.id for a in service.of_day(TUESDAY_1430.date(), TUESDAY_1430.tzinfo)] == [view.id]  # type: ignore[arg-type]
