"""The web simulator: chat with the bot in a browser through the same pipeline as Telegram.

The page cannot be pushed to, so what the hand-off desk sends outside a reply (the
counsellor's messages, "X a pris ta demande", the closing notice) is read back from the
stored messages: the page polls `/simulateur/api/updates?after=<last message id>`.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field

from handoff.models import Channel, Origin
from handoff.services.people import pseudonymise
from handoff.web.deps import get_services

router = APIRouter(prefix="/simulateur")
COOKIE = "maraude_sim"
MAX_BODY_TEXT = 16_384
MAX_UPDATES = 50


class SimMessage(BaseModel):
    text: str | None = Field(default=None, max_length=MAX_BODY_TEXT)
    payload: str | None = Field(default=None, max_length=300)
    title: str | None = Field(default=None, max_length=300)


def _enabled(services: Any) -> None:
    if not services.settings.server.simulator_enabled:
        raise HTTPException(status_code=404, detail="Simulateur désactivé")


@router.get("", response_class=HTMLResponse, include_in_schema=False)
async def page(request: Request, services: Annotated[Any, Depends(get_services)]) -> Response:
    _enabled(services)
    response = services.templates.TemplateResponse(
        request, "simulator.html", {"s": services.settings}
    )
    if not _valid_session(request.cookies.get(COOKIE)):
        _set_session(response)
    return response


@router.post("/api/messages", include_in_schema=False)
async def post_message(
    body: SimMessage, request: Request, services: Annotated[Any, Depends(get_services)]
) -> JSONResponse:
    _enabled(services)
    session = request.cookies.get(COOKIE)
    if not _valid_session(session):
        raise HTTPException(
            status_code=400, detail="Session du simulateur absente : recharge la page."
        )
    assert session is not None
    pipeline = services.pipeline
    if not body.payload and not (body.text or "").strip():
        raise HTTPException(status_code=422, detail="Message vide.")
    person = await asyncio.to_thread(_person, services, session)
    mark = (
        0 if person is None else await asyncio.to_thread(services.tickets.last_outgoing_id, person)
    )
    if body.payload:
        replies = await pipeline.handle_button(
            Channel.simulator, session, body.payload, body.title or body.payload
        )
    else:
        assert body.text is not None
        replies = await pipeline.handle_text(Channel.simulator, session, body.text)
    return JSONResponse(
        {
            "replies": [r.to_dict() for r in replies],
            "shown": await asyncio.to_thread(_shown, services, session, mark, replies),
        }
    )


@router.get("/api/updates", include_in_schema=False)
async def updates(
    request: Request,
    services: Annotated[Any, Depends(get_services)],
    after: Annotated[int | None, Query(ge=0, le=2**62)] = None,
) -> JSONResponse:
    """What the hand-off sent this session's young person after message `after`.

    Without `after`, only the cursor to start from (nothing older is replayed).
    """
    _enabled(services)
    session = request.cookies.get(COOKIE)
    if not _valid_session(session):
        raise HTTPException(
            status_code=400, detail="Session du simulateur absente : recharge la page."
        )
    assert session is not None
    person = await asyncio.to_thread(_person, services, session)
    if person is None:
        return JSONResponse({"messages": [], "last": after or 0})
    if after is None:
        last = await asyncio.to_thread(services.tickets.last_outgoing_id, person)
        return JSONResponse({"messages": [], "last": last})
    items = await asyncio.to_thread(services.tickets.outgoing_since, person, after, MAX_UPDATES)
    prefix = services.settings.handoff.counsellor_prefix
    messages = [
        {
            "id": item.id,
            "origin": str(item.origin),
            "text": item.text,
            "from": item.counsellor_name if item.origin is Origin.counsellor else None,
            "label": (
                prefix.format(name=item.counsellor_name or "")
                if item.origin is Origin.counsellor
                else None
            ),
        }
        for item in items
    ]
    return JSONResponse(
        {"messages": messages, "last": items[-1].id if items else after},
        headers={"Cache-Control": "no-store"},
    )


@router.post("/api/reset", include_in_schema=False)
async def reset(services: Annotated[Any, Depends(get_services)]) -> JSONResponse:
    """Start over as a new young person (a new pseudonymous identity)."""
    _enabled(services)
    response = JSONResponse({"ok": True})
    _set_session(response)
    return response


def _person(services: Any, session: str) -> int | None:
    """The id of this browser session's young person, without creating or touching it."""
    pseudo = pseudonymise(services.settings.secret_key, Channel.simulator, session)
    person = services.people.get(pseudo)
    return None if person is None else int(person.id)


def _shown(services: Any, session: str, mark: int, replies: list[Any]) -> list[int]:
    """Ids of hand-off messages stored during this request that its replies already show
    (helplines during a hand-off), so that the page's polling does not show them twice."""
    person = _person(services, session)
    if person is None:
        return []
    texts = {reply.text for reply in replies}
    return [
        item.id
        for item in services.tickets.outgoing_since(person, mark, MAX_UPDATES)
        if item.origin is Origin.bot and item.text in texts
    ]


def _valid_session(value: str | None) -> bool:
    return (
        bool(value)
        and 16 <= len(value or "") <= 64
        and (value or "").replace("-", "").replace("_", "").isalnum()
    )


def _set_session(response: Response) -> None:
    response.set_cookie(
        COOKIE, secrets.token_urlsafe(18), httponly=True, samesite="strict", max_age=30 * 86400
    )
