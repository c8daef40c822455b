"""Client of the Rasa engine's REST channel and HTTP API."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx


class EngineUnavailable(Exception):
    """The engine did not answer (down, starting, timing out, or replied with an error)."""


class EngineClient:
    def __init__(self, base_url: str, *, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = httpx.AsyncClient(base_url=self.base_url, timeout=timeout)

    async def send(
        self, sender: str, message: str, metadata: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Post one user message to the REST channel and return the bot's messages."""
        body: dict[str, Any] = {"sender": sender, "message": message}
        if metadata:
            body["metadata"] = metadata
        try:
            response = await self._client.post("/webhooks/rest/webhook", json=body)
        except httpx.HTTPError as exc:
            raise EngineUnavailable(f"engine unreachable at {self.base_url}: {exc!r}") from exc
        if response.status_code != 200:
            raise EngineUnavailable(f"engine answered HTTP {response.status_code}")
        try:
            data = response.json()
        except ValueError as exc:
            raise EngineUnavailable("engine answered something that is not JSON") from exc
        if not isinstance(data, list):
            raise EngineUnavailable("engine answered an unexpected payload")
        return [item for item in data if isinstance(item, dict)]

    async def trigger(
        self, sender_id: str, intent: str, entities: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Trigger an (external) intent on a conversation and return what the bot said.

        Rasa's HTTP API `POST /conversations/{id}/trigger_intent`: without an `output_channel`
        query parameter the engine collects the bot's messages and returns them in the JSON
        body under "messages" (same shape as the REST channel's output).
        """
        path = f"/conversations/{quote(sender_id, safe='')}/trigger_intent"
        body = {"name": intent, "entities": entities or {}}
        try:
            response = await self._client.post(path, json=body)
        except httpx.HTTPError as exc:
            raise EngineUnavailable(f"engine unreachable at {self.base_url}: {exc!r}") from exc
        if response.status_code != 200:
            raise EngineUnavailable(
                f"engine answered HTTP {response.status_code} to trigger_intent {intent!r}"
            )
        try:
            data = response.json()
        except ValueError as exc:
            raise EngineUnavailable("engine answered something that is not JSON") from exc
        messages = data.get("messages") if isinstance(data, dict) else None
        if not isinstance(messages, list):
            raise EngineUnavailable("engine answered trigger_intent without messages")
        return [item for item in messages if isinstance(item, dict)]

    async def is_ready(self) -> bool:
        """True once the engine answers and has a model loaded."""
        try:
            response = await self._client.get("/status", timeout=5)
        except httpx.HTTPError:
            return False
        if response.status_code != 200:
            return False
        try:
            return bool(response.json().get("model_file"))
        except ValueError:
            return False

    async def aclose(self) -> None:
        await self._client.aclose()
