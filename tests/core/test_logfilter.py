"""The privacy filter (core/logfilter.py) on real handlers: what a log line may keep."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import httpx
import pytest

from core.logfilter import PrivacyFilter, describe, install_privacy_filter, redact

TEXT = "je dors dehors ce soir et personne le sait"
CHAT_ID = 5123456789
PHONE = "06 12 34 56 78"


@pytest.fixture
def output() -> Iterator[io.StringIO]:
    """What a handler of a fresh logger writes, with the filter on that handler."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(PrivacyFilter())
    logger = logging.getLogger("tests.logfilter")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    yield buffer
    logger.removeHandler(handler)
    logger.propagate = True
    logger.setLevel(logging.NOTSET)


log = logging.getLogger("tests.logfilter")


def _answer_step(text: str) -> None:
    raise KeyError(text)


def test_a_traceback_keeps_its_frames_and_loses_what_was_said(output: io.StringIO) -> None:
    try:
        try:
            _answer_step(TEXT)
        except KeyError as exc:
            raise ValueError(f"chat {CHAT_ID}: {TEXT} ({PHONE})") from exc
    except ValueError:
        log.exception("the triage failed for %s", "person abc123")
    written = output.getvalue()
    assert "the triage failed for person abc123" in written
    assert "_answer_step" in written and "KeyError" in written and "ValueError" in written
    assert "direct cause" in written
    for secret in (TEXT, str(CHAT_ID), PHONE, "personne"):
        assert secret not in written, secret


def test_exceptions_passed_as_arguments_are_described(output: io.StringIO) -> None:
    log.warning("malformed update refused: %r", ValueError(f"text={TEXT!r}"))
    log.error(RuntimeError(TEXT))  # an exception as the message itself
    log.warning("engine down: %s", httpx.ConnectError("All connection attempts failed"))
    written = output.getvalue()
    assert TEXT not in written
    assert "ValueError: (message removed from the log)" in written
    assert "httpx.ConnectError: All connection attempts failed" in written  # says what failed


def test_ids_phone_numbers_and_tokens_are_redacted(output: io.StringIO) -> None:
    log.info("chat %s blocked the bot", 1234)  # a short (old) chat id as well
    log.info("sendMessage chat_id=%s", CHAT_ID)
    log.info("group %s", -1001234567890)
    log.info("call back on %s or +33 6 12 34 56 78 or 0612345678", PHONE)
    log.info("HTTP Request: GET http://127.0.0.1:5005/status?token=s3cr3t&x=1")
    log.info("POST https://api.telegram.org/bot123456789:AAEtestTOKENtestTOKENtestTOKEN_abc/x")
    log.info("model 20991231-235999-broken.tar.gz on port 5055, ticket 42")
    written = output.getvalue()
    for secret in ("1234 ", str(CHAT_ID), "1234567890", "12 34 56", "612345678", "s3cr3t", "AAE"):
        assert secret not in written, secret
    assert "x=1" in written
    assert "model 20991231-235999-broken.tar.gz on port 5055, ticket 42" in written


def test_uvicorn_access_records_keep_their_arguments() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/status?token=abc", "1.1", 200),
        None,
    )
    assert PrivacyFilter().filter(record)
    assert isinstance(record.args, tuple) and record.args[2] == "/status?token=[…]"


def test_describe_keeps_messages_that_only_say_what_failed() -> None:
    class EngineDown(Exception):
        safe_to_log = True

    assert describe(ConnectionRefusedError(111, "Connection refused")).endswith(
        "Connection refused"
    )
    assert describe(EngineDown("engine answered HTTP 500")).endswith("engine answered HTTP 500")
    assert describe(KeyError(TEXT)) == "KeyError: (message removed from the log)"
    assert redact(f"{CHAT_ID}") == "[…]"


def test_install_covers_root_and_uvicorn_handlers() -> None:
    handler = logging.StreamHandler(io.StringIO())
    uvicorn_handler = logging.StreamHandler(io.StringIO())
    logging.getLogger().addHandler(handler)
    logging.getLogger("uvicorn").addHandler(uvicorn_handler)
    try:
        install_privacy_filter()
        install_privacy_filter()  # idempotent
        for target in (handler, uvicorn_handler):
            assert sum(isinstance(f, PrivacyFilter) for f in target.filters) == 1
    finally:
        logging.getLogger().removeHandler(handler)
        logging.getLogger("uvicorn").removeHandler(uvicorn_handler)
