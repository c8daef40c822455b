"""The REST channel Maraude's app talks to: Rasa's REST channel, plus what the turn was.

credentials.yml:
    engine.channel.TurnRestInput:     # POST /webhooks/maraude/webhook

The app needs, after each message, what the engine understood (intent, confidence, entities,
the normaliser's and the crisis guard's traces) and which actions ran: the studio records them.
Asking for it with `GET /conversations/{id}/tracker` made the engine load the whole tracker,
every session since the first message, on every turn: a cost growing with the conversation.
This channel answers `{"messages": [...], "turn": {...}}` instead, where the turn is taken from
the tracker the engine has just saved: the last user event and the events after it, from
memory, without reading the tracker store again. Its shape is the tracker endpoint's
(`events`, `latest_message`), so the app reads both the same way.

The tracker comes from the tracker store's `save`, wrapped once per store: the wrapper hands a
copy of the tail of the tracker to the request that is waiting for it (a context variable of the
request's task; Rasa saves the tracker in that same task).
"""

from __future__ import annotations

import contextvars
import logging
from asyncio import CancelledError
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

log = logging.getLogger(__name__)

# The turn of the request being handled: {"sender": id, "events": [...]} once saved.
_CAPTURE: contextvars.ContextVar[Optional[Dict[str, Any]]] = contextvars.ContextVar(
    "maraude_turn_capture", default=None
)
_WRAPPED = "_maraude_turn_capture"


def turn_events(events: List[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
    """The tracker-endpoint-shaped state of the last user turn in `events` (event dicts):
    that user event and what followed it; None without a user event."""
    last_user = None
    for index in range(len(events) - 1, -1, -1):
        if events[index].get("event") == "user":
            last_user = index
            break
    if last_user is None:
        return None
    tail = events[last_user:]
    return {"events": tail, "latest_message": tail[0].get("parse_data") or {}}


def tail_of(tracker: Any) -> List[Dict[str, Any]]:
    """The events of `tracker` from its last user event on, as dicts (a turn: a few events)."""
    tail: List[Any] = []
    for event in reversed(tracker.events):
        tail.append(event)
        if getattr(event, "type_name", None) == "user":
            break
    return [event.as_dict() for event in reversed(tail)]


def capture_saves(store: Any) -> None:
    """Wrap `store.save` (once) so that a waiting request gets the tail of what is saved."""
    if getattr(store, _WRAPPED, False):
        return
    original = store.save

    async def save(tracker: Any, *args: Any, **kwargs: Any) -> Any:
        result = await original(tracker, *args, **kwargs)
        holder = _CAPTURE.get()
        if holder is not None and holder.get("sender") == tracker.sender_id:
            try:
                holder["events"] = tail_of(tracker)
            except Exception:  # the turn is optional: the app reads the tracker instead
                log.exception("could not capture the turn")
        return result

    store.save = save
    setattr(store, _WRAPPED, True)


class TurnRestInput(RestInput):
    """`POST /webhooks/maraude/webhook` {sender, message, metadata} ->
    {"messages": [bot messages], "turn": tracker-shaped last turn or null}."""

    @classmethod
    def name(cls) -> Text:
        return "maraude"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("maraude_turn_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            sender_id = await self._extract_sender(request)
            text = self._extract_message(request)
            agent = getattr(request.app.ctx, "agent", None)
            store = getattr(agent, "tracker_store", None)
            if store is not None:
                capture_saves(store)
            holder: Dict[str, Any] = {"sender": sender_id}
            token = _CAPTURE.set(holder)
            collector = CollectingOutputChannel()
            try:
                await on_new_message(
                    UserMessage(
                        text,
                        collector,
                        sender_id,
                        input_channel=self._extract_input_channel(request),
                        metadata=self.get_metadata(request),
                    )
                )
            except CancelledError:
                log.error("maraude channel: message handling cancelled (timeout)")
            except Exception:  # as Rasa's REST channel: whatever was said is returned
                log.exception("maraude channel: message handling failed")
            finally:
                _CAPTURE.reset(token)
            events = holder.get("events")
            turn = turn_events(events) if events else None
            return response.json({"messages": collector.messages, "turn": turn})

        return webhook
