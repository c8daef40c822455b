"""Flood control for one conversation (a Telegram chat, a simulator session, a terminal).

Beyond `core.ratelimit.CHAT` (messages per window, each channel user on its own), the young
person gets one "doucement" (`texts.yml` `slow_down`, at most once per `FLOOD_NOTICE`
window; it says honestly that some messages were not taken) and the extra messages are
dropped: nothing is stored, nothing goes to the engine, only a count is logged (never the
text, never the chat id).

Never dropped, whatever the pace: a message the app's crisis check flags (the engine's own
crisis guard and lexicon, `AppTexts.crisis_kinds`: the same check as when the engine is down),
and the commands and buttons that exercise a right (/stop, /oubli).
"""

from __future__ import annotations

import logging
import re
from collections import OrderedDict

from bot.messages import Reply
from bot.texts import AppTexts
from core.ratelimit import CHAT, FLOOD_NOTICE, RateLimits

log = logging.getLogger(__name__)

# Typed commands and button payloads always read (opt-out and erasure: rights, not chatter).
ALWAYS_READ = frozenset({"/stop", "/oubli", "/opt_out", "/delete_data"})
COMMAND = re.compile(r"/[A-Za-z_]+")
MAX_TRACKED = 10_000  # conversations whose dropped messages are counted in memory


class FloodGate:
    def __init__(self, limits: RateLimits, texts: AppTexts) -> None:
        self.limits = limits
        self.texts = texts
        self._dropped: OrderedDict[tuple[str, str], int] = OrderedDict()

    def admit(self, channel: str, user_key: str, text: str | None) -> list[Reply] | None:
        """None: read the message. Otherwise what to answer instead of reading it (the
        notice once, then nothing)."""
        key = (str(channel), user_key)
        if self.limits.hit(CHAT, *key):
            self._dropped.pop(key, None)
            return None
        if text is not None and self._always_read(text):
            return None
        if self.limits.hit(FLOOD_NOTICE, *key):
            log.info("flood control: a conversation goes too fast, asked to slow down")
            return [Reply(self.texts.slow_down)]
        count = self._dropped.pop(key, 0) + 1
        self._dropped[key] = count
        while len(self._dropped) > MAX_TRACKED:
            self._dropped.popitem(last=False)
        if count == 1 or count % 10 == 0:
            log.info("flood control: %d message(s) dropped in one conversation", count)
        return []

    def _always_read(self, text: str) -> bool:
        command = COMMAND.match(text.strip())
        if command is not None and command.group(0).lower() in ALWAYS_READ:
            return True
        return bool(self.texts.crisis_kinds(text))
