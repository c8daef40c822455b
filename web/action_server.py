"""The rasa_sdk action server: the custom actions the engine calls, on a loopback-only port.

The app process serves it next to the public app, never on the public port: maraude/app.py
starts it with its own uvicorn server on `engine.action_host:engine.action_port` (127.0.0.1:
5055 by default), and the engine reaches it through endpoints.yml `action_endpoint`.

Every request must carry the action-endpoint token, which Rasa adds as a `token` query
parameter (endpoints.yml `action_endpoint.token`); it is compared in constant time. The body
must be JSON (415 otherwise), at most MAX_BODY bytes (413), nested at most MAX_DEPTH levels
(400, checked before parsing), with slot values no longer than the columns that keep them
(422). Lone surrogates (`"\\ud800"`) and NUL bytes are replaced, never stored. A refusal is
a 4xx, never a 5xx, and says nothing of what the body contained.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
from collections.abc import Callable
from typing import Any

from rasa_sdk.executor import ActionExecutor
from rasa_sdk.interfaces import (
    ActionExecutionRejection,
    ActionMissingDomainException,
    ActionNotFoundException,
)
from sqlalchemy import String
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from core.models import HandoffRequest
from core.text import storable_json

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024  # bytes: a long conversation's tracker is a few hundred KiB at most
MAX_DEPTH = 32  # a tracker is about 8 levels deep
MAX_SENDER = 128  # characters of a conversation id (the app's pseudonymous ids are 40)
MAX_SLOT_CHARS = 2000  # any text slot; those kept on the ticket have their column's length
MAX_SLOT_ITEMS = 100  # items of a list slot
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


def _ticket_slot_limits() -> dict[str, int]:
    """Slots kept as such on the hand-off request: at most as long as their column."""
    return {
        column.name: column.type.length
        for column in HandoffRequest.__table__.columns
        if isinstance(column.type, String) and column.type.length
    }


SLOT_LIMITS = _ticket_slot_limits()


class Refused(Exception):
    """An action call refused before any action runs (a 4xx)."""

    def __init__(self, status: int, error: str) -> None:
        super().__init__(error)
        self.status = status
        self.error = error


def nesting_depth(text: str) -> int:
    """How deeply the arrays and objects of a JSON text nest, without parsing it."""
    depth = deepest = 0
    for bracket in _BRACKET.findall(_STRING.sub('""', text)):
        if bracket in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


SHAPE = {"slots": dict, "latest_message": dict, "events": list}


def check_shape(action_call: dict[str, Any]) -> None:
    """Refuses (400) a call whose parts are not what rasa_sdk reads (a forged call)."""
    if not isinstance(action_call.get("next_action"), str):
        raise Refused(400, "next_action missing")
    tracker = action_call.get("tracker")
    if not isinstance(tracker, dict):
        raise Refused(400, "tracker missing")
    for key, kind in SHAPE.items():
        if key in tracker and tracker[key] is not None and not isinstance(tracker[key], kind):
            raise Refused(400, f"tracker {key}: not a {kind.__name__}")


def check_slots(action_call: dict[str, Any]) -> None:
    """Refuses (422) a conversation id or slot value longer than the app keeps."""
    tracker = action_call["tracker"]
    sender = tracker.get("sender_id")
    if isinstance(sender, str) and len(sender) > MAX_SENDER:
        raise Refused(422, "sender_id too long")
    slots = tracker.get("slots")
    if not isinstance(slots, dict):
        return
    for name, value in slots.items():
        limit = SLOT_LIMITS.get(name, MAX_SLOT_CHARS)
        items = value if isinstance(value, list) else [value]
        if len(items) > MAX_SLOT_ITEMS:
            raise Refused(422, f"slot {name[:40]!r}: too many items")
        if any(isinstance(item, str) and len(item) > limit for item in items):
            raise Refused(422, f"slot {name[:40]!r}: value longer than {limit} characters")


def _token_ok(request: Request, token: str) -> None:
    provided = request.query_params.get("token")
    if not provided:
        raise Refused(401, "action-endpoint token missing")
    if not hmac.compare_digest(provided.encode(), token.encode()):
        raise Refused(403, "wrong action-endpoint token")


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY):
        raise Refused(413, f"body larger than {MAX_BODY} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise Refused(413, f"body larger than {MAX_BODY} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def parse_action_call(request: Request) -> dict[str, Any]:
    """The action call of `request`, checked; raises Refused."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise Refused(415, "the body must be application/json")
    body = await _read_body(request)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(400, "the body is not UTF-8") from None
    if nesting_depth(text) > MAX_DEPTH:
        raise Refused(400, f"JSON nested deeper than {MAX_DEPTH} levels")
    try:
        action_call = json.loads(text)
    except (ValueError, RecursionError):
        raise Refused(400, "Invalid body request") from None
    if not isinstance(action_call, dict):
        raise Refused(400, "Invalid body request")
    action_call = storable_json(action_call)  # lone surrogates, NUL bytes
    check_shape(action_call)
    check_slots(action_call)
    return action_call


def create_action_app(executor: Callable[[], ActionExecutor], token: str) -> Starlette:
    """The action server's ASGI app; `executor` gives the services' ActionExecutor."""

    async def run_action(request: Request) -> Response:
        try:
            _token_ok(request, token)
            action_call = await parse_action_call(request)
        except Refused as refused:
            # Rasa reads `action_name` from any 400 answer (ActionExecutionRejection)
            body = {"error": refused.error, "action_name": None}
            return JSONResponse(body, status_code=refused.status)
        try:
            result = await executor().run(action_call)
        except ActionExecutionRejection as exc:
            return JSONResponse(
                {"error": exc.message, "action_name": exc.action_name}, status_code=400
            )
        except ActionNotFoundException as exc:
            log.error("engine asked for an unknown action: %.80s", exc.action_name)
            return JSONResponse(
                {"error": exc.message, "action_name": exc.action_name}, status_code=404
            )
        except ActionMissingDomainException as exc:
            return JSONResponse(
                {"error": exc.message, "action_name": exc.action_name}, status_code=449
            )
        except (KeyError, TypeError) as exc:
            # A call missing what rasa_sdk needs (or an action's bug: the frames say which);
            # the exception's text may quote the body, the filter keeps it out of the log.
            log.warning("action call refused: %s", type(exc).__name__, exc_info=True)
            error = f"malformed action call ({type(exc).__name__})"
            return JSONResponse({"error": error, "action_name": None}, status_code=400)
        return JSONResponse(result.model_dump() if result else None)

    async def list_actions(request: Request) -> Response:
        try:
            _token_ok(request, token)
        except Refused as refused:
            return JSONResponse({"error": refused.error}, status_code=refused.status)
        return JSONResponse([{"name": name} for name in sorted(executor().actions)])

    return Starlette(
        routes=[
            Route("/webhook", run_action, methods=["POST"]),
            Route("/actions", list_actions, methods=["GET"]),
        ]
    )
