"""A transaction PostgreSQL rolls back for a deadlock is run again (core/db.py `retrying`):
two real transactions taking two rows' locks in opposite orders, on a real server."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from core.db import Database, retry_on_deadlock


def test_a_deadlocked_transaction_is_run_again_and_both_complete(pg_url: str) -> None:
    db = Database.from_url(pg_url)
    try:
        with db.transaction() as session:
            session.execute(text("CREATE TABLE pair (id int PRIMARY KEY, n int NOT NULL)"))
            session.execute(text("INSERT INTO pair VALUES (1, 0), (2, 0)"))
        both = threading.Barrier(2)
        attempts: list[int] = []

        def work(first: int, second: int) -> None:
            attempts.append(first)
            with db.transaction() as session:
                session.execute(text("UPDATE pair SET n = n + 1 WHERE id = :id"), {"id": first})
                if len(attempts) <= 2:  # the first tries meet: a deadlock, certainly
                    both.wait(timeout=10)
                session.execute(text("UPDATE pair SET n = n + 1 WHERE id = :id"), {"id": second})

        class Pairs:  # a service as the app's are: its methods open their own transaction
            def __init__(self, database: Database) -> None:
                self._db = database

            @retry_on_deadlock
            def bump(self, first: int, second: int) -> None:
                work(first, second)

        errors: list[BaseException] = []

        def run(first: int, second: int) -> None:
            try:
                Pairs(db).bump(first, second)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=run, args=pair) for pair in ((1, 2), (2, 1))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert errors == []
        assert len(attempts) == 3  # one of the two was rolled back and run again
        with db.transaction() as session:
            assert session.execute(text("SELECT n FROM pair ORDER BY id")).scalars().all() == [2, 2]
    finally:
        db.dispose()


def test_other_errors_are_not_retried(pg_url: str) -> None:
    db = Database.from_url(pg_url)
    calls: list[int] = []

    def work() -> None:
        calls.append(1)
        with db.transaction() as session:
            session.execute(text("SELECT * FROM no_such_table"))

    try:
        with pytest.raises(Exception, match="no_such_table"):
            db.retrying(work)
        assert calls == [1]
    finally:
        db.dispose()
