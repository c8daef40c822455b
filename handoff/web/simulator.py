"""The web simulator: chat with the bot in a browser through the same pipeline as Telegram."""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field

from handoff.models import Channel
from handoff.web.deps import get_services

router = APIRouter(prefix="/simulateur")
COOKIE = "maraude_sim"
MAX_BODY_TEXT = 16_384


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
    if body.payload:
        replies = await pipeline.handle_button(
            Channel.simulator, session, body.payload, body.title or body.payload
        )
    elif body.text is not None and body.text.strip():
        replies = await pipeline.handle_text(Channel.simulator, session, body.text)
    else:
        raise HTTPException(status_code=422, detail="Message vide.")
    return JSONResponse({"replies": [r.to_dict() for r in replies]})


@router.post("/api/reset", include_in_schema=False)
async def reset(services: Annotated[Any, Depends(get_services)]) -> JSONResponse:
    """Start over as a new young person (a new pseudonymous identity)."""
    _enabled(services)
    response = JSONResponse({"ok": True})
    _set_session(response)
    return response


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
