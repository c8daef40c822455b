"""The hand-off's views (handoff/tickets) as the REST API's schemas (web/api/schemas.py)."""

from __future__ import annotations

from typing import Any

from core.models import Direction
from core.vocabulary import channel_label
from handoff.accounts import CounsellorRef
from handoff.permissions import may_see
from handoff.signals import SignalView
from handoff.tickets import NoteView, TicketView, TranscriptItem
from web.api.schemas import (
    Assignee,
    NoteOut,
    SignalOut,
    Summary,
    TicketOut,
    TranscriptMessage,
)


def ticket_out(view: TicketView, outcomes: dict[str, str]) -> TicketOut:
    return TicketOut(**ticket_fields(view, outcomes))


def listed(view: TicketView, actor: CounsellorRef, outcomes: dict[str, str]) -> TicketOut:
    """A line of the list. The list holds only tickets `actor` may read (need to know); the
    request's words are still left out of any other, should one come here."""
    fields = ticket_fields(view, outcomes)
    if not may_see(actor, view.team, view.assignee_id):
        fields["request"] = None
        fields["summary"] = fields["summary"].model_copy(
            update={"excerpt": None, "phone": None, "questions": []}
        )
    return TicketOut(**fields)


def ticket_fields(view: TicketView, outcomes: dict[str, str]) -> dict[str, Any]:
    return {
        "id": view.id,
        "reference": view.reference,
        "status": view.status,
        "status_label": view.status_label,
        "urgency": view.urgency,
        "crisis_kind": view.crisis_kind,
        "source": view.source,
        "team": view.team,
        "territory": view.territory,
        "minor": view.minor,
        "channel": view.channel,
        "channel_label": channel_label(view.channel),
        "alert": signal_out(view.alert) if view.alert is not None else None,
        "assignee": (
            Assignee(id=view.assignee_id, first_name=view.assignee_name or "")
            if view.assignee_id is not None
            else None
        ),
        "request": view.request_excerpt or None,
        "summary": Summary(**{k: v for k, v in view.summary.items() if v is not None}),
        "outcome": view.outcome,
        "outcome_label": outcomes.get(view.outcome) if view.outcome else None,
        "outcome_comment": view.outcome_comment,
        "follow_up_at": view.follow_up_at,
        "created_at": view.created_at,
        "updated_at": view.updated_at,
        "claimed_at": view.claimed_at,
        "first_reply_at": view.first_reply_at,
        "last_youth_at": view.last_youth_at,
        "last_counsellor_at": view.last_counsellor_at,
        "resolved_at": view.resolved_at,
    }


def signal_out(signal: SignalView) -> SignalOut:
    return SignalOut(
        id=signal.id,
        origin=str(signal.origin),
        tier=signal.tier,
        reason=signal.reason,
        kind=signal.kind,
        detail=signal.detail,
        intent=signal.intent,
        confidence=signal.confidence,
        answer=signal.answer,
        text=signal.text,
        created_at=signal.created_at,
        false_alarm_at=signal.false_alarm_at,
        false_alarm_reason=signal.false_alarm_reason,
    )


def note_out(note: NoteView) -> NoteOut:
    return NoteOut(id=note.id, author=note.author_name, text=note.text, created_at=note.created_at)


def message_out(item: TranscriptItem) -> TranscriptMessage:
    return TranscriptMessage(
        id=item.id,
        direction=Direction(item.direction),
        origin=item.origin,
        text=item.text,
        created_at=item.created_at,
        counsellor=item.counsellor_name,
        in_ticket=item.in_ticket,
    )
