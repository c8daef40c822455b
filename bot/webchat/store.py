"""The web chat's stored state (core/models/webchat.py): the outbox of what reaches a young
person outside a reply, their read mark, their history on return, and the optional e-mail
address with its notification schedule. Each method is one short transaction.

A page reads the outbox after a cursor (the last item it showed): live through the stream,
or by polling. What a reply to the page's own message says is not in the outbox: the page
shows it from the answer. The conversation shown on return is the kept message log (kept
with consent only, core/people.py), with the buttons of the outbox items it still shows.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update

from bot.messages import Button, Document, Reply
from core.clock import Clock
from core.db import Database
from core.models import (
    Counsellor,
    Direction,
    Message,
    Origin,
    WebChatState,
    WebOutboxItem,
    YoungPerson,
)

MAX_ITEMS = 200  # outbox items per read
READ_KEPT = timedelta(days=1)  # a read outbox item is purged after this (the log keeps text)
BUTTONS_LOOKBACK = 20  # outbox items whose buttons the history may still show
INCOMING, OUTGOING = "incoming", "outgoing"  # a history item's direction, as the page reads it


def reply_to_json(reply: Reply) -> str:
    return json.dumps(reply.to_dict(), ensure_ascii=False)


def reply_from_json(text: str) -> Reply:
    data = json.loads(text)
    return Reply(
        str(data.get("text", "")),
        tuple(Button(str(b["title"]), str(b["payload"])) for b in data.get("buttons") or []),
        tuple(
            Document(str(d["filename"]), str(d["content"]), str(d.get("mime_type", "text/plain")))
            for d in data.get("documents") or []
        ),
    )


@dataclass(frozen=True)
class OutboxView:
    id: int
    origin: str
    sender: str | None
    reply: Reply
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "origin": self.origin,
            "from": self.sender,
            "at": self.created_at.isoformat(),
            **self.reply.to_dict(),
        }


@dataclass(frozen=True)
class HistoryItem:
    direction: str  # "incoming" (the young person) or "outgoing"
    origin: str
    text: str
    sender: str | None  # a counsellor's first name
    at: datetime
    buttons: tuple[Button, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "direction": self.direction,
            "origin": self.origin,
            "text": self.text,
            "from": self.sender,
            "at": self.at.isoformat(),
            "buttons": [{"title": b.title, "payload": b.payload} for b in self.buttons],
        }


@dataclass(frozen=True)
class DueNotice:
    """An e-mail notification claimed by this worker: send it, nothing else will."""

    person_id: int
    email: str
    last_notified: datetime | None  # when the previous notice went (at most one per period)


class WebChatStore:
    def __init__(self, db: Database, clock: Clock, notify_after: timedelta) -> None:
        self._db = db
        self._clock = clock
        self.notify_after = notify_after

    # Outbox ------------------------------------------------------------------------------
    def push(
        self,
        person_id: int,
        replies: Sequence[Reply],
        *,
        origin: Origin = Origin.bot,
        sender: str | None = None,
        human: bool = False,
    ) -> list[int]:
        """Store replies for the person's page; a human answer (`human`) schedules the
        e-mail notice if they gave an address and none is scheduled."""
        now = self._clock.now()
        with self._db.transaction() as session:
            items = [
                WebOutboxItem(
                    person_id=person_id,
                    origin=str(origin),
                    sender=sender,
                    payload=reply_to_json(reply),
                    human=human,
                    created_at=now,
                )
                for reply in replies
            ]
            session.add_all(items)
            session.flush()
            if human:
                session.execute(
                    update(WebChatState)
                    .where(
                        WebChatState.person_id == person_id,
                        WebChatState.email.is_not(None),
                        WebChatState.notify_due_at.is_(None),
                    )
                    .values(notify_due_at=now + self.notify_after)
                )
            return [item.id for item in items]

    def since(self, person_id: int, after: int, limit: int = MAX_ITEMS) -> list[OutboxView]:
        """The person's outbox items after `after`, oldest first."""
        with self._db.transaction() as session:
            rows = session.scalars(
                select(WebOutboxItem)
                .where(WebOutboxItem.person_id == person_id, WebOutboxItem.id > after)
                .order_by(WebOutboxItem.id)
                .limit(max(1, min(limit, MAX_ITEMS)))
            )
            return [_view(item) for item in rows]

    def last_id(self, person_id: int) -> int:
        with self._db.transaction() as session:
            last = session.scalar(
                select(func.max(WebOutboxItem.id)).where(WebOutboxItem.person_id == person_id)
            )
            return int(last or 0)

    def mark_seen(self, person_id: int, upto: int) -> None:
        """The page showed every item up to `upto`: nothing left to notify by e-mail."""
        with self._db.transaction() as session:
            state = self._state(session, person_id)
            state.seen_id = max(state.seen_id, upto)
            unread = session.scalar(
                select(func.count(WebOutboxItem.id)).where(
                    WebOutboxItem.person_id == person_id,
                    WebOutboxItem.human.is_(True),
                    WebOutboxItem.id > state.seen_id,
                )
            )
            if not unread:
                state.notify_due_at = None

    def purge_read(self) -> int:
        """Drop outbox items read more than `READ_KEPT` ago (the retention job)."""
        cutoff = self._clock.now() - READ_KEPT
        with self._db.transaction() as session:
            seen = select(WebChatState.seen_id).where(
                WebChatState.person_id == WebOutboxItem.person_id
            )
            result = session.execute(
                delete(WebOutboxItem)
                .where(
                    WebOutboxItem.created_at < cutoff, WebOutboxItem.id <= seen.scalar_subquery()
                )
                .execution_options(synchronize_session=False)
            )
            return int(result.rowcount or 0)  # type: ignore[attr-defined]

    # History on return -------------------------------------------------------------------
    def history(self, person_id: int, limit: int) -> list[HistoryItem]:
        """The kept conversation (oldest first, the last `limit` messages); without a kept
        log (no consent), the outbox items still stored."""
        with self._db.transaction() as session:
            rows = session.execute(
                select(Message, Counsellor.first_name)
                .outerjoin(Counsellor, Counsellor.id == Message.counsellor_id)
                .where(Message.person_id == person_id)
                .order_by(Message.id.desc())
                .limit(limit)
            ).all()
            recent = session.scalars(
                select(WebOutboxItem)
                .where(WebOutboxItem.person_id == person_id)
                .order_by(WebOutboxItem.id.desc())
                .limit(BUTTONS_LOOKBACK if rows else limit)
            ).all()
        outbox = [_view(item) for item in reversed(recent)]
        if not rows:
            return [
                HistoryItem(
                    OUTGOING, v.origin, v.reply.text, v.sender, v.created_at, v.reply.buttons
                )
                for v in outbox
            ]
        items = [
            HistoryItem(
                INCOMING if m.direction == Direction.incoming else OUTGOING,
                str(m.origin),
                m.text,
                name,
                m.created_at,
            )
            for m, name in reversed(rows)
        ]
        return _with_buttons(items, outbox)

    # E-mail notification -----------------------------------------------------------------
    def contact(self, person_id: int) -> str | None:
        with self._db.transaction() as session:
            state = session.get(WebChatState, person_id)
            return state.email if state is not None else None

    def set_contact(self, person_id: int, email: str | None) -> None:
        """Keep (or, with None, forget) the address that tells the person an answer waits."""
        now = self._clock.now()
        with self._db.transaction() as session:
            state = self._state(session, person_id)
            state.email = email
            state.email_at = now if email else None
            if email is None:
                state.notify_due_at = None

    def due_notices(self, limit: int = 50) -> list[DueNotice]:
        """Claim the notices due now (a conditional update per person: with several
        workers, one sends each) whose answer is still unread. The caller sends each and
        calls `notified`, or `postpone`s it; a claim it drops is simply not sent."""
        now = self._clock.now()
        claimed: list[DueNotice] = []
        with self._db.transaction() as session:
            due = session.execute(
                select(WebChatState.person_id, WebChatState.notify_due_at)
                .where(WebChatState.notify_due_at.is_not(None), WebChatState.notify_due_at <= now)
                .order_by(WebChatState.notify_due_at)
                .limit(limit)
            ).all()
        for person_id, due_at in due:
            with self._db.transaction() as session:
                taken = session.execute(
                    update(WebChatState)
                    .where(
                        WebChatState.person_id == person_id,
                        WebChatState.notify_due_at == due_at,
                    )
                    .values(notify_due_at=None)
                    .execution_options(synchronize_session=False)
                )
                if not taken.rowcount:  # type: ignore[attr-defined]
                    continue  # another worker has it
                state = session.get(WebChatState, person_id)
                person = session.get(YoungPerson, person_id)
                unread = session.scalar(
                    select(func.count(WebOutboxItem.id)).where(
                        WebOutboxItem.person_id == person_id,
                        WebOutboxItem.human.is_(True),
                        WebOutboxItem.id > (state.seen_id if state else 0),
                    )
                )
                if state and state.email and person and person.blocked_at is None and unread:
                    claimed.append(DueNotice(person_id, state.email, state.notified_at))
        return claimed

    def postpone(self, person_id: int, until: datetime) -> None:
        """A notice that could not go now (quiet hours, a mail server down) goes at `until`."""
        with self._db.transaction() as session:
            state = session.get(WebChatState, person_id)
            if state is not None and state.email:
                state.notify_due_at = until

    def notified(self, person_id: int) -> None:
        """The notice went: the next one waits `webchat.notify_every` after now."""
        now = self._clock.now()
        with self._db.transaction() as session:
            state = session.get(WebChatState, person_id)
            if state is not None:
                state.notified_at = now

    def last_notified(self, person_id: int) -> datetime | None:
        with self._db.transaction() as session:
            state = session.get(WebChatState, person_id)
            return state.notified_at if state is not None else None

    # Internals ---------------------------------------------------------------------------
    @staticmethod
    def _state(session: Any, person_id: int) -> WebChatState:
        state = session.get(WebChatState, person_id)
        if state is None:
            state = WebChatState(person_id=person_id, seen_id=0)
            session.add(state)
            session.flush()
        return state


def _view(item: WebOutboxItem) -> OutboxView:
    return OutboxView(
        item.id, item.origin, item.sender, reply_from_json(item.payload), item.created_at
    )


def _with_buttons(items: list[HistoryItem], outbox: list[OutboxView]) -> list[HistoryItem]:
    """The log keeps texts only: the outgoing messages after the person's last one get the
    buttons of the outbox item with the same text (an appointment proposal still open)."""
    buttons = {v.reply.text: v.reply.buttons for v in outbox if v.reply.buttons}
    if not buttons:
        return items
    last_in = max((i for i, item in enumerate(items) if item.direction == INCOMING), default=-1)
    return [
        HistoryItem(h.direction, h.origin, h.text, h.sender, h.at, buttons.get(h.text, ()))
        if index > last_in and h.direction == OUTGOING
        else h
        for index, h in enumerate(items)
    ]
