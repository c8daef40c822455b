"""Held messages answered by the real engine once it is back (issue 20 items 2 and 5), end to
end: the real app (Telegram polling the fake Bot API, its scheduler and replay job) starts
while the engine is not running; the young person writes; then the trained Rasa engine
starts on its port, and the app's own replay job pushes the answers, in order, after the
lead-in. A crisis written meanwhile got the helplines at once and never reaches the engine.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bot.texts import AppTexts
from core.models import Channel
from core.people import pseudonymise
from maraude.engine_process import EngineProcess
from tests.fakes.telegram_api import FakeTelegramServer
from tests.support import (
    TEST_TOKEN,
    AppServer,
    engine_missing_reason,
    free_port,
    make_settings,
)
from tests.support.telegram import new_user, texts

pytestmark = pytest.mark.engine
TEXTS = AppTexts.load()
CRISIS = "je veux mourir"


def user_messages(tracker_store_url: str, sender: str) -> list[str]:
    """What the engine's tracker store holds of the person's messages, in order."""
    engine = create_engine(tracker_store_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT data FROM events WHERE sender_id = :sender AND type_name = 'user'"
                    " ORDER BY id"
                ),
                {"sender": sender},
            )
            return [json.loads(row.data).get("text") for row in rows]
    finally:
        engine.dispose()


def in_order(sent: list[str], organisation: str) -> bool:
    """The welcome (/start) and, after it, the answer to "t un robot ?" (the welcome already
    says it is a bot: the answer is the next message that does)."""
    welcome = next((i for i, t in enumerate(sent) if organisation in t), None)
    if welcome is None:
        return False
    return any("robot" in t.lower() for t in sent[welcome + 1 :])


def test_messages_held_while_the_engine_is_down_are_answered_once_it_starts(
    tmp_path: Path,
) -> None:
    reason = engine_missing_reason()
    if reason:
        pytest.skip(reason)
    app_port, engine_port = free_port(), free_port()
    with FakeTelegramServer() as tg:
        settings = make_settings(
            tmp_path,
            telegram_bot_token=TEST_TOKEN,
            telegram_api_base_url=tg.url,
            rasa_url=f"http://127.0.0.1:{engine_port}",  # nothing there yet: the engine is down
            server={"port": app_port},
        )
        user = new_user()
        with AppServer(settings, port=app_port) as app:
            # A crisis first (helplines at once, never held), then two messages held. (A crisis
            # after held messages would drop them from the replay: tests/bot/test_held.py.)
            helplines = TEXTS.without_engine(TEXTS.crisis_kinds(CRISIS))
            tg.push_message(user, CRISIS)
            tg.wait_for_messages(user, len(helplines), timeout=30)
            for message in ("/start", "t un robot ?"):
                before = len(tg.sent_messages(user))
                tg.push_message(user, message)
                tg.wait_for_messages(user, before + 1, timeout=30)
            down = texts(tg.sent_messages(user))
            assert down[: len(helplines)] == helplines
            assert down[len(helplines) :] == [TEXTS.engine_down, TEXTS.engine_down]
            held = app.services.pipeline.held
            assert held is not None and held.count() == 2
            first = len(down)  # where the replay starts

            engine = EngineProcess(settings, port=engine_port, log_path=tmp_path / "engine.log")
            engine.start()
            try:
                engine.wait_ready(timeout=240)
                # The app's replay job (every 15 s) sees the engine ready and pushes the answers.
                name = settings.organisation.name
                tg.wait_until(
                    lambda: in_order(texts(tg.sent_messages(user))[first + 1 :], name),
                    timeout=90,
                    what="the replayed answers",
                )
                sent = texts(tg.sent_messages(user))
                assert sent[first] == TEXTS.replay_lead_in
                assert name in sent[first + 1]  # /start answered first, then "t un robot ?"
                assert TEXTS.engine_down not in sent[first + 1 :]
                assert held.count() == 0
                # The engine saw the held messages once each, in order, and never the crisis.
                sender = pseudonymise(settings.secret_key, Channel.telegram, str(user))
                seen = user_messages(settings.tracker_store_url, sender)
                assert seen == ["/start", "t un robot ?"]

                # Caught up: a new message is answered as usual, with no lead-in.
                before = len(tg.sent_messages(user))
                tg.push_message(user, "merci")
                after = texts(tg.wait_for_messages(user, before + 1, timeout=30)[before:])
                assert TEXTS.replay_lead_in not in after and TEXTS.engine_down not in after
            finally:
                engine.stop()
