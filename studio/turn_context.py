"""The misunderstood inbox shows each message in its conversation: the bot's message just
before it (often the question it answers) and what the bot answered after it.

Read from the person's kept messages (`message` rows: only with consent, like the turn's text).
A turn's own message is the young person's message with the same text, closest in time (the
pipeline logs the exchange just before it records the turn; a false alarm's turn carries the
signal's time, a moment before). One query per person, on the messages around their turns.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select

from core.db import Database
from core.models import Direction, Message, Origin
from studio.insights import TurnView

CONTEXT_WINDOW = timedelta(days=1)  # how far before / after a turn its context is looked for
SAME_MESSAGE = timedelta(minutes=10)  # a turn and its logged message are this close at most
ANSWERS_SHOWN = 3  # bot messages shown after a turn


@dataclass(frozen=True)
class TurnContext:
    """Where a message was said: the bot's message just before it, the bot's answer after."""

    asked: str | None = None
    answered: list[str] = field(default_factory=list)


def _context(messages: Sequence[Message], turn: TurnView) -> TurnContext | None:
    """The turn's context among a person's messages (oldest first): its own logged message
    is the young person's message with the same text closest in time."""
    said = [
        (abs(m.created_at - turn.created_at), -i)
        for i, m in enumerate(messages)
        if m.direction == Direction.incoming
        and m.origin == Origin.youth
        and m.text == turn.text
        and abs(m.created_at - turn.created_at) <= SAME_MESSAGE
    ]
    if not said:
        return None
    index = -min(said)[1]
    asked = next(
        (
            m.text
            for m in reversed(messages[:index])
            if m.direction == Direction.outgoing and m.origin == Origin.bot
        ),
        None,
    )
    answered: list[str] = []
    for m in messages[index + 1 :]:
        if m.direction == Direction.incoming or len(answered) >= ANSWERS_SHOWN:
            break
        if m.origin == Origin.bot:
            answered.append(m.text)
    return TurnContext(asked, answered)


def turn_contexts(db: Database, turns: Iterable[TurnView]) -> dict[int, TurnContext]:
    """Each turn's context (turn id -> TurnContext), for the turns whose message was
    kept: one query per person, on the messages around their turns."""
    by_person: dict[int, list[TurnView]] = defaultdict(list)
    for turn in turns:
        if turn.person_id is not None and turn.text:
            by_person[turn.person_id].append(turn)
    found: dict[int, TurnContext] = {}
    with db.transaction() as session:
        for person_id, mine in by_person.items():
            since = min(t.created_at for t in mine) - CONTEXT_WINDOW
            until = max(t.created_at for t in mine) + CONTEXT_WINDOW
            messages = session.scalars(
                select(Message)
                .where(
                    Message.person_id == person_id,
                    Message.created_at >= since,
                    Message.created_at <= until,
                )
                .order_by(Message.id)
            ).all()
            for turn in mine:
                context = _context(messages, turn)
                if context is not None:
                    found[turn.id] = context
    return found
