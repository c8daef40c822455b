"""What integrations do through the REST API, as the token's counsellor: claim, release,
reply, note, close, transfer, follow-up, false alarm. Every write goes through the hand-off
desk with via="api", so the young person, the dashboard and the Telegram bridge see it
exactly as if it were done in the dashboard. A ticket the token's counsellor may not read
answers 404, the very answer of a ticket that does not exist, whatever the action."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, status

from handoff.tickets import TicketInvalid
from web.api.common import CONFLICT, FORBIDDEN, NOT_FOUND, UNREADABLE, Actor, TicketId
from web.api.convert import note_out, ticket_out
from web.api.schemas import (
    FalseAlarmIn,
    FollowUpIn,
    NoteIn,
    NoteOut,
    ReplyIn,
    ReplyOut,
    ResolveIn,
    TicketOut,
    TransferIn,
)
from web.deps import ServicesDep

router = APIRouter()


@router.post(
    "/tickets/{ticket_id}/claim",
    summary="Prendre un ticket",
    response_model=TicketOut,
    responses={**NOT_FOUND, **CONFLICT},
)
async def claim(ticket_id: TicketId, actor: Actor, services: ServicesDep) -> TicketOut:
    """Prendre un nouveau ticket. Si un·e collègue l'a pris avant : 409."""
    view = await services.desk.claim(ticket_id, actor, via="api")
    return ticket_out(view, services.tickets.outcomes)


@router.post(
    "/tickets/{ticket_id}/release",
    summary="Libérer un ticket",
    response_model=TicketOut,
    responses={**NOT_FOUND, **CONFLICT, **FORBIDDEN},
)
async def release(ticket_id: TicketId, actor: Actor, services: ServicesDep) -> TicketOut:
    """Remettre le ticket dans la file (le sien ; un·e responsable peut libérer tout ticket)."""
    view = await services.desk.release(ticket_id, actor, via="api")
    return ticket_out(view, services.tickets.outcomes)


@router.post(
    "/tickets/{ticket_id}/reply",
    summary="Répondre au jeune",
    response_model=ReplyOut,
    status_code=status.HTTP_201_CREATED,
    responses={**UNREADABLE, **NOT_FOUND, **CONFLICT, **FORBIDDEN},
)
async def reply(
    ticket_id: TicketId, body: ReplyIn, actor: Actor, services: ServicesDep
) -> ReplyOut:
    """Écrire au jeune : le bot lui transmet le message, signé de ton prénom."""
    delivery = await services.desk.reply(ticket_id, actor, body.text, via="api")
    return ReplyOut(
        message_id=delivery.message_id,
        ticket=ticket_out(delivery.ticket, services.tickets.outcomes),
    )


@router.post(
    "/tickets/{ticket_id}/notes",
    summary="Ajouter une note",
    response_model=NoteOut,
    status_code=status.HTTP_201_CREATED,
    responses={**UNREADABLE, **NOT_FOUND},
)
async def add_note(
    ticket_id: TicketId, body: NoteIn, actor: Actor, services: ServicesDep
) -> NoteOut:
    """Ajouter une note interne (jamais envoyée au jeune)."""
    note = await services.desk.add_note(ticket_id, actor, body.text, via="api")
    return note_out(note)


@router.post(
    "/tickets/{ticket_id}/resolve",
    summary="Clôturer un ticket",
    response_model=TicketOut,
    responses={**UNREADABLE, **NOT_FOUND, **CONFLICT, **FORBIDDEN},
)
async def resolve(
    ticket_id: TicketId, body: ResolveIn, actor: Actor, services: ServicesDep
) -> TicketOut:
    """Clôturer avec une issue (voir /api/v1/outcomes) ; le bot reprend la conversation."""
    view = await services.desk.resolve(ticket_id, actor, body.outcome, body.comment, via="api")
    return ticket_out(view, services.tickets.outcomes)


@router.post(
    "/tickets/{ticket_id}/transfer",
    summary="Transférer un ticket",
    response_model=TicketOut,
    responses={**UNREADABLE, **NOT_FOUND, **CONFLICT, **FORBIDDEN},
)
async def transfer(
    ticket_id: TicketId, body: TransferIn, actor: Actor, services: ServicesDep
) -> TicketOut:
    """Transférer à une équipe (retour dans sa file) ou à un·e collègue (qui le suit alors)."""
    colleague = None
    if body.to_counsellor_email is not None:
        colleague = await asyncio.to_thread(services.accounts.by_email, body.to_counsellor_email)
        if colleague is None:
            raise TicketInvalid(f"Aucun compte actif pour {body.to_counsellor_email}.")
    view = await services.desk.transfer(
        ticket_id, actor, to_counsellor=colleague, to_team=body.to_team, via="api"
    )
    return ticket_out(view, services.tickets.outcomes)


@router.post(
    "/tickets/{ticket_id}/follow-up",
    summary="Programmer une relance",
    response_model=TicketOut,
    responses={**UNREADABLE, **FORBIDDEN, **NOT_FOUND, **CONFLICT},
)
async def follow_up(
    ticket_id: TicketId, body: FollowUpIn, actor: Actor, services: ServicesDep
) -> TicketOut:
    """Programmer (ou effacer avec null) une date de relance."""
    view = await services.desk.set_follow_up(
        ticket_id, actor, body.at, via="api", message=body.message
    )
    return ticket_out(view, services.tickets.outcomes)


@router.post(
    "/tickets/{ticket_id}/false-alarm",
    summary="Fausse alerte",
    response_model=TicketOut,
    responses={**UNREADABLE, **NOT_FOUND, **CONFLICT, **FORBIDDEN},
)
async def false_alarm(
    ticket_id: TicketId, body: FalseAlarmIn, actor: Actor, services: ServicesDep
) -> TicketOut:
    """Marquer un ticket urgent comme fausse alerte, avec la raison : il repasse en priorité
    normale et le message qui a déclenché l'alerte part dans la boîte des messages incompris
    des responsables. Le ticket doit être ouvert et urgent (sinon 409) ; il faut le suivre,
    ou être responsable (sinon 403, ou 409 s'il n'est pris par personne)."""
    view = await services.desk.false_alarm(ticket_id, actor, body.reason, via="api")
    return ticket_out(view, services.tickets.outcomes)
