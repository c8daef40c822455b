"""Appointments through the REST API, as the token's counsellor: list a ticket's, propose,
cancel, mark attendance, and the .ics file. Writes go through the appointment desk with
via="api" (the young person is asked, the dashboard and the bridge see it). Need to know and
the permission policy are the service's: an appointment of a ticket the counsellor may not
read is a 404, as one that does not exist.

A proposal outside the team's opening hours answers 409 with `code: outside_opening_hours`:
the same body with `allow_outside_hours: true` proposes it anyway."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Path, Response, status
from fastapi.responses import JSONResponse

from handoff.appointments import AppointmentDraft, OutsideOpeningHours
from web.api.appointment_schemas import (
    OUTSIDE_HOURS_CODE,
    AppointmentIn,
    AppointmentOut,
    AppointmentProblem,
    AttendanceIn,
    appointment_out,
)
from web.api.common import FORBIDDEN, UNREADABLE, Actor, Responses, TicketId
from web.deps import ServicesDep

router = APIRouter(tags=["appointments"])

AppointmentId = Annotated[
    int, Path(ge=1, le=2**31 - 1, description="numéro du rendez-vous", examples=[1])
]
NOT_FOUND: Responses = {
    status.HTTP_404_NOT_FOUND: {
        "model": AppointmentProblem,
        "description": "Ticket ou rendez-vous introuvable",
    }
}
CONFLICT: Responses = {
    status.HTTP_409_CONFLICT: {
        "model": AppointmentProblem,
        "description": "Ticket pris par personne ou clôturé, rendez-vous plus à venir, pas "
        "encore passé, ou en dehors des horaires d'ouverture (`code`)",
    }
}
ICS: Responses = {
    status.HTTP_200_OK: {
        "content": {"text/calendar": {"schema": {"type": "string"}}},
        "description": "Le rendez-vous au format iCalendar (Europe/Paris)",
    }
}


@router.get(
    "/tickets/{ticket_id}/appointments",
    summary="Rendez-vous d'un ticket",
    response_model=list[AppointmentOut],
    responses={**NOT_FOUND},
)
async def list_appointments(
    ticket_id: TicketId, actor: Actor, services: ServicesDep
) -> list[AppointmentOut]:
    """Les rendez-vous du ticket, du plus récent au plus ancien."""
    views = await asyncio.to_thread(services.appointments.for_ticket, ticket_id, actor)
    return [appointment_out(view) for view in views]


@router.post(
    "/tickets/{ticket_id}/appointments",
    summary="Proposer un rendez-vous",
    response_model=AppointmentOut,
    status_code=status.HTTP_201_CREATED,
    responses={**UNREADABLE, **NOT_FOUND, **CONFLICT, **FORBIDDEN},
)
async def propose(
    ticket_id: TicketId, body: AppointmentIn, actor: Actor, services: ServicesDep
) -> AppointmentOut | JSONResponse:
    """Proposer un rendez-vous au jeune, qui répond « ça me va », « pas possible, on
    change ? » ou « je sais pas encore ». Remplace le rendez-vous à venir du ticket s'il y en a
    un. En dehors des horaires d'ouverture : 409 avec `code` `outside_opening_hours`."""
    draft = AppointmentDraft(
        kind=body.kind,
        starts_at=body.starts_at,
        duration_minutes=body.duration_minutes,
        site_id=body.site_id,
        call_from=body.call_from,
        location=body.location,
        note=body.note,
        allow_outside_hours=body.allow_outside_hours,
    )
    try:
        view = await services.appointment_desk.propose(ticket_id, actor, draft, via="api")
    except OutsideOpeningHours as exc:
        return JSONResponse(
            {"detail": str(exc), "code": OUTSIDE_HOURS_CODE}, status_code=status.HTTP_409_CONFLICT
        )
    return appointment_out(view)


@router.api_route(
    "/tickets/{ticket_id}/appointments",
    methods=["OPTIONS", "PUT", "PATCH", "DELETE"],
    include_in_schema=False,
)
async def other_methods() -> JSONResponse:
    """Starlette's 405 names only the first route's method: this path has two."""
    return JSONResponse(
        {"detail": "Method Not Allowed"},
        status_code=status.HTTP_405_METHOD_NOT_ALLOWED,
        headers={"Allow": "GET, POST"},
    )


@router.post(
    "/appointments/{appointment_id}/cancel",
    summary="Annuler un rendez-vous",
    response_model=AppointmentOut,
    responses={**NOT_FOUND, **CONFLICT, **FORBIDDEN},
)
async def cancel_appointment(
    appointment_id: AppointmentId, actor: Actor, services: ServicesDep
) -> AppointmentOut:
    """Annuler un rendez-vous à venir : le jeune est prévenu."""
    view = await services.appointment_desk.cancel(appointment_id, actor, via="api")
    return appointment_out(view)


@router.post(
    "/appointments/{appointment_id}/attendance",
    summary="Dire si le rendez-vous a eu lieu",
    response_model=AppointmentOut,
    responses={**UNREADABLE, **NOT_FOUND, **CONFLICT, **FORBIDDEN},
)
async def mark_attendance(
    appointment_id: AppointmentId, body: AttendanceIn, actor: Actor, services: ServicesDep
) -> AppointmentOut:
    """Une fois l'heure passée (sinon 409) : venu·e, pas venu·e ou reporté. Un rendez-vous
    manqué vaut au jeune un message le lendemain (« pas grave, on refixe ? »)."""
    view = await services.appointment_desk.mark(appointment_id, actor, body.status, via="api")
    return appointment_out(view)


@router.get(
    "/appointments/{appointment_id}.ics",
    summary="Le rendez-vous en .ics",
    response_class=Response,
    responses={**ICS, **NOT_FOUND},
)
async def appointment_ics(
    appointment_id: AppointmentId, actor: Actor, services: ServicesDep
) -> Response:
    """Le fichier à ajouter à ton agenda."""
    view = await asyncio.to_thread(services.appointments.get, appointment_id, actor)
    document = services.appointment_desk.ics(view)
    return Response(
        document.content,
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{document.filename}"'},
    )
