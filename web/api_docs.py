"""The REST API's documentation for staff only: `/docs` (Swagger UI) and `/redoc` for a
logged-in dashboard account (else the login page, which comes back here), `/openapi.json`
for a dashboard session or a live API token (else 401).

FastAPI's own documentation routes are off (maraude/app.py); these serve the same pages.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from handoff.accounts import CounsellorRef
from web.dashboard.guard import LOGIN_PATH, session_account

OPENAPI_PATH = "/openapi.json"
DOCS_PATH = "/docs"
REDOC_PATH = "/redoc"
CDN = "https://cdn.jsdelivr.net"
# Swagger UI and ReDoc load from their CDN and start with an inline script.
DOCS_POLICY = (
    f"default-src 'self'; script-src 'self' 'unsafe-inline' {CDN}; "
    f"style-src 'self' 'unsafe-inline' {CDN} https://fonts.googleapis.com; "
    f"font-src 'self' https://fonts.gstatic.com; img-src 'self' data: {CDN} "
    "https://fastapi.tiangolo.com; worker-src 'self' blob:; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
router = APIRouter(include_in_schema=False)


async def _staff(request: Request, *, token: bool) -> CounsellorRef | None:
    services = request.app.state.services
    me = await session_account(request, services)
    scheme, _, raw = request.headers.get("authorization", "").partition(" ")
    if me is None and token and scheme.lower() == "bearer" and raw:
        me = await asyncio.to_thread(services.accounts.authenticate_token, raw.strip())
    return me


def _to_login(path: str) -> RedirectResponse:
    return RedirectResponse(f"{LOGIN_PATH}?{urlencode({'suivant': path})}", status_code=303)


def _page(response: HTMLResponse) -> Response:
    response.headers["Content-Security-Policy"] = DOCS_POLICY
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get(OPENAPI_PATH)
async def openapi(request: Request) -> Response:
    if await _staff(request, token=True) is None:
        return JSONResponse(
            {"detail": "Connexion ou jeton d'API requis."},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
    return JSONResponse(request.app.openapi(), headers={"Cache-Control": "no-store"})


@router.get(DOCS_PATH)
async def swagger(request: Request) -> Response:
    if await _staff(request, token=False) is None:
        return _to_login(DOCS_PATH)
    return _page(get_swagger_ui_html(openapi_url=OPENAPI_PATH, title=f"{request.app.title} — API"))


@router.get(REDOC_PATH)
async def redoc(request: Request) -> Response:
    if await _staff(request, token=False) is None:
        return _to_login(REDOC_PATH)
    return _page(get_redoc_html(openapi_url=OPENAPI_PATH, title=f"{request.app.title} — API"))
