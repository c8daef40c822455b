"""Access control of the dashboard: every dashboard route goes through `DashboardRoute`,
which checks, before the route runs:
- the session: the cookie's key is checked against the server-side sessions on every request
  (logged out, revoked, idle, too old, or a deactivated account: no session); not logged in
  gives the login page (HTML routes) or 401 (JSON routes, under /tableau/api/);
- the CSRF token on every POST (403 otherwise), the login form included;
and adds to every answer the headers that keep it out of caches and frames.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute

from web import auth
from web.render import error, protect

if TYPE_CHECKING:
    from handoff.accounts import CounsellorRef
    from maraude.services import Services

log = logging.getLogger(__name__)
QUEUE_PATH = "/tableau"
LOGIN_PATH = f"{QUEUE_PATH}/connexion"
JSON_PATH = f"{QUEUE_PATH}/api/"  # the dashboard's JSON routes (live queue, transcript)
PUBLIC_ROUTES = frozenset({"login_page", "login_submit"})
# Staff pages outside /tableau (web/api_docs.py; the simulator in staff mode: web/simulator.py).
OTHER_NEXT = frozenset({"/docs", "/redoc", "/simulateur"})


def ticket_path(ticket_id: int) -> str:
    return f"{QUEUE_PATH}/tickets/{ticket_id}"


def is_dashboard(path: str) -> bool:
    return path == QUEUE_PATH or path.startswith(QUEUE_PATH + "/")


def wants_json(path: str) -> bool:
    return path.startswith(JSON_PATH)


def safe_next(target: str) -> bool:
    """Only paths of the dashboard's pages and the API documentation (no open redirect)."""
    if target in OTHER_NEXT:
        return True
    return (
        is_dashboard(target)
        and "//" not in target
        and "\\" not in target
        and not wants_json(target)
    )


def _login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET" or not safe_next(target):
        target = ""
    query = f"?{urlencode({'suivant': target})}" if target and target != QUEUE_PATH else ""
    return RedirectResponse(LOGIN_PATH + query, status_code=303)


async def session_account(request: Request, services: Services) -> CounsellorRef | None:
    """The account logged in with this browser's session, if the server-side session is
    still live (not logged out, revoked, idle or too old) and the account active."""
    key = auth.session_key(request)
    if key is None:
        return None
    me = await asyncio.to_thread(services.accounts.session_account, key)
    if me is None:  # ended since: the cookie is emptied
        auth.log_out(request)
    return me


class DashboardRoute(APIRoute):
    """Checks the session and the CSRF token before any dashboard route runs, and adds
    headers that keep the pages out of caches and frames. Refused operations raised by the
    route are answered by web/errors.py."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        name = self.name

        async def guarded(request: Request) -> Response:
            response = await self._check(request, name)
            if response is None:
                response = await handler(request)
            return protect(response)

        return guarded

    @staticmethod
    async def _check(request: Request, name: str) -> Response | None:
        """A response that stops the request here (login page, 401, 403), or None."""
        services: Services = request.app.state.services
        json = wants_json(request.url.path)
        if name not in PUBLIC_ROUTES:
            me = await session_account(request, services)
            if me is None:
                if json:
                    return JSONResponse({"detail": "Connexion requise."}, status_code=401)
                return _login_redirect(request)
            request.state.counsellor = me
        if request.method == "POST" and not await auth.csrf_valid(request):
            log.info("dashboard: CSRF check failed on %s", request.url.path)
            return error(
                request,
                "Formulaire expiré ou invalide : recharge la page et recommence.",
                403,
                json=json,
            )
        return None
