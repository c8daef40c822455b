"""The web chat's routes (issue 23): `/chat` (the page for links and QR codes, and the
widget's frame), `/chat/widget.js` (the one-line embed), and the page's JSON API under
`/chat/api` (the conversations themselves: bot/webchat/).

Who may call: anyone (young people have no account), but
- a conversation is named by a token the app signed (`POST /chat/api/session`, rate-limited
  per IP) and sent in the `X-Maraude-Chat` header, never in a URL;
- a request from another site (its `Origin`) is answered only for the sites of
  `webchat.allowed_origins` (CORS), 403 otherwise; the page may be framed only by them (CSP
  `frame-ancestors`);
- messages are capped in size and counted per IP (WEBCHAT_IP) and per conversation (the
  pipeline's flood gate);
- `webchat.enabled: false`: 404 everywhere.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from core.campaigns import is_code
from core.ratelimit import WEBCHAT_CONTACT, WEBCHAT_IP, WEBCHAT_SESSIONS
from core.settings_webchat import EMAIL_RE
from web import auth
from web.deps import ServicesDep

if TYPE_CHECKING:
    from maraude.services import Services

router = APIRouter(prefix="/chat", include_in_schema=False)
HEADER = "X-Maraude-Chat"
MAX_TEXT = 16_384  # the pipeline keeps 4096 and says so

OFF = "Le chat n'est pas disponible."
NO_TOKEN = "Conversation introuvable : recharge la page."
FOREIGN = "Ce site n'est pas autorisé à utiliser le chat."
TOO_MANY_SESSIONS = "Trop de nouvelles conversations depuis ton adresse : réessaie plus tard."
TOO_FAST = "Trop de messages d'un coup : attends une minute et réessaie."
EMPTY = "Message vide."
BAD_EMAIL = "Cette adresse mail ne semble pas valide."
NO_NOTICES = "Les notifications par mail ne sont pas activées ici."
TOO_MANY_EMAILS = "Trop de changements d'adresse : réessaie dans une heure."
TOO_MANY_STREAMS = "Trop de fenêtres ouvertes sur cette conversation : ferme les autres."
MAX_STREAMS = 3  # live streams of one conversation on one worker (tabs, a reconnect)
NO_STORE = {"Cache-Control": "no-store"}
CORS_HEADERS = "Content-Type, X-Maraude-Chat"
CORS_METHODS = "GET, POST, DELETE"


class StartBody(BaseModel):
    campaign: str | None = Field(default=None, max_length=64)


class MessageBody(BaseModel):
    text: str | None = Field(default=None, max_length=MAX_TEXT)
    payload: str | None = Field(default=None, max_length=300)
    title: str | None = Field(default=None, max_length=300)


class ContactBody(BaseModel):
    email: str = Field(max_length=254)


# Who may ask ----------------------------------------------------------------------------
def own_origin(request: Request, services: Services) -> set[str]:
    """The app's own origins: its public URL and the address this request came to."""
    public = urlsplit(services.settings.public_url)
    return {f"{public.scheme}://{public.netloc}".lower(), str(request.base_url).rstrip("/").lower()}


def allowed(request: Request, services: Services, origin: str) -> bool:
    origin = origin.strip().lower()
    return origin in own_origin(request, services) or origin in set(
        services.settings.webchat.allowed_origins
    )


def frame_ancestors(services: Services) -> str:
    return " ".join(["'self'", *services.settings.webchat.allowed_origins])


def page_policy(services: Services) -> str:
    """The page's CSP: the app's own scripts, styles and requests only; framed only by the
    allowed sites."""
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "
        f"frame-ancestors {frame_ancestors(services)}"
    )


def _on(services: Services) -> None:
    if not services.settings.webchat.enabled:
        raise HTTPException(status_code=404, detail=OFF)


def _cors(request: Request, services: Services) -> dict[str, str]:
    """The CORS headers of an answer: none for the app's own pages and for requests without
    an Origin; the origin itself for an allowed site; 403 for any other site."""
    origin = request.headers.get("origin")
    if origin is None or origin.strip().lower() in own_origin(request, services):
        return {}
    if not allowed(request, services, origin):
        raise HTTPException(status_code=403, detail=FOREIGN)
    return {
        "Access-Control-Allow-Origin": origin,
        "Vary": "Origin",
        "Access-Control-Expose-Headers": "Retry-After",
    }


async def _gate(request: Request, services: Services) -> dict[str, str]:
    _on(services)
    return _cors(request, services)


def _token(request: Request, services: Services) -> str:
    token = request.headers.get(HEADER)
    if not services.webchat.valid_token(token):
        raise HTTPException(status_code=400, detail=NO_TOKEN)
    assert token is not None
    return token


def _count_message(request: Request, services: Services) -> None:
    if not services.rate_limits.hit(WEBCHAT_IP, auth.client_ip(request)):
        raise HTTPException(status_code=429, detail=TOO_FAST, headers={"Retry-After": "60"})


def _json(data: dict[str, Any], headers: dict[str, str]) -> JSONResponse:
    return JSONResponse(data, headers={**NO_STORE, **headers})


# Pages ----------------------------------------------------------------------------------
@router.get("", response_class=HTMLResponse)
async def page(
    request: Request,
    services: ServicesDep,
    c: Annotated[str | None, Query(max_length=64)] = None,
    embed: Annotated[int, Query(ge=0, le=1)] = 0,
) -> Response:
    """The chat page (a link, a QR code: `?c=<campaign code>`; the widget's frame:
    `?embed=1`). The campaign code is dropped if it is not one a link can carry."""
    _on(services)
    webchat = services.settings.webchat
    response = services.templates.TemplateResponse(
        request,
        "chat.html",
        {
            "w": webchat,
            "campaign": c if c and is_code(c) else "",
            "embed": bool(embed),
        },
    )
    response.headers["Content-Security-Policy"] = page_policy(services)
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


COLOUR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")


@router.get("/widget.js")
async def widget(request: Request, services: ServicesDep) -> Response:
    """The loader a site embeds with one `<script>` tag: a button that opens the chat in a
    frame of this app. The frame's page keeps the conversation's token in the site's own
    storage through the loader (postMessage between the two, checked on both sides), since
    browsers partition or block a third-party frame's storage."""
    _on(services)
    webchat = services.settings.webchat
    config = {
        "origin": services.settings.public_url,
        "label": webchat.button_label,
        "title": webchat.title,
        "colour": webchat.colour if COLOUR_RE.fullmatch(webchat.colour) else "#1d4ed8",
        "exit": webchat.exit_url,
    }
    template = services.templates.get_template("chat_widget.js")
    body = template.render(config=json.dumps(config, ensure_ascii=False).replace("</", "<\\/"))
    return Response(
        body,
        media_type="text/javascript; charset=utf-8",
        headers={
            "Cache-Control": "public, max-age=300",
            "Cross-Origin-Resource-Policy": "cross-origin",
        },
    )


# The page's API -------------------------------------------------------------------------
@router.options("/api/{path:path}")
async def preflight(path: str, request: Request, services: ServicesDep) -> Response:
    """CORS preflight: allowed sites only (403 otherwise, whatever they ask)."""
    headers = await _gate(request, services)
    return Response(
        status_code=204,
        headers={
            **headers,
            "Access-Control-Allow-Methods": CORS_METHODS,
            "Access-Control-Allow-Headers": CORS_HEADERS,
            "Access-Control-Max-Age": "600",
        },
    )


@router.post("/api/session")
async def new_session(request: Request, services: ServicesDep) -> JSONResponse:
    """A new conversation's token (nothing is stored until the first message)."""
    headers = await _gate(request, services)
    if not services.rate_limits.hit(WEBCHAT_SESSIONS, auth.client_ip(request)):
        raise HTTPException(
            status_code=429, detail=TOO_MANY_SESSIONS, headers={"Retry-After": "600", **headers}
        )
    return _json({"token": services.webchat.new_token()}, headers)


@router.post("/api/start")
async def start(body: StartBody, request: Request, services: ServicesDep) -> JSONResponse:
    headers = await _gate(request, services)
    token = _token(request, services)
    _count_message(request, services)
    campaign = body.campaign if body.campaign and is_code(body.campaign) else None
    answer = await services.webchat.start(token, campaign)
    return await _answer(token, answer, services, headers)


@router.post("/api/messages")
async def message(body: MessageBody, request: Request, services: ServicesDep) -> JSONResponse:
    headers = await _gate(request, services)
    token = _token(request, services)
    if not body.payload and not (body.text or "").strip():
        raise HTTPException(status_code=422, detail=EMPTY)
    _count_message(request, services)
    answer = await services.webchat.send(
        token, text=body.text, payload=body.payload, title=body.title
    )
    return await _answer(token, answer, services, headers)


async def _answer(
    token: str, answer: Any, services: Services, headers: dict[str, str]
) -> JSONResponse:
    state = await services.webchat.state(token)
    return _json(
        {
            "replies": [reply.to_dict() for reply in answer.replies],
            "shown": answer.shown,
            "forgotten": answer.forgotten,
            "state": state.to_dict(),
        },
        headers,
    )


@router.get("/api/history")
async def history(request: Request, services: ServicesDep) -> JSONResponse:
    """The conversation kept so far (a returning young person), and the cursor to go on."""
    headers = await _gate(request, services)
    token = _token(request, services)
    items, cursor = await services.webchat.history(token)
    state = await services.webchat.state(token)
    return _json(
        {"messages": [i.to_dict() for i in items], "cursor": cursor, "state": state.to_dict()},
        headers,
    )


@router.get("/api/updates")
async def updates(
    request: Request,
    services: ServicesDep,
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
) -> JSONResponse:
    """What reached the conversation after `after` (the polling fallback of the stream)."""
    headers = await _gate(request, services)
    token = _token(request, services)
    items, cursor = await services.webchat.updates(token, after)
    return _json({"messages": [i.to_dict() for i in items], "cursor": cursor}, headers)


@router.get("/api/stream")
async def stream(
    request: Request,
    services: ServicesDep,
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
) -> StreamingResponse:
    """Server-sent events: `messages` as they reach the conversation, a comment now and
    then; it ends after `webchat.stream_seconds` (the page reconnects with its cursor)."""
    headers = await _gate(request, services)
    token = _token(request, services)
    settings = services.settings.webchat
    person = await asyncio.to_thread(services.webchat.person, token)
    if person is not None and services.webchat.hub.listeners(person.id) >= MAX_STREAMS:
        # Each stream reads the outbox every few seconds: one page may not open hundreds.
        raise HTTPException(
            status_code=429, detail=TOO_MANY_STREAMS, headers={"Retry-After": "30", **headers}
        )

    async def events() -> AsyncIterator[str]:
        yield "retry: 3000\n\n"
        cursor = after
        async for items in services.webchat.stream(
            token, after, seconds=settings.stream_seconds, poll=settings.stream_poll_seconds
        ):
            if await request.is_disconnected():
                return
            if items:
                cursor = items[-1].id
                data = {"messages": [i.to_dict() for i in items], "cursor": cursor}
                yield f"event: messages\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"
            else:
                yield ": keep-alive\n\n"
            await asyncio.sleep(0)

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={**NO_STORE, **headers, "X-Accel-Buffering": "no"},
    )


@router.post("/api/contact")
async def set_contact(body: ContactBody, request: Request, services: ServicesDep) -> JSONResponse:
    """The address that tells the young person an answer waits (never its content)."""
    headers = await _gate(request, services)
    token = _token(request, services)
    if not services.settings.webchat.email.enabled:
        raise HTTPException(status_code=404, detail=NO_NOTICES)
    email = body.email.strip()
    if not EMAIL_RE.fullmatch(email):
        raise HTTPException(status_code=422, detail=BAD_EMAIL)
    if await asyncio.to_thread(services.webchat.person, token) is None:
        raise HTTPException(status_code=400, detail=NO_TOKEN)
    if not services.rate_limits.hit(WEBCHAT_CONTACT, services.webchat.user_key(token)):
        raise HTTPException(
            status_code=429, detail=TOO_MANY_EMAILS, headers={"Retry-After": "3600"}
        )
    if not await services.webchat.set_contact(token, email):
        raise HTTPException(status_code=400, detail=NO_TOKEN)
    return _json({"state": (await services.webchat.state(token)).to_dict()}, headers)


@router.delete("/api/contact")
async def forget_contact(request: Request, services: ServicesDep) -> JSONResponse:
    headers = await _gate(request, services)
    token = _token(request, services)
    if not await services.webchat.set_contact(token, None):
        raise HTTPException(status_code=400, detail=NO_TOKEN)
    return _json({"state": (await services.webchat.state(token)).to_dict()}, headers)
