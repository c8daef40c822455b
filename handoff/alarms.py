"""False alarms: a counsellor says an urgent ticket is not a crisis after all.

`AlarmService.false_alarm` (called by the desk, so that the bridge and the dashboard follow)
puts the ticket back to normal urgency and priority (its `crisis_kind` stays, for the record),
logs a `false_alarm` ticket event with the counsellor's reason, marks the ticket's signals,
and sends the message that raised the alarm to the managers' misunderstood inbox
(/tableau/incompris) so that the training data can be corrected: as a turn to annotate with
a "fausse alerte" marker, its text only if the young person consented (otherwise the inbox
shows the item without text, and why). Without consent the message is no longer kept on the
ticket either: the vital interest that justified keeping it is over.

Who may (handoff/permissions.py): as for closing a ticket. The counsellor who holds it, or a
manager (a manager may also mark an unclaimed ticket). A later real crisis escalates the
ticket again as usual.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.clock import Clock, SystemClock
from core.db import Database
from core.models import (
    ConsentStatus,
    Counsellor,
    CrisisSignalRecord,
    EventKind,
    HandoffRequest,
    NluTurn,
    SignalOrigin,
    Ticket,
    TicketEvent,
    Urgency,
)
from core.text import storable
from handoff.accounts import CounsellorRef
from handoff.permissions import Action
from handoff.signals import NORMAL_SEVERITY, SignalView, normal_kind, view_of
from handoff.tickets import (
    TicketInvalid,
    TicketNotFound,
    TicketView,
    priority_of,
    require,
    ticket_view,
)

MAX_REASON = 500
FALSE_ALARM = "false_alarm"  # NluTurn.review_reason


class AlarmService:
    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self._db = db
        self._clock = clock or SystemClock()

    def signals(self, ticket_id: int) -> list[SignalView]:
        """Every signal on the ticket, oldest first (with who marked a false alarm)."""
        with self._db.transaction() as session:
            if session.get(Ticket, ticket_id) is None:
                raise TicketNotFound(f"Ticket #{ticket_id} introuvable.")
            rows = session.execute(
                select(CrisisSignalRecord, Counsellor.first_name)
                .outerjoin(Counsellor, Counsellor.id == CrisisSignalRecord.false_alarm_by)
                .where(CrisisSignalRecord.ticket_id == ticket_id)
                .order_by(CrisisSignalRecord.id)
            )
            return [view_of(row, name) for row, name in rows]

    def false_alarm(
        self, ticket_id: int, actor: CounsellorRef, reason: str, via: str = "web"
    ) -> TicketView:
        """Mark the urgent ticket a false alarm (see the module's docstring).

        Raises TicketInvalid (empty or too long reason), TicketNotFound, TicketConflict
        (closed, not urgent, unclaimed for a counsellor) or TicketForbidden (a colleague's).
        """
        reason = storable(reason or "").strip()
        if not reason:
            raise TicketInvalid("Dis en quelques mots pourquoi c'est une fausse alerte.")
        if len(reason) > MAX_REASON:
            raise TicketInvalid(f"Raison trop longue ({len(reason)} caractères, {MAX_REASON} max).")
        now = self._clock.now()
        with self._db.transaction() as session:
            ticket = session.scalar(select(Ticket).where(Ticket.id == ticket_id).with_for_update())
            if ticket is None:
                raise TicketNotFound(f"Ticket #{ticket_id} introuvable.")
            require(actor, ticket, Action.false_alarm)
            ticket.urgency = Urgency.normal
            ticket.priority = priority_of(Urgency.normal)
            ticket.severity = NORMAL_SEVERITY
            ticket.urgent_since = None
            ticket.updated_at = now
            for request in session.scalars(
                select(HandoffRequest).where(
                    HandoffRequest.ticket_id == ticket.id,
                    HandoffRequest.urgency == Urgency.crisis,
                )
            ):
                request.urgency = Urgency.normal  # crisis_kind stays, for the record
            consent = ticket.person.consent == ConsentStatus.granted
            marked = self._mark_signals(session, ticket, actor, reason, consent, now)
            for signal in marked:
                _to_inbox(session, signal, reason, consent, now)
            session.add(
                TicketEvent(
                    ticket_id=ticket.id,
                    kind=EventKind.false_alarm,
                    actor_id=actor.id,
                    via=via,
                    data={
                        "reason": reason,
                        "crisis_kind": ticket.crisis_kind,
                        "signals": len(marked),
                    },
                    created_at=now,
                )
            )
            session.flush()
            session.refresh(ticket)
            return ticket_view(ticket)

    @staticmethod
    def _mark_signals(
        session: Session,
        ticket: Ticket,
        actor: CounsellorRef,
        reason: str,
        consent: bool,
        now: datetime,
    ) -> list[CrisisSignalRecord]:
        """Mark the ticket's live alarm signals (not the flags); the messages of someone who
        did not consent stop being kept (after going to the inbox without their text)."""
        rows = list(
            session.scalars(
                select(CrisisSignalRecord).where(
                    CrisisSignalRecord.ticket_id == ticket.id,
                    CrisisSignalRecord.origin != SignalOrigin.flag,
                    CrisisSignalRecord.false_alarm_at.is_(None),
                )
            )
        )
        for row in rows:
            row.false_alarm_at = now
            row.false_alarm_by = actor.id
            row.false_alarm_reason = reason
            if not consent:
                row.text = None
        return rows


def _to_inbox(
    session: Session, signal: CrisisSignalRecord, reason: str, consent: bool, now: datetime
) -> None:
    """The message for the managers' inbox: the same message's NLU turn if the pipeline
    recorded one (not yet annotated), else a turn made from the signal."""
    text = signal.text if consent else None
    view = view_of(signal)
    note = f"{reason}\n(alerte : niveau {view.tier_label}, {view.why})"
    intent = signal.intent or (f"crisis_{normal_kind(signal.kind)}" if signal.kind else None)
    turn = None
    if text:
        turn = session.scalar(
            select(NluTurn)
            .where(
                NluTurn.person_id == signal.person_id,
                NluTurn.text == text,
                NluTurn.annotated_intent.is_(None),
                NluTurn.exported_at.is_(None),
            )
            .order_by(NluTurn.id.desc())
            .limit(1)
        )
    if turn is None:
        turn = NluTurn(
            person_id=signal.person_id,
            text=text,
            intent=intent[:64] if intent else None,
            confidence=signal.confidence,
            entities=[],
            fallback=False,
            created_at=signal.created_at or now,
        )
        session.add(turn)
    turn.review_reason = FALSE_ALARM
    turn.review_note = note
