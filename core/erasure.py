"""Erasure of a young person from every store: the app database at once, the engine's tracker
store as soon as it can be reached (/oubli, the retention purge).

`erase_app` deletes the person (everything of theirs cascades: messages, consents, requests,
tickets, notes, NLU turns and annotations not yet exported, follow-ups; the messages held while
the engines were down are deleted explicitly, not left to the cascade) and, in the same
transaction, records a `PendingErasure` of their tracker; hooks called first fold what they
counted for into anonymous statistics. `erase_tracker` then deletes the engine's events of
that person and clears the pending row; when the tracker store cannot be reached, the row
stays, and `retry_pending` (a scheduled job, also run at start) tries again until it works.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, inspect, select, text, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from core.chatlock import chat_key
from core.clock import Clock, SystemClock
from core.db import Database
from core.inbox import PENDING
from core.models import HeldMessage, InboundUpdate, PendingErasure, YoungPerson

log = logging.getLogger(__name__)

# What an erased person's handled webhook updates keep as their chat (core/inbox.py).
ERASED_CHAT = "erased"
# Rasa's SQLTrackerStore keeps one row per event in this table, keyed by sender_id; `timestamp`
# is the engine's Unix time of the event. Events after the cutoff belong to a new conversation.
TRACKER_TABLE = "events"
DELETE_TRACKER_EVENTS = text(
    "DELETE FROM events WHERE sender_id = :sender_id"
    " AND (timestamp IS NULL OR timestamp <= :cutoff)"
)

# Called in the erasure's transaction, before the person is deleted, with their row id
# (studio/analytics/archive.py keeps their part of the statistics as anonymous counts).
ErasureHook = Callable[[Session, int], None]


class Reason:
    """Why a person was erased (kept on the pending tracker erasure)."""

    request = "request"  # /oubli
    retention = "retention"  # inactive for organisation.retention_days
    simulation = "simulation"  # a simulator conversation older than a day


@dataclass(frozen=True)
class ErasureReport:
    person_erased: bool
    tracker_events_erased: int  # -1: the tracker store could not be reached (pending)


@dataclass(frozen=True)
class PendingView:
    pseudo_id: str
    reason: str
    requested_at: datetime
    attempts: int
    last_error: str | None


class ErasureService:
    def __init__(
        self,
        db: Database,
        tracker_db: Database,
        clock: Clock | None = None,
        before_erase: Sequence[ErasureHook] = (),
        wall_time: Callable[[], float] = time.time,
    ) -> None:
        self._db = db
        self._tracker_db = tracker_db
        self._clock = clock or SystemClock()
        self._hooks = tuple(before_erase)
        # The engine stamps its events with the real time: the cutoff is on that clock.
        self._wall_time = wall_time

    # The app database -------------------------------------------------------------------
    def erase_app(self, pseudo_id: str, reason: str = Reason.request) -> bool:
        """Delete the person and record their tracker erasure, in one transaction.

        True if the person was there. The pending tracker erasure is recorded either way (the
        engine may hold a conversation the app never stored).
        """
        with self._db.transaction() as session:
            erased = self.erase_in(session, pseudo_id, reason)
        log.info("erased %s from the app database (%s): person=%s", pseudo_id, reason, erased)
        return erased

    def erase_in(self, session: Session, pseudo_id: str, reason: str) -> bool:
        """`erase_app` inside the caller's transaction (the retention purge)."""
        found = session.execute(
            select(YoungPerson.id, YoungPerson.channel, YoungPerson.channel_user_id)
            .where(YoungPerson.pseudo_id == pseudo_id)
            .with_for_update()
        ).first()
        person_id = found.id if found is not None else None
        if found is not None:
            for hook in self._hooks:
                hook(session, found.id)
            # Words not answered yet (bot/held.py): gone whatever the database does on cascade.
            session.execute(delete(HeldMessage).where(HeldMessage.person_id == found.id))
            # Webhook updates already handled keep their update id a day (de-duplication), no
            # longer the chat they came from; those still to handle are new messages.
            session.execute(
                update(InboundUpdate)
                .where(
                    InboundUpdate.chat_key == chat_key(str(found.channel), found.channel_user_id),
                    InboundUpdate.state != PENDING,
                )
                .values(chat_key=ERASED_CHAT)
            )
            session.execute(delete(YoungPerson).where(YoungPerson.id == person_id))
        session.add(
            PendingErasure(
                pseudo_id=pseudo_id,
                reason=reason,
                requested_at=self._clock.now(),
                cutoff=self._wall_time(),
                attempts=0,
            )
        )
        return person_id is not None

    # The engine's tracker store ------------------------------------------------------------
    def erase_tracker(self, pseudo_id: str) -> int | None:
        """Delete the tracker events of `pseudo_id` its pending erasures cover, then the pending
        rows. The number of events deleted, or None if the tracker store could not be reached
        (the rows stay, with the attempt counted)."""
        with self._db.transaction() as session:
            rows = session.execute(
                select(PendingErasure.id, PendingErasure.cutoff).where(
                    PendingErasure.pseudo_id == pseudo_id
                )
            ).all()
        if not rows:
            return 0
        ids = [row.id for row in rows]
        try:
            erased = self._delete_events(pseudo_id, max(row.cutoff for row in rows))
        except SQLAlchemyError as exc:
            log.warning(
                "tracker store not reachable to erase %s: %s", pseudo_id, type(exc).__name__
            )
            with self._db.transaction() as session:
                session.execute(
                    update(PendingErasure)
                    .where(PendingErasure.id.in_(ids))
                    .values(
                        attempts=PendingErasure.attempts + 1,
                        last_attempt_at=self._clock.now(),
                        last_error=type(exc).__name__[:120],
                    )
                )
            return None
        with self._db.transaction() as session:
            session.execute(delete(PendingErasure).where(PendingErasure.id.in_(ids)))
        log.info("erased %s from the tracker store: %s events", pseudo_id, erased)
        return erased

    def _delete_events(self, pseudo_id: str, cutoff: float) -> int:
        with self._tracker_db.engine.connect() as connection:
            if not inspect(connection).has_table(TRACKER_TABLE):
                return 0  # the engine never stored anything there
        with self._tracker_db.transaction() as session:
            result = session.execute(
                DELETE_TRACKER_EVENTS, {"sender_id": pseudo_id, "cutoff": cutoff}
            )
            return int(getattr(result, "rowcount", 0) or 0)

    def retry_pending(
        self, older_than: timedelta = timedelta(0), limit: int = 200
    ) -> tuple[int, int]:
        """Try once every pending tracker erasure recorded at least `older_than` ago (an engine
        that timed out may still be saving the turn): (done, still pending)."""
        before = self._clock.now() - older_than
        with self._db.transaction() as session:
            pseudo_ids = session.scalars(
                select(PendingErasure.pseudo_id)
                .where(PendingErasure.requested_at <= before)
                .group_by(PendingErasure.pseudo_id)
                .order_by(PendingErasure.pseudo_id)
                .limit(limit)
            ).all()
        done = failed = 0
        for pseudo_id in pseudo_ids:
            if self.erase_tracker(pseudo_id) is None:
                failed += 1
            else:
                done += 1
        return done, failed

    def pending(self) -> list[PendingView]:
        """The tracker erasures not done yet, oldest first."""
        with self._db.transaction() as session:
            rows = session.scalars(
                select(PendingErasure).order_by(PendingErasure.requested_at, PendingErasure.id)
            ).all()
            return [
                PendingView(r.pseudo_id, r.reason, r.requested_at, r.attempts, r.last_error)
                for r in rows
            ]

    # Both ------------------------------------------------------------------------------------
    def erase(self, pseudo_id: str, reason: str = Reason.request) -> ErasureReport:
        """The app data at once, then the tracker (pending if it cannot be reached).

        On /oubli, must run after the engine has saved the turn that asked for it, or the
        engine would write the conversation back.
        """
        erased = self.erase_app(pseudo_id, reason)
        events = self.erase_tracker(pseudo_id)
        return ErasureReport(erased, -1 if events is None else events)

    def dispose(self) -> None:
        self._tracker_db.dispose()
