"""Erasure on request (/oubli): every store that holds the person's conversation."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import delete, select, text
from sqlalchemy.exc import OperationalError, ProgrammingError

from core.db import Database
from core.models import YoungPerson

log = logging.getLogger(__name__)
# Rasa's SQLTrackerStore keeps one row per event in this table, keyed by sender_id.
DELETE_TRACKER_EVENTS = text("DELETE FROM events WHERE sender_id = :sender_id")


@dataclass(frozen=True)
class ErasureReport:
    person_erased: bool
    tracker_events_erased: int


class ErasureService:
    def __init__(self, db: Database, tracker_db: Database) -> None:
        self._db = db
        self._tracker_db = tracker_db

    def erase(self, pseudo_id: str) -> ErasureReport:
        """Delete the person (messages and consent records cascade) and their engine tracker.

        Must run after the engine has saved the turn that asked for it, or the engine would
        write the conversation back.
        """
        with self._db.transaction() as session:
            person_id = session.scalar(
                select(YoungPerson.id).where(YoungPerson.pseudo_id == pseudo_id)
            )
            if person_id is not None:
                session.execute(delete(YoungPerson).where(YoungPerson.id == person_id))
        try:
            with self._tracker_db.transaction() as session:
                result = session.execute(DELETE_TRACKER_EVENTS, {"sender_id": pseudo_id})
                erased = int(getattr(result, "rowcount", 0) or 0)
        except (OperationalError, ProgrammingError) as exc:  # no tracker table yet
            log.warning("tracker store not erased for %s: %s", pseudo_id, exc)
            erased = 0
        log.info("erased %s: person=%s tracker_events=%s", pseudo_id, person_id is not None, erased)
        return ErasureReport(person_id is not None, erased)

    def dispose(self) -> None:
        self._tracker_db.dispose()
