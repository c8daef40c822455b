"""One forum topic per ticket in the counsellors' supergroup, and posting in the group.

`sweep` opens a topic for every open ticket that has none. `TicketService.reserve_topic`
makes sure two app workers never open two topics for one ticket; when Telegram fails, the
reservation is released and the ticket is tried again later (with a growing delay). The topic
starts with the ticket's summary message (handoff/bridge/rendering.py), edited as the ticket
changes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import tzinfo
from typing import Any

from telegram import InlineKeyboardMarkup, ReplyParameters
from telegram.error import BadRequest, RetryAfter, TelegramError

from bot.telegram import split_text
from core.models import Urgency
from handoff.bridge.rendering import main_keyboard, summary_text, topic_name
from handoff.tickets import TicketNotFound, TicketService, TicketView

log = logging.getLogger(__name__)

SWEEP_BATCH = 20
MAX_BACKOFF = 300.0  # seconds, between two attempts to open the topic of one ticket
TOPIC_WAIT = 5.0  # seconds to wait for a topic another worker is opening
MAX_SEND_ATTEMPTS = 3
MAX_RETRY_AFTER = 30.0
ICON_NORMAL = 0x6FB9F0  # blue
ICON_CRISIS = 0xFB6F5F  # red


class ForumTopics:
    def __init__(
        self,
        application: Any,
        group_id: int,
        tickets: TicketService,
        team_names: dict[str, str],
        outcomes: dict[str, str],
        tz: tzinfo,
    ) -> None:
        self.application = application
        self.group_id = group_id
        self.tickets = tickets
        self.team_names = team_names
        self.outcomes = outcomes
        self.tz = tz
        self.backoff: dict[int, tuple[float, float]] = {}  # ticket -> (next try, delay)

    @property
    def bot(self) -> Any:
        return self.application.bot

    # Opening -----------------------------------------------------------------------------
    async def sweep(self) -> int:
        """Open a topic for each open ticket that has none; the number opened here."""
        opened = 0
        for ticket in await asyncio.to_thread(self.tickets.without_topic, SWEEP_BATCH):
            retry = self.backoff.get(ticket.id)
            if retry is not None and retry[0] > time.monotonic():
                continue
            if await self.open(ticket):
                opened += 1
        return opened

    async def open(self, ticket: TicketView) -> bool:
        """Open the ticket's topic; False if another worker does, or if Telegram failed."""
        if not await asyncio.to_thread(self.tickets.reserve_topic, ticket.id):
            return False  # another worker is opening it (or did)
        topic_id: int | None = None
        try:
            # Read again under the reservation: the summary must show the current state.
            ticket = await asyncio.to_thread(self.tickets.get, ticket.id)
            topic = await self.bot.create_forum_topic(
                self.group_id,
                topic_name(ticket, self.team_names),
                icon_color=ICON_CRISIS if ticket.urgency == Urgency.crisis else ICON_NORMAL,
            )
            topic_id = topic.message_thread_id
            message = await self.bot.send_message(
                self.group_id,
                self.summary(ticket),
                message_thread_id=topic_id,
                reply_markup=main_keyboard(ticket),
            )
            await asyncio.to_thread(self.tickets.set_topic, ticket.id, topic_id, message.message_id)
        except Exception as exc:
            delay = min(MAX_BACKOFF, 2 * self.backoff.get(ticket.id, (0.0, 1.0))[1])
            self.backoff[ticket.id] = (time.monotonic() + delay, delay)
            log.warning(
                "could not open the topic of ticket %s (retry in %ss): %s", ticket.id, delay, exc
            )
            if topic_id is not None:
                await self.quietly(self.bot.delete_forum_topic(self.group_id, topic_id))
            try:
                await asyncio.to_thread(self.tickets.set_topic, ticket.id, None, None)
            except TicketNotFound:
                pass  # erased meanwhile
            return False
        self.backoff.pop(ticket.id, None)
        log.info("ticket %s: topic %s opened", ticket.id, topic_id)
        return True

    async def topic_of(self, ticket_id: int) -> tuple[TicketView, bool] | None:
        """The ticket as it is now with its topic (opened here if it has none: then True)."""
        deadline = time.monotonic() + TOPIC_WAIT
        while True:
            try:
                ticket = await asyncio.to_thread(self.tickets.get, ticket_id)
            except TicketNotFound:
                return None  # erased meanwhile
            if ticket.topic_id is None:
                if not ticket.is_open:
                    return None
                if await self.open(ticket):
                    return await asyncio.to_thread(self.tickets.get, ticket_id), True
                if ticket_id in self.backoff:
                    return None  # Telegram refused: the sweep will try again later
            if ticket.topic_id and ticket.topic_message_id:
                return ticket, False
            if time.monotonic() > deadline:  # reserved (0) by a worker that is not done
                log.warning("ticket %s: its topic is still being opened, event dropped", ticket_id)
                return None
            await asyncio.sleep(0.2)

    # Keeping it in sync ------------------------------------------------------------------
    def summary(self, ticket: TicketView) -> str:
        return summary_text(ticket, self.team_names, self.outcomes, self.tz)

    async def rename(self, ticket: TicketView) -> None:
        if ticket.topic_id:
            name = topic_name(ticket, self.team_names)
            await self.quietly(self.bot.edit_forum_topic(self.group_id, ticket.topic_id, name))

    async def refresh(self, ticket: TicketView, markup: InlineKeyboardMarkup | None = None) -> None:
        """Edit the summary message to the ticket's current state (and buttons)."""
        if not ticket.topic_message_id:
            return
        await self.quietly(
            self.bot.edit_message_text(
                self.summary(ticket),
                chat_id=self.group_id,
                message_id=ticket.topic_message_id,
                reply_markup=markup or main_keyboard(ticket),
            )
        )

    async def close(self, topic_id: int) -> None:
        await self.quietly(self.bot.close_forum_topic(self.group_id, topic_id))

    async def delete(self, topic_id: int) -> None:
        await self.quietly(self.bot.delete_forum_topic(self.group_id, topic_id))

    # Posting -----------------------------------------------------------------------------
    async def post(self, topic_id: int | None, text: str, reply_to: int | None = None) -> None:
        """Post in a topic (None: the general topic), in several messages if needed; waits
        out flood control."""
        for index, chunk in enumerate(split_text(text)):
            reply = (
                ReplyParameters(reply_to, allow_sending_without_reply=True)
                if reply_to and index == 0
                else None
            )
            for attempt in range(1, MAX_SEND_ATTEMPTS + 1):
                try:
                    await self.bot.send_message(
                        self.group_id, chunk, message_thread_id=topic_id, reply_parameters=reply
                    )
                    break
                except RetryAfter as exc:
                    delay = exc.retry_after
                    seconds = delay.total_seconds() if hasattr(delay, "total_seconds") else delay
                    if attempt == MAX_SEND_ATTEMPTS or float(seconds) > MAX_RETRY_AFTER:
                        log.warning("topic %s: message dropped (flood control)", topic_id)
                        return
                    await asyncio.sleep(float(seconds))
                except TelegramError as exc:
                    log.warning("could not post in topic %s: %s", topic_id, exc)
                    return

    async def post_with_buttons(
        self, topic_id: int, text: str, markup: InlineKeyboardMarkup
    ) -> None:
        """Post one message with inline buttons in a topic (a question to answer there)."""
        try:
            await self.bot.send_message(
                self.group_id, text[:4096], message_thread_id=topic_id, reply_markup=markup
            )
        except TelegramError as exc:
            log.warning("could not post in topic %s: %s", topic_id, exc)

    async def quietly(self, call: Any) -> None:
        """Run a Telegram call whose failure changes nothing (e.g. "message is not modified")."""
        try:
            await call
        except BadRequest as exc:
            if "not modified" not in str(exc).lower():
                log.info("counsellors' group: %s", exc)
        except TelegramError as exc:
            log.warning("counsellors' group: %s", exc)
