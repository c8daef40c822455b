"""The five follow-up rules: when nudges and reminders are scheduled, what they send, and
what follows a sent one (nudges/contract.py is the contract with the sweeper).

Scheduling hooks come from two places:
- the triage form's validation (actions/triage_form.py) calls `triage_progress` on every answer;
- the hand-off desk tells `on_ticket_event` (this class is a desk listener) of every ticket
  operation, whatever the entry point (dashboard, API, Telegram bridge, bot actions).

1. Triage abandoned part-way: `triage_nudge` step 1 after the last answer, step 2 after the
   first was sent, then silence. Completing the triage, a hand-off or /stop cancels it.
2. Hand-off not claimed in time: `handoff_pending` ("c'est en cours"); a claim cancels it.
3. Counsellor wrote, young person silent: `youth_silent` steps 1..n (nudges), then step n+1
   (no message to the young person) closes the ticket as unreachable and tells the counsellor.
4. Follow-up date set by a counsellor: `counsellor_reminder` and, with a message,
   `youth_followup` on that date; clearing the date cancels both.
5. Positive outcome: `outcome_checkin` some weeks later; the answer is recorded on the ticket.
Closing a ticket cancels everything still pending for it (but an appointment's follow-ups).
6. Appointments (reminders, attendance, missed): nudges/appointments.py, which this class
   delegates to once the composition root sets `appointments`.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

from core.models import FollowUpKind, TicketStatus
from core.people import PeopleService
from core.settings import Settings
from handoff.accounts import CounsellorRef
from handoff.desk import HandoffDesk
from handoff.tickets import TicketError, TicketService, TicketView
from nudges.appointments import KINDS as APPOINTMENT_KINDS
from nudges.appointments import AppointmentPolicy
from nudges.contract import CounsellorNotice, DirectMessage, EngineNudge, Outgoing
from nudges.store import FollowUpJob, FollowUpService

log = logging.getLogger(__name__)

# Engine intents the sweeper triggers (answered by domain/nudges.yml responses).
TRIAGE_NUDGE = "EXTERNAL_triage_nudge"
HANDOFF_PENDING = "EXTERNAL_handoff_pending"
YOUTH_SILENT = "EXTERNAL_youth_silent"
OUTCOME_CHECKIN = "EXTERNAL_outcome_checkin"
# Answers to the check-in, by the intent that answered it.
CHECKIN_ANSWERS = {"affirm": "ok", "deny": "pas_marche", "ask_human": "reparler"}
TICKET_KINDS = (
    FollowUpKind.handoff_pending,
    FollowUpKind.youth_silent,
    FollowUpKind.youth_followup,
    FollowUpKind.counsellor_reminder,
    FollowUpKind.outcome_checkin,
)


class FollowUpRules:
    """Implements `nudges.contract.NudgePolicies` and the hooks that schedule follow-ups.

    The constructor has no side effect: `build_services` registers it on the desk.
    """

    # The appointments' follow-ups (nudges/appointments.py), set by the composition root.
    appointments: AppointmentPolicy | None = None

    def __init__(
        self,
        *,
        followups: FollowUpService,
        tickets: TicketService,
        desk: HandoffDesk,
        people: PeopleService,
        settings: Settings,
    ) -> None:
        self.followups = followups
        self.tickets = tickets
        self.desk = desk
        self.people = people
        self.settings = settings

    def _now(self) -> datetime:
        return self.followups.now()

    # 1. Triage (called by the form's validation, off the event loop) ---------------------
    def triage_progress(self, pseudo_id: str, complete: bool) -> None:
        """An answer was given: nudge later if the triage stays unfinished, else stop."""
        person = self.people.get(pseudo_id)
        if person is None:
            return  # a conversation the app did not start (rasa shell)
        if complete:
            self.followups.cancel(
                person.id, kinds=[FollowUpKind.triage_nudge], reason="triage_complete"
            )
            return
        delays = self.settings.nudges.triage_abandoned
        if delays:
            self.followups.schedule(
                person.id, FollowUpKind.triage_nudge, self._now() + delays[0], step=1
            )

    # /stop and /start ---------------------------------------------------------------------
    def opt_out(self, pseudo_id: str) -> int:
        return self.followups.opt_out(pseudo_id)

    def opt_in(self, pseudo_id: str) -> None:
        self.followups.opt_in(pseudo_id)

    # 5. The check-in answer ---------------------------------------------------------------
    async def record_checkin(self, pseudo_id: str, answer: str) -> TicketView | None:
        return await self.desk.record_checkin(pseudo_id, answer)

    # Desk listener: every ticket operation ------------------------------------------------
    async def on_ticket_event(
        self, kind: str, ticket: TicketView, actor: CounsellorRef | None, data: dict[str, Any]
    ) -> None:
        if kind.startswith("appointment_"):
            if self.appointments is not None:
                await self.appointments.on_event(kind, ticket, actor, data)
            return
        await asyncio.to_thread(self.ticket_event, kind, ticket, data)

    def ticket_event(self, kind: str, ticket: TicketView, data: dict[str, Any]) -> None:
        person, nudges = ticket.person_id, self.settings.nudges
        now = self._now()
        if kind in ("created", "updated", "escalated"):
            # A hand-off was requested: the triage is over, no more "on reprend ?", and no
            # check-in on an earlier ticket while the new one is open.
            self.followups.cancel(
                person,
                kinds=[FollowUpKind.triage_nudge, FollowUpKind.outcome_checkin],
                reason="handoff",
            )
            if kind == "created" and ticket.status == TicketStatus.new:
                self.followups.schedule(
                    person,
                    FollowUpKind.handoff_pending,
                    now + nudges.handoff_pending_notice,
                    ticket_id=ticket.id,
                )
        elif kind in ("claimed", "transferred") and ticket.status != TicketStatus.new:
            self.followups.cancel(
                person, kinds=[FollowUpKind.handoff_pending], ticket_id=ticket.id, reason="claimed"
            )
        elif kind == "replied":
            self.followups.cancel(
                person, kinds=[FollowUpKind.handoff_pending], ticket_id=ticket.id, reason="claimed"
            )
            if nudges.youth_silent:
                self.followups.schedule(
                    person,
                    FollowUpKind.youth_silent,
                    now + nudges.youth_silent[0],
                    step=1,
                    ticket_id=ticket.id,
                )
        elif kind == "youth_message":
            self.followups.cancel(
                person, kinds=[FollowUpKind.youth_silent], ticket_id=ticket.id, reason="answered"
            )
        elif kind == "follow_up_set":
            self._follow_up_set(ticket, data.get("message"))
        elif kind in ("resolved", "closed_unreachable"):
            self.followups.cancel(person, kinds=TICKET_KINDS, ticket_id=ticket.id, reason=kind)
            positive = self.settings.handoff.positive_outcomes
            if kind == "resolved" and ticket.outcome in positive:
                self.followups.schedule(
                    person,
                    FollowUpKind.outcome_checkin,
                    now + nudges.outcome_checkin,
                    ticket_id=ticket.id,
                    payload={"outcome": ticket.outcome},
                )

    def _follow_up_set(self, ticket: TicketView, message: str | None) -> None:
        kinds = [FollowUpKind.counsellor_reminder, FollowUpKind.youth_followup]
        when = ticket.follow_up_at
        if when is None:
            self.followups.cancel(
                ticket.person_id, kinds=kinds, ticket_id=ticket.id, reason="cleared"
            )
            return
        self.followups.schedule(
            ticket.person_id, FollowUpKind.counsellor_reminder, when, ticket_id=ticket.id
        )
        if message:
            self.followups.schedule(
                ticket.person_id,
                FollowUpKind.youth_followup,
                when,
                ticket_id=ticket.id,
                payload={"text": message},
            )
        else:
            self.followups.cancel(
                ticket.person_id,
                kinds=[FollowUpKind.youth_followup],
                ticket_id=ticket.id,
                reason="no_message",
            )

    # NudgePolicies: what a due job sends --------------------------------------------------
    def outgoing(self, job: FollowUpJob) -> Outgoing | None:
        if job.kind in APPOINTMENT_KINDS:
            return self.appointments.outgoing(job) if self.appointments is not None else None
        ticket = self._ticket(job)
        if job.ticket_id is not None and ticket is None:
            return None  # the ticket is gone (erased)
        kind = job.kind
        if kind == FollowUpKind.triage_nudge:
            return EngineNudge(TRIAGE_NUDGE, {"nudge_step": job.step})
        if kind == FollowUpKind.handoff_pending:
            if ticket is None or ticket.status != TicketStatus.new:
                return None  # claimed (or closed) meanwhile
            return EngineNudge(HANDOFF_PENDING)
        if kind == FollowUpKind.youth_silent:
            if ticket is None or ticket.status != TicketStatus.waiting_youth:
                return None  # the young person answered, or the ticket moved on
            if job.step <= len(self.settings.nudges.youth_silent):
                return EngineNudge(YOUTH_SILENT, {"nudge_step": job.step})
            return CounsellorNotice(
                ticket.id,
                f"Ticket #{ticket.id} : pas de réponse du jeune après "
                f"{len(self.settings.nudges.youth_silent)} relances. "
                "Je le clôture comme injoignable ; il pourra toujours réécrire au bot.",
            )
        if kind == FollowUpKind.counsellor_reminder:
            if ticket is None or not ticket.is_open or ticket.follow_up_at is None:
                return None
            who = f" (suivi par {ticket.assignee_name})" if ticket.assignee_name else ""
            return CounsellorNotice(
                ticket.id,
                f"Relance prévue : ticket #{ticket.id}{who}, {ticket.status_label.lower()}. "
                "C'est le moment de reprendre contact.",
            )
        if kind == FollowUpKind.youth_followup:
            text = str(job.payload.get("text") or "")
            if not text or (ticket is not None and not ticket.is_open):
                return None
            return DirectMessage(text)
        if kind == FollowUpKind.outcome_checkin:
            if ticket is not None and ticket.status != TicketStatus.resolved:
                return None  # reopened meanwhile
            return EngineNudge(OUTCOME_CHECKIN)
        return None

    async def after_sent(self, job: FollowUpJob) -> None:
        if job.kind in APPOINTMENT_KINDS and self.appointments is not None:
            await self.appointments.after_sent(job)
            return
        nudges = self.settings.nudges
        now = self._now()
        if job.kind == FollowUpKind.triage_nudge and job.step < len(nudges.triage_abandoned):
            await asyncio.to_thread(
                self.followups.schedule,
                job.person_id,
                FollowUpKind.triage_nudge,
                now + nudges.triage_abandoned[job.step],
                step=job.step + 1,
            )
        elif job.kind == FollowUpKind.youth_silent and job.ticket_id is not None:
            steps = len(nudges.youth_silent)
            if job.step < steps:
                due = now + nudges.youth_silent[job.step]
            elif job.step == steps:
                due = now + nudges.unreachable_after  # then the closing step (no message)
            else:
                await self._close_unreachable(job.ticket_id)
                return
            await asyncio.to_thread(
                lambda: self.followups.schedule(
                    job.person_id,
                    FollowUpKind.youth_silent,
                    due,
                    step=job.step + 1,
                    ticket_id=job.ticket_id,
                )
            )
        elif job.kind == FollowUpKind.youth_followup and job.ticket_id is not None:
            # Keep the sent message in the ticket's transcript.
            text = str(job.payload.get("text") or "")
            if text:
                await self.desk.follow_up_sent(job.ticket_id, text)

    async def _close_unreachable(self, ticket_id: int) -> None:
        try:
            await self.desk.close_unreachable(ticket_id)
        except TicketError as error:
            log.info("ticket #%s not closed as unreachable: %s", ticket_id, error)

    def _ticket(self, job: FollowUpJob) -> TicketView | None:
        if job.ticket_id is None:
            return None
        try:
            return self.tickets.get(job.ticket_id)
        except TicketError:
            return None
