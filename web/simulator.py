"""The web simulator's routes: chat with the bot in a browser (the conversations themselves:
bot/simulator.py). The page polls `/simulateur/api/updates?after=<last message id>` for what
the hand-off sends outside a reply.

Who may use it (`server.simulator`, resolved by `Settings.simulator_mode`):
- open (the `make run` demo, no Telegram token): anyone; a new session per IP is rate
  limited (`SIMULATOR_SESSIONS`);
- staff (a Telegram token is set): a dashboard login; the page sends others to the login
  page, the API answers 401, and its POSTs need the session's CSRF token. Its conversations
  are simulations, kept out of the queue, alerts and results (core/simulations.py);
- off: 404 everywhere.
Each session's messages go through the conversation pipeline's flood control (bot/flood.py),
like a Telegram chat.

Manager mode ("mode responsable"): a manager or admin logged into the dashboard (same
browser, dashboard session) may ask, with each message, what the engine made of it: the
normalised text, the intent and its confidence, the entities, the crisis guard's flag and
the actions taken. The API refuses the mode to anyone else (403), whatever the page shows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from pydantic import BaseModel, Field

from bot.simulator import new_session, valid_session
from core.ratelimit import SIMULATOR_SESSIONS
from core.settings import SimulatorMode
from handoff.accounts import CounsellorRef
from web import auth
from web.dashboard.guard import LOGIN_PATH, session_account
from web.deps import ServicesDep

if TYPE_CHECKING:
    from maraude.services import Services

router = APIRouter(prefix="/simulateur")
PAGE_PATH = "/simulateur"
COOKIE = "maraude_sim"
MAX_BODY_TEXT = 16_384

MANAGER_ONLY = "Mode responsable réservé aux responsables connectés au tableau de bord."
LOGIN_REQUIRED = "Connexion au tableau de bord requise pour utiliser le simulateur."
FORM_EXPIRED = "Session expirée : recharge la page."
TOO_MANY_SESSIONS = "Trop de nouvelles conversations depuis ton adresse : réessaie plus tard."
NO_SESSION = "Session du simulateur absente : recharge la page."


class SimMessage(BaseModel):
    text: str | None = Field(default=None, max_length=MAX_BODY_TEXT)
    payload: str | None = Field(default=None, max_length=300)
    title: str | None = Field(default=None, max_length=300)
    inspect: bool = False  # manager mode: also return what the engine understood


class Access:
    """Who uses the simulator in this request: the account logged into the dashboard in this
    browser (None in the open demo without a login)."""

    def __init__(self, account: CounsellorRef | None) -> None:
        self.account = account

    @property
    def manager(self) -> CounsellorRef | None:
        return self.account if self.account is not None and self.account.can_manage else None


async def _access(request: Request, services: Services, *, post: bool = False) -> Access:
    """The simulator's gate for its API: 404 when off; in staff mode 401 without a dashboard
    login and 403 for a POST without the session's CSRF token."""
    mode = services.settings.simulator_mode
    if mode is SimulatorMode.off:
        raise HTTPException(status_code=404, detail="Simulateur désactivé")
    account = await _account(request, services)
    if mode is SimulatorMode.staff:
        if account is None:
            raise HTTPException(status_code=401, detail=LOGIN_REQUIRED)
        if post and not await auth.csrf_valid(request):
            raise HTTPException(status_code=403, detail=FORM_EXPIRED)
    return Access(account)


@router.get("", response_class=HTMLResponse, include_in_schema=False)
async def page(request: Request, services: ServicesDep) -> Response:
    mode = services.settings.simulator_mode
    if mode is SimulatorMode.off:
        raise HTTPException(status_code=404, detail="Simulateur désactivé")
    account = await _account(request, services)
    if mode is SimulatorMode.staff and account is None:
        return RedirectResponse(f"{LOGIN_PATH}?{urlencode({'suivant': PAGE_PATH})}", 303)
    fresh = not valid_session(request.cookies.get(COOKIE))
    if fresh and mode is SimulatorMode.open and not _new_session_allowed(request, services):
        return HTMLResponse(TOO_MANY_SESSIONS, status_code=429, headers={"Retry-After": "600"})
    access = Access(account)
    response = services.templates.TemplateResponse(
        request,
        "simulator.html",
        {
            "s": services.settings,
            "manager": access.manager,
            "staff": mode is SimulatorMode.staff,
            "csrf": auth.csrf_token(request) if account is not None else "",
        },
    )
    if fresh:
        _set_session(response)
    return response


@router.post("/api/messages", include_in_schema=False)
async def post_message(body: SimMessage, request: Request, services: ServicesDep) -> JSONResponse:
    access = await _access(request, services, post=True)
    session = _session(request)
    if not body.payload and not (body.text or "").strip():
        raise HTTPException(status_code=422, detail="Message vide.")
    if body.inspect and (access.manager is None or not await auth.csrf_valid(request)):
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
    await _access(request, services)
    session = _session(request)
    messages, last = await services.simulator.updates(session, after)
    return JSONResponse({"messages": messages, "last": last}, headers={"Cache-Control": "no-store"})


@router.post("/api/reset", include_in_schema=False)
async def reset(request: Request, services: ServicesDep) -> JSONResponse:
    """Start over as a new young person (a new pseudonymous identity)."""
    await _access(request, services, post=True)
    if services.settings.simulator_mode is SimulatorMode.open and not _new_session_allowed(
        request, services
    ):
        raise HTTPException(
            status_code=429, detail=TOO_MANY_SESSIONS, headers={"Retry-After": "600"}
        )
    response = JSONResponse({"ok": True})
    _set_session(response)
    return response


def _session(request: Request) -> str:
    session = request.cookies.get(COOKIE)
    if session is None or not valid_session(session):
        raise HTTPException(status_code=400, detail=NO_SESSION)
    return session


async def _account(request: Request, services: Services) -> CounsellorRef | None:
    """The account logged into the dashboard in this browser, if any (the server-side
    session is checked: a logged-out, deactivated or downgraded account loses access at
    once)."""
    if "session" not in request.scope:
        return None
    return await session_account(request, services)


def _new_session_allowed(request: Request, services: Services) -> bool:
    """Open demo: a new simulated young person per IP is rate limited (each one may raise
    tickets)."""
    return services.rate_limits.hit(SIMULATOR_SESSIONS, auth.client_ip(request))


def _set_session(response: Response) -> None:
    response.set_cookie(COOKIE, new_session(), httponly=True, samesite="strict", max_age=30 * 86400)
