"""REST API for integrations (token authentication), documented at /openapi.json."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1", tags=["tickets"])
