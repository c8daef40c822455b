"""Logs without what young people said: no message text, triage answer or Telegram chat id.

The app's own log calls name people by their pseudonymous id only. This filter is the net
under them, for tracebacks and other libraries' records: it sits on every handler of the root
logger and of uvicorn's loggers (`install_privacy_filter`, called by the CLI's logging set-up,
`create_app` and the app's lifespan, once uvicorn has made its handlers), and on each record:

- exceptions (the record's own, and any passed as an argument) keep their type and frames but
  lose their message, which may quote a message, an answer or an SQL parameter; the types
  whose messages say only what failed where (network and OS errors, Telegram's refusals, an
  exception class with `safe_to_log = True`) keep it;
- the message is formatted at once and redacted: Telegram chat ids and other long digit
  runs, phone numbers, bot tokens and `token=` query parameters.
"""

from __future__ import annotations

import asyncio
import logging
import re
import traceback
from typing import Any

REDACTED = "[…]"
# (pattern, replacement) applied in this order to every formatted message and traceback.
_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\d{5,}:[A-Za-z0-9_-]{30,}"), REDACTED),  # a bot token (also inside URLs)
    (re.compile(r"(?i)([?&](?:token|secret|key|password)=)[^&#\s'\"]+"), r"\1" + REDACTED),
    # "chat 123", "chat_id=123", "'user_id': 123": a Telegram id whatever its length
    (
        re.compile(r"(?i)\b((?:chat|user|from)(?:[ _]?id)?['\"]?\s*[:= ]\s*)-?\d{3,}"),
        r"\1" + REDACTED,
    ),
    # French phone numbers, with or without separators
    (
        re.compile(r"(?<![\w+])(?:\+33|0033|0)[\s.-]?[1-9](?:[\s.-]?\d{2}){4}(?!\d)"),
        REDACTED,
    ),
    (re.compile(r"(?<![\w.])-?\d{9,}(?![\w.])"), REDACTED),  # ids, numbers: 9 digits and more
)
# Libraries whose exception messages say what failed where, never what was said.
_SAFE_MODULES = ("httpx", "httpcore", "telegram.error", "h11", "uvicorn")
_SAFE_TYPES: tuple[type[BaseException], ...] = (OSError, TimeoutError, asyncio.CancelledError)


def redact(text: str) -> str:
    """`text` without chat ids, phone numbers, long digit runs and tokens."""
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text


def _safe(exc: BaseException) -> bool:
    kind = type(exc)
    return (
        isinstance(exc, _SAFE_TYPES)
        or bool(getattr(kind, "safe_to_log", False))
        or kind.__module__.startswith(_SAFE_MODULES)
    )


def describe(exc: BaseException) -> str:
    """The exception's type, and its message only when that carries no personal data."""
    kind = type(exc)
    name = kind.__qualname__
    if kind.__module__ != "builtins":
        name = f"{kind.__module__}.{name}"
    if _safe(exc):
        message = str(exc)
        return f"{name}: {redact(message)}" if message else name
    return f"{name}: (message removed from the log)" if exc.args else name


_CAUSE = "\nThe above exception was the direct cause of the following exception:\n\n"
_CONTEXT = "\nDuring handling of the above exception, another exception occurred:\n\n"


def safe_traceback(exc: BaseException) -> str:
    """Like `traceback.format_exception`, frames and chained exceptions included, with each
    exception's message treated as `describe` does."""
    chain: list[tuple[BaseException, str]] = []  # (exception, how it led to the previous)
    seen: set[int] = set()
    current: BaseException | None = exc
    link = ""
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if current.__cause__ is not None:
            following, link_next = current.__cause__, _CAUSE
        elif current.__context__ is not None and not current.__suppress_context__:
            following, link_next = current.__context__, _CONTEXT
        else:
            following, link_next = None, ""
        chain.append((current, link))
        current, link = following, link_next
    parts: list[str] = []
    for index in range(len(chain) - 1, -1, -1):
        error = chain[index][0]
        if error.__traceback__ is not None:
            parts.append("Traceback (most recent call last):\n")
            parts.extend(traceback.format_tb(error.__traceback__))
        parts.append(describe(error) + "\n")
        if index > 0:
            parts.append(chain[index][1])  # how this one led to the next
    return redact("".join(parts)).rstrip("\n")


def _argument(value: Any) -> Any:
    return describe(value) if isinstance(value, BaseException) else value


class PrivacyFilter(logging.Filter):
    """Rewrites each record as the module docstring says; never drops one."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_private", False):
            return True  # already rewritten (the same record reaches several handlers)
        record._private = True
        if record.name == "uvicorn.access" and isinstance(record.args, tuple):
            # its formatter unpacks the arguments: redact them in place (the path may hold
            # a query string)
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        else:
            try:
                if isinstance(record.msg, BaseException):
                    record.msg = describe(record.msg)
                if isinstance(record.args, tuple):
                    record.args = tuple(_argument(a) for a in record.args)
                elif isinstance(record.args, dict):
                    record.args = {k: _argument(v) for k, v in record.args.items()}
                message = record.getMessage()
            except Exception:  # noqa: BLE001 - a bad log call must not hide the record
                message = f"(unformattable log message from {record.name}:{record.lineno})"
            record.msg, record.args = redact(message), None
            record.__dict__.pop("color_message", None)  # uvicorn's coloured copy of msg
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = safe_traceback(record.exc_info[1])
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


_FILTER = PrivacyFilter()
LOGGERS = ("", "uvicorn", "uvicorn.error", "uvicorn.access")


def install_privacy_filter(loggers: tuple[str, ...] = LOGGERS) -> None:
    """Puts the filter on every handler of `loggers` (and on the loggers themselves, and on
    the last-resort handler); calling it again adds it to handlers made since."""
    handlers: list[logging.Handler | logging.Logger] = []
    for name in loggers:
        logger = logging.getLogger(name)
        handlers.append(logger)
        handlers.extend(logger.handlers)
    if logging.lastResort is not None:
        handlers.append(logging.lastResort)
    for target in handlers:
        if not any(isinstance(f, PrivacyFilter) for f in target.filters):
            target.addFilter(_FILTER)
