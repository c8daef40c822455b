"""Refused operations as HTTP answers, mapped by class in one place (`install` registers the
handler on the app, in maraude/app.py).

Domain errors carry a French message, never an HTTP status: TicketNotFound is 404 (a ticket
that does not exist, and one the counsellor may not read: need to know answers both alike),
TicketConflict 409, TicketForbidden 403, TicketInvalid 422, any other TicketError 400, and a
counsellor on a managers' page (ManagersOnly, web/deps.py) 403. The answer keeps the shape of
where it was raised:
- the REST API and the dashboard's JSON routes: `{"detail": "<message>"}`;
- a dashboard form (POST) on a ticket: the message as a flash, back on the ticket page (on the
  queue when the ticket does not exist);
- any other dashboard page: the error page.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response

from core.text import storable_json
from handoff.tickets import (
    TicketConflict,
    TicketError,
    TicketForbidden,
    TicketInvalid,
    TicketNotFound,
)
from web import auth
from web.dashboard.guard import QUEUE_PATH, is_dashboard, ticket_path, wants_json
from web.deps import ManagersOnly
from web.render import error, protect

STATUSES: tuple[tuple[type[Exception], int], ...] = (
    (TicketNotFound, 404),
    (TicketConflict, 409),
    (TicketForbidden, 403),
    (TicketInvalid, 422),
    (TicketError, 400),
    (ManagersOnly, 403),
)


def status_of(refusal: Exception) -> int:
    return next(status for kind, status in STATUSES if isinstance(refusal, kind))


def _dashboard_answer(request: Request, refusal: Exception, status: int) -> Response:
    path = request.url.path
    if isinstance(refusal, TicketError) and request.method == "POST" and not wants_json(path):
        auth.flash(request, str(refusal), "error")
        ticket_id = request.path_params.get("ticket_id")
        if isinstance(refusal, TicketNotFound) or ticket_id is None:
            target = QUEUE_PATH
        else:
            target = ticket_path(int(ticket_id))
        return RedirectResponse(target, status_code=303)
    return error(request, str(refusal), status, json=wants_json(path))


async def refused(request: Request, refusal: Exception) -> Response:
    """The HTTP answer to a refused operation raised by a route (or its dependencies)."""
    status = status_of(refusal)
    if is_dashboard(request.url.path):
        return protect(_dashboard_answer(request, refusal, status))
    return JSONResponse({"detail": str(refusal)}, status_code=status)


async def invalid_request(request: Request, exc: Exception) -> Response:
    """FastAPI's own 422 answer, whose errors quote the input: made storable first (a lone
    surrogate, valid in JSON but not in UTF-8, would otherwise make the answer a 500)."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    return JSONResponse({"detail": storable_json(jsonable_encoder(errors))}, status_code=422)


def install(app: FastAPI) -> None:
    for kind in (TicketError, ManagersOnly):  # subclasses included
        app.add_exception_handler(kind, refused)
    app.add_exception_handler(RequestValidationError, invalid_request)
