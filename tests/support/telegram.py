"""A young person on Telegram, through the fake Bot API of a running stack (the `stack`
fixture): new users, /start, the age and the consent buttons, what the bot sent."""

from __future__ import annotations

import itertools
from typing import Any

from core.models import Channel
from core.people import pseudonymise

_users = itertools.count(710_001)


def new_user() -> int:
    """A Telegram user (and chat) id no other test uses."""
    return next(_users)


def texts(messages: list[dict[str, Any]]) -> list[str]:
    """The texts of messages the bot sent."""
    return [m["text"] for m in messages]


def keyboard(message: dict[str, Any]) -> list[tuple[str, str]]:
    """The inline buttons of a message, as (title, callback data)."""
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    return [(b["text"], b["callback_data"]) for row in rows for b in row]


def age_question(stack: Any, user: int) -> dict[str, Any]:
    """/start and return the message asking the age (asked before consent)."""
    stack.telegram.push_message(user, "/start")
    messages = stack.telegram.wait_until(
        lambda: [m for m in stack.telegram.sent_messages(user) if keyboard(m)] or None,
        timeout=30,
        what="the age question",
    )
    return messages[0]


def start(stack: Any, user: int, age: str = "Passer") -> dict[str, Any]:
    """/start, the button `age` to the age question, and return the message carrying the
    consent buttons."""
    question = age_question(stack, user)
    data = dict(keyboard(question))[age]
    stack.telegram.push_callback(user, question["message_id"], data)
    messages = stack.telegram.wait_until(
        lambda: (
            [m for m in stack.telegram.sent_messages(user) if "OK pour moi" in dict(keyboard(m))]
            or None
        ),
        timeout=30,
        what="the consent question",
    )
    return messages[0]


def pseudo(stack: Any, user: int) -> str:
    """The pseudonym the app keeps for the Telegram user `user`."""
    return pseudonymise(stack.settings.secret_key, Channel.telegram, str(user))
