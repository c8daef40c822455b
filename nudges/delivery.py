"""Delivery of what a due follow-up sends: to the young person on their channel (an engine
response, or a counsellor's scheduled message; Telegram, or the web chat's outbox), or to the
counsellors of a ticket (through the hand-off desk, which tells the bridge). Telegram's 403
and 429 become `RecipientBlocked` and `RateLimited`, which the sweeper (nudges/sweeper.py)
acts on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from telegram.error import Forbidden, RetryAfter

from bot.messages import Reply, replies_from_engine
from core.models import Channel, Direction, Origin
from core.people import LoggedMessage, PeopleService
from handoff.tickets import TicketNotFound
from nudges.contract import (
    AppointmentDue,
    CounsellorNotice,
    DirectMessage,
    EngineNudge,
    Outgoing,
    YouthReplies,
)
from nudges.store import FollowUpJob

if TYPE_CHECKING:
    from bot.engine_client import Engine
    from bot.telegram import TelegramChannel
    from handoff.appointments import AppointmentDesk
    from handoff.desk import HandoffDesk
    from handoff.tickets import TicketService

log = logging.getLogger(__name__)


class ExposureRecorder(Protocol):
    """Records which wording variants a young person was shown (studio's experiments)."""

    def record(self, person_id: int, texts: list[str]) -> object: ...


class WebPush(Protocol):
    """Pushes replies to a web chat young person's outbox (bot/webchat: WebChatSessions)."""

    async def push_to(self, person_id: int, replies: Sequence[Reply]) -> None: ...


class RecipientBlocked(Exception):
    """The person blocked the bot (Telegram 403): nothing can reach them any more."""


class RateLimited(Exception):
    """Flood control (Telegram 429): try again after `retry_after` seconds."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"retry after {retry_after}s")
        self.retry_after = retry_after


class Undeliverable(Exception):
    """This job can never be delivered here (e.g. a Telegram person while Telegram is off)."""


class Deliver(Protocol):
    async def __call__(self, job: FollowUpJob, outgoing: Outgoing) -> None:
        """Send `outgoing`; raise RecipientBlocked, RateLimited, Undeliverable or anything."""
        ...


def _seconds(delay: Any) -> float:
    return float(delay.total_seconds() if hasattr(delay, "total_seconds") else delay)


class ChannelDelivery:
    """Sends what the policies decided: to the young person on their channel (an engine
    response or a counsellor's text), or to the counsellors of a ticket."""

    def __init__(
        self,
        *,
        people: PeopleService,
        tickets: TicketService,
        desk: HandoffDesk,
        engine: Engine,
        telegram: TelegramChannel | None = None,
        experiments: ExposureRecorder | None = None,
        appointments: AppointmentDesk | None = None,
        web: WebPush | None = None,
    ) -> None:
        self.people = people
        self.tickets = tickets
        self.desk = desk
        self.engine = engine
        self.telegram = telegram
        self.experiments = experiments  # records the wording variants a nudge showed
        self.appointments = appointments  # asks the counsellors to mark attendance
        self.web = web  # the web chat's outbox (its page shows it live or on return)

    async def __call__(self, job: FollowUpJob, outgoing: Outgoing) -> None:
        if isinstance(outgoing, CounsellorNotice):
            await self._to_counsellors(outgoing)
            return
        if isinstance(outgoing, AppointmentDue):
            if self.appointments is None:
                raise Undeliverable("no appointment desk")
            await self.appointments.due(outgoing.appointment_id)
            return
        if isinstance(outgoing, EngineNudge):
            items = await self.engine.trigger(job.pseudo_id, outgoing.intent, outgoing.entities)
            replies = replies_from_engine(items)
            if not replies:
                log.warning("follow-up %s: the engine said nothing for %s", job.id, outgoing.intent)
                return
        elif isinstance(outgoing, DirectMessage):
            replies = [Reply(outgoing.text)]
        elif isinstance(outgoing, YouthReplies):
            replies = list(outgoing.replies)
        else:
            raise Undeliverable(f"unknown outgoing {outgoing!r}")
        await self._to_youth(job, replies)
        if isinstance(outgoing, EngineNudge) and self.experiments is not None:
            await self._exposures(job, replies)
        if isinstance(outgoing, DirectMessage) and job.ticket_id is not None:
            return  # a counsellor's message: FollowUpRules.after_sent keeps it in the ticket
        try:  # it is sent: a failure to record it must not send it again
            await self._record(job, [reply.text for reply in replies])
        except Exception:
            log.exception("follow-up %s sent but not recorded", job.id)

    async def _exposures(self, job: FollowUpJob, replies: list[Reply]) -> None:
        assert self.experiments is not None
        try:  # analytics: a failure here must not make the nudge count as unsent
            await asyncio.to_thread(
                self.experiments.record, job.person_id, [reply.text for reply in replies]
            )
        except Exception:
            log.exception("follow-up %s: wording variants not recorded", job.id)

    async def _to_youth(self, job: FollowUpJob, replies: list[Reply]) -> None:
        if job.channel == Channel.telegram:
            if self.telegram is None:
                raise Undeliverable("Telegram is off (no TELEGRAM_BOT_TOKEN)")
            try:
                await self.telegram.push(int(job.channel_user_id), replies)
            except Forbidden as exc:
                raise RecipientBlocked(str(exc)) from exc
            except RetryAfter as exc:
                raise RateLimited(_seconds(exc.retry_after)) from exc
        elif job.channel == Channel.web:
            if self.web is None:
                raise Undeliverable("no web chat outbox")
            await self.web.push_to(job.person_id, replies)
        # The simulator and the terminal have no push: they read what is stored (the
        # simulator polls the messages of the person's ticket).

    async def _record(self, job: FollowUpJob, texts: list[str]) -> None:
        if job.ticket_id is not None:
            try:
                ticket = await asyncio.to_thread(self.tickets.get, job.ticket_id)
            except TicketNotFound:
                pass
            else:  # in the ticket's transcript, and shown to its counsellors
                await self.desk.bot_said(ticket, texts)
                return
        logged = [LoggedMessage(Direction.outgoing, Origin.bot, text) for text in texts]
        await asyncio.to_thread(self.people.log_messages, job.person_id, logged)  # consent-aware

    async def _to_counsellors(self, notice: CounsellorNotice) -> None:
        # A note of the ticket without author (the dashboard shows it); the desk's listeners
        # post it (the bridge, in the ticket's topic).
        await self.desk.reminder(notice.ticket_id, notice.text)
