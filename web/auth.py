"""Dashboard sessions: a signed cookie (Starlette's SessionMiddleware), CSRF tokens, flash
messages and a small in-memory throttle of failed logins.

The cookie holds only a random session key, a CSRF token and pending flash messages. The
session itself is kept on the server (AccountService, table `dashboard_session`) and checked
on every request (web/dashboard/guard.py): logout, an idle or too old session, a deactivated
account or a changed password end it, and the old cookie replayed is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections import OrderedDict, deque
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from web.security import served_over_https

if TYPE_CHECKING:
    from core.settings import Settings

SESSION_COOKIE = "maraude_tableau"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_KEY = "sid"  # the random key of the server-side session
_CSRF = "csrf"
_FLASH = "flash"
MAX_FLASHES = 5


def session_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments of SessionMiddleware for the dashboard."""
    return {
        # A key of its own, derived from the app secret (which also makes pseudonyms).
        "secret_key": hmac.new(
            settings.secret_key.encode(), b"maraude dashboard session", hashlib.sha256
        ).hexdigest(),
        "session_cookie": SESSION_COOKIE,
        "max_age": int(settings.server.session_lifetime.total_seconds()),
        "same_site": "lax",
        "https_only": served_over_https(settings),  # public URL or webhook URL in https
    }


# Login state -------------------------------------------------------------------------------
def session_key(request: Request) -> str | None:
    """The key of the server-side session this cookie carries (to check, not to trust)."""
    value = request.session.get(_KEY)
    return value if isinstance(value, str) and value else None


def log_in(request: Request, key: str) -> None:
    """Start a fresh cookie for the server-side session `key` (AccountService.open_session):
    nothing from before login survives, the CSRF token neither."""
    request.session.clear()
    request.session[_KEY] = key
    request.session[_CSRF] = secrets.token_urlsafe(32)


def log_out(request: Request) -> None:
    request.session.clear()


# CSRF --------------------------------------------------------------------------------------
def csrf_token(request: Request) -> str:
    """This session's CSRF token, created on first use (the login form has one too)."""
    token = request.session.get(_CSRF)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        request.session[_CSRF] = token
    return token


async def csrf_valid(request: Request) -> bool:
    """Whether the request carries this session's token, in the X-CSRF-Token header (fetch)
    or in the `csrf_token` field of a form."""
    expected = request.session.get(_CSRF)
    if not isinstance(expected, str) or not expected:
        return False
    submitted = request.headers.get(CSRF_HEADER)
    if submitted is None and request.headers.get("content-type", "").startswith(FORM_TYPES):
        value = (await request.form()).get(CSRF_FIELD)
        submitted = value if isinstance(value, str) else None
    if not submitted:
        return False
    return hmac.compare_digest(submitted.encode(), expected.encode())


# Flash messages ----------------------------------------------------------------------------
def flash(request: Request, text: str, kind: str = "ok") -> None:
    """A message shown once on the next page (kind: ok or error)."""
    pending = list(request.session.get(_FLASH) or [])[-(MAX_FLASHES - 1) :]
    pending.append({"kind": kind, "text": text[:500]})
    request.session[_FLASH] = pending


def pop_flashes(request: Request) -> list[dict[str, str]]:
    pending = request.session.pop(_FLASH, None) or []
    return [
        {"kind": str(item.get("kind", "ok")), "text": str(item.get("text", ""))}
        for item in pending
        if isinstance(item, dict)
    ]


# Throttling --------------------------------------------------------------------------------
class LoginThrottle:
    """Refuses logins for an e-mail after `max_failures` failed attempts within `window`.

    In memory and per process: it slows down password guessing on one account, it is not
    a distributed rate limiter.
    """

    def __init__(
        self,
        max_failures: int = 5,
        window: timedelta = timedelta(minutes=15),
        max_keys: int = 10_000,
    ) -> None:
        self.max_failures = max_failures
        self.window = window
        self.max_keys = max_keys
        self._failures: OrderedDict[str, deque[datetime]] = OrderedDict()

    @staticmethod
    def key(email: str) -> str:
        return email.strip().lower()[:254]

    def _recent(self, email: str, now: datetime) -> deque[datetime]:
        times = self._failures.get(self.key(email), deque())
        while times and now - times[0] > self.window:
            times.popleft()
        return times

    def blocked(self, email: str, now: datetime) -> bool:
        return len(self._recent(email, now)) >= self.max_failures

    def failed(self, email: str, now: datetime) -> None:
        key = self.key(email)
        times = self._recent(email, now)
        times.append(now)
        self._failures[key] = times
        self._failures.move_to_end(key)
        while len(self._failures) > self.max_keys:
            self._failures.popitem(last=False)

    def succeeded(self, email: str) -> None:
        self._failures.pop(self.key(email), None)
