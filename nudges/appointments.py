"""The follow-ups of an appointment (handoff/appointments): FollowUpRules (nudges/rules.py)
delegates the appointment events and jobs here.

- Reminders (`appointment_reminder`, payload `appointment_id`): once the young person said
  "Ça me va", the next reminder time (handoff/appointments/reminders.py: the configured delays
  before it, moved earlier out of the nightly quiet hours); after each sent one, the next. A
  reminder is never counted against the weekly cap, and survives /stop unless the young
  person cancels the appointment (nudges/store.py KEPT_AFTER_STOP). Cancelled when the
  appointment is cancelled, replaced or marked; obsolete when it is no longer active or
  already started.
- Attendance (`appointment_unmarked`, to the counsellors): at the end of the appointment plus
  `appointments.mark_after`, a note on the ticket asks whether it took place
  (AppointmentDesk.due), unless someone marked it meanwhile.
- Missed (`appointment_missed`): a kind nudge the next day at `appointments.missed_nudge_time`
  local ("pas grave, on refixe ?"; a light nudge, counted against the weekly cap, quiet hours
  as usual), and the counsellor's follow-up: the ticket's follow-up date (HandoffDesk
  .set_follow_up, whose counsellor_reminder reminds them that day) when the ticket is open and
  has no earlier one.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, time, timedelta
from typing import Any

from core.calendar import QuietHours
from core.models import AppointmentStatus, FollowUpKind
from core.settings_places import Appointments
from handoff.accounts import CounsellorRef
from handoff.appointments import AppointmentDesk, AppointmentView
from handoff.appointments.reminders import next_reminder
from handoff.tickets import TicketError, TicketView
from nudges.contract import AppointmentDue, Outgoing, YouthReplies
from nudges.store import FollowUpJob, FollowUpService

log = logging.getLogger(__name__)

KINDS = frozenset(
    {
        FollowUpKind.appointment_reminder,
        FollowUpKind.appointment_unmarked,
        FollowUpKind.appointment_missed,
    }
)
EVENTS = frozenset(
    {
        "appointment_proposed",
        "appointment_answered",
        "appointment_cancelled",
        "appointment_marked",
    }
)


class AppointmentPolicy:
    def __init__(
        self,
        *,
        followups: FollowUpService,
        desk: AppointmentDesk,
        settings: Appointments,
        quiet: QuietHours,
    ) -> None:
        self.followups = followups
        self.desk = desk
        self.appointments = desk.appointments
        self.settings = settings
        self.quiet = quiet  # the nudges' quiet hours (reminders keep the nightly ones only)

    def _now(self) -> datetime:
        return self.followups.now()

    # Events (a desk listener's, through FollowUpRules.on_ticket_event) ----------------------
    async def on_event(
        self, kind: str, ticket: TicketView, actor: CounsellorRef | None, data: dict[str, Any]
    ) -> None:
        view = data.get("appointment")
        if kind not in EVENTS or not isinstance(view, AppointmentView):
            return
        await asyncio.to_thread(self.appointment_event, kind, view, data)
        if kind == "appointment_marked" and view.status == AppointmentStatus.missed:
            await self._counsellor_follow_up(ticket, actor, self.missed_nudge_time(view))

    def appointment_event(self, kind: str, view: AppointmentView, data: dict[str, Any]) -> None:
        person, ticket = view.person_id, view.ticket_id
        if kind == "appointment_proposed":
            # The young person is reminded once they confirm; the counsellors are asked to
            # mark it once its time has passed, whatever the answer.
            self._cancel(view, [FollowUpKind.appointment_reminder], "replaced")
            self.followups.schedule(
                person,
                FollowUpKind.appointment_unmarked,
                view.ends_at + self.settings.mark_after,
                ticket_id=ticket,
                payload={"appointment_id": view.id},
                replace=False,  # an earlier one, past and unmarked, is still to be asked
            )
        elif kind == "appointment_answered":
            if data.get("answer") == "ok":
                self.schedule_reminder(view)
            else:  # "on change ?", "je sais pas encore": no reminder of a time not agreed
                self._cancel(view, [FollowUpKind.appointment_reminder], "answered")
        elif kind == "appointment_cancelled":
            # Only one appointment ahead per ticket: its reminder is this one's. Its ask to
            # mark attendance becomes obsolete by itself (a past one's may still be waiting).
            reason = "rescheduled" if data.get("replaced_by") else "cancelled"
            self._cancel(view, [FollowUpKind.appointment_reminder], reason)
        elif kind == "appointment_marked":
            # A corrected mark (missed, then attended) cancels the kind nudge; the reminders
            # of a newer appointment on the ticket stay.
            self._cancel(view, [FollowUpKind.appointment_missed], "marked")
            if view.status == AppointmentStatus.missed:
                self.followups.schedule(
                    person,
                    FollowUpKind.appointment_missed,
                    self.missed_nudge_time(view),
                    ticket_id=ticket,
                    payload={"appointment_id": view.id},
                )

    def schedule_reminder(self, view: AppointmentView) -> int | None:
        """The next reminder of a confirmed appointment; None when none is left."""
        due = next_reminder(view.starts_at, self.settings.reminders, self.quiet, self._now())
        if due is None:
            self._cancel(view, [FollowUpKind.appointment_reminder], "no_reminder_left")
            return None
        return self.followups.schedule(
            view.person_id,
            FollowUpKind.appointment_reminder,
            due,
            ticket_id=view.ticket_id,
            payload={"appointment_id": view.id},
        )

    def missed_nudge_time(self, view: AppointmentView) -> datetime:
        """The next local day after the mark, at `missed_nudge_time`."""
        tz = self.quiet.tz
        day = self._now().astimezone(tz).date() + timedelta(days=1)
        at = time.fromisoformat(self.settings.missed_nudge_time)
        return datetime.combine(day, at, tz)

    async def _counsellor_follow_up(
        self, ticket: TicketView, actor: CounsellorRef | None, when: datetime
    ) -> None:
        """The ticket's follow-up date on the day of the missed nudge (the counsellor is
        reminded then, nudges/rules.py rule 4), unless an earlier one is set."""
        if actor is None or not ticket.is_open:
            return
        if ticket.follow_up_at is not None and ticket.follow_up_at <= when:
            return
        try:
            await self.desk.desk.set_follow_up(ticket.id, actor, when, via="system")
        except TicketError as error:
            log.info("no follow-up date on ticket #%s after a missed rdv: %s", ticket.id, error)

    # Jobs -------------------------------------------------------------------------------------
    def outgoing(self, job: FollowUpJob) -> Outgoing | None:
        view = self._appointment(job)
        if view is None:
            return None
        now = self._now()
        if job.kind == FollowUpKind.appointment_reminder:
            if not view.active or view.starts_at <= now:
                return None  # cancelled, replaced, marked, or already started
            if view.status != AppointmentStatus.confirmed:
                return None
            return YouthReplies((self.desk.reminder(view),))
        if job.kind == FollowUpKind.appointment_unmarked:
            return AppointmentDue(view.id) if view.needs_marking(now) else None
        if job.kind == FollowUpKind.appointment_missed:
            if view.status != AppointmentStatus.missed:
                return None  # corrected meanwhile
            if self.appointments.next_of_person(view.person_id) is not None:
                return None  # another one is already planned
            return YouthReplies((self.desk.missed(),))
        return None

    async def after_sent(self, job: FollowUpJob) -> None:
        if job.kind != FollowUpKind.appointment_reminder:
            return
        view = await asyncio.to_thread(self._appointment, job)
        if view is None:
            return
        await asyncio.to_thread(self.appointments.reminder_sent, view.id)
        await asyncio.to_thread(self.schedule_reminder, view)

    # Helpers ----------------------------------------------------------------------------------
    def _appointment(self, job: FollowUpJob) -> AppointmentView | None:
        appointment_id = job.payload.get("appointment_id")
        if not isinstance(appointment_id, int):
            return None
        try:
            return self.appointments.get(appointment_id)
        except TicketError:  # AppointmentNotFound: erased
            return None

    def _cancel(self, view: AppointmentView, kinds: Any, reason: str) -> None:
        self.followups.cancel(view.person_id, kinds=kinds, ticket_id=view.ticket_id, reason=reason)
