"""A tracker store shaped like the engine's (Rasa's SQLTrackerStore `events` table), for the
erasure and retention tests: write a conversation's events, count what is left."""

from __future__ import annotations

import time

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, func, select

from core.db import Database

# The columns of rasa.core.tracker_store.SQLTrackerStore.SQLEvent (Rasa 3.6).
metadata = MetaData()
events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255), nullable=False, index=True),
    Column("type_name", String(255), nullable=False),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)


def add_events(url: str, sender_id: str, n: int, *, at: float | None = None) -> None:
    """`n` user events of `sender_id`, stamped `at` (default: a minute ago, engine clock)."""
    db = Database.from_url(url)
    try:
        metadata.create_all(db.engine)
        stamp = time.time() - 60 if at is None else at
        with db.transaction() as session:
            for _ in range(n):
                session.execute(
                    events.insert().values(sender_id=sender_id, type_name="user", timestamp=stamp)
                )
    finally:
        db.dispose()


def tracker_events(url: str, sender_id: str) -> int:
    """How many events of `sender_id` the store holds."""
    db = Database.from_url(url)
    try:
        metadata.create_all(db.engine)
        with db.transaction() as session:
            query = select(func.count()).select_from(events).where(events.c.sender_id == sender_id)
            return int(session.scalar(query) or 0)
    finally:
        db.dispose()
