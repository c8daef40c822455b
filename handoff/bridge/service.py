"""Telegram counsellors' bridge: one forum topic per ticket in the counsellors' supergroup.

Both sides read the same tickets:
- a background task (started by `start`) opens a topic for every open ticket that has none
  (every `sweep_interval` seconds, and at once when the desk says a ticket was created or
  escalated): handoff/bridge/topics.py;
- what counsellors do in the group (buttons, replies to the young person, notes, false
  alarms, appointments) goes to the desk: handoff/bridge/handlers.py;
- what the young person writes, what the bot tells them during the hand-off, and what
  counsellors do on the web or through the API (desk events) is posted in the topic, and the
  summary is edited to match (the texts: handoff/bridge/rendering.py). An urgent ticket's
  summary says the alert's tier, why it was raised and the message that raised it (kept even
  without consent, see handoff/signals.py), and "mineur·e"; after a false alarm the topic
  loses its 🔴 (the icon colour cannot change after creation).

Desk events are queued and posted by the background task, in order, so a slow Telegram
never slows down the dashboard.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from telegram import Update
from telegram.ext import TypeHandler

from core.settings import Settings
from handoff.accounts import AccountService, CounsellorRef
from handoff.appointments import AppointmentDesk, AppointmentView
from handoff.bridge.appointment_handlers import AppointmentHandlers
from handoff.bridge.appointments import attendance_keyboard, unmarked_text
from handoff.bridge.handlers import GroupHandlers
from handoff.bridge.rendering import event_posts
from handoff.bridge.topics import ForumTopics
from handoff.desk import HandoffDesk
from handoff.tickets import TicketView

log = logging.getLogger(__name__)
# Desk events the group is not told about (the transcript on the dashboard has them).
SILENT_KINDS = frozenset({"follow_up_sent", "checkin_answered"})

HANDLER_GROUP = -10  # before bot/telegram.py's handlers (group 0)
SWEEP_INTERVAL = 2.0  # seconds between two looks for tickets without a topic
STOP_TIMEOUT = 5.0

# Desk events after which the summary message is edited (and those that close the topic).
STATE_KINDS = frozenset(
    {"created", "updated", "escalated", "claimed", "released", "transferred", "follow_up_set"}
)
CLOSING_KINDS = frozenset({"resolved", "closed_unreachable"})


@dataclass(frozen=True)
class _Event:
    kind: str
    ticket: TicketView
    actor: CounsellorRef | None
    data: dict[str, Any]


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
        appointments: AppointmentDesk | None = None,
    ) -> None:
        self.application = application
        self.group_id = group_id
        self.sweep_interval = sweep_interval
        self.team_names = {team.id: team.name for team in settings.teams}
        self.outcomes = dict(settings.handoff.outcomes)
        self.tz = ZoneInfo(settings.nudges.timezone)
        self.hide_simulations = settings.simulations_hidden  # no topic for a simulation
        self.topics = ForumTopics(
            application, group_id, desk.tickets, self.team_names, self.outcomes, self.tz
        )
        self.sites = appointments.appointments.sites if appointments is not None else None
        self.handlers = GroupHandlers(
            group_id,
            desk,
            accounts,
            self.topics,
            self.outcomes,
            AppointmentHandlers(group_id, appointments, accounts, self.topics, self.tz)
            if appointments is not None
            else None,
        )
        self.loop: asyncio.AbstractEventLoop | None = None  # the loop `start` ran in
        self._queue: asyncio.Queue[_Event | None] | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def bot(self) -> Any:
        return self.application.bot

    # Lifecycle ---------------------------------------------------------------------------
    def register_handlers(self) -> None:
        """Add the group's handlers to the bot's Application (before the private-chat ones)."""
        self.application.add_handler(
            TypeHandler(Update, self.handlers.on_update), group=HANDLER_GROUP
        )

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
        if ticket.simulated and self.hide_simulations:
            return  # the staff simulator's tickets stay out of the group (core/simulations.py)
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

    async def sweep(self) -> int:
        """Open a topic for each open ticket that has none; the number opened here."""
        return await self.topics.sweep()

    async def _apply(self, event: _Event) -> None:
        topics = self.topics
        if event.kind == "erased":  # the person asked to be forgotten: so does the group
            if event.ticket.topic_id:
                await topics.delete(event.ticket.topic_id)
            return
        if event.kind in SILENT_KINDS:
            return
        found = await topics.topic_of(event.ticket.id)
        if found is None:
            return
        ticket, just_opened = found
        kind = event.kind
        if just_opened and kind in STATE_KINDS:
            return  # the new topic's summary already says it
        topic = ticket.topic_id
        assert topic
        if kind in ("escalated", "false_alarm"):
            await topics.rename(ticket)  # the 🔴 comes (or goes) before the post
        view = event.data.get("appointment")
        if kind == "appointment_unmarked" and isinstance(view, AppointmentView):
            text = unmarked_text(view, self.tz, self.sites)  # asked with the buttons to answer
            await topics.post_with_buttons(topic, text, attendance_keyboard(view.id))
            return
        posts = event_posts(
            kind,
            ticket,
            event.actor,
            event.data,
            self.team_names,
            self.outcomes,
            self.tz,
            self.sites,
        )
        for text in posts:
            await topics.post(topic, text)
        if kind == "transferred":
            await topics.rename(ticket)
        if kind in STATE_KINDS or kind in CLOSING_KINDS or kind == "false_alarm":
            await topics.refresh(ticket)
        if kind in CLOSING_KINDS:
            await topics.close(topic)

    # Posting -----------------------------------------------------------------------------
    async def notify(self, ticket_id: int, text: str) -> bool:
        """Post a reminder in the ticket's topic (opened first if the ticket has none).

        False when there is no topic to post in (ticket erased, or closed without a topic).
        """
        found = await self.topics.topic_of(ticket_id)
        if found is None or not found[0].topic_id:
            return False
        await self.topics.post(found[0].topic_id, text)
        return True

    async def announce(self, text: str) -> None:
        """Post in the group's general topic (the daily digest, manager alerts)."""
        await self.topics.post(None, text)
