"""The follow-up sweeper (nudges/sweeper.py) on SQLite and (gated) PostgreSQL.

Time is a FixedClock moved by hand (no sleeping). FollowUpRules are a small stub here (the real
ones are tested in their own suite); Telegram is the fake Bot API over real HTTP with a real
python-telegram-bot Application; the engine's trigger_intent is a tiny stdlib HTTP server.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from bot.engine_client import EngineClient, EngineUnavailable
from bot.held import HeldMessages
from bot.pipeline import ConversationPipeline
from bot.telegram import TelegramChannel
from bot.texts import AppTexts
from core import migrate
from core.calendar import QuietHours
from core.clock import FixedClock
from core.db import Database
from core.erasure import ErasureService
from core.models import Channel, FollowUp, FollowUpKind, FollowUpStatus, Origin
from core.people import PeopleService
from handoff.desk import DeskTexts, HandoffDesk
from handoff.requests import HandoffService, TriageSummary
from handoff.tickets import TicketService
from maraude.app import create_app
from maraude.jobs import (
    DIGEST_JOB,
    MINORS_JOB,
    PRIVACY_JOBS,
    REPLAY_JOB,
    RETENTION_JOB,
    SLA_JOB,
    SWEEP_JOB,
    TRACKER_ERASURE_JOB,
)
from nudges.contract import CounsellorNotice, DirectMessage, EngineNudge, Outgoing
from nudges.delivery import ChannelDelivery
from nudges.store import FollowUpJob, FollowUpService
from nudges.sweeper import FollowUpSweeper, SweepReport
from studio.model_watch import MODEL_WATCH_JOB
from tests.fakes.json_http import JsonHandler, JsonServer
from tests.fakes.telegram_api import TEST_TOKEN, FakeTelegramServer
from tests.support import make_settings, repo_router

PARIS = ZoneInfo("Europe/Paris")
CLOCK_START = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)  # a Tuesday, 11:00 in Paris: nudges allowed
TEXTS = AppTexts.load()


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS).astimezone(UTC)  # type: ignore[misc]


# Test doubles written here (not mocks of the Bot: delivery and policies are our own seams) -
@dataclass
class StubPolicies:
    """Sends a DirectMessage for every job; `before_send` runs inside `outgoing` (that is,
    after the claim and before the send) to stage races."""

    reply: Callable[[FollowUpJob], Outgoing | None] = lambda job: DirectMessage(
        f"Coucou, relance {job.id}"
    )
    before_send: Callable[[FollowUpJob], None] | None = None
    after: list[int] = field(default_factory=list)

    def outgoing(self, job: FollowUpJob) -> Outgoing | None:
        if self.before_send is not None:
            self.before_send(job)
        return self.reply(job)

    async def after_sent(self, job: FollowUpJob) -> None:
        self.after.append(job.id)


class Recorder:
    """A delivery that records what it was asked to send (thread-safe)."""

    def __init__(self, fail: Callable[[FollowUpJob], Exception | None] | None = None) -> None:
        self.sent: list[tuple[int, str, Outgoing]] = []
        self.fail = fail
        self._lock = threading.Lock()

    def make(self, worker: str) -> Callable[[FollowUpJob, Outgoing], Any]:
        async def deliver(job: FollowUpJob, outgoing: Outgoing) -> None:
            error = self.fail(job) if self.fail else None
            if error is not None:
                raise error
            await asyncio.sleep(0)
            with self._lock:
                self.sent.append((job.id, worker, outgoing))

        return deliver

    @property
    def ids(self) -> list[int]:
        return [job_id for job_id, _, _ in self.sent]


@pytest.fixture
def people(database: Database, clock: FixedClock) -> PeopleService:
    return PeopleService(database, "s" * 40, clock)


@pytest.fixture
def followups(database: Database, clock: FixedClock) -> FollowUpService:
    return FollowUpService(database, clock, lease=timedelta(minutes=5))


def sweeper(
    followups: FollowUpService,
    clock: FixedClock,
    deliver: Any,
    policies: Any = None,
    *,
    worker: str = "w1",
    cap: int = 3,
    quiet: QuietHours | None = None,
    people: PeopleService | None = None,
    batch_size: int = 100,
) -> FollowUpSweeper:
    return FollowUpSweeper(
        followups,
        policies or StubPolicies(),
        deliver,
        quiet or QuietHours(),
        cap,
        worker,
        clock,
        batch_size,
        people=people,
    )


def status(followups: FollowUpService, job_id: int | None) -> tuple[FollowUpStatus, str | None]:
    view = followups.get(job_id or 0)
    assert view is not None
    return view.status, view.reason


def counts(report: SweepReport) -> tuple[int, int, int, int]:
    return report.sent, report.postponed, report.cancelled, report.failed


# Sending once ------------------------------------------------------------------------------
async def test_due_jobs_are_sent_exactly_once(
    people: PeopleService, followups: FollowUpService, clock: FixedClock
) -> None:
    ids = []
    for n in range(3):
        person = people.identify(Channel.simulator, f"once-{n}")
        ids.append(
            followups.schedule(person.id, FollowUpKind.triage_nudge, CLOCK_START - timedelta(n))
        )
    later = followups.schedule(
        people.identify(Channel.simulator, "later").id,
        FollowUpKind.triage_nudge,
        CLOCK_START + timedelta(minutes=10),
    )
    recorder, policies = Recorder(), StubPolicies()
    sweep = sweeper(followups, clock, recorder.make("w1"), policies, batch_size=2)
    assert counts(await sweep.sweep()) == (3, 0, 0, 0)  # two batches in one sweep
    assert counts(await sweep.sweep()) == (0, 0, 0, 0)
    assert sorted(recorder.ids) == sorted(ids) and sorted(policies.after) == sorted(ids)
    assert all(status(followups, i) == (FollowUpStatus.sent, None) for i in ids)
    assert status(followups, later)[0] == FollowUpStatus.pending
    clock.advance(minutes=10)
    assert counts(await sweep.sweep()) == (1, 0, 0, 0)
    assert recorder.ids[-1] == later


async def test_one_bad_job_never_stops_the_sweep_and_fails_after_five_attempts(
    people: PeopleService, followups: FollowUpService, clock: FixedClock
) -> None:
    bad = followups.schedule(
        people.identify(Channel.simulator, "bad").id, FollowUpKind.triage_nudge, CLOCK_START
    )
    good = followups.schedule(
        people.identify(Channel.simulator, "good").id, FollowUpKind.triage_nudge, CLOCK_START
    )
    recorder = Recorder(fail=lambda job: RuntimeError("boom") if job.id == bad else None)
    sweep = sweeper(followups, clock, recorder.make("w1"))
    assert counts(await sweep.sweep()) == (1, 1, 0, 0)
    assert recorder.ids == [good]
    delays = []
    for _attempt in range(2, 6):
        view = followups.get(bad or 0)
        assert view is not None and view.status == FollowUpStatus.pending
        delays.append(view.due_at - clock.now())
        clock.advance(seconds=(view.due_at - clock.now()).total_seconds())
        await sweep.sweep()
    assert delays == [timedelta(minutes=m) for m in (1, 2, 4, 8)]  # exponential backoff
    assert status(followups, bad) == (FollowUpStatus.failed, "RuntimeError")


async def test_engine_down_is_retried_like_any_error(
    people: PeopleService, followups: FollowUpService, clock: FixedClock
) -> None:
    job = followups.schedule(
        people.identify(Channel.simulator, "e").id, FollowUpKind.triage_nudge, CLOCK_START
    )
    recorder = Recorder(fail=lambda job: EngineUnavailable("down"))
    assert counts(await sweeper(followups, clock, recorder.make("w1")).sweep()) == (0, 1, 0, 0)
    assert status(followups, job) == (FollowUpStatus.pending, "retry:EngineUnavailable")


async def test_policies_saying_nothing_cancel_the_job(
    people: PeopleService, followups: FollowUpService, clock: FixedClock
) -> None:
    job = followups.schedule(
        people.identify(Channel.simulator, "n").id, FollowUpKind.triage_nudge, CLOCK_START
    )
    recorder = Recorder()
    report = await sweeper(
        followups, clock, recorder.make("w1"), StubPolicies(reply=lambda job: None)
    ).sweep()
    assert counts(report) == (0, 0, 1, 0) and recorder.sent == []
    assert status(followups, job) == (FollowUpStatus.cancelled, "obsolete")


# Quiet hours -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("now", "expected", "quiet"),
    [
        # Saturday 22:00 -> Sunday is quiet -> Monday 09:00 (Paris).
        (paris(2026, 3, 7, 22, 0), paris(2026, 3, 9, 9, 0), QuietHours()),
        # Across the spring DST change (Sunday 29 March 2026): Monday 09:00 CEST = 07:00 UTC.
        (paris(2026, 3, 28, 22, 0), datetime(2026, 3, 30, 7, 0, tzinfo=UTC), QuietHours()),
        # Without quiet Sundays, the night of the change lasts 10 real hours, not 11.
        (
            paris(2026, 3, 28, 22, 0),
            datetime(2026, 3, 29, 7, 0, tzinfo=UTC),
            QuietHours(quiet_weekdays=frozenset()),
        ),
        # Autumn change (Sunday 25 October 2026): Monday 09:00 CET = 08:00 UTC.
        (paris(2026, 10, 24, 23, 30), datetime(2026, 10, 26, 8, 0, tzinfo=UTC), QuietHours()),
        # Easter weekend: Sunday, then Easter Monday (public holiday) -> Tuesday 09:00.
        (paris(2026, 4, 4, 21, 0), paris(2026, 4, 7, 9, 0), QuietHours()),
        # Early on a weekday: the same morning at 09:00.
        (paris(2026, 3, 4, 3, 0), paris(2026, 3, 4, 9, 0), QuietHours()),
    ],
)
async def test_quiet_hours_push_the_nudge_to_the_next_allowed_time(
    people: PeopleService,
    followups: FollowUpService,
    clock: FixedClock,
    now: datetime,
    expected: datetime,
    quiet: QuietHours,
) -> None:
    clock.advance(seconds=(now - clock.now()).total_seconds())
    job = followups.schedule(
        people.identify(Channel.simulator, "q").id, FollowUpKind.triage_nudge, now
    )
    recorder = Recorder()
    sweep = sweeper(followups, clock, recorder.make("w1"), quiet=quiet)
    assert counts(await sweep.sweep()) == (0, 1, 0, 0)
    view = followups.get(job or 0)
    assert view is not None
    assert (view.status, view.reason, view.due_at) == (
        FollowUpStatus.pending,
        "quiet_hours",
        expected,
    )
    clock.advance(seconds=(expected - clock.now()).total_seconds() - 1)
    assert counts(await sweep.sweep()) == (0, 0, 0, 0)  # one second early: not due yet
    clock.advance(seconds=1)
    assert counts(await sweep.sweep()) == (1, 0, 0, 0) and recorder.ids == [job]


# Weekly cap --------------------------------------------------------------------------------
async def test_the_weekly_cap_postpones_light_nudges_until_the_oldest_leaves_the_window(
    people: PeopleService, followups: FollowUpService, clock: FixedClock
) -> None:
    person = people.identify(Channel.simulator, "cap")
    recorder = Recorder()
    sweep = sweeper(followups, clock, recorder.make("w1"), cap=2)
    first_sent = clock.now()
    followups.schedule(person.id, FollowUpKind.triage_nudge, clock.now())
    assert counts(await sweep.sweep()) == (1, 0, 0, 0)
    clock.advance(days=1)
    followups.schedule(person.id, FollowUpKind.outcome_checkin, clock.now())
    assert counts(await sweep.sweep()) == (1, 0, 0, 0)
    clock.advance(days=1)
    capped = followups.schedule(person.id, FollowUpKind.youth_silent, clock.now())
    # A counsellor's own message is not a light nudge: not capped.
    direct = followups.schedule(person.id, FollowUpKind.youth_followup, clock.now())
    assert counts(await sweep.sweep()) == (1, 1, 0, 0)
    assert recorder.ids[-1] == direct
    view = followups.get(capped or 0)
    assert view is not None and (view.status, view.reason) == (FollowUpStatus.pending, "cap")
    assert view.due_at == first_sent + timedelta(days=7, seconds=1)  # Tuesday 11:00, allowed
    # Another person is not affected.
    other = followups.schedule(
        people.identify(Channel.simulator, "other").id, FollowUpKind.youth_silent, clock.now()
    )
    assert counts(await sweep.sweep()) == (1, 0, 0, 0) and recorder.ids[-1] == other
    clock.advance(seconds=(view.due_at - clock.now()).total_seconds())
    assert counts(await sweep.sweep()) == (1, 0, 0, 0) and recorder.ids[-1] == capped


async def test_a_capped_nudge_freed_at_night_waits_for_the_morning(
    people: PeopleService, followups: FollowUpService, clock: FixedClock
) -> None:
    clock.advance(seconds=(paris(2026, 3, 3, 23, 0) - clock.now()).total_seconds())
    person = people.identify(Channel.simulator, "cap-night")
    # Sent at 23:00 by a sweeper configured without quiet hours...
    no_quiet = QuietHours(start=time(0, 0), end=time(0, 0), quiet_weekdays=frozenset())
    night = sweeper(followups, clock, Recorder().make("w1"), cap=1, quiet=no_quiet)
    followups.schedule(person.id, FollowUpKind.triage_nudge, clock.now())
    assert counts(await night.sweep()) == (1, 0, 0, 0)
    # ...so the cap frees the next one on Tuesday 23:00:01: quiet, hence Wednesday 09:00.
    clock.advance(days=6, hours=11)  # Tuesday 10:00 the week after
    capped = followups.schedule(person.id, FollowUpKind.youth_silent, clock.now())
    day = sweeper(followups, clock, Recorder().make("w1"), cap=1)
    assert counts(await day.sweep()) == (0, 1, 0, 0)
    view = followups.get(capped or 0)
    assert view is not None and (view.reason, view.due_at) == ("cap", paris(2026, 3, 11, 9, 0))


# Opt-out and blocked -----------------------------------------------------------------------
async def test_opt_out_before_the_sweep_cancels_and_nothing_is_sent(
    people: PeopleService, followups: FollowUpService, clock: FixedClock
) -> None:
    person = people.identify(Channel.telegram, "stop-before")
    job = followups.schedule(person.id, FollowUpKind.triage_nudge, CLOCK_START)
    followups.opt_out(person.pseudo_id)
    recorder = Recorder()
    assert counts(await sweeper(followups, clock, recorder.make("w1")).sweep()) == (0, 0, 0, 0)
    assert recorder.sent == [] and status(followups, job) == (FollowUpStatus.cancelled, "opt_out")


async def test_no_nudge_while_messages_written_with_the_engine_down_wait_for_an_answer(
    database: Database, people: PeopleService, followups: FollowUpService, clock: FixedClock
) -> None:
    # A /stop typed while no engine answered is held (bot/held.py) until an engine is back:
    # the nudge waits for it instead of going out before the /stop is read.
    person = people.identify(Channel.telegram, "stop-while-down")
    job = followups.schedule(person.id, FollowUpKind.triage_nudge, CLOCK_START)
    held = HeldMessages(database, clock)
    assert held.hold(person.id, "/opt_out", "/stop", False)
    recorder = Recorder()
    sweep = sweeper(followups, clock, recorder.make("w1"))
    assert counts(await sweep.sweep()) == (0, 1, 0, 0)
    assert recorder.sent == [] and status(followups, job)[1] == "held_messages"
    # Replayed: the engine's opt-out action cancels the nudge before it is due again.
    held.erase(person.id)
    followups.opt_out(person.pseudo_id)
    clock.advance(minutes=1)
    assert counts(await sweep.sweep()) == (0, 0, 0, 0)
    assert recorder.sent == [] and status(followups, job) == (FollowUpStatus.cancelled, "opt_out")


async def test_a_person_marked_blocked_is_not_nudged(
    people: PeopleService, followups: FollowUpService, clock: FixedClock
) -> None:
    person = people.identify(Channel.telegram, "blocked-before")
    job = followups.schedule(person.id, FollowUpKind.triage_nudge, CLOCK_START)
    people.mark_blocked(Channel.telegram, "blocked-before")  # e.g. a 403 on a reply
    recorder = Recorder()
    assert counts(await sweeper(followups, clock, recorder.make("w1")).sweep()) == (0, 0, 1, 0)
    assert recorder.sent == [] and status(followups, job) == (FollowUpStatus.cancelled, "blocked")


async def test_opt_out_racing_a_claimed_nudge_wins(
    people: PeopleService, followups: FollowUpService, clock: FixedClock
) -> None:
    person = people.identify(Channel.telegram, "stop-race")
    job = followups.schedule(person.id, FollowUpKind.triage_nudge, CLOCK_START)
    claimed: list[bool] = []

    def stop_now(job: FollowUpJob) -> None:  # /stop arrives after the claim, before the send
        claimed.append(followups.get(job.id) is not None)
        followups.opt_out(person.pseudo_id)

    recorder, policies = Recorder(), StubPolicies(before_send=stop_now)
    report = await sweeper(followups, clock, recorder.make("w1"), policies).sweep()
    assert claimed == [True]
    assert counts(report) == (0, 0, 1, 0)
    assert recorder.sent == [] and policies.after == []
    assert status(followups, job) == (FollowUpStatus.cancelled, "opt_out")


# Restart -----------------------------------------------------------------------------------
async def test_a_worker_dying_after_its_claim_leaves_the_job_to_another_after_the_lease(
    people: PeopleService, followups: FollowUpService, clock: FixedClock
) -> None:
    job = followups.schedule(
        people.identify(Channel.simulator, "restart").id, FollowUpKind.triage_nudge, CLOCK_START
    )
    [held] = followups.claim_due("dead-worker")  # claimed, then the process died
    recorder = Recorder()
    survivor = sweeper(followups, clock, recorder.make("w2"), worker="w2")
    assert counts(await survivor.sweep()) == (0, 0, 0, 0)  # still leased
    clock.advance(minutes=5, seconds=1)
    assert counts(await survivor.sweep()) == (1, 0, 0, 0)
    assert recorder.sent[0][:2] == (held.id, "w2")
    view = followups.get(job or 0)
    assert view is not None and (view.status, view.worker, view.attempts) == (
        FollowUpStatus.sent,
        "w2",
        2,
    )


# Two sweepers on PostgreSQL ----------------------------------------------------------------
def test_two_sweepers_on_postgresql_send_every_row_once(pg_url: str) -> None:
    migrate.upgrade(pg_url)
    clock = FixedClock(CLOCK_START)
    setup = Database.from_url(pg_url)
    rows = 2000
    try:
        people = PeopleService(setup, "s" * 40, clock)
        persons = [people.identify(Channel.simulator, f"pg-{n}").id for n in range(100)]
        with setup.transaction() as session:
            session.add_all(
                FollowUp(
                    person_id=persons[n % len(persons)],
                    kind=FollowUpKind.youth_followup,  # not capped
                    status=FollowUpStatus.pending,
                    due_at=CLOCK_START - timedelta(seconds=n),
                    payload={},
                    created_at=CLOCK_START,
                )
                for n in range(rows)
            )
    finally:
        setup.dispose()
    recorder = Recorder()
    reports: dict[str, SweepReport] = {}
    barrier = threading.Barrier(2)

    def work(name: str) -> None:
        db = Database.from_url(pg_url)  # its own engine and connection pool
        service = FollowUpService(db, clock)
        sweep = sweeper(service, clock, recorder.make(name), worker=name, batch_size=50)

        async def drain() -> SweepReport:
            total = SweepReport()
            while (report := await sweep.sweep()).claimed:
                total.sent += report.sent
                total.claimed += report.claimed
            return total

        barrier.wait()
        try:
            reports[name] = asyncio.run(drain())
        finally:
            db.dispose()

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    ids = recorder.ids
    assert len(ids) == rows and len(set(ids)) == rows  # zero duplicates, none lost
    assert reports["w1"].sent + reports["w2"].sent == rows
    assert reports["w1"].sent > 0 and reports["w2"].sent > 0  # both took a share
    db = Database.from_url(pg_url)
    try:
        assert FollowUpService(db, clock).pending() == []
    finally:
        db.dispose()


# Telegram: blocked bot and flood control through the fake Bot API --------------------------
class FakeEngine(JsonServer):
    """Rasa's `POST /conversations/{id}/trigger_intent`, answering with buttons."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        engine = self

        class Handler(JsonHandler):
            def do_POST(self) -> None:
                body = self.read_json()
                engine.calls.append((self.path, body))
                if body.get("name") == "EXTERNAL_unknown":
                    self.send_response(404)
                    self.end_headers()
                    return
                answer = {
                    "tracker": {},
                    "messages": [
                        {"recipient_id": "x", "text": "Hey ! On reprend où on s'était arrêté ?"},
                        {
                            "recipient_id": "x",
                            "buttons": [
                                {"title": "Oui", "payload": "/affirm"},
                                {"title": "Plus tard", "payload": "/deny"},
                            ],
                        },
                    ],
                }
                self.reply_json(answer)

        super().__init__(Handler)


@dataclass
class TelegramWorld:
    tg: FakeTelegramServer
    engine: FakeEngine
    people: PeopleService
    followups: FollowUpService
    tickets: TicketService
    handoff: HandoffService
    deliver: ChannelDelivery
    clock: FixedClock


@pytest.fixture
def fake_engine() -> Iterator[FakeEngine]:
    with FakeEngine() as engine:
        yield engine


@pytest.fixture
async def world(
    database: Database,
    fake_telegram: FakeTelegramServer,
    fake_engine: FakeEngine,
    clock: FixedClock,
    tmp_path: Path,
) -> AsyncIterator[TelegramWorld]:
    router = repo_router()
    people = PeopleService(database, "s" * 40, clock)
    handoff = HandoffService(database, router, clock)
    settings = make_settings(tmp_path)
    tickets = TicketService(
        database, settings.handoff, router, clock, team_ids=[t.id for t in settings.teams]
    )
    desk = HandoffDesk(
        tickets,
        DeskTexts(
            claimed=TEXTS.handoff_claimed,
            closed=TEXTS.handoff_closed,
            already=TEXTS.handoff_already,
            counsellor_prefix=settings.handoff.counsellor_prefix,
        ),
        requests=handoff,
    )
    engine = EngineClient(fake_engine.url, timeout=5)
    pipeline = ConversationPipeline(
        people, engine, TEXTS, ErasureService(database, database), relay=desk
    )
    channel = TelegramChannel(
        pipeline, token=TEST_TOKEN, api_base_url=fake_telegram.url, secret_key="k" * 40
    )
    await channel.application.initialize()
    deliver = ChannelDelivery(
        people=people, tickets=tickets, desk=desk, engine=engine, telegram=channel
    )
    yield TelegramWorld(
        fake_telegram,
        fake_engine,
        people,
        FollowUpService(database, clock),
        tickets,
        handoff,
        deliver,
        clock,
    )
    await channel.application.shutdown()
    await engine.aclose()


def telegram_sweeper(world: TelegramWorld, policies: Any = None) -> FollowUpSweeper:
    return sweeper(
        world.followups, world.clock, world.deliver, policies, people=world.people, worker="tg"
    )


async def test_a_blocked_bot_marks_the_person_and_cancels_their_nudges(
    world: TelegramWorld,
) -> None:
    person = world.people.identify(Channel.telegram, "7001")
    due = world.followups.schedule(person.id, FollowUpKind.triage_nudge, CLOCK_START)
    later = world.followups.schedule(
        person.id, FollowUpKind.youth_silent, CLOCK_START + timedelta(1)
    )
    reminder = world.followups.schedule(
        person.id, FollowUpKind.counsellor_reminder, CLOCK_START + timedelta(2)
    )
    world.tg.fail_next("sendMessage", status=403, chat_id=7001)
    report = await telegram_sweeper(world).sweep()
    assert counts(report) == (0, 0, 1, 0)
    assert world.tg.sent_messages(7001) == []
    assert len(world.tg.calls("sendMessage", 7001)) == 1  # tried once, not retried
    assert status(world.followups, due) == (FollowUpStatus.cancelled, "blocked")
    assert status(world.followups, later) == (FollowUpStatus.cancelled, "blocked")
    assert status(world.followups, reminder)[0] == FollowUpStatus.pending  # counsellors' own
    assert world.followups.schedule(person.id, FollowUpKind.triage_nudge, CLOCK_START) is None


async def test_flood_control_postpones_by_retry_after_without_sleeping(
    world: TelegramWorld,
) -> None:
    first = world.followups.schedule(
        world.people.identify(Channel.telegram, "7101").id, FollowUpKind.triage_nudge, CLOCK_START
    )
    second = world.followups.schedule(
        world.people.identify(Channel.telegram, "7102").id,
        FollowUpKind.triage_nudge,
        CLOCK_START + timedelta(seconds=1),
    )
    world.clock.advance(seconds=1)
    world.tg.fail_next("sendMessage", status=429, retry_after=7)
    sweep = telegram_sweeper(world)
    started = asyncio.get_running_loop().time()
    assert counts(await sweep.sweep()) == (0, 2, 0, 0)
    assert asyncio.get_running_loop().time() - started < 3  # did not wait 7 s
    assert len(world.tg.calls("sendMessage")) == 1  # the rest of the batch was held back too
    until = world.clock.now() + timedelta(seconds=7)
    for job_id in (first, second):
        view = world.followups.get(job_id or 0)
        assert view is not None
        assert (view.status, view.reason, view.due_at) == (
            FollowUpStatus.pending,
            "flood_control",
            until,
        )
    world.clock.advance(seconds=7)
    assert counts(await sweep.sweep()) == (2, 0, 0, 0)
    assert [m["text"] for m in world.tg.sent_messages(7101)] == [f"Coucou, relance {first}"]
    assert [m["text"] for m in world.tg.sent_messages(7102)] == [f"Coucou, relance {second}"]


async def test_an_engine_nudge_is_triggered_and_sent_with_its_buttons(
    world: TelegramWorld,
) -> None:
    person = world.people.identify(Channel.telegram, "7201")
    world.people.record_consent(person.pseudo_id, True)
    job = world.followups.schedule(person.id, FollowUpKind.triage_nudge, CLOCK_START, step=2)
    policies = StubPolicies(
        reply=lambda job: EngineNudge("EXTERNAL_triage_nudge", {"nudge_step": job.step})
    )
    assert counts(await telegram_sweeper(world, policies).sweep()) == (1, 0, 0, 0)
    [(path, body)] = world.engine.calls
    assert path == f"/conversations/{person.pseudo_id}/trigger_intent"
    assert body == {"name": "EXTERNAL_triage_nudge", "entities": {"nudge_step": 2}}
    [message] = world.tg.sent_messages(7201)
    assert message["text"] == "Hey ! On reprend où on s'était arrêté ?"
    keyboard = message["reply_markup"]["inline_keyboard"]
    assert [(b["text"], b["callback_data"]) for row in keyboard for b in row] == [
        ("Oui", "/affirm"),
        ("Plus tard", "/deny"),
    ]
    # Logged as the bot's message (consent granted).
    assert [(m.origin, m.text) for m in world.people.transcript(person.pseudo_id)] == [
        (Origin.bot, "Hey ! On reprend où on s'était arrêté ?")
    ]
    assert status(world.followups, job)[0] == FollowUpStatus.sent


async def test_trigger_reports_an_unknown_intent_as_engine_unavailable(
    fake_engine: FakeEngine,
) -> None:
    engine = EngineClient(fake_engine.url, timeout=5)
    try:
        with pytest.raises(EngineUnavailable, match="404"):
            await engine.trigger("y123", "EXTERNAL_unknown")
    finally:
        await engine.aclose()


async def test_a_counsellor_notice_becomes_a_note_of_the_ticket(world: TelegramWorld) -> None:
    person = world.people.identify(Channel.simulator, "notice")
    ticket_id = world.handoff.request(
        person.pseudo_id, TriageSummary(needs=["need_job"]), source="ask_human"
    ).ticket_id
    job = world.followups.schedule(
        person.id, FollowUpKind.counsellor_reminder, CLOCK_START, ticket_id=ticket_id
    )
    policies = StubPolicies(
        reply=lambda job: CounsellorNotice(ticket_id, f"Relance prévue : ticket #{ticket_id}.")
    )
    assert counts(await telegram_sweeper(world, policies).sweep()) == (1, 0, 0, 0)
    [note] = world.tickets.notes(ticket_id)
    assert (note.author_name, note.text) == (None, f"Relance prévue : ticket #{ticket_id}.")
    assert [e.kind for e in world.tickets.events(ticket_id)][-1] == "noted"
    assert status(world.followups, job)[0] == FollowUpStatus.sent


async def test_a_simulator_nudge_on_a_ticket_is_stored_for_the_simulator_to_poll(
    world: TelegramWorld,
) -> None:
    person = world.people.identify(Channel.simulator, "sim")
    ticket_id = world.handoff.request(
        person.pseudo_id, TriageSummary(needs=["need_job"]), source="ask_human"
    ).ticket_id
    world.followups.schedule(
        person.id, FollowUpKind.handoff_pending, CLOCK_START, ticket_id=ticket_id
    )
    policies = StubPolicies(reply=lambda job: EngineNudge("EXTERNAL_handoff_pending"))
    assert counts(await telegram_sweeper(world, policies).sweep()) == (1, 0, 0, 0)
    polled = world.tickets.outgoing_since(person.id, 0)
    assert [item.text for item in polled] == ["Hey ! On reprend où on s'était arrêté ?"]


# The app's scheduler -----------------------------------------------------------------------
def sla_available() -> bool:
    try:
        import handoff.sla.alerts  # noqa: F401
    except ImportError:
        return False
    return True


def test_the_app_registers_its_jobs_and_starts_and_stops_the_scheduler(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        nudges={"enabled": True, "sweep_every": "45s", "timezone": "Europe/Paris"},
        handoff={"digest_time": "07:45"},
    )
    app = create_app(settings)
    with TestClient(app):
        services = app.state.services
        scheduler = services.scheduler
        assert scheduler is not None and scheduler.running
        assert services.sweeper is not None and services.followups is not None
        jobs = {job.id: job for job in scheduler.get_jobs()}
        # REPLAY_JOB: the web chat is always an outlet for messages held while engines are down.
        expected = {SWEEP_JOB, RETENTION_JOB, TRACKER_ERASURE_JOB, MINORS_JOB, REPLAY_JOB} | (
            {SLA_JOB, DIGEST_JOB} if sla_available() else set()
        )
        if settings.rasa_url is None:  # the engine `maraude up` starts: its models are ours
            expected.add(MODEL_WATCH_JOB)
        assert set(jobs) == expected
        sweep = jobs[SWEEP_JOB]
        assert sweep.trigger.interval == timedelta(seconds=45)
        assert (sweep.max_instances, sweep.coalesce) == (1, True)
        assert sweep.func == services.sweeper.run
        purge = jobs[RETENTION_JOB]
        run = purge.trigger.get_next_fire_time(None, datetime(2026, 3, 3, 12, 0, tzinfo=PARIS))
        assert run == datetime(2026, 3, 4, 3, 30, tzinfo=PARIS)
        if DIGEST_JOB in jobs:
            digest = jobs[DIGEST_JOB].trigger.get_next_fire_time(
                None, datetime(2026, 3, 3, 12, 0, tzinfo=PARIS)
            )
            assert digest == datetime(2026, 3, 4, 7, 45, tzinfo=PARIS)
        # Registering again replaces (explicit ids), it never duplicates.
        scheduler.add_job(
            services.sweeper.run, "interval", seconds=45, id=SWEEP_JOB, replace_existing=True
        )
        assert [job.id for job in scheduler.get_jobs()].count(SWEEP_JOB) == 1
    assert not scheduler.running


def test_with_nudges_disabled_the_scheduler_runs_only_the_model_watch_and_privacy(
    tmp_path: Path,
) -> None:
    app = create_app(make_settings(tmp_path / "a", nudges={"enabled": False}))
    with TestClient(app):
        scheduler = app.state.services.scheduler
        assert scheduler.running
        jobs = {job.id for job in scheduler.get_jobs()}
        # retention, tracker erasures; the replay of held messages (the web chat's outlet)
        assert jobs == {MODEL_WATCH_JOB, *PRIVACY_JOBS, REPLAY_JOB}
    off = make_settings(
        tmp_path / "b", nudges={"enabled": False}, engine={"model_watch_every": "0s"}
    )
    app = create_app(off)
    with TestClient(app):  # the young people's data rights never stop
        scheduler = app.state.services.scheduler
        assert {job.id for job in scheduler.get_jobs()} == {*PRIVACY_JOBS, REPLAY_JOB}


def test_quiet_hours_are_built_from_the_settings(tmp_path: Path) -> None:
    from nudges.sweeper import quiet_hours_from

    settings = make_settings(
        tmp_path,
        nudges={"quiet_start": "20:30", "quiet_end": "08:15", "quiet_days": ["sat", "sun"]},
    )
    quiet = quiet_hours_from(settings.nudges)
    assert (quiet.start, quiet.end, quiet.quiet_weekdays) == (
        time(20, 30),
        time(8, 15),
        frozenset({5, 6}),
    )
    assert quiet.next_allowed(paris(2026, 3, 6, 21, 0)) == paris(2026, 3, 9, 8, 15)


@pytest.mark.postgres
def test_two_app_processes_on_postgresql_send_every_row_once(pg_url: str, tmp_path: Path) -> None:
    """Two real processes (spawned, each with its own engine), as bench/scheduler runs them."""
    from bench.scheduler import run as bench

    bench.seed(pg_url, 3000)
    result = bench.run(pg_url, workers=2, batch=50, folder=tmp_path, label="ci")
    assert (result["distinct"], result["duplicates"], result["not_sent"]) == (3000, 0, 0)
    assert result["sent"] == 3000
