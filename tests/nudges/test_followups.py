"""FollowUpService on SQLite and (gated) PostgreSQL: scheduling, opt-out, claiming, leases."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from core.clock import FixedClock
from core.db import Database
from core.models import Channel, FollowUpKind, FollowUpStatus
from core.people import PeopleService
from nudges.store import FollowUpService

CLOCK_START = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)


@pytest.fixture
def people(database: Database, clock: FixedClock) -> PeopleService:
    return PeopleService(database, "f" * 40, clock)


@pytest.fixture
def followups(database: Database, clock: FixedClock) -> FollowUpService:
    return FollowUpService(database, clock, lease=timedelta(minutes=5))


def test_scheduling_again_replaces_the_pending_follow_up(
    people: PeopleService, followups: FollowUpService
) -> None:
    person = people.identify(Channel.telegram, "1")
    first = followups.schedule(
        person.id, FollowUpKind.triage_nudge, CLOCK_START + timedelta(hours=4)
    )
    second = followups.schedule(
        person.id, FollowUpKind.triage_nudge, CLOCK_START + timedelta(hours=5)
    )
    other = followups.schedule(
        person.id, FollowUpKind.outcome_checkin, CLOCK_START + timedelta(days=30)
    )
    pending = followups.pending(person.id)
    assert [p.id for p in pending] == [second, other]
    cancelled = followups.get(first or 0)
    assert cancelled is not None
    assert (cancelled.status, cancelled.reason) == (FollowUpStatus.cancelled, "replaced")
    with pytest.raises(ValueError):
        followups.schedule(person.id, FollowUpKind.triage_nudge, datetime(2026, 3, 4))


def test_opt_out_cancels_everything_for_the_young_person_and_refuses_new_nudges(
    people: PeopleService, followups: FollowUpService
) -> None:
    person = people.identify(Channel.telegram, "2")
    followups.schedule(person.id, FollowUpKind.triage_nudge, CLOCK_START + timedelta(hours=4))
    followups.schedule(person.id, FollowUpKind.youth_silent, CLOCK_START + timedelta(days=2))
    reminder = followups.schedule(
        person.id, FollowUpKind.counsellor_reminder, CLOCK_START + timedelta(days=14)
    )
    assert followups.opt_out(person.pseudo_id) == 2
    assert [p.id for p in followups.pending(person.id)] == [reminder]  # counsellors' own
    assert followups.schedule(person.id, FollowUpKind.triage_nudge, CLOCK_START) is None
    followups.opt_in(person.pseudo_id)
    assert followups.schedule(person.id, FollowUpKind.triage_nudge, CLOCK_START) is not None


def test_a_due_follow_up_is_claimed_once_then_sent(
    people: PeopleService, followups: FollowUpService, clock: FixedClock
) -> None:
    person = people.identify(Channel.telegram, "3")
    due = followups.schedule(
        person.id, FollowUpKind.triage_nudge, CLOCK_START + timedelta(minutes=1)
    )
    later = followups.schedule(
        person.id, FollowUpKind.youth_silent, CLOCK_START + timedelta(days=1)
    )
    assert followups.claim_due("w1") == []
    clock.advance(minutes=2)
    [job] = followups.claim_due("w1")
    assert (job.id, job.kind, job.attempts, job.channel_user_id) == (
        due,
        FollowUpKind.triage_nudge,
        1,
        "3",
    )
    assert followups.claim_due("w2") == []  # held by w1
    assert not followups.mark_sent(job.id, "w2")  # not w2's to close
    assert followups.mark_sent(job.id, "w1")
    sent = followups.get(job.id)
    assert sent is not None and (sent.status, sent.sent_at) == (FollowUpStatus.sent, clock.now())
    assert followups.nudges_sent_since(person.id, CLOCK_START) == [clock.now()]
    assert [p.id for p in followups.pending(person.id)] == [later]


def test_a_lease_that_ran_out_gives_the_job_to_another_worker(
    people: PeopleService, followups: FollowUpService, clock: FixedClock
) -> None:
    person = people.identify(Channel.telegram, "4")
    followups.schedule(person.id, FollowUpKind.triage_nudge, CLOCK_START)
    [job] = followups.claim_due("dead-worker")
    clock.advance(minutes=4)
    assert followups.claim_due("w2") == []
    clock.advance(minutes=2)  # the lease (5 min) ran out: the worker died mid-send
    [again] = followups.claim_due("w2")
    assert (again.id, again.attempts) == (job.id, 2)
    assert not followups.mark_sent(job.id, "dead-worker")
    assert followups.mark_sent(job.id, "w2")


def test_postpone_and_an_opt_out_racing_a_claimed_nudge(
    people: PeopleService, followups: FollowUpService, clock: FixedClock
) -> None:
    person = people.identify(Channel.telegram, "5")
    followups.schedule(person.id, FollowUpKind.triage_nudge, CLOCK_START)
    [job] = followups.claim_due("w1")
    assert followups.postpone(job.id, "w1", CLOCK_START + timedelta(hours=23), "quiet_hours")
    assert followups.claim_due("w1") == []
    clock.advance(hours=23)
    [job] = followups.claim_due("w1")
    followups.opt_out(person.pseudo_id)  # /stop arrives while the worker holds it
    assert not followups.still_held(job.id, "w1")
    assert not followups.mark_sent(job.id, "w1")
    final = followups.get(job.id)
    assert final is not None and (final.status, final.reason) == (
        FollowUpStatus.cancelled,
        "opt_out",
    )


def test_parallel_claims_never_share_a_job(
    database: Database, people: PeopleService, clock: FixedClock
) -> None:
    ids = set()
    for n in range(60):
        person = people.identify(Channel.telegram, f"p{n}")
        ids.add(
            FollowUpService(database, clock).schedule(
                person.id, FollowUpKind.triage_nudge, CLOCK_START - timedelta(seconds=n)
            )
        )
    taken: dict[str, list[int]] = {}
    barrier = threading.Barrier(4)

    def worker(name: str) -> None:
        service = FollowUpService(database, clock)
        barrier.wait()
        mine: list[int] = []
        while batch := service.claim_due(name, limit=7):
            mine += [job.id for job in batch]
            for job in batch:
                assert service.mark_sent(job.id, name)
        taken[name] = mine

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    claimed = [job for jobs in taken.values() for job in jobs]
    assert len(claimed) == len(set(claimed)) == 60
    assert set(claimed) == ids
