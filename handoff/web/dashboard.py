"""Counsellor dashboard (French): login, queue, ticket page. Routes call the desk/services."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/tableau", include_in_schema=False)
