"""The fake Bot API as the load bench uses it.

Updates are built by the fake (so a button press points at a message the bot really sent and
its callback query can be answered) but posted to the app's webhook by the simulated young
people themselves, concurrently and with the secret token header, as Telegram does; the fake's
own one-at-a-time webhook delivery stays idle. Every sendMessage is stamped on arrival and
handed to the driver's listener (called from the fake's HTTP threads).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from typing import Any

from tests.fakes.telegram_api import FakeTelegramServer, JSONDict

Listener = Callable[[int, JSONDict, float], None]


class LoadTelegram(FakeTelegramServer):
    def __init__(self) -> None:
        super().__init__(webhook_timeout=30.0)
        self.listener: Listener | None = None
        self.last_built: JSONDict = {}  # the update the last push_* built (driver's thread only)

    def push_update(self, update: JSONDict) -> JSONDict:
        """Number the update and return it; the driver posts it (nothing is queued here)."""
        update = copy.deepcopy(update)
        with self._cond:
            update.setdefault("update_id", self._next_update_id)
            self._next_update_id = max(self._next_update_id, update["update_id"] + 1)
        self.last_built = update
        return update

    def _api_sendMessage(self, p: JSONDict) -> JSONDict:
        msg = super()._api_sendMessage(p)
        listener = self.listener
        if listener is not None:
            listener(int(msg["chat"]["id"]), msg, time.monotonic())
        return msg

    def webhook(self) -> tuple[str, str] | None:
        """(url, secret token) the app registered with setWebhook, None before."""
        with self._lock:
            hook: dict[str, Any] | None = self._webhook
            if not hook:
                return None
            return str(hook["url"]), str(hook.get("secret_token") or "")
