"""Factories for the appointment tests: a young person with a ticket held by a counsellor,
drafts at local Paris times."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from core.clock import FixedClock
from core.models import AppointmentKind
from handoff.accounts import CounsellorRef
from handoff.appointments import AppointmentDraft
from tests.support.world import World

PARIS = ZoneInfo("Europe/Paris")


def paris(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PARIS)


def move_to(clock: FixedClock, moment: datetime) -> None:
    """Set the test clock to `moment` (forward only, as time goes)."""
    seconds = (moment - clock.now()).total_seconds()
    assert seconds >= 0, "the clock only moves forward"
    clock.advance(seconds=seconds)


def phone(starts_at: datetime, **fields: object) -> AppointmentDraft:
    """A phone call from the structure's number."""
    values: dict[str, object] = {"call_from": "03.21.00.00.00", **fields}
    return AppointmentDraft(AppointmentKind.phone, starts_at, **values)  # type: ignore[arg-type]


def visit(starts_at: datetime, site: str = "lens", **fields: object) -> AppointmentDraft:
    """In person at one of the structure's sites (maraude.yml)."""
    return AppointmentDraft(AppointmentKind.in_person, starts_at, site_id=site, **fields)  # type: ignore[arg-type]


@dataclass
class Held:
    """A young person whose ticket a counsellor holds."""

    counsellor: CounsellorRef
    person_id: int
    pseudo: str
    ticket_id: int


async def held_ticket(world: World, name: str = "Sam", *, consent: bool = True) -> Held:
    counsellor = world.counsellor(name)
    person_id, pseudo = world.person(consent=consent)
    ticket_id = await world.ticket(pseudo)
    await world.desk.claim(ticket_id, counsellor, "web")
    return Held(counsellor, person_id, pseudo, ticket_id)
