"""Dashboard login and logout (French): e-mail and password, a throttle on repeated
failures, back to the page asked for (dashboard pages only)."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from web import auth
from web.dashboard.guard import LOGIN_PATH, QUEUE_PATH, DashboardRoute, safe_next, session_account
from web.deps import Me, ServicesDep
from web.render import render

log = logging.getLogger(__name__)
router = APIRouter(prefix=QUEUE_PATH, include_in_schema=False, route_class=DashboardRoute)


def _throttle(request: Request) -> auth.LoginThrottle:
    throttle = getattr(request.app.state, "dashboard_login_throttle", None)
    if throttle is None:
        throttle = auth.LoginThrottle()
        request.app.state.dashboard_login_throttle = throttle
    return throttle


@router.get("/connexion", response_class=HTMLResponse)
async def login_page(request: Request, services: ServicesDep, suivant: str = "") -> Response:
    if auth.session_key(request) is not None:
        if await session_account(request, services) is not None:
            return RedirectResponse(suivant if safe_next(suivant) else QUEUE_PATH, 303)
    return render(
        request,
        services,
        "dashboard_login.html",
        {"next": suivant if safe_next(suivant) else "", "email": "", "error": ""},
    )


@router.post("/connexion", response_class=HTMLResponse)
async def login_submit(
    request: Request,
    services: ServicesDep,
    email: Annotated[str, Form(max_length=254)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    suivant: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    now = services.tickets.now()
    throttle = _throttle(request)
    target = suivant if safe_next(suivant) else QUEUE_PATH
    if throttle.blocked(email, now):
        error = "Trop de tentatives pour ce compte. Réessaie dans quelques minutes."
    else:
        me = await asyncio.to_thread(services.accounts.authenticate, email, password)
        if me is not None:
            throttle.succeeded(email)
            key = await asyncio.to_thread(
                services.accounts.open_session, me.id, request.headers.get("user-agent", "")
            )
            auth.log_in(request, key)
            log.info("dashboard: counsellor %s logged in", me.id)
            return RedirectResponse(target, status_code=303)
        throttle.failed(email, now)
        error = "E-mail ou mot de passe incorrect."
    return render(
        request,
        services,
        "dashboard_login.html",
        {"next": suivant if safe_next(suivant) else "", "email": email, "error": error},
        status_code=401,
    )


@router.post("/deconnexion")
async def logout(request: Request, services: ServicesDep, me: Me) -> Response:
    key = auth.session_key(request)
    if key is not None:  # the server-side session ends: the old cookie is refused from now
        await asyncio.to_thread(services.accounts.close_session, key)
    auth.log_out(request)
    auth.flash(request, "Tu es déconnecté·e.")
    return RedirectResponse(LOGIN_PATH, status_code=303)
