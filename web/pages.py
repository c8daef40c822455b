"""Plain pages: home, privacy notice, health."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from web.deps import get_services

router = APIRouter()


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def home(request: Request, services: Annotated[Any, Depends(get_services)]) -> HTMLResponse:
    return services.templates.TemplateResponse(request, "home.html", {"s": services.settings})


@router.get("/confidentialite", response_class=HTMLResponse, include_in_schema=False)
async def privacy(
    request: Request, services: Annotated[Any, Depends(get_services)]
) -> HTMLResponse:
    return services.templates.TemplateResponse(request, "privacy.html", {"s": services.settings})


@router.get("/health", tags=["ops"])
async def health(services: Annotated[Any, Depends(get_services)]) -> dict[str, Any]:
    """Liveness of the app and readiness of the engine it talks to."""
    engine_ready = await services.engine.is_ready()
    return {
        "app": "ok",
        "engine": "ok" if engine_ready else "unavailable",
        "telegram": "on" if services.telegram is not None else "off",
    }
