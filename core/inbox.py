"""Webhook updates kept once and handled in order: the inbox of `inbound_update`.

In webhook mode any app worker may receive any update, and Telegram posts an update again
when it got no answer in time. The webhook route stores each update here (`receive`: once,
de-duplicated on Telegram's `update_id` by the table's unique constraint) and answers at
once; whichever worker holds the chat's lock (core/chatlock.py) then processes the chat's
pending updates in `update_id` order and marks each one done, which clears its payload (the
young person's words are kept only until they are handled).

A worker that dies leaves its rows pending: `stale_chats` names the chats a job drains again
(maraude/jobs.py). An update that fails `MAX_ATTEMPTS` times is marked failed, logged by its
row id only, and its payload dropped. Done and failed rows stay a day for de-duplication,
then `purge` deletes them.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from core.clock import Clock
from core.db import Database
from core.models.delivery import InboundUpdate

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
KEEP_DONE = timedelta(days=1)  # how long a handled update_id is remembered (Telegram retries
# an update for a few hours at most)
PENDING, DONE, FAILED = "pending", "done", "failed"


@dataclass(frozen=True)
class PendingUpdate:
    id: int
    update_id: int
    payload: dict[str, Any]
    attempts: int


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


class InboxService:
    """The `inbound_update` table: store once, list a chat's pending updates, mark them."""

    def __init__(self, db: Database, clock: Clock, *, max_attempts: int = MAX_ATTEMPTS) -> None:
        self._db = db
        self._clock = clock
        self.max_attempts = max_attempts

    def receive(self, source: str, update_id: int, chat_key: str, payload: dict[str, Any]) -> bool:
        """Store an update; False if this `update_id` of `source` was stored already.

        INSERT ... ON CONFLICT DO NOTHING (SQLite and PostgreSQL): a duplicate neither raises
        nor aborts the transaction it runs in.
        """
        values = {
            "source": source,
            "update_id": update_id,
            "chat_key": chat_key,
            "payload": json.dumps(payload, ensure_ascii=False, separators=(",", ":")),
            "state": PENDING,
            "received_at": self._clock.now(),
            "attempts": 0,
        }
        with self._db.transaction() as session:
            dialect = session.get_bind().dialect.name
            if dialect in ("postgresql", "sqlite"):
                insert = pg_insert if dialect == "postgresql" else sqlite_insert
                statement = (
                    insert(InboundUpdate)
                    .values(**values)
                    .on_conflict_do_nothing(index_elements=["source", "update_id"])
                    .returning(InboundUpdate.id)
                )
                return session.execute(statement).scalar() is not None
            try:  # another database: a savepoint keeps the outer transaction usable
                with session.begin_nested():
                    session.add(InboundUpdate(**values))
            except IntegrityError:
                return False
            return True

    def pending(self, chat_key: str, limit: int = 50) -> list[PendingUpdate]:
        """The chat's updates not handled yet, in `update_id` order."""
        with self._db.transaction() as session:
            rows = session.execute(
                select(
                    InboundUpdate.id,
                    InboundUpdate.update_id,
                    InboundUpdate.payload,
                    InboundUpdate.attempts,
                )
                .where(InboundUpdate.state == PENDING, InboundUpdate.chat_key == chat_key)
                .order_by(InboundUpdate.update_id)
                .limit(limit)
            ).all()
        return [
            PendingUpdate(int(id_), int(update_id), json.loads(payload or "{}"), int(attempts))
            for id_, update_id, payload, attempts in rows
        ]

    def has_pending(self, chat_key: str) -> bool:
        with self._db.transaction() as session:
            found = session.scalar(
                select(InboundUpdate.id)
                .where(InboundUpdate.state == PENDING, InboundUpdate.chat_key == chat_key)
                .limit(1)
            )
        return found is not None

    def start(self, id_: int, worker: str) -> bool:
        """Count an attempt before processing; False if the row is no longer to process.

        Counted before, not after: an update that kills the worker processing it is not
        retried for ever (the job drains it again, then marks it failed).
        """
        with self._db.transaction() as session:
            result = session.execute(
                update(InboundUpdate)
                .where(
                    InboundUpdate.id == id_,
                    InboundUpdate.state == PENDING,
                    InboundUpdate.attempts < self.max_attempts,
                )
                .values(attempts=InboundUpdate.attempts + 1, worker=worker[:64])
                .execution_options(synchronize_session=False)
            )
            if _rowcount(result) == 1:
                return True
        self._give_up(id_, worker)  # attempts used up (if still pending)
        return False

    def done(self, id_: int, worker: str) -> bool:
        """Handled: the payload is cleared, the row kept for de-duplication."""
        return self._finish(id_, worker, DONE)

    def failed(self, id_: int, worker: str) -> bool:
        """Processing raised: retried while attempts remain; True when given up (failed)."""
        with self._db.transaction() as session:
            attempts = session.scalar(
                select(InboundUpdate.attempts).where(
                    InboundUpdate.id == id_, InboundUpdate.state == PENDING
                )
            )
        if attempts is None:
            return False
        if attempts < self.max_attempts:
            return False
        return self._give_up(id_, worker)

    def _give_up(self, id_: int, worker: str) -> bool:
        if not self._finish(id_, worker, FAILED):
            return False
        # The row id only: never the update's content or its chat.
        log.error("inbound update %s failed %s times: dropped", id_, self.max_attempts)
        return True

    def _finish(self, id_: int, worker: str, state: str) -> bool:
        with self._db.transaction() as session:
            result = session.execute(
                update(InboundUpdate)
                .where(InboundUpdate.id == id_, InboundUpdate.state == PENDING)
                .values(state=state, payload=None, done_at=self._clock.now(), worker=worker[:64])
                .execution_options(synchronize_session=False)
            )
            return _rowcount(result) == 1

    def stale_chats(self, older_than: timedelta, limit: int = 200) -> list[str]:
        """Chats with an update pending for `older_than` or more (its worker died, or the
        lock was held by a worker that stopped): oldest first."""
        before = self._clock.now() - older_than
        with self._db.transaction() as session:
            rows = session.execute(
                select(InboundUpdate.chat_key, func.min(InboundUpdate.received_at).label("first"))
                .where(InboundUpdate.state == PENDING, InboundUpdate.received_at <= before)
                .group_by(InboundUpdate.chat_key)
                .order_by("first")
                .limit(limit)
            ).all()
        return [str(key) for key, _ in rows]

    def purge(self, older_than: timedelta = KEEP_DONE) -> int:
        """Delete done and failed rows received `older_than` ago (their payload is gone;
        by `received_at`, which is indexed). Pending rows stay, whatever their age."""
        before = self._clock.now() - older_than
        with self._db.transaction() as session:
            result = session.execute(
                delete(InboundUpdate)
                .where(InboundUpdate.received_at <= before, InboundUpdate.state.in_([DONE, FAILED]))
                .execution_options(synchronize_session=False)
            )
            return _rowcount(result)

    def pending_count(self) -> int:
        """Updates waiting to be handled (the queue length of /metrics; indexed)."""
        with self._db.transaction() as session:
            return int(
                session.scalar(
                    select(func.count())
                    .select_from(InboundUpdate)
                    .where(InboundUpdate.state == PENDING)
                )
                or 0
            )

    def counts(self) -> dict[str, int]:
        """Rows by state (a whole-table count: for tests and occasional checks)."""
        with self._db.transaction() as session:
            rows = session.execute(
                select(InboundUpdate.state, func.count()).group_by(InboundUpdate.state)
            ).all()
        return {str(state): int(n) for state, n in rows}
