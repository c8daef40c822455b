"""What the bot knows of its link with a young person: the ticket open for them (who holds
it, since when, whether a counsellor wrote), the last closed one (who knew them), and the few
things a young person adds to an open ticket without a new hand-off (a question the bot could
not answer, a phone number).

The bot reads this to give news instead of a second offer, and to welcome someone back with
the choice of the counsellor who knew them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from core.db import Database
from core.models import (
    OPEN_STATUSES,
    ConsentStatus,
    HandoffRequest,
    Ticket,
    TicketStatus,
    YoungPerson,
)

MAX_QUESTIONS = 10  # per request: the counsellor reads them, a flood helps no one
MAX_QUESTION_CHARS = 300


@dataclass(frozen=True)
class TicketNews:
    ticket_id: int
    status: TicketStatus
    created_at: datetime
    urgent: bool
    counsellor: str | None  # first name of who holds it
    claimed_at: datetime | None
    last_counsellor_at: datetime | None


@dataclass(frozen=True)
class PastTicket:
    ticket_id: int
    resolved_at: datetime | None
    counsellor_id: int | None  # still active, else None
    counsellor: str | None


@dataclass(frozen=True)
class LinkState:
    open: TicketNews | None = None
    last_closed: PastTicket | None = None


class LinkService:
    def __init__(self, db: Database) -> None:
        self._db = db

    def state(self, pseudo_id: str) -> LinkState:
        with self._db.transaction() as session:
            person = session.scalar(select(YoungPerson).where(YoungPerson.pseudo_id == pseudo_id))
            if person is None:
                return LinkState()
            tickets = list(
                session.scalars(
                    select(Ticket).where(Ticket.person_id == person.id).order_by(Ticket.id.desc())
                )
            )
            open_ticket = next((t for t in tickets if t.status in OPEN_STATUSES), None)
            closed = next((t for t in tickets if t.status not in OPEN_STATUSES), None)
            news = None
            if open_ticket is not None:
                holder = open_ticket.assignee
                news = TicketNews(
                    open_ticket.id,
                    open_ticket.status,
                    open_ticket.created_at,
                    open_ticket.urgent_since is not None,
                    holder.first_name if holder is not None else None,
                    open_ticket.claimed_at,
                    open_ticket.last_counsellor_at,
                )
            past = None
            if closed is not None:
                holder = closed.assignee
                active = holder is not None and holder.active
                past = PastTicket(
                    closed.id,
                    closed.resolved_at,
                    holder.id if active and holder is not None else None,
                    holder.first_name if active and holder is not None else None,
                )
            return LinkState(news, past)

    def add_to_open_request(
        self, pseudo_id: str, *, question: str | None = None, phone: str | None = None
    ) -> bool:
        """Adds a question or a phone number to the request on the person's open ticket.

        Kept only with consent (like the excerpt). Returns False when there is no open
        ticket or no consent (the caller keeps it for the next hand-off instead)."""
        with self._db.transaction() as session:
            person = session.scalar(select(YoungPerson).where(YoungPerson.pseudo_id == pseudo_id))
            if person is None or person.consent != ConsentStatus.granted:
                return False
            request = session.scalar(
                select(HandoffRequest)
                .join(Ticket, Ticket.id == HandoffRequest.ticket_id)
                .where(HandoffRequest.person_id == person.id, Ticket.status.in_(OPEN_STATUSES))
                .order_by(HandoffRequest.id.desc())
                .limit(1)
                .with_for_update()
            )
            if request is None:
                return False
            if question:
                questions = list(request.questions or [])
                if len(questions) < MAX_QUESTIONS and question not in questions:
                    request.questions = [*questions, question[:MAX_QUESTION_CHARS]]
            if phone:
                request.phone = phone
            return True
