"""FastAPI dependencies, declared once: routes get the services container (never a global),
the dashboard's logged-in counsellor (`Me`), the managers-only gate (`Manager`) and the
dashboard's ticket id (`TicketId`).

`Services` lives above web (maraude/services.py, the composition root): type checkers see the
real class, FastAPI only needs the dependency (`Any` at runtime keeps the import out of web).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Path, Request

from core.vocabulary import MAX_TICKET_ID
from handoff.accounts import CounsellorRef

if TYPE_CHECKING:
    from maraude.services import Services

MANAGERS_ONLY = "Cette page est réservée aux responsables et aux admins."


class ManagersOnly(Exception):
    """A counsellor asked for a managers' page (403: web/errors.py)."""

    def __init__(self, message: str = MANAGERS_ONLY) -> None:
        super().__init__(message)


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


if TYPE_CHECKING:
    ServicesDep = Annotated[Services, Depends(get_services)]
else:
    ServicesDep = Annotated[Any, Depends(get_services)]


def current_counsellor(request: Request) -> CounsellorRef:
    """The logged-in account, set by DashboardRoute (every non-public dashboard route has
    one: web/dashboard/guard.py)."""
    me: CounsellorRef = request.state.counsellor
    return me


Me = Annotated[CounsellorRef, Depends(current_counsellor)]


def current_manager(me: Me) -> CounsellorRef:
    """The logged-in account if it may manage (manager or admin); a counsellor gets 403."""
    if not me.can_manage:
        raise ManagersOnly()
    return me


Manager = Annotated[CounsellorRef, Depends(current_manager)]

# A ticket id in a dashboard URL (larger ids are refused before they reach the database).
TicketId = Annotated[int, Path(ge=1, le=MAX_TICKET_ID)]
