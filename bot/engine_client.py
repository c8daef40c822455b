"""Client of the Rasa engine's REST channel and HTTP API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

import httpx

from core.turns import TurnInfo


class EngineUnavailable(Exception):
    """The engine did not answer (down, starting, timing out, or replied with an error).

    `retryable`: the failure means "this engine is down or stuck" (connection refused or
    reset, timeout, HTTP 5xx, a model swap in progress), so the same exchange may be tried on
    another engine (bot/engine_pool.py); a 4xx or an unexpected payload is not. Raised by the
    pool, it means every engine failed.
    """

    # Its messages name a URL, a status or an intent, never what a young person wrote
    # (core/logfilter.py keeps them in logs).
    safe_to_log = True

    def __init__(
        self,
        message: str = "",
        *,
        retryable: bool = False,
        status: int | None = None,
        maybe_started: bool = False,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status  # the engine's HTTP status, when it answered one
        # The request reached the engine, which then died or hung: it may hold the
        # conversation's ticket in Rasa's lock store (bot/engine_pool.py waits it out).
        self.maybe_started = maybe_started


# The engine's Maraude channel (engine/channel.py: messages + the turn), and Rasa's own.
TURN_PATH = "/webhooks/maraude/webhook"
REST_PATH = "/webhooks/rest/webhook"


def _unreachable(url: str, exc: httpx.HTTPError) -> EngineUnavailable:
    """A transport failure (refused, reset, timeout): this engine is down or stuck."""
    refused = isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))
    return EngineUnavailable(
        f"engine unreachable at {url}: {exc!r}", retryable=True, maybe_started=not refused
    )


def turn_from_tracker(state: dict[str, Any]) -> TurnInfo | None:
    """The last user turn of a tracker state (`GET /conversations/{id}/tracker`).

    `latest_message` carries the parse data (with the normaliser's `text_normalised` and the
    crisis guard's trace); the actions are the `action` events after the last `user` event,
    when the state was fetched with its events.
    """
    events = state.get("events") or []
    last_user = max((i for i, e in enumerate(events) if e.get("event") == "user"), default=None)
    latest = state.get("latest_message")
    # After Rasa's own fallback reverted the message (UserUtteranceReverted), latest_message
    # is the message before it: the last user event still holds this one's analysis.
    parsed = (events[last_user].get("parse_data") if last_user is not None else None) or {}
    if isinstance(parsed, dict) and parsed.get("intent"):
        latest = parsed
    if not isinstance(latest, dict) or not latest.get("intent"):
        return None
    intent = latest.get("intent") or {}
    actions: list[str] = []
    model = None
    if last_user is not None:
        metadata = events[last_user].get("metadata") or {}
        model = metadata.get("model_id") if isinstance(metadata, dict) else None
        actions = [
            str(e.get("name"))
            for e in events[last_user + 1 :]
            if e.get("event") == "action" and e.get("name") not in (None, "action_listen")
        ]
    entities = [
        {
            "entity": e.get("entity"),
            "value": e.get("value"),
            "extractor": e.get("extractor"),
            **({"start": e["start"], "end": e["end"]} if "start" in e and "end" in e else {}),
        }
        for e in latest.get("entities") or []
        if isinstance(e, dict)
    ]
    confidence = intent.get("confidence")
    return TurnInfo(
        text=latest.get("text_original") or latest.get("text"),
        normalised=latest.get("text_normalised"),
        intent=intent.get("name"),
        confidence=float(confidence) if confidence is not None else None,
        entities=entities,
        actions=actions,
        model=str(model) if model else None,
        crisis_guard=bool(latest.get("crisis_guard")),
    )


@dataclass(frozen=True)
class EngineAnswer:
    """The bot's messages for one user message, and what the engine understood of it (None
    when the engine did not say: Rasa's plain REST channel)."""

    messages: list[dict[str, Any]]
    turn: TurnInfo | None


class Engine(Protocol):
    """What the app asks of "the engine": one EngineClient, or an EnginePool of several
    (bot/engine_pool.py), which `maraude/services.py` builds."""

    @property
    def swapping(self) -> bool: ...

    async def send(
        self, sender: str, message: str, metadata: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]: ...

    async def exchange(
        self, sender: str, message: str, metadata: dict[str, Any] | None = None
    ) -> EngineAnswer: ...

    async def trigger(
        self, sender_id: str, intent: str, entities: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]: ...

    async def last_turn(self, sender_id: str, *, with_actions: bool = True) -> TurnInfo | None: ...

    async def load_model(self, model_path: str) -> None: ...

    async def model_file(self) -> str | None: ...

    async def is_ready(self) -> bool: ...

    async def aclose(self) -> None: ...


class _SwapGate:
    """Holds conversation requests while this app swaps the engine's model.

    Rasa loads a model inside its event loop: while it loads, it answers nothing, and a
    message posted then could outlast the request timeout (the young person would get the
    "engine unavailable" reply although the engine records the message). So a swap closes
    the gate, waits for the requests in flight to finish, loads, and reopens; messages that
    arrive meanwhile wait in the app, then go to the new model. (Other app workers on the
    same engine do not see this gate: see docs/manager-guide.md.)
    """

    def __init__(self, max_wait: float) -> None:
        self.max_wait = max_wait
        self._open = asyncio.Event()
        self._open.set()
        self._idle = asyncio.Event()
        self._idle.set()
        self._inflight = 0

    @asynccontextmanager
    async def request(self, *, wait: bool = True) -> AsyncIterator[None]:
        """One request to the engine; while a swap runs, wait for it (or refuse at once)."""
        if not self._open.is_set():
            if not wait:
                raise EngineUnavailable("the engine is loading a new model", retryable=True)
            try:
                await asyncio.wait_for(self._open.wait(), self.max_wait)
            except TimeoutError as exc:
                raise EngineUnavailable(
                    "the engine is still loading a new model", retryable=True
                ) from exc
        self._inflight += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._inflight -= 1
            if self._inflight == 0:
                self._idle.set()

    @asynccontextmanager
    async def closed(self) -> AsyncIterator[None]:
        self._open.clear()
        try:
            await asyncio.wait_for(self._idle.wait(), self.max_wait)
            yield
        finally:
            self._open.set()

    @property
    def swapping(self) -> bool:
        return not self._open.is_set()


class EngineClient:
    """The engine's REST channel (open, like any channel) and its HTTP API, which needs the
    engine's `--auth-token` (sent as `?token=`, the way Rasa checks it)."""

    def __init__(
        self,
        base_url: str,
        *,
        auth_token: str | None = None,
        timeout: float = 30.0,
        swap_wait: float = 600.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = httpx.AsyncClient(base_url=self.base_url, timeout=timeout)
        self._auth = {"token": auth_token} if auth_token else {}
        self._plain_rest = False  # True once the engine said it has no Maraude channel
        self._gate = _SwapGate(swap_wait)

    @property
    def swapping(self) -> bool:
        """A model swap started by this client is in progress (messages are held)."""
        return self._gate.swapping

    async def send(
        self, sender: str, message: str, metadata: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Post one user message and return the bot's messages."""
        return (await self.exchange(sender, message, metadata)).messages

    async def exchange(
        self, sender: str, message: str, metadata: dict[str, Any] | None = None
    ) -> EngineAnswer:
        """Post one user message to the engine's Maraude channel (engine/channel.py): the
        bot's messages and the turn, taken from the tracker the engine has just saved (no
        second request, no whole-tracker read). An engine without that channel (started
        elsewhere with Rasa's own credentials) is asked on Rasa's REST channel instead."""
        body: dict[str, Any] = {"sender": sender, "message": message}
        if metadata:
            body["metadata"] = metadata
        path = REST_PATH if self._plain_rest else TURN_PATH
        try:
            data = await self._json("POST", path, "the message", json=body)
        except EngineUnavailable as exc:
            if exc.status != 404 or self._plain_rest:
                raise
            self._plain_rest = True  # no Maraude channel on this engine: Rasa's REST one
            data = await self._json("POST", REST_PATH, "the message", json=body)
        if isinstance(data, list):  # Rasa's REST channel: the messages only
            return EngineAnswer([item for item in data if isinstance(item, dict)], None)
        messages = data.get("messages") if isinstance(data, dict) else None
        if not isinstance(messages, list):
            raise EngineUnavailable("engine answered an unexpected payload")
        state = data.get("turn")
        turn = turn_from_tracker(state) if isinstance(state, dict) else None
        return EngineAnswer([item for item in messages if isinstance(item, dict)], turn)

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
        data = await self._json("POST", path, f"trigger_intent {intent!r}", json=body)
        messages = data.get("messages") if isinstance(data, dict) else None
        if not isinstance(messages, list):
            raise EngineUnavailable("engine answered trigger_intent without messages")
        return [item for item in messages if isinstance(item, dict)]

    async def last_turn(self, sender_id: str, *, with_actions: bool = True) -> TurnInfo | None:
        """What the engine understood of this conversation's last user message.

        With `with_actions`, the tracker is fetched with the events since the last restart
        (to list the actions taken); without, only the latest parse data (cheap).
        """
        path = f"/conversations/{quote(sender_id, safe='')}/tracker"
        params = {"include_events": "AFTER_RESTART" if with_actions else "NONE"}
        # Never held by a swap: a young person's reply must not wait for analytics.
        data = await self._json("GET", path, "tracker", wait=False, params=params)
        return turn_from_tracker(data) if isinstance(data, dict) else None

    async def _json(
        self, method: str, path: str, what: str, *, wait: bool = True, **kwargs: Any
    ) -> Any:
        """One conversation request through the swap gate; its JSON body, or EngineUnavailable."""
        if not path.startswith("/webhooks/"):  # the HTTP API, not a channel
            kwargs["params"] = {**kwargs.get("params", {}), **self._auth}
        try:
            async with self._gate.request(wait=wait):
                response = await self._client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise _unreachable(self.base_url, exc) from exc
        if response.status_code != 200:
            raise EngineUnavailable(
                f"engine answered HTTP {response.status_code} to {what}",
                retryable=response.status_code >= 500,
                status=response.status_code,
            )
        try:
            return response.json()
        except ValueError as exc:
            raise EngineUnavailable(f"engine answered {what} with something not JSON") from exc

    async def load_model(self, model_path: str) -> None:
        """Load another trained model into the running engine (`PUT /model`).

        The trackers (conversations in flight) are in the tracker store, untouched by the
        swap. Rasa answers nothing while it loads, so this client holds new messages and
        waits for those in flight before asking (see `_SwapGate`).
        """
        try:
            async with self._gate.closed():
                response = await self._client.put(
                    "/model",
                    params=self._auth,
                    json={"model_file": model_path},
                    timeout=self._gate.max_wait,
                )
        except TimeoutError as exc:
            raise EngineUnavailable("messages in flight did not finish before the swap") from exc
        except httpx.HTTPError as exc:
            raise _unreachable(self.base_url, exc) from exc
        if response.status_code not in (200, 204):
            raise EngineUnavailable(
                f"engine refused the model ({response.status_code}): {response.text[:300]}",
                retryable=response.status_code >= 500,
            )

    async def model_file(self) -> str | None:
        """The model the engine is serving (`GET /status`), or None if it has none."""
        try:
            response = await self._client.get("/status", params=self._auth, timeout=5)
        except httpx.HTTPError as exc:
            raise _unreachable(self.base_url, exc) from exc
        if response.status_code != 200:
            raise EngineUnavailable(
                f"engine answered HTTP {response.status_code} to status",
                retryable=response.status_code >= 500,
            )
        value = response.json().get("model_file")
        return str(value) if value else None

    async def is_ready(self) -> bool:
        """True once the engine answers and has a model loaded."""
        try:
            response = await self._client.get("/status", params=self._auth, timeout=5)
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
