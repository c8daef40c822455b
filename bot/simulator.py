"""The web simulator's conversations: one pseudonymous young person per browser session,
through the same pipeline as Telegram (web/simulator.py holds the HTTP side: page, cookie,
manager check).

The page cannot be pushed to, so what the hand-off sends outside a reply (the counsellor's
messages, "X a pris ta demande", the closing notice) is read back from the stored messages of
the person's tickets (`HandoffLog`, the ticket service): the page polls `updates`.

Manager mode: with each message, what the engine made of it (`TurnInspector`, an observer of
the pipeline, keeps the turn the pipeline read after the exchange).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from bot.messages import Reply
from bot.pipeline import ConversationPipeline, Exchange
from core.models import Channel, Origin
from core.people import PeopleService, pseudonymise
from core.turns import TurnInfo

MAX_UPDATES = 50  # messages per poll


class LoggedItem(Protocol):
    """A message the hand-off sent the young person (a counsellor's, or a desk notice)."""

    @property
    def id(self) -> int: ...
    @property
    def origin(self) -> Origin: ...
    @property
    def text(self) -> str: ...
    @property
    def counsellor_name(self) -> str | None: ...


class HandoffLog(Protocol):
    """What the simulator reads of the hand-off (the ticket service implements it)."""

    def last_outgoing_id(self, person_id: int) -> int: ...

    def outgoing_since(
        self, person_id: int, after_id: int, limit: int = ...
    ) -> Sequence[LoggedItem]: ...


class TurnInspector:
    """Pipeline observer keeping the engine's turn for the simulator messages that asked.

    The simulator says which conversation it waits for (`expect`), the pipeline hands over the
    turn it read after the exchange, the simulator takes it (`take`). Nothing is kept for
    conversations nobody waits for. No turn: the message did not go to the engine (relayed
    to a counsellor, engine down, erasure).
    """

    def __init__(self) -> None:
        self._waiting: dict[str, TurnInfo | None] = {}

    def expect(self, pseudo_id: str) -> None:
        self._waiting[pseudo_id] = None

    def take(self, pseudo_id: str) -> TurnInfo | None:
        return self._waiting.pop(pseudo_id, None)

    async def after_exchange(self, exchange: Exchange) -> None:
        if exchange.person.pseudo_id in self._waiting:
            self._waiting[exchange.person.pseudo_id] = exchange.turn


@dataclass(frozen=True)
class SimulatorAnswer:
    replies: list[Reply]
    shown: list[int]  # ids of hand-off messages the replies already show (not polled again)
    turn: TurnInfo | None = None  # manager mode only


def valid_session(value: str | None) -> bool:
    """A session id we could have made (the cookie is the young person's only identity)."""
    return (
        bool(value)
        and 16 <= len(value or "") <= 64
        and (value or "").replace("-", "").replace("_", "").isalnum()
    )


def new_session() -> str:
    return secrets.token_urlsafe(18)


class SimulatorSessions:
    def __init__(
        self,
        pipeline: ConversationPipeline,
        people: PeopleService,
        log: HandoffLog,
        secret: str,
        counsellor_prefix: str,
    ) -> None:
        self.pipeline = pipeline
        self.people = people
        self.log = log
        self.secret = secret
        self.counsellor_prefix = counsellor_prefix
        self.inspector = TurnInspector()
        pipeline.add_observer(self.inspector)

    async def send(
        self,
        session: str,
        *,
        text: str | None = None,
        payload: str | None = None,
        title: str | None = None,
        inspect: bool = False,
    ) -> SimulatorAnswer:
        """A typed message (`text`) or a pressed button (`payload`, `title`) of the session's
        young person; with `inspect`, what the engine understood of it too."""
        pseudo = pseudonymise(self.secret, Channel.simulator, session)
        person = await asyncio.to_thread(self._person, session)
        mark = 0 if person is None else await asyncio.to_thread(self.log.last_outgoing_id, person)
        if inspect:
            self.inspector.expect(pseudo)
        try:
            if payload:
                replies = await self.pipeline.handle_button(
                    Channel.simulator, session, payload, title or payload
                )
            else:
                replies = await self.pipeline.handle_text(Channel.simulator, session, text or "")
        finally:
            turn = self.inspector.take(pseudo) if inspect else None
        shown = await asyncio.to_thread(self._shown, session, mark, replies)
        return SimulatorAnswer(replies, shown, turn)

    async def updates(self, session: str, after: int | None) -> tuple[list[dict[str, Any]], int]:
        """What the hand-off sent the session's young person after message `after`, and the
        cursor for the next poll. Without `after`, only the cursor (nothing older is replayed)."""
        person = await asyncio.to_thread(self._person, session)
        if person is None:
            return [], after or 0
        if after is None:
            return [], await asyncio.to_thread(self.log.last_outgoing_id, person)
        items = await asyncio.to_thread(self.log.outgoing_since, person, after, MAX_UPDATES)
        messages = [
            {
                "id": item.id,
                "origin": str(item.origin),
                "text": item.text,
                "from": item.counsellor_name if item.origin is Origin.counsellor else None,
                "label": (
                    self.counsellor_prefix.format(name=item.counsellor_name or "")
                    if item.origin is Origin.counsellor
                    else None
                ),
            }
            for item in items
        ]
        return messages, items[-1].id if items else after

    def _person(self, session: str) -> int | None:
        """The id of the session's young person, without creating or touching it."""
        person = self.people.get(pseudonymise(self.secret, Channel.simulator, session))
        return None if person is None else int(person.id)

    def _shown(self, session: str, mark: int, replies: list[Reply]) -> list[int]:
        """Ids of hand-off messages stored during this exchange that its replies already show
        (helplines during a hand-off), so that the page's polling does not show them twice."""
        person = self._person(session)
        if person is None:
            return []
        texts = {reply.text for reply in replies}
        return [
            item.id
            for item in self.log.outgoing_since(person, mark, MAX_UPDATES)
            if item.origin is Origin.bot and item.text in texts
        ]
