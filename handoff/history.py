"""A young person's other tickets, for the ticket page: what was asked and done before.

Need to know (handoff/permissions.py) applies to each ticket on its own: the page lists only
the other tickets the counsellor may read (their team's, or held by them); another team's
ticket is not mentioned at all, not even its reference, as it would answer 404 if asked for.
A manager, who sees everything, can be asked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from core.db import Database
from core.models import Counsellor, Ticket, TicketNote, TicketStatus
from core.vocabulary import SKIPPED
from handoff.access import may_see, visible
from handoff.accounts import CounsellorRef
from handoff.tickets import STATUS_LABELS, NoteView, not_found

MAX_OTHERS = 20  # other tickets shown, the most recent first


@dataclass(frozen=True)
class OtherTicket:
    """Another ticket of the same person, that the viewer may read."""

    id: int
    later: bool  # opened after the ticket being read
    status: TicketStatus | None = None
    created_at: datetime | None = None
    resolved_at: datetime | None = None
    outcome: str | None = None
    assignee_name: str | None = None
    team: str | None = None
    needs: list[str] = field(default_factory=list)
    notes: list[NoteView] = field(default_factory=list)

    @property
    def reference(self) -> str:
        return f"#{self.id}"

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status] if self.status is not None else ""


def _needs(ticket: Ticket) -> list[str]:
    request = ticket.requests[-1] if ticket.requests else None
    needs = (request.needs if request is not None else None) or []
    if not isinstance(needs, list):
        needs = [needs]
    return [str(n) for n in needs if n and n != SKIPPED]


class HistoryService:
    def __init__(self, db: Database) -> None:
        self._db = db

    def others(self, ticket_id: int, viewer: CounsellorRef) -> list[OtherTicket]:
        """The person's other tickets `viewer` may read, the most recent first (TicketNotFound
        if they may not read this one)."""
        with self._db.transaction() as session:
            current = session.get(Ticket, ticket_id)
            if current is None or not may_see(viewer, current.team, current.assignee_id):
                raise not_found(ticket_id)
            query = select(Ticket).where(
                Ticket.person_id == current.person_id, Ticket.id != ticket_id
            )
            scope = visible(viewer)
            if scope is not None:
                query = query.where(scope)
            rows = list(session.scalars(query.order_by(Ticket.id.desc()).limit(MAX_OTHERS)))
            notes: dict[int, list[NoteView]] = {}
            if rows:
                found = session.execute(
                    select(TicketNote, Counsellor.first_name)
                    .outerjoin(Counsellor, Counsellor.id == TicketNote.author_id)
                    .where(TicketNote.ticket_id.in_([t.id for t in rows]))
                    .order_by(TicketNote.id)
                )
                for note, name in found:
                    notes.setdefault(note.ticket_id, []).append(
                        NoteView(note.id, name, note.text, note.created_at)
                    )
            return [
                OtherTicket(
                    id=t.id,
                    later=t.id > ticket_id,
                    status=t.status,
                    created_at=t.created_at,
                    resolved_at=t.resolved_at,
                    outcome=t.outcome,
                    assignee_name=t.assignee.first_name if t.assignee else None,
                    team=t.team,
                    needs=_needs(t),
                    notes=notes.get(t.id, []),
                )
                for t in rows
            ]
