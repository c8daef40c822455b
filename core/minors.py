"""Under 15: nothing of the conversation is kept without a parent's agreement.

The app keeps no message of a young person who said they are under 15 (core/people.py), and
their hand-off keeps only what the call-back needs (handoff/requests.py). What remains is the
engine's own memory of the conversation (the Rasa tracker store), which the dialogue needs
while it lasts: once the conversation has been idle for a session (the engine's session
expiry), `MinorsService.forget_idle` erases those tracker events. The app's row of the person
stays (the age band, the channel address a counsellor's reply needs) until the retention purge.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError, ProgrammingError

from core.clock import Clock, SystemClock
from core.db import Database
from core.models import YoungPerson
from core.vocabulary import UNDER_15

log = logging.getLogger(__name__)
# Rasa's SQLTrackerStore keeps one row per event in this table, keyed by sender_id.
DELETE_EVENTS = text("DELETE FROM events WHERE sender_id = :sender_id")
# domain/core.yml session_config.session_expiration_time (minutes)
SESSION_IDLE = timedelta(minutes=60)


@dataclass(frozen=True)
class ForgetReport:
    people: int  # under-15 conversations idle for a session
    events: int  # tracker events erased


class MinorsService:
    def __init__(
        self,
        db: Database,
        tracker_store_url: str,
        clock: Clock | None = None,
        idle: timedelta = SESSION_IDLE,
    ) -> None:
        self._db = db
        self._tracker_store_url = tracker_store_url
        self._clock = clock or SystemClock()
        self._idle = idle

    def idle_under_15(self) -> list[str]:
        """Pseudonymous ids of the under-15s whose conversation has been idle for a session."""
        cutoff = self._clock.now() - self._idle
        with self._db.transaction() as session:
            return list(
                session.scalars(
                    select(YoungPerson.pseudo_id).where(
                        YoungPerson.age_band == UNDER_15, YoungPerson.last_seen_at <= cutoff
                    )
                )
            )

    def forget_idle(self) -> ForgetReport:
        """Erase the engine's tracker of every idle under-15 conversation (safe to repeat)."""
        pseudo_ids = self.idle_under_15()
        if not pseudo_ids:
            return ForgetReport(0, 0)
        tracker = Database.from_url(self._tracker_store_url)
        erased = 0
        try:
            with tracker.transaction() as session:
                for pseudo_id in pseudo_ids:
                    result = session.execute(DELETE_EVENTS, {"sender_id": pseudo_id})
                    erased += int(getattr(result, "rowcount", 0) or 0)
        except (OperationalError, ProgrammingError) as exc:  # no tracker table (yet)
            log.warning("under-15 trackers not erased: %s", type(exc).__name__)
            return ForgetReport(len(pseudo_ids), 0)
        finally:
            tracker.dispose()
        if erased:
            log.info("under-15 conversations forgotten: %s tracker events", erased)
        return ForgetReport(len(pseudo_ids), erased)
