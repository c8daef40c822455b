"""Appointments results (studio/analytics/appointments.py) on a seeded database with known
answers, on SQLite and (gated) PostgreSQL: by team, by first-touch campaign and by channel,
with and without reminders, the time from the hand-off to the first appointment, the filters,
simulations left out, a fixed number of statements, and the same figures after erasing people.

Who has what: tests/support/appointment_results.py's table.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select

from core.db import Database
from core.erasure import ErasureService
from core.models import AnonymousCount, Appointment, AppointmentKind, AppointmentStatus, Ticket
from core.settings import load_settings
from studio.analytics import NO_TERRITORY, AnalyticsService, Filters
from studio.analytics.appointments import AppointmentResults, AppointmentRow
from studio.analytics.archive import StatsArchive
from tests.support import ROOT
from tests.support.analytics import HandClock, utc
from tests.support.appointment_results import (
    APPOINTMENTS_END,
    APPOINTMENTS_PERIOD,
    seed_appointments,
)
from tests.support.sources import SourcesSeed

SETTINGS = load_settings(ROOT / "maraude.yml")
PERIOD = APPOINTMENTS_PERIOD
Row = tuple[str, str, tuple[int, ...], int, float | None]


@pytest.fixture
def seeded(database: Database) -> tuple[AnalyticsService, SourcesSeed, Database]:
    population = seed_appointments(database, SETTINGS)
    return AnalyticsService(database, SETTINGS, HandClock(APPOINTMENTS_END)), population, database


def rows(found: list[AppointmentRow]) -> list[Row]:
    """(key, name, counts, tickets, median minutes); counts: proposed, confirmed, attended,
    missed, cancelled by the young person, by the counsellor, rescheduled, not yet marked."""
    return [(r.key, r.name, tuple(r.counts.values()), r.tickets, r.first_median) for r in found]


def test_by_team_campaign_channel_and_reminders(seeded: Any) -> None:
    service, population, _ = seeded
    c = {k: str(v) for k, v in population.campaigns.items()}
    found = service.appointments(PERIOD)
    # 15 appointments start in the period (A7's second: A7 came in February; not S1, a
    # simulation; not A1's and A2's of April). First appointments of 11 tickets (A7's first
    # started in February): 30, 60, 120, 120, 180, 240, 300, 360, 1440, 1440, 1800 min.
    assert rows([found.total]) == [("all", "", (15, 11, 7, 3, 1, 1, 1, 2), 11, 240.0)]
    assert found.total.attendance_rate == pytest.approx(7 / 10)
    assert rows(found.teams) == [
        ("lens", "Équipe Lens-Liévin", (12, 10, 6, 2, 1, 0, 1, 2), 9, 240.0),
        ("lille", "Équipe Métropole lilloise", (3, 1, 1, 1, 0, 1, 0, 0), 2, 240.0),
    ]
    assert rows(found.campaigns) == [
        (c["C1"], "TikTok rentrée", (8, 7, 5, 1, 1, 0, 1, 0), 5, 240.0),
        (c["C2"], "Flyers abribus", (3, 1, 1, 1, 0, 1, 0, 0), 2, 240.0),
        (c["C3"], "Instagram stories", (1, 0, 0, 0, 0, 0, 0, 1), 1, 360.0),
        ("0", "", (3, 3, 1, 1, 0, 0, 0, 1), 3, 120.0),  # H1 (snapchat), U1's two tickets
    ]
    assert rows(found.channels) == [
        ("instagram", "", (1, 0, 0, 0, 0, 0, 0, 1), 1, 360.0),
        ("snapchat", "", (1, 1, 0, 0, 0, 0, 0, 1), 1, 120.0),
        ("tiktok", "", (8, 7, 5, 1, 1, 0, 1, 0), 5, 240.0),
        ("flyer", "", (3, 1, 1, 1, 0, 1, 0, 0), 2, 240.0),
        ("unknown", "", (2, 2, 1, 1, 0, 0, 0, 0), 2, 735.0),
    ]
    # With reminders: 5 attended, 2 missed; without: 2 and 1 (not yet marked: by source only).
    with_, without = found.reminders
    assert (with_.key, with_.proposed, with_.counts["attended"], with_.marked) == ("with", 10, 5, 7)
    assert (without.key, without.proposed, without.counts["attended"], without.marked) == (
        "without",
        5,
        2,
        3,
    )
    assert with_.attendance_rate == pytest.approx(5 / 7)
    assert service.results(PERIOD).appointments == found  # the page's one transaction


def test_filters_and_the_period(seeded: Any) -> None:
    service, _, database = seeded
    lille = service.appointments(replace(PERIOD, team="lille"))
    assert rows([lille.total]) == [("all", "", (3, 1, 1, 1, 0, 1, 0, 0), 2, 240.0)]
    assert [r.key for r in lille.teams] == ["lille"]
    territory = service.appointments(replace(PERIOD, territory="Métropole lilloise"))
    assert territory == lille
    lens = service.appointments(replace(PERIOD, team="lens", territory="Lens-Liévin"))
    assert lens.total.proposed == 12
    assert service.appointments(replace(PERIOD, territory=NO_TERRITORY)).total.proposed == 0
    # February: A7's first appointment (proposed 24 h after the hand-off).
    february = service.appointments(Filters(date(2026, 2, 1), date(2026, 2, 28)))
    assert rows([february.total]) == [("all", "", (1, 1, 1, 0, 0, 0, 0, 0), 1, 1440.0)]
    # April: A1's (today, later: not due yet) and A2's (next week): nothing to mark yet; not
    # their tickets' first, so no delay.
    april = service.appointments(Filters(date(2026, 4, 1), date(2026, 4, 30)))
    assert rows([april.total]) == [("all", "", (2, 1, 0, 0, 0, 0, 0, 0), 0, None)]
    # The next day, A1's is a day over and still unmarked.
    tomorrow = AnalyticsService(database, SETTINGS, HandClock(utc(4, 4, 9)))
    assert (
        tomorrow.appointments(Filters(date(2026, 4, 1), date(2026, 4, 30))).total.counts["unmarked"]
        == 1
    )
    # Local days: 22 March ends at 23:00 UTC; nothing starts in 23-31 March.
    assert service.appointments(Filters(date(2026, 3, 23), date(2026, 3, 31))).total.proposed == 0


def add_appointments(database: Database, ticket_id: int, how_many: int) -> None:
    with database.transaction() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        for index in range(how_many):
            at = utc(3, 14, 9) + timedelta(hours=index)
            session.add(
                Appointment(
                    ticket_id=ticket.id,
                    person_id=ticket.person_id,
                    team=ticket.team,
                    kind=AppointmentKind.in_person,
                    starts_at=at,
                    status=AppointmentStatus.attended,
                    reminders_sent=index % 3,
                    created_at=at - timedelta(days=2),
                )
            )


def statements(database: Database, service: AnalyticsService) -> tuple[int, AppointmentResults]:
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(args[2])

    event.listen(database.engine, "before_cursor_execute", count)
    try:
        found = service.appointments(PERIOD)
    finally:
        event.remove(database.engine, "before_cursor_execute", count)
    return len(seen), found


def test_a_fixed_number_of_statements(seeded: Any) -> None:
    service, population, database = seeded
    before, found = statements(database, service)
    add_appointments(database, population.tickets["B1"][0], 30)
    add_appointments(database, population.tickets["H1"][0], 30)
    after, more = statements(database, service)
    assert more.total.proposed == found.total.proposed + 60
    assert after == before <= 6


def erase(database: Database, pseudo: str) -> None:
    archive = StatsArchive(SETTINGS, HandClock(APPOINTMENTS_END))
    assert ErasureService(database, database, before_erase=(archive.fold,)).erase_app(pseudo)


def everything(service: AnalyticsService) -> dict[str, AppointmentResults]:
    scopes: list[dict[str, Any]] = [
        {},
        {"team": "lens"},
        {"team": "lille"},
        {"territory": NO_TERRITORY},
        {"territory": "Lens-Liévin"},
        {"territory": "Métropole lilloise"},
        {"start": date(2026, 2, 1), "end": date(2026, 2, 28)},
        {"start": date(2026, 4, 1), "end": date(2026, 4, 30)},
    ]
    return {repr(s): service.appointments(replace(PERIOD, **s)) for s in scopes}


def test_erasing_people_leaves_the_figures_unchanged(seeded: Any) -> None:
    service, population, database = seeded
    before = everything(service)
    tomorrow = AnalyticsService(database, SETTINGS, HandClock(utc(4, 4, 9)))
    later = everything(tomorrow)
    # A1 (attended; one today), B2 (lille, missed, cancelled), D2 and H1 (not yet marked),
    # U1 (two tickets), A7 (first appointment in February), A2 (one next week).
    for name in ("A1", "B2", "D2", "H1", "U1", "A7", "A2"):
        erase(database, population.pseudo[name])
    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Appointment)) == 19 - 12
        metrics = set(session.scalars(select(AnonymousCount.metric)))
    c1 = population.campaigns["C1"]
    assert f"appointment:{c1}:tiktok:attended:1:1" in metrics
    assert "appointment:0:snapchat:active:1:1" in metrics
    assert f"appointment:{c1}:tiktok:first_us:{2 * 3600 * 10**6}" in metrics
    assert everything(service) == before
    assert everything(tomorrow) == later  # A1's of today: not marked, once the day is over
    erase(database, population.pseudo["S1"])  # a simulation: folded into nothing
    assert everything(service) == before
