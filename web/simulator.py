"""The web simulator's routes: chat with the bot in a browser (the conversations themselves:
bot/simulator.py). The page polls `/simulateur/api/updates?after=<last message id>` for what
the hand-off sends outside a reply.

Manager mode ("mode responsable"): a manager or admin logged into the dashboard (same
browser, dashboard session) may ask, with each message, what the engine made of it: the
normalised text, the intent and its confidence, the entities, the crisis guard's flag and
the actions taken. The API refuses the mode to anyone else (403), whatever the page shows.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field

from bot.simulator import new_session, valid_session
from handoff.accounts import CounsellorRef
from web import auth
from web.deps import ServicesDep

if TYPE_CHECKING:
    from maraude.services import Services

router = APIRouter(prefix="/simulateur")
COOKIE = "maraude_sim"
MAX_BODY_TEXT = 16_384

MANAGER_ONLY = "Mode responsable réservé aux responsables connectés au tableau de bord."


class SimMessage(BaseModel):
    text: str | None = Field(default=None, max_length=MAX_BODY_TEXT)
    payload: str | None = Field(default=None, max_length=300)
    title: str | None = Field(default=None, max_length=300)
    inspect: bool = False  # manager mode: also return what the engine understood


def _enabled(services: Services) -> None:
    if not services.settings.server.simulator_enabled:
        raise HTTPException(status_code=404, detail="Simulateur désactivé")


@router.get("", response_class=HTMLResponse, include_in_schema=False)
async def page(request: Request, services: ServicesDep) -> Response:
    _enabled(services)
    manager = await _manager(request, services)
    response = services.templates.TemplateResponse(
        request,
        "simulator.html",
        {
            "s": services.settings,
            "manager": manager,
            "csrf": auth.csrf_token(request) if manager is not None else "",
        },
    )
    if not valid_session(request.cookies.get(COOKIE)):
        _set_session(response)
    return response


@router.post("/api/messages", include_in_schema=False)
async def post_message(body: SimMessage, request: Request, services: ServicesDep) -> JSONResponse:
    _enabled(services)
    session = request.cookies.get(COOKIE)
    if not valid_session(session):
        raise HTTPException(
            status_code=400, detail="Session du simulateur absente : recharge la page."
        )
    assert session is not None
    if not body.payload and not (body.text or "").strip():
        raise HTTPException(status_code=422, detail="Message vide.")
    if body.inspect and (
        await _manager(request, services) is None or not await auth.csrf_valid(request)
    ):
        raise HTTPException(status_code=403, detail=MANAGER_ONLY)
    answer = await services.simulator.send(
        session, text=body.text, payload=body.payload, title=body.title, inspect=body.inspect
    )
    result: dict[str, Any] = {
        "replies": [r.to_dict() for r in answer.replies],
        "shown": answer.shown,
    }
    if body.inspect:
        result["turn"] = answer.turn.to_dict() if answer.turn is not None else None
    return JSONResponse(result, headers={"Cache-Control": "no-store"})


@router.get("/api/updates", include_in_schema=False)
async def updates(
    request: Request,
    services: ServicesDep,
    after: Annotated[int | None, Query(ge=0, le=2**62)] = None,
) -> JSONResponse:
    """What the hand-off sent this session's young person after message `after`.

    Without `after`, only the cursor to start from (nothing older is replayed).
    """
    _enabled(services)
    session = request.cookies.get(COOKIE)
    if not valid_session(session):
        raise HTTPException(
            status_code=400, detail="Session du simulateur absente : recharge la page."
        )
    assert session is not None
    messages, last = await services.simulator.updates(session, after)
    return JSONResponse({"messages": messages, "last": last}, headers={"Cache-Control": "no-store"})


@router.post("/api/reset", include_in_schema=False)
async def reset(services: ServicesDep) -> JSONResponse:
    """Start over as a new young person (a new pseudonymous identity)."""
    _enabled(services)
    response = JSONResponse({"ok": True})
    _set_session(response)
    return response


async def _manager(request: Request, services: Services) -> CounsellorRef | None:
    """The manager or admin logged into the dashboard in this browser, if any (the account is
    read again: a deactivated or downgraded account loses the mode at once)."""
    counsellor_id = auth.session_counsellor_id(request)
    if counsellor_id is None or auth.session_expired(request, services.tickets.now()):
        return None
    me: CounsellorRef | None = await asyncio.to_thread(services.accounts.get, counsellor_id)
    return me if me is not None and me.can_manage else None


def _set_session(response: Response) -> None:
    response.set_cookie(COOKIE, new_session(), httponly=True, samesite="strict", max_age=30 * 86400)
