"""Database engine and sessions. Nothing connects at import time."""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)
T = TypeVar("T")
P = ParamSpec("P")
# PostgreSQL's "deadlock detected" and "could not serialize": the transaction was rolled back
# as a whole and may simply be run again.
RETRYABLE_SQLSTATES = {"40P01", "40001"}


def is_retryable(exc: BaseException) -> bool:
    """A deadlock or serialization failure: the whole transaction can be run again."""
    if not isinstance(exc, OperationalError):
        return False
    orig = exc.orig
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return code in RETRYABLE_SQLSTATES


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create the SQLAlchemy engine; SQLite gets its folder, foreign keys and WAL."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {"timeout": 30})
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


class _HasDatabase(Protocol):
    _db: Database


S = TypeVar("S", bound=_HasDatabase)


def retry_on_deadlock(
    method: Callable[Concatenate[S, P], T],
) -> Callable[Concatenate[S, P], T]:
    """A service method that opens its own transaction, run again (`Database.retrying`) when
    PostgreSQL rolls it back for a deadlock: the whole method, its transaction included."""

    @functools.wraps(method)
    def wrapper(self: S, *args: P.args, **kwargs: P.kwargs) -> T:
        return self._db.retrying(lambda: method(self, *args, **kwargs))

    return wrapper


class Database:
    """Owns the engine and hands out short transactions to services."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def from_url(cls, url: str) -> Database:
        return cls(make_engine(url))

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One short unit of work: commit on success, roll back on error."""
        with self._sessions.begin() as session:
            yield session

    def retrying(self, work: Callable[[], T], attempts: int = 3) -> T:
        """Run `work` (which opens its own `transaction()`) again when PostgreSQL rolled it
        back for a deadlock with a concurrent transaction: what a young person wrote must not
        be lost because a counsellor clicked at the same moment."""
        for attempt in range(1, attempts + 1):
            try:
                return work()
            except OperationalError as exc:
                if attempt == attempts or not is_retryable(exc):
                    raise
                log.warning(
                    "transaction rolled back (%s), attempt %s: run again", "deadlock", attempt
                )
                time.sleep(random.uniform(0.01, 0.05) * attempt)
        raise AssertionError("unreachable")

    def ping(self) -> None:
        """`SELECT 1` (health checks); raises if the database does not answer."""
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()
