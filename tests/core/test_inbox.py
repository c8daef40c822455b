"""The webhook inbox (core/inbox.py) on SQLite and (gated) PostgreSQL: stored once, pending in
update_id order, done clears the payload, failures give up after three attempts, stale chats,
the purge."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import select

from core.clock import FixedClock
from core.db import Database
from core.erasure import ERASED_CHAT, ErasureService
from core.inbox import InboxService
from core.models import Channel
from core.models.delivery import InboundUpdate
from core.people import PeopleService

A, B = "telegram:1001", "telegram:1002"


def message(update_id: int, text: str = "salut") -> dict[str, object]:
    return {"update_id": update_id, "message": {"text": text}}


@pytest.fixture
def inbox(database: Database, clock: FixedClock) -> InboxService:
    return InboxService(database, clock)


def rows(database: Database) -> list[InboundUpdate]:
    with database.transaction() as session:
        return list(session.scalars(select(InboundUpdate).order_by(InboundUpdate.update_id)))


def test_an_update_is_stored_once_and_a_duplicate_is_refused(
    inbox: InboxService, database: Database
) -> None:
    assert inbox.receive("telegram", 7, A, message(7)) is True
    assert inbox.receive("telegram", 7, A, message(7, "autre")) is False
    assert inbox.receive("simulator", 7, A, message(7)) is True  # another source, another id
    [first, other] = sorted(rows(database), key=lambda r: r.source)
    assert (first.source, first.state, first.attempts) == ("simulator", "pending", 0)
    assert other.payload is not None and '"salut"' in other.payload


def test_a_duplicate_does_not_abort_the_transaction_it_runs_in(
    inbox: InboxService, database: Database, clock: FixedClock
) -> None:
    inbox.receive("telegram", 1, A, message(1))
    # The same insert inside a caller's transaction, followed by more work in it.
    from sqlalchemy.dialects.postgresql import insert as pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    with database.transaction() as session:
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        session.execute(
            insert(InboundUpdate)
            .values(
                source="telegram", update_id=1, chat_key=A, payload="{}", received_at=clock.now()
            )
            .on_conflict_do_nothing(index_elements=["source", "update_id"])
        )
        session.add(InboundUpdate(source="telegram", update_id=2, chat_key=A, payload="{}"))
    assert [r.update_id for r in rows(database)] == [1, 2]


def test_pending_lists_one_chat_in_update_id_order(inbox: InboxService) -> None:
    for update_id, key in ((12, A), (10, A), (11, B), (11_000_000_000, A)):
        inbox.receive("telegram", update_id, key, message(update_id))
    pending = inbox.pending(A)
    assert [p.update_id for p in pending] == [10, 12, 11_000_000_000]
    assert pending[0].payload == message(10)
    assert inbox.has_pending(B) and not inbox.has_pending("telegram:9")


def test_done_clears_the_payload_and_the_row_leaves_pending(
    inbox: InboxService, database: Database
) -> None:
    inbox.receive("telegram", 1, A, message(1))
    [row] = inbox.pending(A)
    assert inbox.start(row.id, "w1")
    assert inbox.done(row.id, "w1") is True
    assert inbox.done(row.id, "w2") is False  # once
    [stored] = rows(database)
    assert (stored.state, stored.payload, stored.worker, stored.attempts) == ("done", None, "w1", 1)
    assert stored.done_at is not None
    assert inbox.pending(A) == [] and not inbox.has_pending(A)
    assert inbox.receive("telegram", 1, A, message(1)) is False  # still remembered


def test_an_update_failing_three_times_is_marked_failed_and_logged_without_content(
    inbox: InboxService, database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    inbox.receive("telegram", 1, A, message(1, "mon secret"))
    [row] = inbox.pending(A)
    caplog.set_level(logging.INFO, logger="core.inbox")
    for _ in range(2):
        assert inbox.start(row.id, "w1")
        assert inbox.failed(row.id, "w1") is False  # retried
    assert [p.attempts for p in inbox.pending(A)] == [2]
    assert inbox.start(row.id, "w1")
    assert inbox.failed(row.id, "w1") is True
    [stored] = rows(database)
    assert (stored.state, stored.payload, stored.attempts) == ("failed", None, 3)
    assert inbox.pending(A) == []
    assert "failed 3 times" in caplog.text
    assert "secret" not in caplog.text and "1001" not in caplog.text


def test_a_row_whose_worker_died_three_times_is_given_up_at_the_next_start(
    inbox: InboxService, database: Database
) -> None:
    inbox.receive("telegram", 1, A, message(1))
    [row] = inbox.pending(A)
    for _ in range(3):
        assert inbox.start(row.id, "dying")  # the worker dies before done() or failed()
    assert inbox.start(row.id, "w2") is False
    assert rows(database)[0].state == "failed"


def test_stale_chats_are_those_with_an_old_pending_update(
    inbox: InboxService, clock: FixedClock
) -> None:
    inbox.receive("telegram", 1, A, message(1))
    inbox.receive("telegram", 2, B, message(2))
    [done] = inbox.pending(B)
    inbox.done(done.id, "w1")
    clock.advance(seconds=20)
    inbox.receive("telegram", 3, "telegram:1003", message(3))
    assert inbox.stale_chats(timedelta(seconds=30)) == []
    clock.advance(seconds=15)
    assert inbox.stale_chats(timedelta(seconds=30)) == [A]
    clock.advance(seconds=20)
    assert inbox.stale_chats(timedelta(seconds=30)) == [A, "telegram:1003"]


def test_purge_deletes_done_and_failed_rows_after_a_day_and_keeps_pending(
    inbox: InboxService, database: Database, clock: FixedClock
) -> None:
    for update_id in (1, 2, 3):
        inbox.receive("telegram", update_id, A, message(update_id))
    first, second, _ = inbox.pending(A)
    inbox.done(first.id, "w1")
    for _ in range(3):
        inbox.start(second.id, "w1")
    inbox.failed(second.id, "w1")
    clock.advance(hours=23)
    assert inbox.purge() == 0
    clock.advance(hours=2)
    assert inbox.purge() == 2
    assert [(r.update_id, r.state) for r in rows(database)] == [(3, "pending")]
    assert inbox.counts() == {"pending": 1}
    assert inbox.pending_count() == 1


def test_erasure_leaves_handled_updates_their_id_but_not_their_chat(
    inbox: InboxService, database: Database
) -> None:
    # /oubli: the update ids stay a day (Telegram may deliver one again), not the chat id.
    people = PeopleService(database, "e" * 40)
    person = people.identify(Channel.telegram, "1001")
    for update_id in (1, 2, 3):
        assert inbox.receive("telegram", update_id, A, message(update_id))
    inbox.receive("telegram", 4, B, message(4))
    for row in rows(database)[:2]:  # 1 and 2 handled; 3 (written after /oubli) still to do
        inbox.done(row.id, "w1")
    ErasureService(database, database).erase_app(person.pseudo_id)
    assert [(r.update_id, r.chat_key, r.state) for r in rows(database)] == [
        (1, ERASED_CHAT, "done"),
        (2, ERASED_CHAT, "done"),
        (3, A, "pending"),
        (4, B, "pending"),
    ]
    assert inbox.receive("telegram", 1, A, message(1)) is False  # still de-duplicated
