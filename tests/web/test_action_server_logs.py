"""An action that fails on a young person's message: the app's log keeps the exception's
type and frames, never the message, the triage answers or a chat id (core/logfilter.py,
installed by the app itself)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from core.models import Channel
from tests.support import AppServer, free_port, make_settings
from tests.support.waiting import eventually

TEXT = "jsuis a la rue depuis hier jai peur"
ANSWER = "Rue des Postes, Lille"
CHAT_ID = "5123456789"
PHONE = "0612345678"
log = logging.getLogger("actions.boom")


@contextmanager
def captured() -> Iterator[io.StringIO]:
    """A handler on the root logger and one on uvicorn's, as a deployment has them (added
    once uvicorn configured its loggers, before the app starts: the app filters them)."""
    buffer = io.StringIO()
    handlers = [logging.StreamHandler(buffer), logging.StreamHandler(buffer)]
    logging.getLogger().addHandler(handlers[0])
    logging.getLogger("uvicorn").addHandler(handlers[1])
    try:
        yield buffer
    finally:
        logging.getLogger().removeHandler(handlers[0])
        logging.getLogger("uvicorn").removeHandler(handlers[1])


async def boom(dispatcher: CollectingDispatcher, tracker: Tracker, domain: Any) -> list[Any]:
    text = tracker.latest_message.get("text")
    location = tracker.get_slot("location")
    try:
        int(f"{text}")
    except ValueError:
        # the app's own log calls name the person by their pseudonymous id only
        log.exception("could not read the answer of %s", tracker.sender_id)
    raise RuntimeError(f"{text} / {location} / chat {CHAT_ID} / {PHONE}")


def test_a_failing_action_logs_no_text_answer_or_chat_id(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, rasa_url=f"http://127.0.0.1:{free_port()}")
    server = AppServer(settings)  # uvicorn's logging configured here
    with captured() as output, server as app:
        pseudo = app.services.people.identify(Channel.telegram, CHAT_ID).pseudo_id
        app.services.actions.actions["action_boom"] = boom
        call = {
            "next_action": "action_boom",
            "sender_id": pseudo,
            "domain": {"responses": {}, "slots": {}},
            "tracker": {
                "sender_id": pseudo,
                "slots": {"location": ANSWER},
                "latest_message": {"text": TEXT, "intent": {"name": "crisis_shelter"}},
                "events": [],
                "paused": False,
                "followup_action": None,
                "active_loop": {},
                "latest_action_name": "action_listen",
            },
        }
        response = httpx.post(
            f"http://127.0.0.1:{settings.engine.action_port}/webhook",
            json=call,
            params={"token": settings.action_token},
        )
        assert response.status_code == 500  # a bug of the action itself
        assert TEXT not in response.text
        # uvicorn logs the exception once the 500 has gone out
        written = eventually(
            lambda: "RuntimeError" in output.getvalue() and output.getvalue(),
            what="the traceback of the action",
        )
    assert "RuntimeError" in written and "ValueError" in written  # what failed
    assert "in boom" in written  # and where
    assert "could not read" in written
    for private in (TEXT, "la rue", ANSWER, CHAT_ID, PHONE, settings.action_token):
        assert private not in written, private
