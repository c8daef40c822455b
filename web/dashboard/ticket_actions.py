"""What counsellors do on the ticket page (French forms): claim, release, transfer, reply,
note, follow-up, close, false alarm. Every write goes through the hand-off desk with
via="web"; its outcome is a flash message on the ticket page. A refused operation
(TicketError) is answered by web/errors.py: its French message as a flash, back on the
ticket (or on the queue when the ticket does not exist).

Need to know is the services': a ticket the counsellor may not read fails as one that does
not exist (TicketNotFound: the same flash, back on the queue), whatever the action. After a
transfer that takes the ticket out of what they may read (another team's queue, a colleague
of another team), the counsellor lands back on the queue.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from handoff.accounts import CounsellorRef
from handoff.permissions import may_see
from handoff.tickets import TicketView
from web import auth
from web.dashboard.guard import QUEUE_PATH, DashboardRoute, ticket_path
from web.deps import Me, ServicesDep, TicketId
from web.labels import team_names
from web.render import LocalTime

router = APIRouter(prefix=QUEUE_PATH, include_in_schema=False, route_class=DashboardRoute)


def _back(ticket_id: int) -> RedirectResponse:
    return RedirectResponse(ticket_path(ticket_id), status_code=303)


async def _act(request: Request, ticket_id: int, action: Awaitable[Any], done: str) -> Response:
    """Run a desk operation; once done, say so on the ticket page."""
    await action
    auth.flash(request, done)
    return _back(ticket_id)


async def _moved(
    request: Request, me: CounsellorRef, action: Awaitable[TicketView], done: str
) -> Response:
    """Run a transfer; back on the ticket if `me` may still read it, else on the queue."""
    view = await action
    auth.flash(request, done)
    if may_see(me, view.team, view.assignee_id):
        return _back(view.id)
    return RedirectResponse(QUEUE_PATH, status_code=303)


@router.post("/tickets/{ticket_id}/prendre")
async def claim(request: Request, services: ServicesDep, me: Me, ticket_id: TicketId) -> Response:
    return await _act(
        request,
        ticket_id,
        services.desk.claim(ticket_id, me, via="web"),
        f"Tu as pris le ticket #{ticket_id}. Le jeune est prévenu.",
    )


@router.post("/tickets/{ticket_id}/liberer")
async def release(request: Request, services: ServicesDep, me: Me, ticket_id: TicketId) -> Response:
    return await _act(
        request,
        ticket_id,
        services.desk.release(ticket_id, me, via="web"),
        f"Le ticket #{ticket_id} est remis dans la file.",
    )


@router.post("/tickets/{ticket_id}/transferer")
async def transfer(
    request: Request,
    services: ServicesDep,
    me: Me,
    ticket_id: TicketId,
    vers: Annotated[str, Form(max_length=80)] = "",
) -> Response:
    kind, _, value = vers.partition(":")
    if kind == "c" and value.isdigit():
        colleague = await asyncio.to_thread(services.accounts.get, int(value))
        if colleague is None:
            auth.flash(request, "Collègue introuvable (compte désactivé ?).", "error")
            return _back(ticket_id)
        return await _moved(
            request,
            me,
            services.desk.transfer(ticket_id, me, to_counsellor=colleague, via="web"),
            f"Ticket #{ticket_id} transféré à {colleague.first_name}.",
        )
    if kind == "e" and value:
        team = team_names(services.settings).get(value, value)
        return await _moved(
            request,
            me,
            services.desk.transfer(ticket_id, me, to_team=value, via="web"),
            f"Ticket #{ticket_id} transféré à l'équipe {team}.",
        )
    auth.flash(request, "Choisis un·e collègue ou une équipe.", "error")
    return _back(ticket_id)


@router.post("/tickets/{ticket_id}/repondre")
async def reply(
    request: Request,
    services: ServicesDep,
    me: Me,
    ticket_id: TicketId,
    texte: Annotated[str, Form(max_length=20_000)] = "",
) -> Response:
    return await _act(
        request,
        ticket_id,
        services.desk.reply(ticket_id, me, texte, via="web"),
        "Message envoyé au jeune.",
    )


@router.post("/tickets/{ticket_id}/note")
async def add_note(
    request: Request,
    services: ServicesDep,
    me: Me,
    ticket_id: TicketId,
    texte: Annotated[str, Form(max_length=20_000)] = "",
) -> Response:
    return await _act(
        request,
        ticket_id,
        services.desk.add_note(ticket_id, me, texte, via="web"),
        "Note interne ajoutée (le jeune ne la voit pas).",
    )


@router.post("/tickets/{ticket_id}/relance")
async def follow_up(
    request: Request,
    services: ServicesDep,
    me: Me,
    ticket_id: TicketId,
    quand: Annotated[str, Form(max_length=40)] = "",
    effacer: Annotated[str, Form(max_length=8)] = "",
    message: Annotated[str, Form(max_length=20_000)] = "",
) -> Response:
    """The date is typed in the service's local time (`nudges.timezone`)."""
    times = LocalTime.of(services.settings)
    if effacer:
        when = None
    else:
        try:
            when = times.read(quand)
        except ValueError:
            when = None
        if when is None:
            auth.flash(request, "Date de relance invalide.", "error")
            return _back(ticket_id)
    done = f"Relance prévue le {times.show(when)}." if when is not None else "Relance supprimée."
    if when is not None and message.strip():
        done += " Ton message partira au jeune à cette date."
    return await _act(
        request,
        ticket_id,
        services.desk.set_follow_up(ticket_id, me, when, via="web", message=message or None),
        done,
    )


@router.post("/tickets/{ticket_id}/cloturer")
async def resolve(
    request: Request,
    services: ServicesDep,
    me: Me,
    ticket_id: TicketId,
    issue: Annotated[str, Form(max_length=40)] = "",
    commentaire: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    outcomes = services.tickets.outcomes
    if issue not in outcomes:
        auth.flash(request, "Choisis une issue pour clôturer.", "error")
        return _back(ticket_id)
    return await _act(
        request,
        ticket_id,
        services.desk.resolve(ticket_id, me, issue, commentaire or None, via="web"),
        f"Ticket #{ticket_id} clôturé : {outcomes[issue]}.",
    )


@router.post("/tickets/{ticket_id}/fausse-alerte")
async def false_alarm(
    request: Request,
    services: ServicesDep,
    me: Me,
    ticket_id: TicketId,
    raison: Annotated[str, Form(max_length=20_000)] = "",
) -> Response:
    """The urgent ticket was a false alarm (with a reason): back to normal priority."""
    return await _act(
        request,
        ticket_id,
        services.desk.false_alarm(ticket_id, me, raison, via="web"),
        f"Ticket #{ticket_id} marqué comme fausse alerte : il repasse en priorité normale. "
        "Le message est transmis aux responsables pour corriger le robot.",
    )
