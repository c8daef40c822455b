"""Dashboard answers: pages from the Jinja templates (autoescaped) with what every page
shows (the account, the CSRF token, flash messages), the error page, the headers that keep
dashboard answers out of caches and frames, and the text helpers of the pages (local times
in the service's zone, shortened text).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from core.turns import LOW_CONFIDENCE
from web import auth
from web.labels import ROLE_LABELS

if TYPE_CHECKING:
    from core.settings import Settings
    from maraude.services import Services

POLL_SECONDS = 5  # the queue and the transcript refresh themselves this often
TRIGGER_SHOWN = 90  # characters of the message that raised a crisis, in the queue
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; "
        "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    ),
}


def render(
    request: Request,
    services: Services,
    template: str,
    context: dict[str, Any],
    status_code: int = 200,
) -> HTMLResponse:
    """A dashboard page: `context` over what every page gets."""
    me = getattr(request.state, "counsellor", None)
    base = {
        "s": services.settings,
        "me": me,
        "role_label": ROLE_LABELS.get(str(me.role), str(me.role)) if me else "",
        "csrf": auth.csrf_token(request),
        "csrf_field": auth.CSRF_FIELD,
        "flashes": auth.pop_flashes(request),
        "poll_seconds": POLL_SECONDS,
        "low_confidence_pct": round(LOW_CONFIDENCE * 100),
    }
    response: HTMLResponse = services.templates.TemplateResponse(
        request, template, {**base, **context}, status_code=status_code
    )
    return response


def error(request: Request, message: str, status_code: int, *, json: bool) -> Response:
    """A refusal: `{"detail": message}` for the JSON routes, else the error page."""
    if json:
        return JSONResponse({"detail": message}, status_code=status_code)
    return render(
        request,
        request.app.state.services,
        "dashboard_error.html",
        {"message": message, "status_code": status_code},
        status_code,
    )


def protect(response: Response) -> Response:
    """The headers every dashboard answer carries (those the route did not set itself)."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


@dataclass(frozen=True)
class LocalTime:
    """Times as counsellors read and type them: in the service's zone (`nudges.timezone`)."""

    zone: ZoneInfo

    @classmethod
    def of(cls, settings: Settings) -> LocalTime:
        return cls(ZoneInfo(settings.nudges.timezone))

    def show(self, moment: datetime | None, fmt: str = "%d/%m/%Y %H:%M") -> str:
        return moment.astimezone(self.zone).strftime(fmt) if moment is not None else ""

    def read(self, value: str) -> datetime | None:
        """A datetime-local value ("2026-03-05T14:30") in this zone; None if empty.

        Raises ValueError for anything else.
        """
        value = value.strip()
        if not value:
            return None
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=self.zone)
        return moment


def short(text: str, limit: int = TRIGGER_SHOWN) -> str:
    """The text on one line, cut with "…" past `limit` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
