"""What counsellors do in their Telegram group: buttons and messages in a ticket's topic.

- The buttons of the summary message: "Je prends" / "Libérer" / "Clôturer" (then one button
  per outcome, and "↩️ Retour").
- What a registered counsellor writes in the topic of a ticket they hold goes to the young
  person (`HandoffDesk.reply`); `/note <texte>` adds an internal note; `/fausse_alerte
  <raison>` marks an urgent ticket a false alarm (`HandoffDesk.false_alarm`).
- Appointments (handoff/bridge/appointment_handlers.py): `/rdv <date> <heure> <type> [mot]`
  proposes one, and the attendance buttons (Venu·e / Pas venu·e / Reporté) mark it.
- Telegram users who are not registered counsellors (`AccountService.by_telegram_user`) can
  neither press the buttons nor write to a young person.
Who may do what is the permission policy's (handoff/permissions.py); refusals are answered
here, in the group, before asking the desk. Need to know: a button of a ticket the counsellor
may not read answers as a button of a ticket that does not exist ("Ce bouton n'est pas (ou
plus) valable."), and what they write in its topic as if the ticket were gone ("Ticket #N
introuvable. Ton message n'a pas été transmis."): nothing reaches the young person or the
ticket, and nothing says whose ticket it is.

Updates from the counsellors' group are handled here only: the handler runs in a handler
group before the private-chat handlers of `bot/telegram.py` and stops the update there.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from telegram import Message, Update
from telegram.error import BadRequest
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.telegram import button_title
from handoff.accounts import AccountService, CounsellorRef
from handoff.bridge.appointment_handlers import AppointmentHandlers
from handoff.bridge.appointments import RDV_RE
from handoff.bridge.rendering import outcome_keyboard, parse_callback
from handoff.bridge.topics import ForumTopics
from handoff.desk import HandoffDesk
from handoff.permissions import Action, Refusal, may_see, refusal
from handoff.tickets import (
    TicketConflict,
    TicketError,
    TicketNotFound,
    TicketView,
    not_found,
    refused,
)

log = logging.getLogger(__name__)

NOTE_RE = re.compile(r"^/note(?:@\w+)?(?:\s+(.*))?$", re.DOTALL | re.IGNORECASE)
FALSE_ALARM_RE = re.compile(r"^/fausse_?alerte(?:@\w+)?(?:\s+(.*))?$", re.DOTALL | re.IGNORECASE)
COMMAND_RE = re.compile(r"^/[A-Za-z0-9_]{1,32}(?:@\w+)?(?:\s|$)")

# What counsellors read (French).
NOT_REGISTERED = (
    "Tu n'es pas enregistré·e comme conseiller·e : "
    "demande à un·e admin de lier ton compte Telegram."
)
BUTTON_INVALID = "Ce bouton n'est pas (ou plus) valable."
CLAIM_FIRST = "Appuie d'abord sur « Je prends » : ton message n'a pas été transmis."
HELD_BY = "{name} suit ce ticket : ton message n'a pas été transmis."
TICKET_CLOSED = "Ce ticket est clôturé : ton message n'a pas été transmis."
CLOSE_CLAIM_FIRST = "Prends le ticket avant de le clôturer."
NOT_SENT = "{error} Ton message n'a pas été transmis."
TEXT_ONLY = "Je ne transmets que du texte : ce message n'a pas été envoyé."
NOTE_EMPTY = "Écris la note après /note, par exemple : /note rappeler lundi."
UNKNOWN_COMMAND = (
    "Commande inconnue : ton message n'a pas été transmis. "
    "Ici, /note <texte> ajoute une note interne, /fausse_alerte <raison> repasse une urgence "
    "en priorité normale, /rdv <date> <heure> <type> propose un rendez-vous ; tout autre "
    "message va au jeune."
)
FALSE_ALARM_EMPTY = (
    "Dis pourquoi après /fausse_alerte, par exemple : "
    "/fausse_alerte « me tuer » voulait dire « mourir de rire »."
)


def reply_refusal(ticket: TicketView, counsellor: CounsellorRef) -> str | None:
    """Why what the counsellor wrote in the topic does not go to the young person (None: it
    does)."""
    why = refusal(counsellor, ticket, Action.reply)
    if why is None:
        return None
    if why == Refusal.need_to_know:
        return NOT_SENT.format(error=not_found(ticket.id))
    if why == Refusal.unclaimed:
        return CLAIM_FIRST
    if why == Refusal.closed:
        return TICKET_CLOSED
    return HELD_BY.format(name=ticket.assignee_name or "Un·e collègue")


def close_refusal(ticket: TicketView, counsellor: CounsellorRef) -> TicketError | None:
    """What `TicketService.resolve` would refuse after the outcome, refused at once."""
    if refusal(counsellor, ticket, Action.resolve) == Refusal.unclaimed:
        return TicketConflict(CLOSE_CLAIM_FIRST)
    return refused(counsellor, ticket, Action.resolve)


class GroupHandlers:
    def __init__(
        self,
        group_id: int,
        desk: HandoffDesk,
        accounts: AccountService,
        topics: ForumTopics,
        outcomes: dict[str, str],
        appointments: AppointmentHandlers | None = None,
    ) -> None:
        self.group_id = group_id
        self.appointments = appointments  # None: appointments not wired (some tests)
        self.desk = desk
        self.tickets = desk.tickets
        self.accounts = accounts
        self.topics = topics
        self.outcomes = outcomes

    async def on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = update.effective_chat
        if chat is None or chat.id != self.group_id:
            return  # not ours: the private-chat handlers decide
        try:
            if update.callback_query is not None:
                await self._on_button(update.callback_query)
            elif update.message is not None:
                await self._on_message(update.message)
        except Exception:
            log.exception("counsellors' bridge: an update from the group failed")
        raise ApplicationHandlerStop  # the group's updates never reach the young people's handlers

    async def _answer(self, query: Any, text: str | None, *, alert: bool = False) -> None:
        try:
            await query.answer(text=text, show_alert=alert)
        except BadRequest as exc:  # too old: nothing more to do
            log.info("callback query not answered: %s", exc)

    async def _on_button(self, query: Any) -> None:
        counsellor = await asyncio.to_thread(self.accounts.by_telegram_user, query.from_user.id)
        if counsellor is None:
            await self._answer(query, NOT_REGISTERED, alert=True)
            return
        data = query.data or ""
        if data.startswith("rv:") and self.appointments is not None:
            await self.appointments.button(
                query, counsellor, lambda text, alert: self._answer(query, text, alert=alert)
            )
            return
        message = query.message if isinstance(query.message, Message) else None
        parsed = parse_callback(data)
        if message is None or parsed is None or button_title(message, data) is None:
            await self._answer(query, BUTTON_INVALID, alert=True)
            return
        ticket_id, action, outcome = parsed
        try:  # need to know: another team's ticket is as unknown as an erased one
            ticket = await asyncio.to_thread(lambda: self.tickets.get(ticket_id, viewer=counsellor))
        except TicketNotFound:
            ticket = None
        if ticket is None or ticket.topic_message_id != message.message_id:
            await self._answer(query, BUTTON_INVALID, alert=True)
            return
        try:
            if action == "claim":
                await self.desk.claim(ticket_id, counsellor, via="telegram")
                await self._answer(query, f"Le ticket {ticket.reference} est à toi.")
            elif action == "release":
                await self.desk.release(ticket_id, counsellor, via="telegram")
                await self._answer(query, "Ticket remis dans la file.")
            elif action == "close":
                error = close_refusal(ticket, counsellor)
                if error is not None:
                    raise error
                await self.topics.refresh(ticket, outcome_keyboard(ticket, self.outcomes))
                await self._answer(query, "Choisis l'issue du ticket.")
            elif action == "back":
                await self.topics.refresh(ticket)
                await self._answer(query, None)
            else:
                assert outcome is not None
                await self.desk.resolve(ticket_id, counsellor, outcome, None, via="telegram")
                await self._answer(query, "Ticket clôturé.")
        except TicketError as exc:
            await self._answer(query, str(exc), alert=True)
            current = await asyncio.to_thread(self.tickets.get, ticket_id)
            await self.topics.refresh(current)  # the buttons may have been stale

    async def _on_message(self, message: Message) -> None:
        thread = message.message_thread_id if message.is_topic_message else None
        user = message.from_user
        if thread is None or user is None or user.is_bot:
            return  # the General topic is for the counsellors' own talk
        if message.text is None and message.effective_attachment is None:
            return  # service messages (topic renamed, member joined...)
        ticket = await asyncio.to_thread(self.tickets.by_topic, thread)
        if ticket is None:
            return  # a topic that is not a ticket's
        counsellor = await asyncio.to_thread(self.accounts.by_telegram_user, user.id)
        reply_to = message.message_id
        post = self.topics.post
        if counsellor is None:
            await post(thread, NOT_REGISTERED, reply_to)
            return
        if not may_see(counsellor, ticket.team, ticket.assignee_id):
            await post(thread, NOT_SENT.format(error=not_found(ticket.id)), reply_to)
            return
        if message.text is None:
            await post(thread, TEXT_ONLY, reply_to)
            return
        note = NOTE_RE.match(message.text.strip())
        if note is not None:
            body = (note.group(1) or "").strip()
            if not body:
                await post(thread, NOTE_EMPTY, reply_to)
                return
            try:
                await self.desk.add_note(ticket.id, counsellor, body, via="telegram")
            except TicketError as exc:
                await post(thread, str(exc), reply_to)
            return
        rdv = RDV_RE.match(message.text.strip())
        if rdv is not None and self.appointments is not None:
            await self.appointments.command(
                ticket, counsellor, bool(rdv.group(1)), rdv.group(2) or "", thread, reply_to
            )
            return
        alarm = FALSE_ALARM_RE.match(message.text.strip())
        if alarm is not None:
            reason = (alarm.group(1) or "").strip()
            if not reason:
                await post(thread, FALSE_ALARM_EMPTY, reply_to)
                return
            try:
                await self.desk.false_alarm(ticket.id, counsellor, reason, via="telegram")
            except TicketError as exc:
                await post(thread, str(exc), reply_to)
            return
        if COMMAND_RE.match(message.text):
            await post(thread, UNKNOWN_COMMAND, reply_to)
            return
        why_not = reply_refusal(ticket, counsellor)
        if why_not is not None:
            await post(thread, why_not, reply_to)
            return
        try:
            await self.desk.reply(ticket.id, counsellor, message.text, via="telegram")
        except TicketError as exc:
            await post(thread, NOT_SENT.format(error=exc), reply_to)
