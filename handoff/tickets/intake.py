"""How a hand-off request lands on a ticket: the person's open ticket, or a new one routed to
its team (handoff/requests.py and the crisis signals, handoff/signals.py, call these inside
their own transaction)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import (
    OPEN_STATUSES,
    EventKind,
    HandoffRequest,
    RequestStatus,
    Ticket,
    TicketStatus,
    Urgency,
)
from handoff.routing import Router
from handoff.tickets.events import record_event
from handoff.tickets.views import priority_of


def open_ticket_of(session: Session, person_id: int) -> Ticket | None:
    """The person's open ticket (there is at most one), locked for update on PostgreSQL."""
    return session.scalar(
        select(Ticket)
        .where(Ticket.person_id == person_id, Ticket.status.in_(OPEN_STATUSES))
        .order_by(Ticket.id.desc())
        .limit(1)
        .with_for_update()
    )


def attach_request(
    session: Session, request: HandoffRequest, router: Router, now: datetime
) -> tuple[Ticket, bool]:
    """Put a new hand-off request on the person's open ticket, or open a ticket for it.

    Returns the ticket and whether it was created. A crisis escalates an open ticket to the
    top of the queue; nothing ever lowers a ticket's priority.
    """
    ticket = open_ticket_of(session, request.person_id)
    created = ticket is None
    if ticket is None:
        route = router.route(request.location)
        ticket = Ticket(
            person_id=request.person_id,
            status=TicketStatus.new,
            urgency=request.urgency,
            priority=priority_of(request.urgency),
            crisis_kind=request.crisis_kind,
            source=request.source,
            team=route.team,
            territory=route.territory,
            created_at=now,
            updated_at=now,
        )
        session.add(ticket)
        session.flush()
        record_event(session, ticket.id, EventKind.created, now, source=request.source)
    elif request.urgency == Urgency.crisis and ticket.urgency != Urgency.crisis:
        ticket.urgency = Urgency.crisis
        ticket.priority = priority_of(Urgency.crisis)
        ticket.crisis_kind = request.crisis_kind
        ticket.updated_at = now
        record_event(session, ticket.id, EventKind.escalated, now, crisis_kind=request.crisis_kind)
    if ticket.territory is None and request.location:
        route = router.route(request.location)
        if ticket.status == TicketStatus.new and ticket.team != route.team:
            ticket.team = route.team
        ticket.territory = route.territory
    request.ticket_id = ticket.id
    request.status = RequestStatus.taken
    return ticket, created
