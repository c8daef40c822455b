"""A young person chatting with the bot through the fake Telegram server of a running stack:
`Chat(stack).say(...)`, `.press(...)` return the bot's whole answer."""

from __future__ import annotations

from typing import Any

from tests.support.telegram import keyboard, new_user


class Chat:
    """One young person talking to the bot through the fake Telegram server."""

    def __init__(self, stack: Any) -> None:
        self.tg, self.user = stack.telegram, new_user()

    def say(self, text: str) -> list[dict[str, Any]]:
        before = len(self.tg.sent_messages(self.user))
        self.tg.push_message(self.user, text)
        return self._new(before)

    def press(self, title: str) -> list[dict[str, Any]]:
        message = next(m for m in reversed(self.tg.sent_messages(self.user)) if keyboard(m))
        data = dict(keyboard(message))[title]
        before = len(self.tg.sent_messages(self.user))
        self.tg.push_callback(self.user, message["message_id"], data)
        return self._new(before)

    def _new(self, before: int) -> list[dict[str, Any]]:
        # Wait for the answer, then a short quiet moment so multi-message answers are whole.
        self.tg.wait_for_messages(self.user, before + 1, timeout=30)
        count = -1
        while count != len(self.tg.sent_messages(self.user)):
            count = len(self.tg.sent_messages(self.user))
            try:
                self.tg.wait_for_messages(self.user, count + 1, timeout=0.7)
            except AssertionError:
                break
        return self.tg.sent_messages(self.user)[before:]


def text_of(messages: list[dict[str, Any]]) -> str:
    """The texts of messages, one per line."""
    return "\n".join(m["text"] for m in messages)
