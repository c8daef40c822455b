"""A young person's appointments in their data (/mesdonnees: when, kind, place, status; the
counsellors by first name only) and gone with them on erasure (foreign keys cascade), on
SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from core.export import export_service
from core.models import Appointment
from tests.handoff.appointments.support import held_ticket, move_to, paris, phone, visit
from tests.support.world import World

CLOCK_START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # Monday 10:00 in Paris


@pytest.fixture
def world_db_url(db_url: str) -> str:
    return db_url


def count_appointments(world: World, person_id: int | None = None) -> int:
    with world.services.db.transaction() as session:
        query = select(func.count()).select_from(Appointment)
        if person_id is not None:
            query = query.where(Appointment.person_id == person_id)
        return int(session.scalar(query) or 0)


async def test_mesdonnees_lists_the_appointments(world: World) -> None:
    held = await held_ticket(world, "Samia")
    desk = world.services.appointment_desk
    first = await desk.propose(
        held.ticket_id, held.counsellor, visit(paris(2026, 3, 4, 14, 30)), "web"
    )
    await desk.youth_answer(held.person_id, first.id, "change")
    await desk.youth_availability(desk.appointments.get(first.id), "jeudi aprem")
    second = await desk.propose(
        held.ticket_id, held.counsellor, phone(paris(2026, 3, 5, 15)), "web"
    )
    await desk.youth_answer(held.person_id, second.id, "ok")
    move_to(world.clock, paris(2026, 3, 5, 16))
    await desk.mark(second.id, held.counsellor, "attended", "web")

    export = export_service(world.settings, world.services.db, world.clock).export(held.pseudo)
    assert export is not None
    data = json.loads(export.as_json())
    rows = data["appointments"]
    assert [(r["kind"], r["status"]) for r in rows] == [
        ("in_person", "rescheduled"),
        ("phone", "attended"),
    ]
    assert rows[0]["site_name"] == "Mission Locale de Lens (démo)"
    assert rows[0]["youth_reply"] == "jeudi aprem"
    assert rows[1]["call_from"] == "03 21 00 00 00"
    assert rows[1]["counsellor"] == "Samia" and rows[1]["marked_by"] == "Samia"
    assert rows[0]["starts_at"].startswith("2026-03-04T13:30")  # UTC
    for row in rows:  # no counsellor account id, no e-mail
        assert "counsellor_id" not in row and "marked_by_id" not in row
    assert "appointment" not in data["other"]
    assert held.counsellor.email not in export.as_json()

    text = export.as_text()
    assert "== Tes rendez-vous (2) ==" in text
    assert (
        "- 04/03/2026 14:30 : sur place (Mission Locale de Lens (démo)) avec Samia — remplacé par "
        "un autre — tes dispos : « jeudi aprem »" in text
    )
    assert "- 05/03/2026 15:00 : appel (03 21 00 00 00) avec Samia — tu es venu·e" in text
    assert "rappel de ton rendez-vous" in text  # the follow-ups section names the reminders


async def test_erasure_takes_the_appointments_with_the_person(world: World) -> None:
    held = await held_ticket(world)
    other = await held_ticket(world, "Awa")
    desk = world.services.appointment_desk
    await desk.propose(held.ticket_id, held.counsellor, phone(paris(2026, 3, 4, 10)), "web")
    await desk.propose(other.ticket_id, other.counsellor, phone(paris(2026, 3, 4, 11)), "web")
    assert count_appointments(world, held.person_id) == 1
    assert world.services.erasure.erase_app(held.pseudo)
    assert count_appointments(world, held.person_id) == 0
    assert count_appointments(world) == 1  # the other person's stays
    assert world.services.appointments.next_of_person(other.person_id) is not None
