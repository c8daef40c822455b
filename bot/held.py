"""Messages held while every engine is down, replayed in order once one is back (issue 20).

A young person's message that no engine could answer (and that is not a crisis: those get
the helplines at once, bot/pipeline.py) is kept in `held_message` and answered later: before
the person's next message, or by the replay job (bot/replay.py) as soon as an engine answers.

The store keeps a young person's words only until they are answered, and not forever:
- `MAX_HELD` (10) per person. Ten unanswered messages is already a long monologue to a bot
  that said it was down; each replayed message gets one to three answers, so ten of them is
  up to thirty bubbles arriving at once, about what a chat can take before it reads as spam
  (and Telegram's pace for one chat, about one message a second). Beyond it, the message
  is not kept and the answer says so (`engine_down_full`): never "kept" when it is not.
- `HOLD_WINDOW` (24 h). An answer a day late answers a moment that has passed (and the
  engine's conversation session has long expired): a message older than that is dropped,
  counted and logged without its content, instead of being answered.
- `MAX_ATTEMPTS` (5). A message that made the engine fail five times while the engine was
  up (a poison message; a failure with no engine up does not count) is dropped the same
  way, so it cannot stall the person's replay for a whole day.

Replaying is safe with several workers: each chat is replayed under its chat lock
(core/chatlock.py), a message is claimed before it goes to the engine (`claim`: a
compare-and-set on `attempts`, so two runners never send it both), and deleted once answered
(`remove`: only the runner whose delete took the row sends the answers). A worker dying
mid-replay leaves the row, replayed by the next run: nothing is lost.

/oubli and the retention purge delete the rows with the person (core/erasure.py); the
export (/mesdonnees) lists them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, update

from core.clock import Clock, SystemClock
from core.db import Database
from core.models import Channel, HeldMessage, YoungPerson

log = logging.getLogger(__name__)

MAX_HELD = 10
HOLD_WINDOW = timedelta(hours=24)
MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class HeldItem:
    id: int
    person_id: int
    message: str  # what goes to the engine (text or button payload)
    shown: str  # what the young person typed, or the title of the button
    typed: bool
    held_at: datetime
    attempts: int


@dataclass(frozen=True)
class Waiting:
    """A young person with held messages (the replay job's work list)."""

    person_id: int
    pseudo_id: str
    channel: Channel
    channel_user_id: str


class HeldMessages:
    def __init__(
        self,
        db: Database,
        clock: Clock | None = None,
        *,
        cap: int = MAX_HELD,
        window: timedelta = HOLD_WINDOW,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        self._db = db
        self._clock = clock or SystemClock()
        self.cap = cap
        self.window = window
        self.max_attempts = max_attempts
        self.dropped = 0  # messages dropped unanswered by this process (too old, poison)

    def hold(self, person_id: int, message: str, shown: str, typed: bool) -> bool:
        """Keep one message to answer later; False (nothing kept) when the person already
        has `cap` messages waiting."""
        with self._db.transaction() as session:
            waiting = session.scalar(
                select(func.count())
                .select_from(HeldMessage)
                .where(HeldMessage.person_id == person_id)
            )
            if int(waiting or 0) >= self.cap:
                log.info("held messages: cap of %s reached, message not kept", self.cap)
                return False
            session.add(
                HeldMessage(
                    person_id=person_id,
                    message=message,
                    shown=shown,
                    typed=typed,
                    held_at=self._clock.now(),
                    attempts=0,
                )
            )
            return True

    def has(self, person_id: int) -> bool:
        """Whether the person has messages waiting (one indexed lookup per exchange)."""
        with self._db.transaction() as session:
            found = session.scalar(
                select(HeldMessage.id).where(HeldMessage.person_id == person_id).limit(1)
            )
            return found is not None

    def of(self, person_id: int) -> list[HeldItem]:
        """The person's held messages, oldest first (the expired ones dropped first)."""
        self.drop_expired(person_id)
        with self._db.transaction() as session:
            rows = session.scalars(
                select(HeldMessage)
                .where(HeldMessage.person_id == person_id)
                .order_by(HeldMessage.id)
            ).all()
            return [
                HeldItem(r.id, r.person_id, r.message, r.shown, r.typed, r.held_at, r.attempts)
                for r in rows
            ]

    def claim(self, item: HeldItem) -> bool:
        """Take `item` for one attempt: False if another runner took it since it was read."""
        with self._db.transaction() as session:
            result = session.execute(
                update(HeldMessage)
                .where(HeldMessage.id == item.id, HeldMessage.attempts == item.attempts)
                .values(attempts=item.attempts + 1)
            )
            return bool(getattr(result, "rowcount", 0))

    def release(self, item: HeldItem) -> None:
        """Give back a claim that failed because no engine was up: not the message's fault,
        so the attempt does not count towards `max_attempts`."""
        with self._db.transaction() as session:
            session.execute(
                update(HeldMessage)
                .where(HeldMessage.id == item.id, HeldMessage.attempts == item.attempts + 1)
                .values(attempts=item.attempts)
            )

    def remove(self, held_id: int) -> bool:
        """Delete an answered message: True if this call deleted it (its answers go out)."""
        with self._db.transaction() as session:
            result = session.execute(delete(HeldMessage).where(HeldMessage.id == held_id))
            return bool(getattr(result, "rowcount", 0))

    def waiting(self, limit: int = 100, channels: Iterable[Channel] | None = None) -> list[Waiting]:
        """People with held messages, the one waiting longest first (`limit` of them)."""
        oldest = func.min(HeldMessage.id)
        query = (
            select(
                YoungPerson.id,
                YoungPerson.pseudo_id,
                YoungPerson.channel,
                YoungPerson.channel_user_id,
            )
            .join(HeldMessage, HeldMessage.person_id == YoungPerson.id)
            .group_by(
                YoungPerson.id,
                YoungPerson.pseudo_id,
                YoungPerson.channel,
                YoungPerson.channel_user_id,
            )
            .order_by(oldest)
            .limit(limit)
        )
        if channels is not None:
            query = query.where(YoungPerson.channel.in_(list(channels)))
        with self._db.transaction() as session:
            return [Waiting(*row) for row in session.execute(query).all()]

    def drop_expired(self, person_id: int | None = None) -> int:
        """Drop the messages held longer than the window or tried too often; how many."""
        cutoff = self._clock.now() - self.window
        stale = or_(HeldMessage.held_at < cutoff, HeldMessage.attempts >= self.max_attempts)
        query = delete(HeldMessage).where(stale)
        if person_id is not None:
            query = query.where(HeldMessage.person_id == person_id)
        with self._db.transaction() as session:
            dropped = int(getattr(session.execute(query), "rowcount", 0) or 0)
        if dropped:
            self.dropped += dropped
            log.warning(
                "held messages: %s dropped unanswered (held over %sh, or failing)",
                dropped,
                round(self.window.total_seconds() / 3600),
            )
        return dropped

    def erase(self, person_id: int) -> int:
        """Delete every held message of the person; how many."""
        with self._db.transaction() as session:
            result = session.execute(delete(HeldMessage).where(HeldMessage.person_id == person_id))
            return int(getattr(result, "rowcount", 0) or 0)

    def count(self) -> int:
        """Messages held now, everyone together (metrics, /health)."""
        with self._db.transaction() as session:
            return int(session.scalar(select(func.count()).select_from(HeldMessage)) or 0)
