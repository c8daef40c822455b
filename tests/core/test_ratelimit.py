"""Rate limits (core/ratelimit.py): moving windows over `limits`, in memory or in Redis (the
real server, gated by MARAUDE_TEST_REDIS_URL, which .ci/run sets), keys hashed before they
reach the storage, and a storage that fails lets everything through."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator

import pytest

from core.ratelimit import LOGIN_PAIR, RateLimits, Rule
from tests.support import free_port, redis_url

REDIS_URL = redis_url()


def _storages() -> list[object]:
    redis = pytest.mark.skipif(
        REDIS_URL is None, reason="Redis tests need MARAUDE_TEST_REDIS_URL (set by .ci/run)"
    )
    return ["memory", pytest.param("redis", marks=redis)]


@pytest.fixture(params=_storages())
def limits(request: pytest.FixtureRequest) -> Iterator[RateLimits]:
    url = REDIS_URL if request.param == "redis" else ""
    yield RateLimits(url or "", secrets.token_hex(16))  # a new secret: fresh keys every test


def test_a_rule_allows_up_to_its_limit_then_says_how_long_to_wait(limits: RateLimits) -> None:
    rule = Rule("test_three", "3/minute")
    assert [limits.hit(rule, "chat", "42") for _ in range(4)] == [True, True, True, False]
    assert not limits.allowed(rule, "chat", "42")
    assert 1 <= limits.retry_after(rule, "chat", "42") <= 60
    assert limits.used(rule, "chat", "42") == 3
    # Each key counts on its own.
    assert limits.allowed(rule, "chat", "43")
    assert limits.retry_after(rule, "chat", "43") == 0
    limits.clear(rule, "chat", "42")
    assert limits.allowed(rule, "chat", "42")


def test_allowed_counts_nothing(limits: RateLimits) -> None:
    rule = Rule("test_one", "1/minute")
    assert all(limits.allowed(rule, "x") for _ in range(5))
    assert limits.hit(rule, "x")
    assert not limits.allowed(rule, "x")


def test_longer_windows_make_growing_delays(limits: RateLimits) -> None:
    rule = Rule("test_growing", "2/1 second;3/30 seconds")
    assert limits.hit(rule, "ip") and limits.hit(rule, "ip")
    first_wait = limits.retry_after(rule, "ip")
    assert first_wait == 1
    time.sleep(1.1)  # the short window is over: one more try...
    assert limits.hit(rule, "ip")
    assert not limits.allowed(rule, "ip")  # ...then the long window holds
    assert limits.retry_after(rule, "ip") > first_wait


def test_the_login_rule_grows_from_a_minute_to_a_day() -> None:
    windows = sorted((item.get_expiry(), item.amount) for item in LOGIN_PAIR.items)
    assert windows[0] == (60, 3)
    assert windows[-1] == (86400, 20)
    assert [amount for _, amount in windows] == sorted(amount for _, amount in windows)


@pytest.mark.skipif(REDIS_URL is None, reason="needs MARAUDE_TEST_REDIS_URL (set by .ci/run)")
def test_redis_keys_never_hold_the_chat_id_or_the_address() -> None:
    import redis

    assert REDIS_URL is not None
    limits = RateLimits(REDIS_URL, secrets.token_hex(16))
    rule = Rule("test_privacy", "5/minute")
    chat = f"{secrets.randbelow(10**9) + 10**9}"
    limits.hit(rule, "telegram", chat)
    limits.hit(rule, "someone@example.org", "203.0.113.7")
    client = redis.Redis.from_url(REDIS_URL)
    keys = [key.decode() for key in client.scan_iter("maraude*test_privacy*")]
    assert keys, "the counters are in Redis, under the app's prefix"
    for key in keys:
        assert chat not in key and "example.org" not in key and "203.0.113.7" not in key
    # Shared between workers: a second RateLimits with the same secret sees the counts.
    same = RateLimits(REDIS_URL, limits._secret.decode())
    assert same.used(rule, "telegram", chat) == 1


def test_a_storage_that_fails_lets_everything_through(caplog: pytest.LogCaptureFixture) -> None:
    # Nothing listens there: Redis is down. Conversations and logins must go on.
    limits = RateLimits(f"redis://127.0.0.1:{free_port()}/0", "s")
    rule = Rule("test_down", "1/minute")
    assert all(limits.hit(rule, "chat") for _ in range(3))
    assert limits.allowed(rule, "chat")
    assert limits.retry_after(rule, "chat") == 0
    assert "not counted" in caplog.text
