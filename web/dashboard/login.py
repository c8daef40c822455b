"""Dashboard login and logout (French): e-mail and password, growing delays after repeated
failures (per account and IP, per IP, per account: web/auth.py `LoginThrottle`), back to the
page asked for (dashboard pages only)."""

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


TOO_MANY = "Trop de tentatives depuis cette connexion. Réessaie dans {wait}."


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
    throttle, ip = auth.LoginThrottle(services.rate_limits), auth.client_ip(request)
    target = suivant if safe_next(suivant) else QUEUE_PATH
    status, headers = 401, dict[str, str]()
    if wait := throttle.wait(email, ip):  # growing delays: 429 until then, password unread
        error = TOO_MANY.format(wait=auth.wait_text(wait))
        status, headers = 429, {"Retry-After": str(wait)}
        log.info("dashboard: login refused for %ss (too many failures)", wait)
    else:
        me = await asyncio.to_thread(services.accounts.authenticate, email, password)
        if me is not None:
            throttle.succeeded(email, ip)
            key = await asyncio.to_thread(
                services.accounts.open_session, me.id, request.headers.get("user-agent", "")
            )
            auth.log_in(request, key)
            log.info("dashboard: counsellor %s logged in", me.id)
            return RedirectResponse(target, status_code=303)
        throttle.failed(email, ip)
        error = "E-mail ou mot de passe incorrect."
    response = render(
        request,
        services,
        "dashboard_login.html",
        {"next": suivant if safe_next(suivant) else "", "email": email, "error": error},
        status_code=status,
    )
    response.headers.update(headers)
    return response


@router.post("/deconnexion")
async def logout(request: Request, services: ServicesDep, me: Me) -> Response:
    key = auth.session_key(request)
    if key is not None:  # the server-side session ends: the old cookie is refused from now
        await asyncio.to_thread(services.accounts.close_session, key)
    auth.log_out(request)
    auth.flash(request, "Tu es déconnecté·e.")
    return RedirectResponse(LOGIN_PATH, status_code=303)
