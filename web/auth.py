"""Dashboard sessions: a signed cookie (Starlette's SessionMiddleware), CSRF tokens, flash
messages and a small in-memory throttle of failed logins.

The session holds only the counsellor's id, the time of login, a CSRF token and pending
flash messages; the account itself is read again on every request, so a deactivated account
is logged out at its next click.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections import OrderedDict, deque
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

if TYPE_CHECKING:
    from core.settings import Settings

SESSION_COOKIE = "maraude_tableau"
SESSION_MAX_AGE = 12 * 3600  # seconds: a working day, then log in again
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_USER = "counsellor_id"
_LOGIN_AT = "login_at"
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
        "max_age": SESSION_MAX_AGE,
        "same_site": "lax",
        "https_only": settings.server.public_url.startswith("https://"),
    }


# Login state -------------------------------------------------------------------------------
def session_counsellor_id(request: Request) -> int | None:
    value = request.session.get(_USER)
    return value if isinstance(value, int) else None


def session_expired(request: Request, now: datetime) -> bool:
    """True once SESSION_MAX_AGE has passed since login (the cookie's own max-age is reset
    whenever the session changes, so the absolute limit is checked here)."""
    login_at = request.session.get(_LOGIN_AT)
    if not isinstance(login_at, (int, float)):
        return True
    return not 0 <= now.timestamp() - login_at <= SESSION_MAX_AGE


def log_in(request: Request, counsellor_id: int, now: datetime) -> None:
    """Start a fresh session (nothing from before login survives, the CSRF token neither)."""
    request.session.clear()
    request.session[_USER] = counsellor_id
    request.session[_LOGIN_AT] = int(now.timestamp())
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
