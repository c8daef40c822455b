"""The web chat's conversations: one young person per browser (or per embedding site: the
widget's storage is the site's), through the same pipeline as Telegram.

Identity: the page keeps a random token (`new_token`) in its own storage and sends it in a
header, never in a URL. The token is a bearer secret: it is never stored; the channel user id
is its keyed hash (`user_key`), which the pseudonymous id is made from, as a Telegram chat id
is. A page that loses its token (quick exit, /oubli, cleared storage) cannot reach the
conversation again; the counsellors keep the ticket.

What reaches the person outside a reply (a counsellor, a desk notice, an appointment, a
nudge, a held message answered later) goes to the outbox (store.py): the registered senders
below push it there and wake the streams (hub.py: this process's, and every worker's
through Redis when REDIS_URL is set).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import logging
import secrets
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.messages import Reply
from bot.pipeline import ConversationPipeline
from bot.webchat.hub import StreamHub
from bot.webchat.store import HistoryItem, OutboxView, WebChatStore
from core.chatlock import ChatLocks, chat_key
from core.models import Channel, Origin
from core.people import PeopleService, PersonRef, pseudonymise

log = logging.getLogger(__name__)


class OpenTickets(Protocol):
    """What the web chat reads of the hand-off (the ticket service implements it)."""

    def tickets_of(self, pseudo_id: str) -> Sequence[Any]: ...


TOKEN_RANDOM = 24  # characters of randomness (18 bytes)
TOKEN_SIGNATURE = 22  # characters of the app's signature (16 bytes)


def _signature(secret: str, random_part: str) -> str:
    digest = hmac.new(secret.encode(), f"webchat-token:{random_part}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()[:16]).decode().rstrip("=")


def new_token(secret: str) -> str:
    """A page's token: randomness and the app's signature of it, so that a conversation
    starts only through `POST /chat/api/session` (rate-limited per IP)."""
    random_part = secrets.token_urlsafe(18)
    return random_part + _signature(secret, random_part)


def valid_token(secret: str, value: str | None) -> bool:
    """A token this app issued (`new_token`)."""
    if value is None or len(value) != TOKEN_RANDOM + TOKEN_SIGNATURE or not value.isascii():
        return False
    random_part, signature = value[:TOKEN_RANDOM], value[TOKEN_RANDOM:]
    return hmac.compare_digest(signature, _signature(secret, random_part))


@dataclass(frozen=True)
class ChatAnswer:
    replies: list[Reply]
    shown: list[int] = field(default_factory=list)  # outbox ids the replies already show
    forgotten: bool = False  # /oubli went through: the page drops its token and conversation


@dataclass(frozen=True)
class ChatState:
    known: bool  # the token names a person who has talked
    ticket: bool  # a hand-off request is open (counsellors will answer here)
    email: bool  # an address is kept for the "tu as une réponse" e-mail
    notify: bool  # e-mail notices are available (webchat.email set up)

    def to_dict(self) -> dict[str, bool]:
        return {
            "known": self.known,
            "ticket": self.ticket,
            "email": self.email,
            "notify": self.notify,
        }


class WebChatSessions:
    def __init__(
        self,
        pipeline: ConversationPipeline,
        people: PeopleService,
        store: WebChatStore,
        tickets: OpenTickets,
        locks: ChatLocks,
        secret: str,
        *,
        history_limit: int = 200,
        notify: bool = False,
        hub: StreamHub | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.people = people
        self.store = store
        self.tickets = tickets
        self.locks = locks
        self.secret = secret
        self.history_limit = history_limit
        self.notify = notify
        self.hub = hub or StreamHub()

    # Identity ----------------------------------------------------------------------------
    def new_token(self) -> str:
        return new_token(self.secret)

    def valid_token(self, token: str | None) -> bool:
        return valid_token(self.secret, token)

    def user_key(self, token: str) -> str:
        """The channel user id of a page's token (a keyed hash: the token is never stored)."""
        digest = hmac.new(self.secret.encode(), f"webchat:{token}".encode(), hashlib.sha256)
        return digest.hexdigest()[:40]

    def person(self, token: str) -> PersonRef | None:
        """The token's young person, without creating or touching them."""
        return self.people.get(pseudonymise(self.secret, Channel.web, self.user_key(token)))

    # The young person's messages ---------------------------------------------------------
    async def start(self, token: str, campaign: str | None = None) -> ChatAnswer:
        """The chat opens: the welcome (and the campaign of the link, if any)."""
        text = "/start" + (f" {campaign}" if campaign else "")
        return await self.send(token, text=text)

    async def send(
        self,
        token: str,
        *,
        text: str | None = None,
        payload: str | None = None,
        title: str | None = None,
    ) -> ChatAnswer:
        """A typed message or a pressed button, one at a time per conversation."""
        key = self.user_key(token)
        async with self.locks.hold(chat_key(str(Channel.web), key)):
            before = await asyncio.to_thread(self.person, token)
            mark = 0 if before is None else await asyncio.to_thread(self.store.last_id, before.id)
            if payload:
                replies = await self.pipeline.handle_button(
                    Channel.web, key, payload, title or payload
                )
            else:
                replies = await self.pipeline.handle_text(Channel.web, key, text or "")
            after = await asyncio.to_thread(self.person, token)
        if before is not None and after is None:
            return ChatAnswer(replies, forgotten=True)
        shown = (
            [] if after is None else await asyncio.to_thread(self._shown, after.id, mark, replies)
        )
        return ChatAnswer(replies, shown)

    def _shown(self, person_id: int, mark: int, replies: list[Reply]) -> list[int]:
        """Outbox items stored during the exchange that its replies already show."""
        texts = {reply.text for reply in replies}
        return [v.id for v in self.store.since(person_id, mark) if v.reply.text in texts]

    # What the page reads -----------------------------------------------------------------
    async def state(self, token: str) -> ChatState:
        person = await asyncio.to_thread(self.person, token)
        if person is None:
            return ChatState(False, False, False, self.notify)
        tickets = await asyncio.to_thread(self.tickets.tickets_of, person.pseudo_id)
        email = await asyncio.to_thread(self.store.contact, person.id)
        return ChatState(True, any(t.is_open for t in tickets), email is not None, self.notify)

    async def history(self, token: str) -> tuple[list[HistoryItem], int]:
        """The conversation to show on return, and the outbox cursor to go on from."""
        person = await asyncio.to_thread(self.person, token)
        if person is None:
            return [], 0
        items = await asyncio.to_thread(self.store.history, person.id, self.history_limit)
        cursor = await asyncio.to_thread(self.store.last_id, person.id)
        await asyncio.to_thread(self.store.mark_seen, person.id, cursor)
        return items, cursor

    async def updates(self, token: str, after: int) -> tuple[list[OutboxView], int]:
        """The outbox after `after` (polling), and the next cursor; read once shown."""
        person = await asyncio.to_thread(self.person, token)
        if person is None:
            return [], after
        items = await asyncio.to_thread(self.store.since, person.id, after)
        if not items:
            return [], after
        await asyncio.to_thread(self.store.mark_seen, person.id, items[-1].id)
        return items, items[-1].id

    async def stream(
        self, token: str, after: int, *, seconds: float, poll: float
    ) -> AsyncIterator[list[OutboxView]]:
        """Outbox items as they come (an empty list now and then: the caller's keep-alive),
        for `seconds`; woken at once by this process's pushes, else every `poll` seconds."""
        person = await asyncio.to_thread(self.person, token)
        if person is None:
            return
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        cursor = after
        with self.hub.listening(person.id) as pushed:  # from before the first read
            while (left := end - loop.time()) > 0:
                pushed.clear()  # a push from now on wakes the wait below, even mid-read
                items = await asyncio.to_thread(self.store.since, person.id, cursor)
                if items:
                    cursor = items[-1].id
                    await asyncio.to_thread(self.store.mark_seen, person.id, cursor)
                yield items
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(pushed.wait(), min(poll, left))

    async def set_contact(self, token: str, email: str | None) -> bool:
        """Keep or forget the notification address; False without a conversation."""
        person = await asyncio.to_thread(self.person, token)
        if person is None:
            return False
        await asyncio.to_thread(self.store.set_contact, person.id, email)
        return True

    # Senders: what the rest of the app pushes to a web chat young person ------------------
    async def send_texts(self, user_key: str, texts: list[str]) -> bool:
        """The desk's sender: a counsellor's message or a hand-off notice (an answer)."""
        return await self._push(user_key, [Reply(t) for t in texts], human=True)

    async def send_replies(self, user_key: str, replies: list[Reply]) -> bool:
        """The appointment desk's sender: a proposal with its buttons, the .ics file."""
        return await self._push(user_key, replies, human=True)

    async def outlet(self, user_key: str, replies: list[Reply]) -> bool:
        """The replay job's outlet: held messages answered once an engine is back."""
        return await self._push(user_key, replies, human=False)

    async def push_to(self, person_id: int, replies: Sequence[Reply]) -> None:
        """A nudge or a reminder of the follow-up sweeper."""
        await asyncio.to_thread(self.store.push, person_id, list(replies))
        await self.hub.pushed(person_id)

    async def _push(self, user_key: str, replies: list[Reply], *, human: bool) -> bool:
        person = await asyncio.to_thread(
            self.people.get, pseudonymise(self.secret, Channel.web, user_key)
        )
        if person is None:
            return False
        origin = Origin.counsellor if human else Origin.bot
        await asyncio.to_thread(self.store.push, person.id, replies, origin=origin, human=human)
        await self.hub.pushed(person.id)
        return True
