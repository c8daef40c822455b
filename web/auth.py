"""Dashboard sessions: a signed cookie (Starlette's SessionMiddleware), CSRF tokens, flash
messages, the client's address and the throttle of failed logins (core/ratelimit.py).

The cookie holds only a random session key, a CSRF token and pending flash messages. The
session itself is kept on the server (AccountService, table `dashboard_session`) and checked
on every request (web/dashboard/guard.py): logout, an idle or too old session, a deactivated
account or a changed password end it, and the old cookie replayed is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from core.ratelimit import LOGIN_ACCOUNT, LOGIN_IP, LOGIN_PAIR, RateLimits
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
def client_ip(request: Request) -> str:
    """The client's address as the server sees it (uvicorn puts a trusted proxy's
    X-Forwarded-For there: `--forwarded-allow-ips`)."""
    return request.client.host if request.client is not None else "unknown"


def wait_text(seconds: int) -> str:
    """A delay in French words: "30 secondes", "5 minutes", "2 heures"."""
    if seconds < 60:
        return f"{max(seconds, 1)} secondes"
    if seconds < 3600:
        minutes = math.ceil(seconds / 60)
        return "1 minute" if minutes == 1 else f"{minutes} minutes"
    hours = math.ceil(seconds / 3600)
    return "1 heure" if hours == 1 else f"{hours} heures"


class LoginThrottle:
    """Failed logins slow down whoever fails, never the account's owner elsewhere.

    Failures are counted per (account, IP) with growing delays (`LOGIN_PAIR`: 3 a minute, 6
    in 15 minutes, 10 an hour, 20 a day), per IP whatever the account (`LOGIN_IP`: many
    accounts tried from one place), and per account whatever the IP (`LOGIN_ACCOUNT`, much
    higher). Past the account's limit only the IPs that already failed on it wait: the right
    password from another place still logs in, so hammering an e-mail locks nobody out.
    Counters live in the app's rate-limit storage (memory, or Redis shared by workers).
    """

    def __init__(self, limits: RateLimits) -> None:
        self.limits = limits

    @staticmethod
    def account(email: str) -> str:
        return email.strip().lower()[:254]

    def wait(self, email: str, ip: str) -> int:
        """Seconds before this IP may try this account again (0: now)."""
        account = self.account(email)
        waits = [
            self.limits.retry_after(LOGIN_PAIR, account, ip),
            self.limits.retry_after(LOGIN_IP, ip),
        ]
        if self.limits.used(LOGIN_PAIR, account, ip) > 0:
            waits.append(self.limits.retry_after(LOGIN_ACCOUNT, account))
        return max(waits)

    def failed(self, email: str, ip: str) -> None:
        account = self.account(email)
        self.limits.hit(LOGIN_PAIR, account, ip)
        self.limits.hit(LOGIN_IP, ip)
        self.limits.hit(LOGIN_ACCOUNT, account)

    def succeeded(self, email: str, ip: str) -> None:
        self.limits.clear(LOGIN_PAIR, self.account(email), ip)
