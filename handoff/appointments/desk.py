"""The appointment desk: what happens around an appointment operation, for every entry point.

Counsellors propose, cancel and mark (dashboard, REST API, counsellors' bridge); the young
person answers with buttons, cancels ("je peux plus venir") and gives their availability
(bot/appointments.py). The desk runs the service (off the event loop), tells the young person
what they need to know on their channel (kept in the ticket's transcript), and tells the
ticket's listeners (HandoffDesk.notify: the bridge posts it, the follow-up rules schedule the
reminders), with `appointment=<AppointmentView>` in the event data. Event kinds:
appointment_proposed, appointment_cancelled, appointment_marked, appointment_answered
(data `answer`: ok / change / unsure), appointment_availability (data `text`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bot.messages import Button, Document, Reply
from core.models import AppointmentStatus, Channel
from handoff.accounts import CounsellorRef
from handoff.appointments.ics import appointment_ics, ics_filename
from handoff.appointments.service import AppointmentService
from handoff.appointments.views import (
    AppointmentConflict,
    AppointmentDraft,
    AppointmentNotFound,
    AppointmentView,
)
from handoff.appointments.wording import (
    STOP_CANCEL_INTENT,
    STOP_KEEP_INTENT,
    AppointmentWording,
    clock_time,
    payload,
    when,
)
from handoff.desk import HandoffDesk

log = logging.getLogger(__name__)

# Sends replies (text, buttons, documents) to a young person on one channel.
ReplySender = Callable[[str, list[Reply]], Awaitable[bool]]
COUNSELLOR = "ton ou ta conseiller·e"


class AppointmentDesk:
    def __init__(
        self,
        appointments: AppointmentService,
        desk: HandoffDesk,
        wording: AppointmentWording,
        *,
        organisation: str,
        host: str,
    ) -> None:
        self.appointments = appointments
        self.desk = desk
        self.tickets = desk.tickets
        self.wording = wording
        self.organisation = organisation
        self.host = host  # the app's host name, for the .ics UID
        self._senders: dict[str, ReplySender] = {}

    def register_sender(self, channel: Channel, sender: ReplySender) -> None:
        self._senders[str(channel)] = sender

    # Counsellors -------------------------------------------------------------------------
    async def propose(
        self, ticket_id: int, actor: CounsellorRef, draft: AppointmentDraft, via: str
    ) -> AppointmentView:
        view, replaced = await asyncio.to_thread(
            self.appointments.propose, ticket_id, actor, draft, via
        )
        now = self.appointments.now()
        await self._tell(view, self.wording.proposal(view, actor.first_name, now, replaced))
        if replaced is not None:
            await self._notify("appointment_cancelled", replaced, actor, via, replaced_by=view.id)
        await self._notify("appointment_proposed", view, actor, via)
        return view

    async def cancel(self, appointment_id: int, actor: CounsellorRef, via: str) -> AppointmentView:
        view = await asyncio.to_thread(self.appointments.cancel, appointment_id, actor, via)
        text = self.wording("cancelled_by_counsellor", when=self._when(view), name=actor.first_name)
        await self._tell(view, [Reply(text)])
        await self._notify("appointment_cancelled", view, actor, via)
        return view

    async def mark(
        self, appointment_id: int, actor: CounsellorRef, status: AppointmentStatus | str, via: str
    ) -> AppointmentView:
        view = await asyncio.to_thread(self.appointments.mark, appointment_id, actor, status, via)
        await self._notify("appointment_marked", view, actor, via)
        return view

    def ics(self, view: AppointmentView) -> Document:
        site = self.wording.sites.get(view.site_id)
        text = appointment_ics(
            view,
            organisation=self.organisation,
            site=site,
            host=self.host,
            now=self.appointments.now(),
        )
        return Document(ics_filename(view), text, "text/calendar")

    # The young person ----------------------------------------------------------------------
    async def youth_answer(self, person_id: int, appointment_id: int, answer: str) -> list[Reply]:
        """A proposal's button: the answer recorded, what to say back (the counsellors are
        told through the listeners)."""
        try:
            view = await asyncio.to_thread(
                self.appointments.answer, person_id, appointment_id, answer
            )
        except (AppointmentNotFound, AppointmentConflict):
            return [Reply(self.wording("closed"))]
        name = view.counsellor_name or COUNSELLOR
        if answer == "ok":
            text = self.wording("confirmed", when=self._when(view))
            replies = [Reply(text, documents=(self.ics(view),))]
        elif answer == "change":
            replies = [Reply(self.wording("change_asked", name=name))]
        else:
            replies = [Reply(self.wording("unsure"))]
        await self._log(view, replies)
        await self._notify("appointment_answered", view, None, "bot", answer=answer)
        return replies

    async def awaiting_availability(self, person_id: int) -> AppointmentView | None:
        """The appointment whose change the young person asked for and whose availability they
        have not written yet: their next message is it."""
        view = await asyncio.to_thread(self.appointments.next_of_person, person_id)
        if view is not None and view.status == AppointmentStatus.change_requested:
            return view if view.youth_reply is None else None
        return None

    async def youth_availability(self, view: AppointmentView, text: str) -> list[Reply]:
        updated = await asyncio.to_thread(
            self.appointments.youth_reply, view.person_id, view.id, text
        )
        replies = [Reply(self.wording("change_sent", name=updated.counsellor_name or COUNSELLOR))]
        await self._log(updated, replies)
        await self._notify("appointment_availability", updated, None, "bot", text=text)
        return replies

    async def youth_cancel(self, person_id: int, appointment_id: int | None = None) -> list[Reply]:
        """ "Je peux plus venir": the slot is freed and the counsellors told at once."""
        try:
            view = await asyncio.to_thread(
                self.appointments.youth_cancel, person_id, appointment_id
            )
        except AppointmentNotFound:
            view = None
        if view is None:
            return [Reply(self.wording("nothing_to_cancel"))]
        text = self.wording(
            "cancelled_by_youth", when=self._when(view), name=view.counsellor_name or COUNSELLOR
        )
        replies = [Reply(text)]
        await self._log(view, replies)
        await self._notify("appointment_cancelled", view, None, "bot", by="youth")
        return replies

    async def upcoming(self, person_id: int) -> AppointmentView | None:
        """The person's next appointment still ahead, if any."""
        return await asyncio.to_thread(self.appointments.next_of_person, person_id)

    async def after_stop(self, person_id: int) -> list[Reply]:
        """After /stop: a confirmed or proposed appointment ahead is kept (with its reminder)
        unless the young person says to cancel it too: ask them. Nothing when the person is
        not opted out (a /stop held while the engine was down, or "stop" to the questions)."""
        if not await asyncio.to_thread(self.appointments.opted_out, person_id):
            return []
        view = await asyncio.to_thread(self.appointments.next_of_person, person_id)
        if view is None:
            return []
        buttons = (
            Button(self.wording("stop_keep"), payload(STOP_KEEP_INTENT, view.id)),
            Button(self.wording("stop_cancel"), payload(STOP_CANCEL_INTENT, view.id)),
        )
        return [Reply(self.wording("stop_keep_ask", when=self._when(view)), buttons)]

    async def youth_keep(self, person_id: int, appointment_id: int) -> list[Reply]:
        """ "Garder le rdv" after /stop: nothing changes, the reminders stay."""
        try:
            view = await asyncio.to_thread(self.appointments.get_own, person_id, appointment_id)
        except AppointmentNotFound:
            return [Reply(self.wording("closed"))]
        if not view.active or view.starts_at <= self.appointments.now():
            return [Reply(self.wording("closed"))]
        replies = [Reply(self.wording("stop_kept"))]
        await self._log(view, replies)
        return replies

    async def due(self, appointment_id: int) -> AppointmentView | None:
        """Its time has passed and nobody marked it: a note on the ticket asks the counsellors,
        and the listeners are told (`appointment_unmarked`: the bridge posts attendance
        buttons). None when it no longer needs marking."""
        view = await asyncio.to_thread(self.appointments.get, appointment_id)
        if not view.needs_marking(self.appointments.now()):
            return None
        at = clock_time(view.starts_at, self.wording.tz)
        text = f"Rendez-vous de {at} passé : dis s'il a eu lieu (venu·e, pas venu·e, reporté)."
        await asyncio.to_thread(self.tickets.system_note, view.ticket_id, text)
        await self._notify("appointment_unmarked", view, None, "system", text=text)
        return view

    def missed(self) -> Reply:
        """The kind nudge the day after a missed appointment."""
        return Reply(self.wording("missed"))

    def reminder(self, view: AppointmentView) -> Reply:
        return self.wording.reminder(
            view, view.counsellor_name or COUNSELLOR, self.appointments.now()
        )

    # Internals -------------------------------------------------------------------------------
    def _when(self, view: AppointmentView) -> str:
        return when(view.starts_at, self.appointments.now(), self.wording.tz)

    async def _tell(self, view: AppointmentView, replies: list[Reply]) -> None:
        """Send to the young person on their channel, and keep it in the ticket's transcript."""
        await self._log(view, replies)
        target = await asyncio.to_thread(self.tickets.contact_of, view.ticket_id)
        if target is None:
            return
        sender = self._senders.get(target[0])
        if sender is None:
            return  # the simulator and the terminal read the stored messages
        try:
            await sender(target[1], replies)
        except Exception:  # a send failure must not undo the stored operation
            log.exception("could not deliver an appointment message on %s", target[0])

    async def _log(self, view: AppointmentView, replies: list[Reply]) -> None:
        for reply in replies:
            await asyncio.to_thread(self.tickets.log_bot_message, view.ticket_id, reply.text)

    async def _notify(
        self,
        kind: str,
        view: AppointmentView,
        actor: CounsellorRef | None,
        via: str,
        **data: object,
    ) -> None:
        ticket = await asyncio.to_thread(self.tickets.get, view.ticket_id)
        await self.desk.notify(kind, ticket, actor, appointment=view, via=via, **data)
