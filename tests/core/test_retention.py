"""The retention purge through the real services (SQLite and, gated, PostgreSQL): who goes and
when, every store (app database, tracker store, log files), the dry run, simulations after a
day, and past figures (results page, impact report) unchanged by erasing the people behind them.

The population: tests/support/analytics.py's `seed` (eight young people in March 2026).
"""

from __future__ import annotations

import os
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from core.db import Database
from core.erasure import ErasureService
from core.models import (
    AnonymousCount,
    Channel,
    ConsentRecord,
    CrisisSignalRecord,
    FollowUp,
    HandoffRequest,
    JobRun,
    Message,
    NluTurn,
    PersonEvent,
    PurgeRun,
    ResponseExposure,
    Ticket,
    TicketEvent,
    TicketNote,
    YoungPerson,
)
from maraude.jobs import purge_retention
from studio.analytics import NO_TERRITORY, AnalyticsService, Filters
from tests.support import free_port
from tests.support.analytics import END, HandClock, seed
from tests.support.trackers_store import add_events, tracker_events
from tests.support.world import World

CLOCK_START = END
PERIOD = Filters(date(2026, 3, 2), date(2026, 4, 5))
PERSON_TABLES = (
    YoungPerson,
    Message,
    ConsentRecord,
    PersonEvent,
    HandoffRequest,
    Ticket,
    TicketEvent,
    TicketNote,
    NluTurn,
    FollowUp,
    ResponseExposure,
    CrisisSignalRecord,
)


@pytest.fixture
def world_db_url(db_url: str) -> str:
    return db_url


def count(world: World, model: Any) -> int:
    with world.services.db.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def pseudo_ids(world: World) -> list[str]:
    with world.services.db.transaction() as session:
        return list(session.scalars(select(YoungPerson.pseudo_id).order_by(YoungPerson.id)))


def figures(world: World) -> dict[str, Any]:
    """Every figure the results page and the impact report show that erasure must not change,
    for every team and territory filter."""
    service = AnalyticsService(world.services.db, world.settings, HandClock(END))
    territories = service.options().territories + [NO_TERRITORY]
    scopes: list[tuple[str | None, str | None]] = [(None, None), ("lens", None), ("lille", None)]
    scopes += [(None, territory) for territory in territories]
    seen: dict[str, Any] = {"options": service.options()}  # the territories to filter on
    for team, territory in scopes:
        filters = Filters(PERIOD.start, PERIOD.end, team, territory)
        key = f"{team}/{territory}"
        seen[f"funnel {key}"] = service.funnel(filters)
        seen[f"delays {key}"] = service.delays(filters)
        seen[f"outcomes {key}"] = service.outcomes(filters)
        seen[f"nudges {key}"] = service.nudges(filters)
        seen[f"intents {key}"] = service.intents(filters)
        seen[f"variants {key}"] = service.variants(filters)
        for grain in ("quarter", "month"):
            seen[f"impact {grain} {key}"] = service.impact(2026, grain, team, territory)
    return seen


def utc_day(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


async def test_purge_as_of_a_future_date_erases_everyone_and_keeps_past_figures(
    world: World,
) -> None:
    seed(world.services.db, world.settings)
    before = figures(world)
    assert before["funnel None/None"].totals["started"] == 8
    assert before["impact quarter lens/None"].totals["handoff"] == 3
    people = pseudo_ids(world)
    for pseudo in people:
        add_events(world.settings.tracker_store_url, pseudo, 2)
    retention = world.services.retention
    assert retention is not None
    forget = world.services.desk.forget

    # A dry run counts and changes nothing.
    dry = await retention.purge(forget, retention.as_of_day(date(2027, 6, 1)), dry_run=True)
    assert (dry.people, dry.simulations, dry.tickets, dry.nlu_turns) == (8, 0, 6, 9)
    assert dry.dry_run and dry.tracker_pending == 0
    assert count(world, YoungPerson) == 8 and count(world, AnonymousCount) == 0
    assert count(world, PurgeRun) == 0 and retention.last_run() is None
    assert all(tracker_events(world.settings.tracker_store_url, p) == 2 for p in people)

    # A year after 12 March 2026: the people last active before then go, the others stay,
    # and every figure is the same with half of them counted anonymously.
    partial = await retention.purge(forget, retention.as_of_day(date(2027, 3, 12)))
    assert 0 < partial.people < 8
    assert count(world, YoungPerson) == 8 - partial.people
    assert figures(world) == before

    report = await retention.purge(forget, retention.as_of_day(date(2027, 6, 1)), trigger="cli")
    assert report.people == 8 - partial.people and report.tracker_pending == 0
    for model in PERSON_TABLES:
        assert count(world, model) == 0, model
    for pseudo in people:
        assert tracker_events(world.settings.tracker_store_url, pseudo) == 0
    assert world.services.erasure.pending() == []
    assert figures(world) == before
    last = retention.last_run()
    assert last is not None and (last.trigger, last.people) == ("cli", report.people)
    assert count(world, PurgeRun) == 2
    # What stays is counts: no person, no text (the columns say so).
    assert {c.name for c in AnonymousCount.__table__.columns} == {
        "id",
        "metric",
        "day",
        "team",
        "territory",
        "count",
    }


async def test_activity_on_a_ticket_keeps_the_person(world: World) -> None:
    _, quiet = world.person("quiet")
    _, followed = world.person("followed")
    ticket = await world.ticket(followed)
    world.clock.advance(days=300)
    counsellor = world.counsellor()
    world.tickets.claim(ticket, counsellor)  # a counsellor still works on the case
    world.clock.advance(days=100)
    retention = world.services.retention
    assert retention is not None
    report = await retention.purge(world.services.desk.forget)
    assert report.people == 1
    assert world.people.get(quiet) is None
    assert world.people.get(followed) is not None


async def test_simulations_go_after_a_day_and_count_nowhere(world: World) -> None:
    _, old_sim = world.person("browser-old", channel=Channel.simulator)
    _, real = world.person("4242")
    world.clock.advance(hours=23)
    _, new_sim = world.person("browser-new", channel=Channel.simulator)
    world.clock.advance(hours=2)
    retention = world.services.retention
    assert retention is not None

    report = await retention.purge(world.services.desk.forget)

    assert (report.people, report.simulations) == (0, 1)
    assert world.people.get(old_sim) is None
    assert world.people.get(new_sim) is not None and world.people.get(real) is not None
    assert count(world, AnonymousCount) == 0  # a simulation is folded into nothing
    assert world.services.erasure.pending() == []  # the tracker store answered


async def test_old_log_files_go_with_the_retention(world: World) -> None:
    folder = world.settings.var_dir / "log"
    folder.mkdir(parents=True, exist_ok=True)
    old, recent = folder / "engine.log.1", folder / "engine.log"
    old.write_text("ancien\n")
    recent.write_text("récent\n")
    stamp = (world.clock.now() - timedelta(days=400)).timestamp()
    os.utime(old, (stamp, stamp))
    retention = world.services.retention
    assert retention is not None

    dry = await retention.purge(world.services.desk.forget, dry_run=True)
    assert dry.log_files == 1 and old.exists()
    report = await retention.purge(world.services.desk.forget)
    assert report.log_files == 1
    assert not old.exists() and recent.exists()


async def test_an_unreachable_tracker_store_leaves_the_erasures_pending(world: World) -> None:
    _, pseudo = world.person("7777")
    world.clock.advance(days=366)
    services = world.services
    services.erasure.dispose()
    unreachable = Database.from_url(f"postgresql+psycopg://maraude@127.0.0.1:{free_port()}/x")
    services.erasure = ErasureService(services.db, unreachable, world.clock)
    retention = services.retention
    assert retention is not None
    retention._erasure = services.erasure

    report = await retention.purge(services.desk.forget)

    assert report.people == 1 and report.tracker_pending == 1
    assert world.people.get(pseudo) is None
    [pending] = services.erasure.pending()
    assert (pending.pseudo_id, pending.reason, pending.attempts) == (pseudo, "retention", 1)


async def test_the_daily_job_runs_once_a_day(world: World) -> None:
    world.person("8888")
    world.clock.advance(days=400)
    await purge_retention(world.services)
    await purge_retention(world.services)  # another worker, the same day
    assert count(world, PurgeRun) == 1 and count(world, YoungPerson) == 0
    assert count(world, JobRun) == 1
    world.clock.advance(days=1)
    await purge_retention(world.services)
    assert count(world, PurgeRun) == 2


def test_a_late_tracker_erasure_spares_the_new_conversation(database: Database) -> None:
    """Events the engine writes after the erasure (the person wrote again) are kept."""
    url = str(database.engine.url.render_as_string(hide_password=False))
    erasure = ErasureService(database, database)
    add_events(url, "yperson", 3)
    assert erasure.erase_app("yperson") is False  # unknown to the app: the tracker still goes
    add_events(url, "yperson", 2, at=time.time() + 30)  # a new conversation
    assert erasure.retry_pending() == (1, 0)
    assert tracker_events(url, "yperson") == 2
    assert erasure.pending() == []
