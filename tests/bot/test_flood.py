"""Flood control per conversation (bot/flood.py): a 40-message flood from one Telegram chat
next to a normal chat, through the fake Bot API and the real app (engine down: the app's own
answers and crisis check), and the gate's rules on their own."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.flood import FloodGate
from bot.texts import AppTexts
from core.models import Channel, Urgency
from core.people import pseudonymise
from core.ratelimit import CHAT, RateLimits
from tests.fakes.telegram_api import FakeTelegramServer
from tests.support import ROOT, TEST_TOKEN, AppServer, free_port, make_settings

TEXTS = AppTexts.load(engine_config=ROOT / "config.yml")
SUICIDE = next(kind.text for kind in TEXTS.crisis if kind.name == "suicide")
SHELTER = next(kind.text for kind in TEXTS.crisis if kind.name == "shelter")
FLOOD_CHAT, CALM_CHAT = 731_001, 731_002
CHAT_LIMIT = min(item.amount for item in CHAT.items)


@pytest.fixture
def gate() -> FloodGate:
    return FloodGate(RateLimits("", secrets.token_hex(8)), TEXTS)


def test_a_flood_gets_one_notice_then_silence(gate: FloodGate) -> None:
    answers = [gate.admit(Channel.telegram, "1", f"message {n}") for n in range(CHAT_LIMIT + 5)]
    assert answers[:CHAT_LIMIT] == [None] * CHAT_LIMIT  # read
    notice = answers[CHAT_LIMIT]
    assert notice is not None and [r.text for r in notice] == [TEXTS.slow_down]
    assert answers[CHAT_LIMIT + 1 :] == [[]] * 4  # dropped, nothing said
    # Another conversation, or the same chat id on another channel, is not held.
    assert gate.admit(Channel.telegram, "2", "salut") is None
    assert gate.admit(Channel.simulator, "1", "salut") is None


def test_crisis_messages_and_rights_are_always_read(gate: FloodGate) -> None:
    for n in range(CHAT_LIMIT + 2):
        gate.admit(Channel.telegram, "1", f"message {n}")
    assert gate.admit(Channel.telegram, "1", "message encore") == []
    for text in ("je veux mourir", "jsuis a la rue ce soir", "/stop", "/oubli", "/oubli@bot"):
        assert gate.admit(Channel.telegram, "1", text) is None, text
    assert gate.admit(Channel.telegram, "1", "/delete_data") is None  # the erasure button
    assert gate.admit(Channel.telegram, "1", "/start") == []  # other commands wait
    assert gate.admit(Channel.telegram, "1", "/affirm") == []  # and other buttons


def test_dropped_messages_are_counted_in_the_log_without_text_or_chat(
    gate: FloodGate, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="bot.flood")
    for n in range(CHAT_LIMIT + 11):
        gate.admit(Channel.telegram, "987654321", f"secret {n}")
    assert "1 message(s) dropped" in caplog.text
    assert "10 message(s) dropped" in caplog.text
    assert "secret" not in caplog.text and "987654321" not in caplog.text


# Through the fake Bot API ------------------------------------------------------------------
@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[FakeTelegramServer, AppServer]]:
    with FakeTelegramServer() as telegram:
        settings = make_settings(
            tmp_path,
            telegram_bot_token=TEST_TOKEN,
            telegram_api_base_url=telegram.url,
            rasa_url=f"http://127.0.0.1:{free_port()}",  # nothing there: the engine is down
            nudges={"enabled": False},
        )
        with AppServer(settings) as app:
            yield telegram, app


def texts(telegram: FakeTelegramServer, chat: int) -> list[str]:
    return [m["text"] for m in telegram.sent_messages(chat)]


def test_a_flood_next_to_a_normal_chat(stack: tuple[FakeTelegramServer, AppServer]) -> None:
    telegram, app = stack
    flood = [f"spam {n}" for n in range(40)]
    flood[25] = "je veux mourir"  # inside the flood, long past the limit
    flood[39] = "jsuis a la rue ce soir"  # the last one: when answered, all were read
    for n, text in enumerate(flood):
        telegram.push_message(FLOOD_CHAT, text)
        if n == 5:
            telegram.push_message(CALM_CHAT, "salut")

    calm = telegram.wait_until(
        lambda: texts(telegram, CALM_CHAT) or None, timeout=30, what="the calm chat's answer"
    )
    telegram.wait_until(
        lambda: any(SHELTER in t for t in texts(telegram, FLOOD_CHAT)),
        timeout=60,
        what="the answer to the flood's last message",
    )
    sent = texts(telegram, FLOOD_CHAT)

    # The normal chat is answered as usual (here: the engine is down), never told to slow down.
    assert calm == [TEXTS.engine_down]
    # The flood: one "doucement", far fewer answers than messages...
    assert sent.count(TEXTS.slow_down) == 1
    assert sent.index(TEXTS.slow_down) >= CHAT_LIMIT
    assert len(sent) < 20
    # ...but both crisis messages were read and answered with the helplines, in order.
    assert any(SUICIDE in t for t in sent)
    assert sent.index(next(t for t in sent if SUICIDE in t)) > sent.index(TEXTS.slow_down)
    assert SHELTER in sent[-1]
    # And the crisis reached a counsellor: an urgent ticket for that young person.
    pseudo = pseudonymise(app.services.settings.secret_key, Channel.telegram, str(FLOOD_CHAT))
    tickets: list[Any] = app.services.tickets.tickets_of(pseudo)
    assert [t.urgency for t in tickets] == [Urgency.crisis]
