"""Telegram counsellors' bridge: one forum topic per ticket in the counsellors' supergroup.

- A background task (started by `start`) opens a topic for every open ticket that has none
  (every `sweep_interval` seconds, and at once when the desk says a ticket was created or
  escalated). `TicketService.reserve_topic` makes sure two app workers never open two topics
  for one ticket; when Telegram fails, the reservation is released and retried later.
- The topic starts with a summary message (triage answers, status) carrying the buttons
  "Je prends" / "Libérer" / "Clôturer" (then one button per outcome). Its name says the ticket
  number, the first need and the territory: never who the young person is.
- What a registered counsellor writes in the topic of a ticket they hold goes to the young
  person (`HandoffDesk.reply`); what the young person writes, what the bot tells them during
  the hand-off, and what counsellors do on the web or through the API (desk events) is posted
  in the topic, and the summary is edited to match. Both sides read the same tickets.
- Telegram users who are not registered counsellors (`AccountService.by_telegram_user`) can
  neither press the buttons nor write to a young person.
- An urgent ticket's summary says the alert's tier, why it was raised and the message that
  raised it (kept even without consent, see handoff/signals.py), and "mineur·e";
  `/fausse_alerte <raison>` in its topic marks it a false alarm (`HandoffDesk.false_alarm`):
  the topic loses its 🔴 (the icon colour cannot change after creation).

Updates from the counsellors' group are handled here only: the handler runs in a handler
group before the private-chat handlers of `bot/telegram.py` and stops the update there.
Desk events are queued and posted by the background task, in order, so a slow Telegram
never slows down the dashboard.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyParameters,
    Update,
)
from telegram.error import BadRequest, RetryAfter, TelegramError
from telegram.ext import ApplicationHandlerStop, ContextTypes, TypeHandler

from bot.telegram import button_title, split_text
from core.models import TicketStatus, Urgency
from core.settings import Settings
from handoff.accounts import AccountService, CounsellorRef
from handoff.desk import HandoffDesk
from handoff.tickets import TicketError, TicketNotFound, TicketView

log = logging.getLogger(__name__)

HANDLER_GROUP = -10  # before bot/telegram.py's handlers (group 0)
SWEEP_INTERVAL = 2.0  # seconds between two looks for tickets without a topic
SWEEP_BATCH = 20
MAX_BACKOFF = 300.0  # seconds, between two attempts to open the topic of one ticket
TOPIC_WAIT = 5.0  # seconds to wait for a topic another worker is opening
STOP_TIMEOUT = 5.0
MAX_SEND_ATTEMPTS = 3
MAX_RETRY_AFTER = 30.0
TOPIC_NAME_LIMIT = 128
TZ = ZoneInfo("Europe/Paris")
ICON_NORMAL = 0x6FB9F0  # blue
ICON_CRISIS = 0xFB6F5F  # red
CRISIS_MARK = "🔴"

CALLBACK_RE = re.compile(r"^tk:(\d{1,12}):(claim|release|close|back|res:([a-z][a-z0-9_]{1,31}))$")
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
NOT_SENT = "{error} Ton message n'a pas été transmis."
TEXT_ONLY = "Je ne transmets que du texte : ce message n'a pas été envoyé."
NOTE_EMPTY = "Écris la note après /note, par exemple : /note rappeler lundi."
NOTE_SAVED = "📝 Note interne enregistrée (le jeune ne la voit pas)."
UNKNOWN_COMMAND = (
    "Commande inconnue : ton message n'a pas été transmis. "
    "Ici, /note <texte> ajoute une note interne, /fausse_alerte <raison> repasse une urgence "
    "en priorité normale ; tout autre message va au jeune."
)
FALSE_ALARM_EMPTY = (
    "Dis pourquoi après /fausse_alerte, par exemple : "
    "/fausse_alerte « me tuer » voulait dire « mourir de rire »."
)
CRISIS_LABELS = {
    "suicide": "idées suicidaires",
    "crisis_suicide": "idées suicidaires",
    "violence": "violences",
    "crisis_violence": "violences",
    "shelter": "sans endroit où dormir",
    "crisis_shelter": "sans endroit où dormir",
}
SOURCE_LABELS = {
    "triage": "après le questionnaire",
    "ask_human": "demande directe",
    "crisis": "message de crise",
    "fallback": "le bot n'a pas su répondre",
}
VIA_LABELS = {"telegram": "sur Telegram", "web": "sur le tableau de bord", "api": "par l'API"}
SKIPPED = "passé"  # what the triage stores for a question the person skipped
WRITER_LABELS = {"parent": "un parent", "proche": "un proche"}


# Rendering (pure functions) ---------------------------------------------------------------
def crisis_label(ticket: TicketView) -> str:
    kind = ticket.crisis_kind or ""
    return CRISIS_LABELS.get(kind, kind.replace("_", " ")) or "crise"


def needs_of(ticket: TicketView) -> list[str]:
    needs = ticket.summary.get("needs") or []
    if not isinstance(needs, list):
        needs = [needs]
    return [str(n) for n in needs if n and n != SKIPPED]


def topic_name(ticket: TicketView, team_names: dict[str, str]) -> str:
    """e.g. "🔴 #12 · logement · Lens-Liévin": the ticket, its first need and its territory,
    nothing that tells who the young person is."""
    needs = needs_of(ticket)
    need = needs[0] if needs else ("urgence" if ticket.urgency == Urgency.crisis else "demande")
    place = ticket.territory or team_names.get(ticket.team, ticket.team)
    name = f"{ticket.reference} · {need[:40]} · {place}"
    if ticket.urgency == Urgency.crisis:
        name = f"{CRISIS_MARK} {name}"
    return name[:TOPIC_NAME_LIMIT]


def local(moment: datetime) -> str:
    return moment.astimezone(TZ).strftime("%d/%m/%Y à %H:%M")


def status_line(ticket: TicketView, outcomes: dict[str, str]) -> str:
    if ticket.status == TicketStatus.new:
        return "🟢 Nouveau : personne ne l'a encore pris"
    if ticket.relaying:
        who = ticket.assignee_name or "un·e collègue"
        return f"👤 Pris en charge par {who} ({ticket.status_label})"
    if ticket.status == TicketStatus.resolved:
        label = outcomes.get(ticket.outcome or "", ticket.outcome or "sans issue")
        return f"✅ Clôturé : {label}"
    return f"✅ {ticket.status_label}"


def summary_text(ticket: TicketView, team_names: dict[str, str], outcomes: dict[str, str]) -> str:
    summary = ticket.summary

    def field(name: str) -> str:
        value = summary.get(name)
        return "—" if value in (None, "", SKIPPED) else str(value)

    crisis = ticket.urgency == Urgency.crisis
    head = (
        f"{CRISIS_MARK} URGENCE · Ticket {ticket.reference}"
        if crisis
        else f"📋 Ticket {ticket.reference}"
    )
    if ticket.minor:
        head += " · mineur·e"
    writer = WRITER_LABELS.get(str(summary.get("writer") or ""))
    if writer:
        head += f" · écrit par {writer}"
    excerpt = summary.get("excerpt")
    lines = [
        head,
        f"Équipe : {team_names.get(ticket.team, ticket.team)}"
        + (f" · {ticket.territory}" if ticket.territory else ""),
        f"Statut : {status_line(ticket, outcomes)}",
        "",
        f"Besoins : {', '.join(needs_of(ticket)) or '—'}",
        f"Âge : {field('age')}",
        f"Lieu : {field('location')}",
        f"Situation : {field('situation')}",
        f"Déjà suivi : {field('followed')}",
        f"Contact : {field('contact')}",
        f"Disponibilités : {field('availability')}",
        f"Téléphone : {field('phone')}",
        *question_lines(ticket),
        *urgency_lines(ticket),
        f"Extrait : « {excerpt} »" if excerpt else "Extrait : —",
        "",
        f"Demande : {SOURCE_LABELS.get(ticket.source, ticket.source)}"
        f" · ouverte le {local(ticket.created_at)}",
    ]
    if ticket.follow_up_at is not None and ticket.is_open:
        lines.append(f"Relance prévue le {local(ticket.follow_up_at)}")
    if ticket.is_open:
        lines += ["", "Écris dans ce sujet pour répondre au jeune (après « Je prends »)."]
    return "\n".join(lines)[:4096]


def question_lines(ticket: TicketView) -> list[str]:
    """ "Questions à reprendre :" and each question the bot could not answer, if any."""
    questions = ticket.summary.get("questions") or []
    if not isinstance(questions, list):
        questions = [questions]
    asked = [str(q) for q in questions if q and q != SKIPPED]
    if not asked:
        return []
    return ["Questions à reprendre :", *(f"• « {q} »" for q in asked)]


def urgency_lines(ticket: TicketView) -> list[str]:
    """Urgence : oui/non, the alert's tier and why, the message that raised it, the flags."""
    alert = ticket.alert
    if ticket.urgency == Urgency.crisis:
        lines = [f"Urgence : oui, {crisis_label(ticket)}"]
        if alert is not None:
            lines[0] += f" · niveau {alert.tier_label}"
            lines.append(f"Pourquoi : {alert.why}")
            if alert.text:
                lines.append(f"Message d'alerte : « {alert.text} »")
    elif ticket.crisis_kind:
        lines = [f"Urgence : non (fausse alerte : {crisis_label(ticket)})"]
    else:
        lines = ["Urgence : non"]
    if ticket.flags:
        several = "s" if ticket.flags > 1 else ""
        lines.append(
            f"Signaux : {ticket.flags} message{several} inquiétant{several}, "
            "puis le jeune a dit être en sécurité"
        )
    return lines


def callback(ticket_id: int, action: str) -> str:
    data = f"tk:{ticket_id}:{action}"
    assert len(data.encode()) <= 64, data
    return data


def main_keyboard(ticket: TicketView) -> InlineKeyboardMarkup | None:
    if not ticket.is_open:
        return None
    first = (
        InlineKeyboardButton("Je prends", callback_data=callback(ticket.id, "claim"))
        if ticket.status == TicketStatus.new
        else InlineKeyboardButton("Libérer", callback_data=callback(ticket.id, "release"))
    )
    close = InlineKeyboardButton("Clôturer", callback_data=callback(ticket.id, "close"))
    return InlineKeyboardMarkup([[first, close]])


def outcome_keyboard(ticket: TicketView, outcomes: dict[str, str]) -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(label, callback_data=callback(ticket.id, f"res:{code}"))
        for code, label in outcomes.items()
    ]
    per_row = 2 if all(len(label) <= 18 for label in outcomes.values()) else 1
    rows = [buttons[i : i + per_row] for i in range(0, len(buttons), per_row)]
    rows.append([InlineKeyboardButton("↩️ Retour", callback_data=callback(ticket.id, "back"))])
    return InlineKeyboardMarkup(rows)


def parse_callback(data: str) -> tuple[int, str, str | None] | None:
    """(ticket id, action, outcome) of a bridge button, None if it is not one."""
    match = CALLBACK_RE.match(data)
    if match is None:
        return None
    action = "resolve" if match.group(3) else match.group(2)
    return int(match.group(1)), action, match.group(3)


@dataclass(frozen=True)
class _Event:
    kind: str
    ticket: TicketView
    actor: CounsellorRef | None
    data: dict[str, Any]


STATE_KINDS = frozenset(
    {"created", "updated", "escalated", "claimed", "released", "transferred", "follow_up_set"}
)
CLOSING_KINDS = frozenset({"resolved", "closed_unreachable"})


class TelegramBridge:
    def __init__(
        self,
        application: Any,
        group_id: int,
        desk: HandoffDesk,
        accounts: AccountService,
        settings: Settings,
        *,
        sweep_interval: float = SWEEP_INTERVAL,
    ) -> None:
        self.application = application
        self.group_id = group_id
        self.desk = desk
        self.tickets = desk.tickets
        self.accounts = accounts
        self.settings = settings
        self.sweep_interval = sweep_interval
        self.team_names = {team.id: team.name for team in settings.teams}
        self.outcomes = dict(settings.handoff.outcomes)
        self.loop: asyncio.AbstractEventLoop | None = None  # the loop `start` ran in
        self._queue: asyncio.Queue[_Event | None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._backoff: dict[int, tuple[float, float]] = {}  # ticket -> (next try, delay)

    @property
    def bot(self) -> Any:
        return self.application.bot

    # Lifecycle ---------------------------------------------------------------------------
    def register_handlers(self) -> None:
        """Add the group's handlers to the bot's Application (before the private-chat ones)."""
        self.application.add_handler(TypeHandler(Update, self._on_update), group=HANDLER_GROUP)

    async def start(self) -> None:
        """Start background work (opening topics for new tickets, posting desk events)."""
        if self._task is not None:
            return
        self.loop = asyncio.get_running_loop()
        self._queue = asyncio.Queue()
        self._task = asyncio.create_task(self._run(self._queue), name="telegram-bridge")
        log.info("counsellors' bridge started for group %s", self.group_id)

    async def stop(self) -> None:
        """Post what is still queued (for a few seconds at most), then stop."""
        task, queue = self._task, self._queue
        self._task, self._queue = None, None
        if task is None or queue is None:
            return
        queue.put_nowait(None)
        try:
            await asyncio.wait_for(task, timeout=STOP_TIMEOUT)
        except TimeoutError:
            log.warning("counsellors' bridge stopped before posting every event")
        except Exception:
            log.exception("counsellors' bridge failed while stopping")

    async def on_ticket_event(
        self, kind: str, ticket: TicketView, actor: CounsellorRef | None, data: dict[str, Any]
    ) -> None:
        """Keep the ticket's topic in sync with what happened elsewhere (web, API)."""
        queue, loop = self._queue, self.loop
        if queue is None or loop is None:
            return  # not started: the sweep at start shows each open ticket as it is
        event = _Event(kind, ticket, actor, dict(data))
        try:
            same_loop = asyncio.get_running_loop() is loop
        except RuntimeError:
            same_loop = False
        if same_loop:
            queue.put_nowait(event)
        else:  # called from another loop or thread (a job): hand it over safely
            loop.call_soon_threadsafe(queue.put_nowait, event)

    async def _run(self, queue: asyncio.Queue[_Event | None]) -> None:
        last_sweep = 0.0
        while True:
            timeout = max(0.0, last_sweep + self.sweep_interval - time.monotonic())
            try:
                event = await asyncio.wait_for(queue.get(), timeout=timeout)
            except TimeoutError:
                event = None
            else:
                if event is None:
                    return  # stop() asked, and everything before it was posted
            try:
                if event is not None:
                    await self._apply(event)
                if time.monotonic() - last_sweep >= self.sweep_interval:
                    last_sweep = time.monotonic()
                    await self.sweep()
            except Exception:
                log.exception("counsellors' bridge: %s failed", event.kind if event else "sweep")

    # Topics ------------------------------------------------------------------------------
    async def sweep(self) -> int:
        """Open a topic for each open ticket that has none; the number opened here."""
        opened = 0
        for ticket in await asyncio.to_thread(self.tickets.without_topic, SWEEP_BATCH):
            retry = self._backoff.get(ticket.id)
            if retry is not None and retry[0] > time.monotonic():
                continue
            if await self._open_topic(ticket):
                opened += 1
        return opened

    async def _open_topic(self, ticket: TicketView) -> bool:
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
                summary_text(ticket, self.team_names, self.outcomes),
                message_thread_id=topic_id,
                reply_markup=main_keyboard(ticket),
            )
            await asyncio.to_thread(self.tickets.set_topic, ticket.id, topic_id, message.message_id)
        except Exception as exc:
            delay = min(MAX_BACKOFF, 2 * self._backoff.get(ticket.id, (0.0, 1.0))[1])
            self._backoff[ticket.id] = (time.monotonic() + delay, delay)
            log.warning(
                "could not open the topic of ticket %s (retry in %ss): %s", ticket.id, delay, exc
            )
            if topic_id is not None:
                await self._quietly(self.bot.delete_forum_topic(self.group_id, topic_id))
            try:
                await asyncio.to_thread(self.tickets.set_topic, ticket.id, None, None)
            except TicketNotFound:
                pass  # erased meanwhile
            return False
        self._backoff.pop(ticket.id, None)
        log.info("ticket %s: topic %s opened", ticket.id, topic_id)
        return True

    async def _topic_of(self, ticket_id: int) -> tuple[TicketView, bool] | None:
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
                if await self._open_topic(ticket):
                    return await asyncio.to_thread(self.tickets.get, ticket_id), True
                if ticket_id in self._backoff:
                    return None  # Telegram refused: the sweep will try again later
            if ticket.topic_id and ticket.topic_message_id:
                return ticket, False
            if time.monotonic() > deadline:  # reserved (0) by a worker that is not done
                log.warning("ticket %s: its topic is still being opened, event dropped", ticket_id)
                return None
            await asyncio.sleep(0.2)

    async def _apply(self, event: _Event) -> None:
        if event.kind == "erased":  # the person asked to be forgotten: so does the group
            if event.ticket.topic_id:
                erased = event.ticket.topic_id
                await self._quietly(self.bot.delete_forum_topic(self.group_id, erased))
            return
        found = await self._topic_of(event.ticket.id)
        if found is None:
            return
        ticket, just_opened = found
        if just_opened and event.kind in STATE_KINDS:
            return  # the new topic's summary already says it
        topic = ticket.topic_id
        assert topic
        kind, actor, data = event.kind, event.actor, event.data
        who = actor.first_name if actor else "Quelqu'un"
        via = VIA_LABELS.get(str(data.get("via") or ""), "")
        where = f" ({via})" if via else ""
        if kind == "youth_message":
            await self._post(topic, f"🧑 Jeune :\n{data.get('text', '')}")
        elif kind == "bot_message":
            for text in data.get("texts") or []:
                await self._post(topic, f"🤖 Bot :\n{text}")
        elif kind == "replied":
            if data.get("via") != "telegram":  # from Telegram, it is already in the topic
                await self._post(topic, f"💬 {who}{where} :\n{data.get('text', '')}")
        elif kind == "noted":
            if data.get("via") == "telegram":
                await self._post(topic, NOTE_SAVED)
            else:
                await self._post(topic, f"📝 Note de {who}{where} :\n{data.get('text', '')}")
        elif kind == "claimed":
            await self._post(topic, f"✋ {who} prend le ticket{where}.")
        elif kind == "released":
            await self._post(topic, f"↩️ {who} remet le ticket dans la file{where}.")
        elif kind == "transferred":
            if data.get("to_team"):
                team = self.team_names.get(data["to_team"], data["to_team"])
                target = f"l'équipe « {team} »"
            else:
                target = ticket.assignee_name or "un·e collègue"
            await self._post(topic, f"🔀 {who} transfère le ticket à {target}{where}.")
            await self._rename(ticket)
        elif kind == "follow_up_set":
            when = ticket.follow_up_at
            text = f"relance prévue le {local(when)}" if when else "relance annulée"
            await self._post(topic, f"📅 {who} : {text}{where}.")
        elif kind == "escalated":
            await self._rename(ticket)
            await self._post(
                topic,
                f"{CRISIS_MARK} URGENCE ({crisis_label(ticket)}) : message de crise. "
                "Le bot a donné les numéros d'aide. À prendre en priorité !",
            )
        elif kind == "false_alarm":
            await self._rename(ticket)
            await self._post(
                topic,
                f"⚪ {who} : fausse alerte{where}, raison : « {data.get('reason', '')} ». "
                "Le ticket repasse en priorité normale.",
            )
            await self._refresh(ticket)
        elif kind in CLOSING_KINDS:
            label = self.outcomes.get(ticket.outcome or "", ticket.outcome or "")
            closer = f" par {who}" if actor else ""
            detail = f" : {label}" if label else ""
            await self._post(
                topic, f"✅ Ticket clôturé{closer}{detail}{where}. Le bot reprend la conversation."
            )
        if kind in STATE_KINDS or kind in CLOSING_KINDS:
            await self._refresh(ticket)
        if kind in CLOSING_KINDS:
            await self._quietly(self.bot.close_forum_topic(self.group_id, topic))

    async def _rename(self, ticket: TicketView) -> None:
        if ticket.topic_id:
            name = topic_name(ticket, self.team_names)
            await self._quietly(self.bot.edit_forum_topic(self.group_id, ticket.topic_id, name))

    async def _refresh(
        self, ticket: TicketView, markup: InlineKeyboardMarkup | None = None
    ) -> None:
        """Edit the summary message to the ticket's current state (and buttons)."""
        if not ticket.topic_message_id:
            return
        await self._quietly(
            self.bot.edit_message_text(
                summary_text(ticket, self.team_names, self.outcomes),
                chat_id=self.group_id,
                message_id=ticket.topic_message_id,
                reply_markup=markup or main_keyboard(ticket),
            )
        )

    # Sending -----------------------------------------------------------------------------
    async def notify(self, ticket_id: int, text: str) -> bool:
        """Post a reminder in the ticket's topic (opened first if the ticket has none).

        False when there is no topic to post in (ticket erased, or closed without a topic).
        """
        found = await self._topic_of(ticket_id)
        if found is None or not found[0].topic_id:
            return False
        await self._post(found[0].topic_id, text)
        return True

    async def announce(self, text: str) -> None:
        """Post in the group's general topic (the daily digest, manager alerts)."""
        await self._post(None, text)

    async def _post(self, topic_id: int | None, text: str, reply_to: int | None = None) -> None:
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

    async def _quietly(self, call: Any) -> None:
        """Run a Telegram call whose failure changes nothing (e.g. "message is not modified")."""
        try:
            await call
        except BadRequest as exc:
            if "not modified" not in str(exc).lower():
                log.info("counsellors' group: %s", exc)
        except TelegramError as exc:
            log.warning("counsellors' group: %s", exc)

    # Updates from the counsellors' group --------------------------------------------------
    async def _on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
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
        message = query.message if isinstance(query.message, Message) else None
        parsed = parse_callback(data)
        if message is None or parsed is None or button_title(message, data) is None:
            await self._answer(query, BUTTON_INVALID, alert=True)
            return
        ticket_id, action, outcome = parsed
        try:
            ticket = await asyncio.to_thread(self.tickets.get, ticket_id)
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
                self._check_can_close(ticket, counsellor)
                await self._refresh(ticket, outcome_keyboard(ticket, self.outcomes))
                await self._answer(query, "Choisis l'issue du ticket.")
            elif action == "back":
                await self._refresh(ticket)
                await self._answer(query, None)
            else:
                assert outcome is not None
                await self.desk.resolve(ticket_id, counsellor, outcome, None, via="telegram")
                await self._answer(query, "Ticket clôturé.")
        except TicketError as exc:
            await self._answer(query, str(exc), alert=True)
            current = await asyncio.to_thread(self.tickets.get, ticket_id)
            await self._refresh(current)  # the buttons may have been stale

    @staticmethod
    def _check_can_close(ticket: TicketView, counsellor: CounsellorRef) -> None:
        """Refuse at once what `TicketService.resolve` would refuse after the outcome."""
        if not ticket.is_open:
            raise TicketError(f"Le ticket {ticket.reference} est déjà clôturé.")
        if ticket.status == TicketStatus.new and not counsellor.can_manage:
            raise TicketError("Prends le ticket avant de le clôturer.")
        if ticket.relaying and ticket.assignee_id != counsellor.id and not counsellor.can_manage:
            raise TicketError("Ce ticket est suivi par un·e collègue.")

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
        if counsellor is None:
            await self._post(thread, NOT_REGISTERED, reply_to)
            return
        if message.text is None:
            await self._post(thread, TEXT_ONLY, reply_to)
            return
        note = NOTE_RE.match(message.text.strip())
        if note is not None:
            body = (note.group(1) or "").strip()
            if not body:
                await self._post(thread, NOTE_EMPTY, reply_to)
                return
            try:
                await self.desk.add_note(ticket.id, counsellor, body, via="telegram")
            except TicketError as exc:
                await self._post(thread, str(exc), reply_to)
            return
        alarm = FALSE_ALARM_RE.match(message.text.strip())
        if alarm is not None:
            reason = (alarm.group(1) or "").strip()
            if not reason:
                await self._post(thread, FALSE_ALARM_EMPTY, reply_to)
                return
            try:
                await self.desk.false_alarm(ticket.id, counsellor, reason, via="telegram")
            except TicketError as exc:
                await self._post(thread, str(exc), reply_to)
            return
        if COMMAND_RE.match(message.text):
            await self._post(thread, UNKNOWN_COMMAND, reply_to)
            return
        refusal = self._reply_refusal(ticket, counsellor)
        if refusal is not None:
            await self._post(thread, refusal, reply_to)
            return
        try:
            await self.desk.reply(ticket.id, counsellor, message.text, via="telegram")
        except TicketError as exc:
            await self._post(thread, NOT_SENT.format(error=exc), reply_to)

    @staticmethod
    def _reply_refusal(ticket: TicketView, counsellor: CounsellorRef) -> str | None:
        if ticket.status == TicketStatus.new:
            return CLAIM_FIRST
        if not ticket.is_open:
            return TICKET_CLOSED
        if ticket.assignee_id != counsellor.id:
            return HELD_BY.format(name=ticket.assignee_name or "Un·e collègue")
        return None
