"""Reading through the REST API: the queue, a ticket (with its notes, crisis signals and, on
request, its conversation), the outcomes a ticket may be closed with. Need to know as the
dashboard: the list holds only the tickets the token's counsellor may read (their team's and
the ones they hold; managers and admins: all), and another ticket answers 404 exactly as one
that does not exist."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from core.models import OPEN_STATUSES, TicketStatus
from handoff.tickets import QueueFilter
from web.api.common import NOT_FOUND, Actor, TicketId
from web.api.convert import listed, message_out, note_out, signal_out, ticket_fields
from web.api.schemas import TEAM_PATTERN, Outcome, TicketDetail, TicketPage
from web.deps import ServicesDep

MAX_PAGE = 200
MAX_OFFSET = 1_000_000
router = APIRouter()


@router.get("/tickets", response_model=TicketPage, summary="Lister les tickets")
def list_tickets(
    actor: Actor,
    services: ServicesDep,
    status_: Annotated[
        list[TicketStatus] | None,
        Query(alias="status", description="statuts voulus (répétable) ; par défaut les ouverts"),
    ] = None,
    team: Annotated[str | None, Query(pattern=TEAM_PATTERN, description="équipe")] = None,
    mine: Annotated[bool, Query(description="seulement mes tickets")] = False,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> TicketPage:
    """La file d'attente : urgences d'abord, puis les plus anciens. Seulement les tickets de
    ton équipe et ceux que tu suis (un·e responsable : tous)."""
    filters = QueueFilter(
        team=team,
        statuses=tuple(dict.fromkeys(status_)) if status_ else OPEN_STATUSES,
        assignee_id=actor.id if mine else None,
        limit=limit,
        offset=offset,
    )
    outcomes = services.tickets.outcomes
    views = services.tickets.queue(filters, viewer=actor)
    items = [listed(view, actor, outcomes) for view in views]
    return TicketPage(items=items, limit=limit, offset=offset)


@router.get(
    "/tickets/{ticket_id}",
    response_model=TicketDetail,
    summary="Lire un ticket",
    responses={**NOT_FOUND},
)
def get_ticket(
    ticket_id: TicketId,
    actor: Actor,
    services: ServicesDep,
    include_transcript: Annotated[
        bool, Query(description="joindre toute la conversation gardée")
    ] = False,
) -> TicketDetail:
    """Un ticket : résumé du triage, statut, notes internes et, sur demande, la conversation.
    Un ticket d'une autre équipe que tu ne suis pas répond 404, comme un ticket inexistant."""
    view = services.tickets.get(ticket_id, viewer=actor)  # need to know, before anything
    notes = [note_out(note) for note in services.tickets.notes(ticket_id, viewer=actor)]
    alarms = services.desk.alarms
    signals = [signal_out(s) for s in alarms.signals(ticket_id)] if alarms else []
    transcript = (
        [message_out(item) for item in services.tickets.transcript(ticket_id, viewer=actor)]
        if include_transcript
        else None
    )
    return TicketDetail(
        **ticket_fields(view, services.tickets.outcomes),
        notes=notes,
        signals=signals,
        transcript=transcript,
    )


@router.get("/outcomes", response_model=list[Outcome], summary="Issues de clôture")
def list_outcomes(actor: Actor, services: ServicesDep) -> list[Outcome]:
    """Les issues possibles pour clôturer un ticket (code et libellé)."""
    positive = set(services.settings.handoff.positive_outcomes)
    return [
        Outcome(code=code, label=label, positive=code in positive)
        for code, label in services.tickets.outcomes.items()
    ]
