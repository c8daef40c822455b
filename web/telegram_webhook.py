"""HTTP endpoint Telegram posts updates to in webhook mode (any app worker: bot/inbox_drain.py)."""

from __future__ import annotations

import hmac
import logging
from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse

from web.deps import ServicesDep

log = logging.getLogger(__name__)


def telegram_webhook_router(path: str) -> APIRouter:
    router = APIRouter(tags=["telegram"])

    @router.post(path, include_in_schema=False)
    async def receive(
        request: Request,
        services: ServicesDep,
        secret: Annotated[str | None, Header(alias="X-Telegram-Bot-Api-Secret-Token")] = None,
    ) -> JSONResponse:
        channel = services.telegram
        if channel is None or not channel.webhook_url:
            return JSONResponse(
                {"ok": False, "description": "webhook mode is off"}, status_code=404
            )
        if secret is None or not hmac.compare_digest(secret, channel.secret_token):
            log.warning("webhook call with a wrong or missing secret token refused")
            return JSONResponse({"ok": False, "description": "forbidden"}, status_code=403)
        try:
            data = await request.json()
        except (ValueError, RecursionError):  # not JSON, or nested too deep to parse
            return JSONResponse({"ok": False, "description": "body is not JSON"}, status_code=400)
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            return JSONResponse(
                {"ok": False, "description": "not a Telegram update"}, status_code=400
            )
        try:
            # Stored once (a duplicate update_id is answered 200 too: Telegram must not send
            # it again) and processed in the background: the answer does not wait for it.
            await channel.feed(data)
        except (KeyError, TypeError, ValueError, RecursionError) as exc:
            # The type only: the exception's text may quote the young person's message.
            log.warning("malformed update refused: %s", type(exc).__name__)
            return JSONResponse({"ok": False, "description": "malformed update"}, status_code=400)
        return JSONResponse({"ok": True})

    return router
