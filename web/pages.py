"""Plain pages: home, privacy notice, health."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from web.deps import ServicesDep

router = APIRouter()


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def home(request: Request, services: ServicesDep) -> HTMLResponse:
    return services.templates.TemplateResponse(request, "home.html", {"s": services.settings})


@router.get("/confidentialite", response_class=HTMLResponse, include_in_schema=False)
async def privacy(request: Request, services: ServicesDep) -> HTMLResponse:
    return services.templates.TemplateResponse(request, "privacy.html", {"s": services.settings})


@router.get("/health", tags=["ops"])
async def health(services: ServicesDep) -> dict[str, Any]:
    """Liveness of the app and readiness of the engine it talks to."""
    engine_ready = await services.engine.is_ready()
    return {
        "app": "ok",
        "engine": "ok" if engine_ready else "unavailable",
        "telegram": "on" if services.telegram is not None else "off",
    }
