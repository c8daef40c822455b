"""What counsellors do about appointments in their Telegram group: `/rdv` in a ticket's topic
(propose one) and the attendance buttons (handoff/bridge/appointments.py has the texts and
the parsing). Called by GroupHandlers (handlers.py) once the update is known to be a
registered counsellor's; every write goes through the appointment desk with via="telegram",
whose listeners post the result in the topic."""

from __future__ import annotations

import asyncio
import logging
from datetime import tzinfo
from typing import Any

from telegram import Message

from bot.telegram import button_title
from handoff.accounts import AccountService, CounsellorRef
from handoff.appointments import (
    AppointmentDesk,
    AppointmentNotFound,
    OutsideOpeningHours,
)
from handoff.appointments.views import MARKS
from handoff.bridge.appointments import (
    ALREADY_MARKED,
    MARK_TITLES,
    MARKED,
    OUTSIDE_HOURS,
    PressLocks,
    RdvError,
    parse_attendance,
    parse_rdv,
    usage,
)
from handoff.bridge.topics import ForumTopics
from handoff.permissions import Action
from handoff.tickets import TicketError, TicketNotFound, TicketView, refused

log = logging.getLogger(__name__)

BUTTON_INVALID = "Ce bouton n'est pas (ou plus) valable."


class AppointmentHandlers:
    def __init__(
        self,
        group_id: int,
        desk: AppointmentDesk,
        accounts: AccountService,
        topics: ForumTopics,
        tz: tzinfo,
    ) -> None:
        self.group_id = group_id
        self.accounts = accounts
        self.desk = desk
        self.appointments = desk.appointments
        self.tickets = desk.tickets
        self.sites = desk.appointments.sites
        self.topics = topics
        self.tz = tz
        self.locks = PressLocks()

    # /rdv -----------------------------------------------------------------------------------
    async def command(
        self,
        ticket: TicketView,
        counsellor: CounsellorRef,
        force: bool,
        args: str,
        thread: int,
        reply_to: int,
    ) -> None:
        """`/rdv <args>` (or `/rdv! <args>`, outside opening hours) in the ticket's topic."""
        post = self.topics.post
        error = refused(counsellor, ticket, Action.appointment)
        if error is not None:
            await post(thread, str(error), reply_to)
            return
        try:
            command = parse_rdv(
                args, now=self.appointments.now(), tz=self.tz, sites=self.sites, force=force
            )
        except RdvError as exc:
            await post(thread, f"{exc}\n\n{usage(self.sites, ticket.team)}", reply_to)
            return
        try:
            await self.desk.propose(ticket.id, counsellor, command.draft, via="telegram")
        except OutsideOpeningHours:
            await post(thread, OUTSIDE_HOURS.format(args=command.args), reply_to)
        except TicketError as exc:
            await post(thread, str(exc), reply_to)

    # Attendance buttons ------------------------------------------------------------------------
    async def button(self, query: Any, counsellor: CounsellorRef, answer: Any) -> None:
        """An attendance button pressed by a registered counsellor (`answer(text, alert)`)."""
        data = query.data or ""
        message = query.message if isinstance(query.message, Message) else None
        parsed = parse_attendance(data)
        if message is None or parsed is None or button_title(message, data) is None:
            await answer(BUTTON_INVALID, True)
            return
        appointment_id, status = parsed
        async with self.locks(appointment_id):
            try:  # need to know: another team's appointment is as unknown as an erased one
                view = await asyncio.to_thread(self.appointments.get, appointment_id, counsellor)
                ticket = await asyncio.to_thread(self.tickets.get, view.ticket_id)
            except (AppointmentNotFound, TicketNotFound):
                await answer(BUTTON_INVALID, True)
                return
            if not ticket.topic_id or message.message_thread_id != ticket.topic_id:
                await answer(BUTTON_INVALID, True)
                return
            if view.status in MARKS and view.marked_at is not None:
                await answer(ALREADY_MARKED.format(label=MARK_TITLES[view.status]), False)
                marker = view.marked_by_id
                who = await asyncio.to_thread(self.accounts.get, marker) if marker else None
                await self._close(message, view.status, who.first_name if who else None)
                return
            error = refused(counsellor, ticket, Action.attendance)
            if error is not None:
                await answer(str(error), True)
                return
            try:
                marked = await self.desk.mark(appointment_id, counsellor, status, via="telegram")
            except TicketError as exc:
                await answer(str(exc), True)
                return
        await answer(MARKED.format(label=MARK_TITLES[marked.status]), False)
        await self._close(message, marked.status, counsellor.first_name)

    async def _close(self, message: Message, status: Any, who: str | None) -> None:
        """The question answered: its buttons removed, what was said written under it."""
        by = f" (par {who})" if who else ""
        text = f"{message.text or ''}\n✅ {MARK_TITLES.get(status, str(status))}{by}"
        await self.topics.quietly(
            self.topics.bot.edit_message_text(
                text[:4096],
                chat_id=self.group_id,
                message_id=message.message_id,
                reply_markup=None,
            )
        )
