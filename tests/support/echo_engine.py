"""An engine stand-in over real HTTP that answers every message with "réponse à <message>"
on Rasa's REST channel (no Maraude channel: 404, as an engine started with Rasa's own
credentials), reports a loaded model on /status and records, in order, what it was sent: for
tests about the order and the number of answers (held messages, bot/held.py), which a trained
model cannot show as plainly. `delay` slows each answer (two workers overlap).

"Down" is an EngineClient on a port where nothing listens (`down_client`).
"""

from __future__ import annotations

import threading
import time
from typing import Any

from bot.engine_client import EngineClient
from tests.fakes.json_http import JsonHandler, JsonServer
from tests.support import free_port


class EchoEngine(JsonServer):
    def __init__(self, delay: float = 0.0) -> None:
        self.received: list[tuple[str, str]] = []  # (sender, message), in arrival order
        self.delay = delay
        lock = threading.Lock()
        engine = self

        class Handler(JsonHandler):
            def do_POST(self) -> None:
                body = self.read_json()
                if not self.path.startswith("/webhooks/rest/webhook"):  # Rasa's REST channel only
                    self.reply_json({"error": "no such channel"}, status=404)
                    return
                with lock:
                    engine.received.append((body["sender"], body["message"]))
                if engine.delay:
                    time.sleep(engine.delay)
                self.reply_json([{"recipient_id": body["sender"], "text": answer(body["message"])}])

            def do_GET(self) -> None:
                if self.path.startswith("/status"):
                    self.reply_json({"model_file": "echo.tar.gz"})
                else:  # a tracker: no turn to read
                    self.reply_json({"events": [], "latest_message": {}})

        super().__init__(Handler)

    def messages(self, sender: str | None = None) -> list[str]:
        return [m for s, m in self.received if sender is None or s == sender]

    def client(self, **options: Any) -> EngineClient:
        return EngineClient(self.url, timeout=10, **options)


def answer(message: str) -> str:
    return f"réponse à {message}"


def down_client() -> EngineClient:
    """An engine client pointed where nothing listens: every exchange fails at once."""
    return EngineClient(f"http://127.0.0.1:{free_port()}", timeout=2)
