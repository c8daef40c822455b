"""A seeded database with known answers for the appointments results
(studio/analytics/appointments.py): the per-source population (tests/support/sources.py's
`seed_sources`: campaigns, channels, tickets) with appointments on their tickets, written
directly as rows (handoff/appointments/ makes them in the app).

Who has what (times UTC; tickets open a minute after the person's first contact, on 2 March
from 09:01, every 30 minutes; B1's and B2's tickets are moved to the Lille team):

  #   person (campaign, channel)   proposed after  starts     status          conf rem
  1   A1 (C1, tiktok)              2 h             5 Mar      attended         y   2
  2   A2 (C1, tiktok)              4 h             6 Mar      missed           y   2
  3   A3 (C1, tiktok)              1 h             9 Mar      attended         y   1
  4   A3 second                    (9 Mar)         16 Mar     attended         n   0
  5   A4 (C1, tiktok)              24 h            10 Mar     rescheduled      y   1
  6   A4 second                    (10 Mar)        12 Mar     attended         y   2
  7   A5 (C1, tiktok)              30 h            11 Mar     cancelled youth  y   1
  8   B1 (C2, flyer; lille)        3 h             5 Mar      attended         y   0
  9   B2 (C2, flyer; lille)        5 h             6 Mar      missed           n   0
  10  B2 second                    (7 Mar)         13 Mar     cancelled couns. n   0
  11  D2 (C3, instagram)           6 h             17 Mar     proposed (past)  n   0
  12  H1 (none, snapchat)          2 h             18 Mar     confirmed (past) y   2
  13  U1 (none, unknown) ticket 1  30 min          19 Mar     missed           y   1
  14  U1 ticket 2 (12 Mar 09:00)   24 h            20 Mar     attended         y   2
  15  A7 second (A7: C1, came in February; first: 21 Feb -> 25 Feb, attended) 4 Mar attended
  --  S1 (a simulation, C1)        1 h             5 Mar      attended: never counts
  --  A1 second: 3 April 14:00 UTC (today, later), confirmed; A2 second: 10 April, proposed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from core.db import Database
from core.models import Appointment, AppointmentKind, AppointmentStatus, Ticket
from core.settings import Settings
from tests.support.analytics import utc
from tests.support.sources import SOURCES_END, SOURCES_PERIOD, SourcesSeed, seed_sources

APPOINTMENTS_PERIOD = SOURCES_PERIOD  # 2-22 March 2026
APPOINTMENTS_END = SOURCES_END  # now: 3 April 2026, 09:00 UTC
S = AppointmentStatus


@dataclass(frozen=True)
class Planned:
    name: str  # the person
    starts: datetime
    status: AppointmentStatus
    confirmed: bool
    reminders: int
    after: timedelta | None = None  # proposed this long after the ticket opened
    proposed: datetime | None = None  # ...or at this moment
    ticket: int = 0  # the person's first ticket (0) or their second (1)
    cancelled_by: str | None = None


H = timedelta(hours=1)
PLANNED: tuple[Planned, ...] = (
    Planned("A1", utc(3, 5, 10), S.attended, True, 2, 2 * H),
    Planned("A2", utc(3, 6, 10), S.missed, True, 2, 4 * H),
    Planned("A3", utc(3, 9, 10), S.attended, True, 1, 1 * H),
    Planned("A3", utc(3, 16, 10), S.attended, False, 0, proposed=utc(3, 9, 11)),
    Planned("A4", utc(3, 10, 10), S.rescheduled, True, 1, 24 * H),
    Planned("A4", utc(3, 12, 10), S.attended, True, 2, proposed=utc(3, 10, 11)),
    Planned("A5", utc(3, 11, 10), S.cancelled, True, 1, 30 * H, cancelled_by="youth"),
    Planned("B1", utc(3, 5, 14), S.attended, True, 0, 3 * H),
    Planned("B2", utc(3, 6, 14), S.missed, False, 0, 5 * H),
    Planned("B2", utc(3, 13, 14), S.cancelled, False, 0, None, utc(3, 7, 9), 0, "counsellor"),
    Planned("D2", utc(3, 17, 10), S.proposed, False, 0, 6 * H),
    Planned("H1", utc(3, 18, 10), S.confirmed, True, 2, 2 * H),
    Planned("U1", utc(3, 19, 10), S.missed, True, 1, timedelta(minutes=30)),
    Planned("U1", utc(3, 20, 10), S.attended, True, 2, 24 * H, ticket=1),
    Planned("A7", utc(2, 25, 10), S.attended, True, 1, 24 * H),
    Planned("A7", utc(3, 4, 10), S.attended, True, 1, proposed=utc(2, 26, 9)),
    Planned("S1", utc(3, 5, 10), S.attended, True, 1, 1 * H),
    Planned("A1", utc(4, 3, 14), S.confirmed, True, 0, proposed=utc(3, 20, 9)),
    Planned("A2", utc(4, 10, 10), S.proposed, False, 0, proposed=utc(3, 20, 9)),
)


def seed_appointments(db: Database, settings: Settings) -> SourcesSeed:
    """seed_sources' population, B1's and B2's tickets in Lille, and the appointments."""
    population = seed_sources(db, settings)
    with db.transaction() as session:
        session.execute(
            update(Ticket)
            .where(Ticket.id.in_([population.tickets[n][0] for n in ("B1", "B2")]))
            .values(team="lille", territory="Métropole lilloise")
        )
        for plan in PLANNED:
            ticket = session.scalars(
                select(Ticket).where(Ticket.id == population.tickets[plan.name][plan.ticket])
            ).one()
            proposed = plan.proposed or ticket.created_at + (plan.after or timedelta())
            session.add(
                Appointment(
                    ticket_id=ticket.id,
                    person_id=ticket.person_id,
                    team=ticket.team,
                    kind=AppointmentKind.phone,
                    starts_at=plan.starts,
                    call_from="03 21 00 00 00",
                    status=plan.status,
                    reminders_sent=plan.reminders,
                    cancelled_by=plan.cancelled_by,
                    created_at=proposed,
                    updated_at=proposed,
                    confirmed_at=proposed + H if plan.confirmed else None,
                )
            )
            session.flush()  # ids in the order above: the first proposed is the lowest
    return population
