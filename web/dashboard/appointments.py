"""Appointments on the ticket page (French forms): propose, cancel, mark attendance, and the
counsellor's .ics download. Every write goes through the appointment desk with via="web"
(it tells the young person and the listeners); who may do what is the permission policy's
(Action.appointment, Action.attendance), checked here before reading the form, and again by
the service.

A proposal the service refuses (a date in the past, no site, a bad phone number...) shows the
ticket page again with the values typed and why (422); outside the team's opening hours it
also offers "proposer quand même" (re-sent with `quand_meme`). Other refusals are
web/errors.py's: a flash on the ticket page, or on the queue for a ticket (or an appointment)
the counsellor may not read, or that is not this ticket's: need to know answers both alike.
"""

from __future__ import annotations

import asyncio
import re
from datetime import date, datetime, time
from typing import Annotated

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import RedirectResponse, Response

from core.models import AppointmentKind
from handoff.appointments import (
    AppointmentDraft,
    AppointmentInvalid,
    AppointmentNotFound,
    AppointmentView,
    OutsideOpeningHours,
)
from handoff.permissions import Action
from handoff.tickets import refused
from web import auth
from web.dashboard.appointment_view import MARK_BUTTONS, ProposalForm
from web.dashboard.guard import QUEUE_PATH, DashboardRoute, ticket_path
from web.dashboard.ticket_page import render_ticket
from web.deps import Me, ServicesDep, TicketId
from web.render import LocalTime

router = APIRouter(prefix=QUEUE_PATH, include_in_schema=False, route_class=DashboardRoute)

AppointmentId = Annotated[int, Path(ge=1, le=2**31 - 1)]
DAY_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})", re.ASCII)
TIME_RE = re.compile(r"(\d{1,2}):(\d{2})(?::\d{2})?", re.ASCII)
DURATION_RE = re.compile(r"\d{1,3}", re.ASCII)
SHORT = 100  # characters of a short form field (date, time, kind, site, number)
LONG = 20_000  # the note and the place detail (the service refuses past its own limits)
BAD_DATE = "Date ou heure du rendez-vous invalide (jour JJ/MM/AAAA et heure HH:MM)."


def _back(ticket_id: int) -> RedirectResponse:
    return RedirectResponse(ticket_path(ticket_id), status_code=303)


def read_start(day: str, at: str, times: LocalTime) -> datetime:
    """The local date and time typed in the form, as an aware datetime (ValueError else)."""
    found_day, found_time = DAY_RE.fullmatch(day.strip()), TIME_RE.fullmatch(at.strip())
    if found_day is None or found_time is None:
        raise ValueError("bad date")
    moment = datetime.combine(
        date(*(int(part) for part in found_day.groups())),
        time(int(found_time.group(1)), int(found_time.group(2))),
    )
    return moment.replace(tzinfo=times.zone)


def draft_of(form: ProposalForm, times: LocalTime, allow_outside: bool) -> AppointmentDraft:
    """The draft the form describes; AppointmentInvalid with a French message otherwise."""
    try:
        kind = AppointmentKind(form.kind)
    except ValueError:
        raise AppointmentInvalid("Choisis le type de rendez-vous.") from None
    try:
        starts = read_start(form.day, form.time, times)
    except ValueError:
        raise AppointmentInvalid(BAD_DATE) from None
    duration = None
    if form.duration.strip():
        if not DURATION_RE.fullmatch(form.duration.strip()):
            raise AppointmentInvalid("La durée doit être un nombre de minutes.")
        duration = int(form.duration.strip())
    return AppointmentDraft(
        kind=kind,
        starts_at=starts,
        duration_minutes=duration,
        site_id=form.site or None,
        call_from=form.call_from or None,
        location=form.location or None,
        note=form.note or None,
        allow_outside_hours=allow_outside,
    )


async def _ticket_appointment(
    services: ServicesDep, me: Me, ticket_id: int, appointment_id: int
) -> AppointmentView:
    """The appointment, if it is this ticket's and `me` may read it (404 otherwise)."""
    view = await asyncio.to_thread(services.appointments.get, appointment_id, me)
    if view.ticket_id != ticket_id:
        raise AppointmentNotFound(f"Rendez-vous #{appointment_id} introuvable.")
    return view


async def _require(services: ServicesDep, me: Me, ticket_id: int, action: Action) -> None:
    ticket = await asyncio.to_thread(lambda: services.tickets.get(ticket_id, viewer=me))
    error = refused(me, ticket, action)
    if error is not None:
        raise error


@router.post("/tickets/{ticket_id}/rendez-vous")
async def propose(
    request: Request,
    services: ServicesDep,
    me: Me,
    ticket_id: TicketId,
    type_: Annotated[str, Form(alias="type", max_length=SHORT)] = "",
    jour: Annotated[str, Form(max_length=SHORT)] = "",
    heure: Annotated[str, Form(max_length=SHORT)] = "",
    duree: Annotated[str, Form(max_length=SHORT)] = "",
    lieu: Annotated[str, Form(max_length=SHORT)] = "",
    appel_depuis: Annotated[str, Form(max_length=SHORT)] = "",
    detail: Annotated[str, Form(max_length=LONG)] = "",
    mot: Annotated[str, Form(max_length=LONG)] = "",
    quand_meme: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    await _require(services, me, ticket_id, Action.appointment)
    form = ProposalForm(
        kind=type_,
        day=jour,
        time=heure,
        duration=duree,
        site=lieu,
        call_from=appel_depuis,
        location=detail,
        note=mot,
    )
    times = LocalTime.of(services.settings)
    try:
        draft = draft_of(form, times, allow_outside=bool(quand_meme))
        view = await services.appointment_desk.propose(ticket_id, me, draft, via="web")
    except AppointmentInvalid as exc:
        form.error = str(exc)
        form.outside_hours = isinstance(exc, OutsideOpeningHours)
        return await render_ticket(
            request, services, me, ticket_id, appointment_form=form, status_code=422
        )
    auth.flash(
        request,
        f"Rendez-vous proposé au jeune pour le {times.show(view.starts_at, '%d/%m/%Y à %H:%M')} :"
        " il peut répondre « ça me va », demander un autre créneau ou dire qu'il ne sait pas.",
    )
    return _back(ticket_id)


@router.post("/tickets/{ticket_id}/rendez-vous/{appointment_id}/annuler")
async def cancel(
    request: Request,
    services: ServicesDep,
    me: Me,
    ticket_id: TicketId,
    appointment_id: AppointmentId,
) -> Response:
    await _ticket_appointment(services, me, ticket_id, appointment_id)
    await services.appointment_desk.cancel(appointment_id, me, via="web")
    auth.flash(request, "Rendez-vous annulé : le jeune est prévenu.")
    return _back(ticket_id)


@router.post("/tickets/{ticket_id}/rendez-vous/{appointment_id}/presence")
async def mark(
    request: Request,
    services: ServicesDep,
    me: Me,
    ticket_id: TicketId,
    appointment_id: AppointmentId,
    statut: Annotated[str, Form(max_length=SHORT)] = "",
) -> Response:
    await _ticket_appointment(services, me, ticket_id, appointment_id)
    titles = dict(MARK_BUTTONS)
    if statut not in titles:
        auth.flash(request, "Choisis : venu·e, pas venu·e ou reporté.", "error")
        return _back(ticket_id)
    await services.appointment_desk.mark(appointment_id, me, statut, via="web")
    auth.flash(request, f"Rendez-vous marqué : {titles[statut]}.")
    return _back(ticket_id)


@router.get("/tickets/{ticket_id}/rendez-vous/{appointment_id}.ics")
async def ics(
    services: ServicesDep, me: Me, ticket_id: TicketId, appointment_id: AppointmentId
) -> Response:
    """The appointment as a calendar file, for the counsellor's own calendar."""
    view = await _ticket_appointment(services, me, ticket_id, appointment_id)
    document = services.appointment_desk.ics(view)
    return Response(
        document.content,
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{document.filename}"'},
    )
