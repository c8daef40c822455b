"""End to end: /oubli on Telegram (fake Bot API, real app) while the app cannot reach the
engine, then the engine's tracker (written by the real trained engine, in the store
`engine.tracker_store_url` names for both) erased once the pending erasure is retried."""

from __future__ import annotations

from typing import Any

import pytest

from bot.engine_client import EngineClient
from bot.pipeline import ERASE_ACCEPT, ERASE_KEEP
from core.models import ConsentStatus
from tests.support import free_port
from tests.support.telegram import keyboard, new_user, pseudo, start
from tests.support.trackers_store import tracker_events

pytestmark = pytest.mark.engine


def test_oubli_with_the_engine_unreachable_erases_at_once_then_the_tracker(stack: Any) -> None:
    tg, user, services = stack.telegram, new_user(), stack.services
    question = start(stack, user)
    before = len(tg.sent_messages(user))
    tg.push_callback(user, question["message_id"], "/consent_accept")
    tg.wait_for_messages(user, before + 2, timeout=30)
    sender = pseudo(stack, user)
    assert services.people.get(sender).consent is ConsentStatus.granted
    store = stack.settings.tracker_store_url
    written = tracker_events(store, sender)
    assert written > 0  # the real engine saved the conversation in the one store

    pipeline = services.pipeline
    engine = pipeline.engine
    pipeline.engine = EngineClient(f"http://127.0.0.1:{free_port()}", timeout=2)  # "down"
    try:
        before = len(tg.sent_messages(user))
        tg.push_message(user, "/oubli")
        confirm = tg.wait_for_messages(user, before + 1, timeout=30)[before]
        assert dict(keyboard(confirm)) == {
            "Oui, efface tout": ERASE_ACCEPT,
            "Non, laisse": ERASE_KEEP,
        }
        assert services.people.get(sender) is not None
        tg.push_callback(user, confirm["message_id"], ERASE_ACCEPT)
        done = tg.wait_for_messages(user, before + 2, timeout=30)[before + 1]
        assert "effacé" in done["text"]
        assert services.people.get(sender) is None  # the app's data: at once
        assert tracker_events(store, sender) == written  # the tracker: pending
        assert sender in [p.pseudo_id for p in services.erasure.pending()]
    finally:
        pipeline.engine = engine

    services.erasure.retry_pending()  # the retry job, once the grace is over
    assert tracker_events(store, sender) == 0
    assert sender not in [p.pseudo_id for p in services.erasure.pending()]
