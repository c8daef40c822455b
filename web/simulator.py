"""The web simulator: chat with the bot in a browser through the same pipeline as Telegram.

The page cannot be pushed to, so what the hand-off desk sends outside a reply (the
counsellor's messages, "X a pris ta demande", the closing notice) is read back from the
stored messages: the page polls `/simulateur/api/updates?after=<last message id>`.

Manager mode ("mode responsable"): a manager or admin logged into the dashboard (same
browser, dashboard session) may ask, with each message, what the engine made of it: the
normalised text, the intent and its confidence, the entities, the crisis guard's flag and
the actions taken. The turn is the one the pipeline reads from the engine after the
exchange (`EngineClient.last_turn`, handed to its observers: `TurnInspector`). The API
refuses the mode to anyone else (403), whatever the page shows.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field

from bot.pipeline import Exchange
from core.models import Channel, Origin
from core.people import pseudonymise
from core.turns import TurnInfo
from handoff.accounts import CounsellorRef
from web import auth
from web.deps import ServicesDep

if TYPE_CHECKING:
    from maraude.services import Services

router = APIRouter(prefix="/simulateur")
COOKIE = "maraude_sim"
MAX_BODY_TEXT = 16_384
MAX_UPDATES = 50

MANAGER_ONLY = "Mode responsable réservé aux responsables connectés au tableau de bord."


class SimMessage(BaseModel):
    text: str | None = Field(default=None, max_length=MAX_BODY_TEXT)
    payload: str | None = Field(default=None, max_length=300)
    title: str | None = Field(default=None, max_length=300)
    inspect: bool = False  # manager mode: also return what the engine understood


class TurnInspector:
    """Pipeline observer keeping the engine's turn for the simulator messages that asked.

    The route says which conversation it waits for (`expect`), the pipeline hands over the
    turn it read after the exchange, the route takes it (`take`). Nothing is kept for
    conversations nobody waits for. No turn: the message did not go to the engine (relayed
    to a counsellor, engine down, erasure).
    """

    def __init__(self) -> None:
        self._waiting: dict[str, TurnInfo | None] = {}

    def expect(self, pseudo_id: str) -> None:
        self._waiting[pseudo_id] = None

    def take(self, pseudo_id: str) -> TurnInfo | None:
        return self._waiting.pop(pseudo_id, None)

    async def after_exchange(self, exchange: Exchange) -> None:
        if exchange.person.pseudo_id in self._waiting:
            self._waiting[exchange.person.pseudo_id] = exchange.turn


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
    if not _valid_session(request.cookies.get(COOKIE)):
        _set_session(response)
    return response


@router.post("/api/messages", include_in_schema=False)
async def post_message(body: SimMessage, request: Request, services: ServicesDep) -> JSONResponse:
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
    inspector = None
    if body.inspect:
        if await _manager(request, services) is None or not await auth.csrf_valid(request):
            raise HTTPException(status_code=403, detail=MANAGER_ONLY)
        inspector = _inspector(services)
    pseudo = pseudonymise(services.settings.secret_key, Channel.simulator, session)
    person = await asyncio.to_thread(_person, services, session)
    mark = (
        0 if person is None else await asyncio.to_thread(services.tickets.last_outgoing_id, person)
    )
    if inspector is not None:
        inspector.expect(pseudo)
    try:
        if body.payload:
            replies = await pipeline.handle_button(
                Channel.simulator, session, body.payload, body.title or body.payload
            )
        else:
            assert body.text is not None
            replies = await pipeline.handle_text(Channel.simulator, session, body.text)
    finally:
        turn = inspector.take(pseudo) if inspector is not None else None
    result: dict[str, Any] = {
        "replies": [r.to_dict() for r in replies],
        "shown": await asyncio.to_thread(_shown, services, session, mark, replies),
    }
    if inspector is not None:
        result["turn"] = turn.to_dict() if turn is not None else None
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


def _inspector(services: Services) -> TurnInspector:
    """The app's inspector (maraude/app.py registers one on the pipeline)."""
    for observer in services.pipeline.observers:
        if isinstance(observer, TurnInspector):
            return observer
    raise HTTPException(status_code=503, detail="Mode responsable indisponible.")


def _person(services: Services, session: str) -> int | None:
    """The id of this browser session's young person, without creating or touching it."""
    pseudo = pseudonymise(services.settings.secret_key, Channel.simulator, session)
    person = services.people.get(pseudo)
    return None if person is None else int(person.id)


def _shown(services: Services, session: str, mark: int, replies: list[Any]) -> list[int]:
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
