"""A young person's other tickets, for the ticket page: what was asked and done before.

Need to know (handoff/permissions.py) applies to each ticket on its own: a counsellor
who may not see one of them (another team's, not held by them) learns only that it exists
(its reference), never its dates, status, outcome, counsellor, needs or notes; they can ask a
manager, who sees everything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from core.db import Database
from core.models import Counsellor, Ticket, TicketNote, TicketStatus
from core.vocabulary import SKIPPED
from handoff.access import may_see
from handoff.accounts import CounsellorRef
from handoff.tickets import STATUS_LABELS, NoteView, TicketNotFound

MAX_OTHERS = 20  # other tickets shown, the most recent first


@dataclass(frozen=True)
class OtherTicket:
    """Another ticket of the same person. When `visible` is False only `id` and `later`
    are filled in."""

    id: int
    visible: bool
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
        """The person's other tickets, the most recent first, as `viewer` may see them."""
        with self._db.transaction() as session:
            current = session.get(Ticket, ticket_id)
            if current is None:
                raise TicketNotFound(f"Ticket #{ticket_id} introuvable.")
            rows = list(
                session.scalars(
                    select(Ticket)
                    .where(Ticket.person_id == current.person_id, Ticket.id != ticket_id)
                    .order_by(Ticket.id.desc())
                    .limit(MAX_OTHERS)
                )
            )
            shown = [t.id for t in rows if may_see(viewer, t.team, t.assignee_id)]
            notes: dict[int, list[NoteView]] = {}
            if shown:
                found = session.execute(
                    select(TicketNote, Counsellor.first_name)
                    .outerjoin(Counsellor, Counsellor.id == TicketNote.author_id)
                    .where(TicketNote.ticket_id.in_(shown))
                    .order_by(TicketNote.id)
                )
                for note, name in found:
                    notes.setdefault(note.ticket_id, []).append(
                        NoteView(note.id, name, note.text, note.created_at)
                    )
            return [
                OtherTicket(
                    id=t.id,
                    visible=True,
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
                if t.id in shown
                else OtherTicket(id=t.id, visible=False, later=t.id > ticket_id)
                for t in rows
            ]
