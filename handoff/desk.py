"""The hand-off desk: what happens around a ticket operation, for every entry point.

Every ticket write goes through the desk: the dashboard, the REST API and the Telegram
counsellors' bridge (counsellor operations), the conversation pipeline and the actions
(hand-off requests, crisis flags, messages relayed during a hand-off), the follow-up rules and
the sweeper (reminders, check-ins, tickets closed as unreachable). The desk runs the service
(one short transaction, off the event loop), then tells the young person what they need to
know (through the channel they wrote from) and tells listeners (the bridge, the follow-up
rules) so that every view stays in sync: no entry point can forget to. Need to know is the
service's: every counsellor operation reads the ticket as the counsellor first, so a ticket
they may not read fails as one that does not exist (handoff/permissions.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from core.models import Channel, Urgency
from core.text import storable
from handoff.accounts import CounsellorRef
from handoff.alarms import AlarmService
from handoff.requests import CrisisSignal, HandoffService, RequestRef, TriageSummary
from handoff.tickets import (
    MAX_TEXT,
    Delivery,
    NoteView,
    TicketInvalid,
    TicketService,
    TicketView,
)

log = logging.getLogger(__name__)

# Sends texts to a young person on one channel: (channel_user_id, texts) -> delivered?
Sender = Callable[[str, list[str]], Awaitable[bool]]


class TicketListener(Protocol):
    async def on_ticket_event(
        self, kind: str, ticket: TicketView, actor: CounsellorRef | None, data: dict[str, Any]
    ) -> None: ...


@dataclass(frozen=True)
class DeskTexts:
    """What the young person is told about their hand-off (from bot/texts.yml and settings);
    `{name}` is the counsellor's first name."""

    claimed: str
    closed: str
    already: str
    counsellor_prefix: str


class HandoffDesk:
    def __init__(
        self,
        tickets: TicketService,
        texts: DeskTexts,
        alarms: AlarmService | None = None,
        requests: HandoffService | None = None,
    ) -> None:
        self.tickets = tickets
        self.texts = texts
        self.alarms = alarms  # false alarms and crisis signals (None: not wired, e.g. tests)
        self.requests = requests  # hand-off requests (None: not wired, e.g. tests)
        self._senders: dict[str, Sender] = {}
        self._listeners: list[TicketListener] = []

    # Wiring ------------------------------------------------------------------------------
    def register_sender(self, channel: Channel, sender: Sender) -> None:
        self._senders[str(channel)] = sender

    def add_listener(self, listener: TicketListener) -> None:
        self._listeners.append(listener)

    # Counsellor operations ---------------------------------------------------------------
    async def claim(self, ticket_id: int, actor: CounsellorRef, via: str) -> TicketView:
        view = await asyncio.to_thread(self.tickets.claim, ticket_id, actor, via)
        await self._tell_youth(view, self.texts.claimed.format(name=actor.first_name))
        await self._notify("claimed", view, actor, via=via)
        return view

    async def release(self, ticket_id: int, actor: CounsellorRef, via: str) -> TicketView:
        view = await asyncio.to_thread(self.tickets.release, ticket_id, actor, via)
        await self._notify("released", view, actor, via=via)
        return view

    async def transfer(
        self,
        ticket_id: int,
        actor: CounsellorRef,
        *,
        to_counsellor: CounsellorRef | None = None,
        to_team: str | None = None,
        via: str,
    ) -> TicketView:
        view = await asyncio.to_thread(
            lambda: self.tickets.transfer(
                ticket_id, actor, to_counsellor=to_counsellor, to_team=to_team, via=via
            )
        )
        await self._notify("transferred", view, actor, via=via, to_team=to_team)
        return view

    async def reply(self, ticket_id: int, actor: CounsellorRef, text: str, via: str) -> Delivery:
        """Store the counsellor's message, then send it to the young person, signed."""
        delivery = await asyncio.to_thread(self.tickets.reply, ticket_id, actor, text, via)
        signed = self.sign(actor, delivery.text)
        await self._send(delivery.channel, delivery.channel_user_id, [signed])
        await self._notify("replied", delivery.ticket, actor, via=via, text=delivery.text)
        if await asyncio.to_thread(self.tickets.contact_of, ticket_id) is None:
            # Telegram just answered 403: this message did not reach them, and none will.
            note = await asyncio.to_thread(
                self.tickets.system_note,
                ticket_id,
                "Message non remis : le jeune a bloqué le bot. Tu peux clôturer le ticket "
                "(injoignable).",
            )
            view = await asyncio.to_thread(self.tickets.get, ticket_id)
            await self._notify("noted", view, None, via="system", text=note.text)
        return delivery

    async def add_note(self, ticket_id: int, actor: CounsellorRef, text: str, via: str) -> NoteView:
        note = await asyncio.to_thread(self.tickets.add_note, ticket_id, actor, text, via)
        view = await asyncio.to_thread(self.tickets.get, ticket_id)
        await self._notify("noted", view, actor, via=via, text=note.text)
        return note

    async def set_follow_up(
        self,
        ticket_id: int,
        actor: CounsellorRef,
        when: datetime | None,
        via: str,
        message: str | None = None,
    ) -> TicketView:
        """Set (or clear) the follow-up date; `message`, if any, goes to the young person on
        that date, signed like a reply (listeners schedule it: nudges/rules.py)."""
        text = storable(message or "").strip() if when is not None else ""
        if len(text) > MAX_TEXT:
            raise TicketInvalid(f"Message trop long ({len(text)} caractères, {MAX_TEXT} max).")
        view = await asyncio.to_thread(self.tickets.set_follow_up, ticket_id, actor, when, via)
        signed = self.sign(actor, text) if text else None
        await self._notify("follow_up_set", view, actor, via=via, message=signed)
        return view

    def sign(self, actor: CounsellorRef, text: str) -> str:
        """A counsellor's message as the young person sees it (who is writing, then the text)."""
        return f"{self.texts.counsellor_prefix.format(name=actor.first_name)} :\n{text}"

    async def resolve(
        self,
        ticket_id: int,
        actor: CounsellorRef,
        outcome: str,
        comment: str | None,
        via: str,
    ) -> TicketView:
        before = await asyncio.to_thread(lambda: self.tickets.get(ticket_id, viewer=actor))
        view = await asyncio.to_thread(
            self.tickets.resolve, ticket_id, actor, outcome, comment, via
        )
        if before.relaying:
            name = view.assignee_name or actor.first_name
            await self._tell_youth(view, self.texts.closed.format(name=name))
        await self._notify("resolved", view, actor, via=via, outcome=outcome)
        return view

    async def false_alarm(
        self, ticket_id: int, actor: CounsellorRef, reason: str, via: str
    ) -> TicketView:
        """The urgent ticket was a false alarm: back to normal priority, the message that
        raised it goes to the managers' inbox (handoff/alarms.py). The young
        person is told nothing (the helplines they got stay valid)."""
        if self.alarms is None:
            raise RuntimeError("the desk has no alarm service")
        alarms = self.alarms
        view = await asyncio.to_thread(alarms.false_alarm, ticket_id, actor, reason, via)
        await self._notify("false_alarm", view, actor, via=via, reason=storable(reason).strip())
        return view

    # Young person side -------------------------------------------------------------------
    async def relaying_ticket(self, person_id: int) -> TicketView | None:
        return await asyncio.to_thread(self.tickets.relaying_ticket, person_id)

    async def youth_message(self, ticket: TicketView, text: str) -> TicketView:
        """Pass a young person's message to their counsellor."""
        view = await asyncio.to_thread(self.tickets.youth_message, ticket.id, text)
        await self._notify("youth_message", view, None, text=text)
        return view

    async def bot_said(self, ticket: TicketView, texts: list[str]) -> None:
        """Record (and show counsellors) what the bot told the person during the hand-off."""
        for text in texts:
            await asyncio.to_thread(self.tickets.log_bot_message, ticket.id, text)
        view = await asyncio.to_thread(self.tickets.get, ticket.id)
        await self._notify("bot_message", view, None, texts=texts)

    async def request(self, pseudo_id: str, summary: TriageSummary, **options: Any) -> RequestRef:
        """A hand-off request (triage, "parler à quelqu'un", crisis): the request and its
        ticket are stored (`HandoffService.request`, same options), then listeners hear that
        the ticket was created, escalated or updated."""
        if self.requests is None:
            raise RuntimeError("the desk has no hand-off request service")
        requests = self.requests
        ref = await asyncio.to_thread(lambda: requests.request(pseudo_id, summary, **options))
        await self.ticket_changed(ref.ticket_id, ref.change)
        return ref

    async def raise_crisis(
        self, pseudo_id: str, text: str, kind: str, *, reason: str
    ) -> RequestRef:
        """An urgent hand-off raised by the app's own crisis check (the conversation pipeline:
        `reason` "pattern" during a hand-off, "app_check" when the engine is down): the message
        that raised it goes on the ticket, even without consent (vital interest)."""
        return await self.request(
            pseudo_id,
            TriageSummary(excerpt=text),
            source="crisis",
            urgency=Urgency.crisis,
            crisis_kind=kind,
            signal=CrisisSignal(text=text, tier="high", reason=reason, kind=kind),
        )

    async def flag(self, pseudo_id: str, signal: CrisisSignal) -> None:
        """A worrying message the young person then said was fine (`HandoffService.flag`):
        kept on their open ticket or the next one; no ticket changes state, nobody is told."""
        if self.requests is None:
            raise RuntimeError("the desk has no hand-off request service")
        await asyncio.to_thread(self.requests.flag, pseudo_id, signal)

    async def reminder(self, ticket_id: int, text: str) -> NoteView:
        """A scheduled reminder for the counsellors of a ticket: a note without author on the
        ticket (the dashboard shows it), and listeners post it (the bridge, in the topic)."""
        note = await asyncio.to_thread(self.tickets.system_note, ticket_id, text)
        view = await asyncio.to_thread(self.tickets.get, ticket_id)
        await self._notify("reminder", view, None, via="system", text=note.text)
        return note

    async def youth_correction(self, ticket_id: int, text: str) -> NoteView:
        """The young person corrected their summary (/corriger, handoff/corrections.py): a
        note without author on the ticket, and listeners post it (the bridge, in the topic)."""
        note = await asyncio.to_thread(self.tickets.system_note, ticket_id, text, "bot")
        view = await asyncio.to_thread(self.tickets.get, ticket_id)
        await self._notify("youth_correction", view, None, via="bot", text=note.text)
        return note

    async def follow_up_sent(self, ticket_id: int, text: str) -> None:
        """A counsellor's scheduled message was sent to the young person: it goes in the
        ticket's transcript."""
        await asyncio.to_thread(self.tickets.log_bot_message, ticket_id, text)
        view = await asyncio.to_thread(self.tickets.get, ticket_id)
        await self._notify("follow_up_sent", view, None, text=text)

    async def close_unreachable(self, ticket_id: int) -> TicketView:
        """The young person could not be reached: the ticket is closed (`system`)."""
        view = await asyncio.to_thread(self.tickets.close_unreachable, ticket_id)
        await self._notify("closed_unreachable", view, None)
        return view

    async def record_checkin(self, pseudo_id: str, answer: str) -> TicketView | None:
        """The young person's answer to the check-in after a positive outcome, on their latest
        resolved ticket (None if they have none)."""
        view = await asyncio.to_thread(self.tickets.record_checkin, pseudo_id, answer)
        if view is not None:
            await self._notify("checkin_answered", view, None, answer=answer)
        return view

    async def ticket_changed(self, ticket_id: int, kind: str = "created") -> None:
        """Tell listeners that a ticket was opened, escalated or updated (after `request`)."""
        view = await asyncio.to_thread(self.tickets.get, ticket_id)
        await self._notify(kind, view, None)

    async def forget(self, pseudo_id: str, erase: Callable[[str], Any]) -> None:
        """Erase a person (`erase(pseudo_id)`), then have listeners drop what they showed of
        their tickets (the bridge deletes the forum topics)."""
        tickets = await asyncio.to_thread(self.tickets.tickets_of, pseudo_id)
        await asyncio.to_thread(erase, pseudo_id)
        for ticket in tickets:
            await self._notify("erased", ticket, None)

    async def notify(
        self, kind: str, ticket: TicketView, actor: CounsellorRef | None, **data: Any
    ) -> None:
        """Tell the listeners (bridge, follow-up rules) about something that happened on a
        ticket outside the desk's own operations (an appointment: handoff/appointments)."""
        await self._notify(kind, ticket, actor, **data)

    # Internals ---------------------------------------------------------------------------
    async def _tell_youth(self, ticket: TicketView, text: str) -> None:
        await asyncio.to_thread(self.tickets.log_bot_message, ticket.id, text)
        target = await asyncio.to_thread(self.tickets.contact_of, ticket.id)
        if target is not None:
            await self._send(target[0], target[1], [text])

    async def _send(self, channel: str, channel_user_id: str, texts: list[str]) -> bool:
        sender = self._senders.get(channel)
        if sender is None:
            return False  # simulator and terminal read stored messages instead
        try:
            return await sender(channel_user_id, texts)
        except Exception:  # a send failure must not undo a stored counsellor action
            log.exception("could not deliver a hand-off message on %s", channel)
            return False

    async def _notify(
        self, kind: str, ticket: TicketView, actor: CounsellorRef | None, **data: Any
    ) -> None:
        for listener in self._listeners:
            try:
                await listener.on_ticket_event(kind, ticket, actor, data)
            except Exception:
                log.exception("ticket listener %r failed on %s", listener, kind)
