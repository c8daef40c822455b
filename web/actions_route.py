"""The rasa_sdk action server endpoint, served by the app process at /webhook."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from rasa_sdk.interfaces import (
    ActionExecutionRejection,
    ActionMissingDomainException,
    ActionNotFoundException,
)

from web.deps import ServicesDep

log = logging.getLogger(__name__)
router = APIRouter(tags=["engine"])


@router.post("/webhook", include_in_schema=False)
async def run_action(request: Request, services: ServicesDep) -> JSONResponse:
    try:
        action_call = await request.json()
    except ValueError:
        return JSONResponse({"error": "Invalid body request"}, status_code=400)
    if not isinstance(action_call, dict):
        return JSONResponse({"error": "Invalid body request"}, status_code=400)
    executor = services.actions
    try:
        result = await executor.run(action_call)
    except ActionExecutionRejection as exc:
        return JSONResponse({"error": exc.message, "action_name": exc.action_name}, status_code=400)
    except ActionNotFoundException as exc:
        log.error("engine asked for an unknown action: %s", exc.action_name)
        return JSONResponse({"error": exc.message, "action_name": exc.action_name}, status_code=404)
    except ActionMissingDomainException as exc:
        return JSONResponse({"error": exc.message, "action_name": exc.action_name}, status_code=449)
    except (KeyError, TypeError) as exc:
        return JSONResponse({"error": f"malformed action call: {exc!r}"}, status_code=400)
    return JSONResponse(result.model_dump() if result else None)


@router.get("/actions", include_in_schema=False)
async def list_actions(services: ServicesDep) -> list[dict[str, str]]:
    return [{"name": name} for name in sorted(services.actions.actions)]
