"""Client of the Rasa engine's REST channel and HTTP API."""

from __future__ import annotations

from typing import Any

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
