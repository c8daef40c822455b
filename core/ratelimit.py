"""Rate limits: named rules over the `limits` library, counters in this process's memory by
default or in Redis (`server.rate_limit_storage`) so that several app workers share them.

A rule is one or more moving windows ("3/minute;10/hour"): something is allowed while every
window has room. Several windows of growing length make growing delays: after 3 failed logins
in a minute, wait for the minute; after 10 in an hour, for the hour. Keys (a chat, an e-mail,
an IP, an API token) are hashed with the app's secret before they reach the storage: no chat
id, address or token is ever written to Redis.

When the storage fails (Redis down), everything is allowed and a warning is logged: a rate
limit must never stop a young person's conversation or a counsellor's login.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import time
from dataclasses import dataclass, field

from limits import RateLimitItem, parse_many
from limits.errors import StorageError
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

log = logging.getLogger(__name__)

KEY_PREFIX = "maraude"


@dataclass(frozen=True)
class Rule:
    """A named limit: `spec` in the `limits` notation, windows separated by ";"."""

    name: str
    spec: str
    items: tuple[RateLimitItem, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "items", tuple(parse_many(self.spec)))


# The rules of the app (what each counts is said where it is used).
# Messages of one chat or simulator session: a person's burst ("slt" "jsuis perdu" "aide")
# passes, a script's flood does not (nobody reads replies and types 40 messages a minute).
CHAT = Rule("chat", "10/5 seconds;40/minute")
FLOOD_NOTICE = Rule("flood_notice", "1/10 minutes")  # one "doucement" per chat per flood
SIMULATOR_SESSIONS = Rule("simulator_sessions", "30/hour")  # new simulator sessions per IP
# Web chat: new conversations per IP (a school's or a library's shared address opens many),
# messages per IP across its conversations (CHAT still counts each conversation), e-mail
# addresses given per conversation.
WEBCHAT_SESSIONS = Rule("webchat_sessions", "20/10 minutes;60/day")
WEBCHAT_IP = Rule("webchat_ip", "60/minute;1000/day")
WEBCHAT_CONTACT = Rule("webchat_contact", "5/hour")
LOGIN_PAIR = Rule("login_pair", "3/minute;6/15 minutes;10/hour;20/day")  # failures (account, IP)
LOGIN_IP = Rule("login_ip", "20/10 minutes;100/day")  # failed logins from one IP, any account
LOGIN_ACCOUNT = Rule("login_account", "10/15 minutes;50/day")  # failures on one account, any IP
API_BAD_TOKEN = Rule("api_bad_token", "10/minute;100/hour")  # wrong API tokens from one IP
API_TOKEN = Rule("api_token", "1200/minute;20000/hour")  # requests with one valid API token


def _storage(url: str) -> Storage:
    """This process's memory for an empty URL (or memory://), else Redis (redis://...),
    failing fast (1 s) when it does not answer."""
    if not url or url.startswith("memory://"):
        return MemoryStorage()
    storage = storage_from_string(
        url,
        key_prefix=KEY_PREFIX,
        wrap_exceptions=True,
        socket_timeout=1.0,
        socket_connect_timeout=1.0,
    )
    if not isinstance(storage, Storage):  # an async:// scheme: not for these sync calls
        raise ValueError(f"server.rate_limit_storage: {url.split(':', 1)[0]} is not supported")
    return storage


class RateLimits:
    def __init__(self, storage_url: str = "", secret: str = "") -> None:
        self.storage = _storage(storage_url)
        self._limiter = MovingWindowRateLimiter(self.storage)
        self._secret = (secret or "maraude rate limits").encode()

    def _key(self, rule: Rule, parts: tuple[str, ...]) -> str:
        joined = "\x1f".join(parts).encode()
        digest = hmac.new(self._secret, joined, hashlib.sha256).hexdigest()[:32]
        return f"{rule.name}:{digest}"

    def allowed(self, rule: Rule, *key: str) -> bool:
        """Whether one more would be within every window of `rule` (counts nothing)."""
        ident = self._key(rule, key)
        try:
            return all(self._limiter.test(item, ident) for item in rule.items)
        except StorageError as exc:
            log.warning("rate limit %s not checked (storage: %s)", rule.name, type(exc).__name__)
            return True

    def hit(self, rule: Rule, *key: str) -> bool:
        """Count one; False when a window of `rule` was already full (then nothing is
        counted in it)."""
        ident = self._key(rule, key)
        try:
            results = [self._limiter.hit(item, ident) for item in rule.items]
        except StorageError as exc:
            log.warning("rate limit %s not counted (storage: %s)", rule.name, type(exc).__name__)
            return True
        return all(results)

    def used(self, rule: Rule, *key: str) -> int:
        """How many were counted in the longest window of `rule`."""
        item = max(rule.items, key=lambda i: i.get_expiry())
        try:
            stats = self._limiter.get_window_stats(item, self._key(rule, key))
        except StorageError:
            return 0
        return item.amount - stats.remaining

    def retry_after(self, rule: Rule, *key: str) -> int:
        """Seconds until every full window of `rule` has room again (0: allowed now)."""
        ident = self._key(rule, key)
        now = time.time()
        wait = 0.0
        try:
            for item in rule.items:
                stats = self._limiter.get_window_stats(item, ident)
                if stats.remaining <= 0:
                    wait = max(wait, stats.reset_time - now)
        except StorageError:
            return 0
        return max(1, math.ceil(wait)) if wait > 0 else 0

    def clear(self, rule: Rule, *key: str) -> None:
        ident = self._key(rule, key)
        try:
            for item in rule.items:
                self._limiter.clear(item, ident)
        except StorageError as exc:
            log.warning("rate limit %s not cleared (storage: %s)", rule.name, type(exc).__name__)
