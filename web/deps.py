"""FastAPI dependencies: routes get the services container, never a global."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import Request

if TYPE_CHECKING:
    from maraude.app import Services


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services
