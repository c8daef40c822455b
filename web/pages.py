"""Plain pages: home, privacy notice, health."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse

from web.deps import ServicesDep

router = APIRouter()
log = logging.getLogger(__name__)


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def home(request: Request, services: ServicesDep) -> HTMLResponse:
    return services.templates.TemplateResponse(request, "home.html", {"s": services.settings})


@router.get("/confidentialite", response_class=HTMLResponse, include_in_schema=False)
async def privacy(request: Request, services: ServicesDep) -> HTMLResponse:
    return services.templates.TemplateResponse(request, "privacy.html", {"s": services.settings})


@router.get(
    "/health",
    tags=["ops"],
    responses={503: {"description": "The database is down or no engine is healthy (same body)"}},
)
async def health(request: Request, services: ServicesDep) -> JSONResponse:
    """What a supervisor or load balancer checks: the database (`SELECT 1`), Redis (`PING`,
    with REDIS_URL) and every engine (the app's view, and the restarts `maraude up` did).
    HTTP 503 when the database is down or no engine is healthy."""
    engine_ready = await services.engine.is_ready()  # looks at every engine's /status now
    database = await _check(asyncio.to_thread(services.db.ping), "database")
    redis = "off"
    if services.settings.redis_url:
        redis = await _check(_redis_ping(services.settings.redis_url), "redis")
    supervisor = getattr(request.app.state, "supervisor", None)
    processes = {p["url"]: p for p in supervisor.state()} if supervisor is not None else {}
    engines = []
    for engine in services.engine.health():
        process = processes.get(engine["url"])
        engines.append({**engine, "process": process} if process else engine)
    body: dict[str, Any] = {
        "app": "ok",
        "engine": "ok" if engine_ready else "unavailable",
        "telegram": "on" if services.telegram is not None else "off",
        "database": database,
        "redis": redis,
        "engines": engines,
    }
    healthy = database == "ok" and engine_ready
    return JSONResponse(body, status_code=200 if healthy else 503)


async def _check(probe: Any, what: str) -> str:
    try:
        await asyncio.wait_for(probe, 5)
    except Exception as exc:  # any failure is "down" here; the log says which
        log.warning("health: %s unavailable (%s)", what, type(exc).__name__)
        return "unavailable"
    return "ok"


async def _redis_ping(url: str) -> None:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(url, socket_timeout=3, socket_connect_timeout=3)
    try:
        await client.ping()
    finally:
        await client.aclose()
