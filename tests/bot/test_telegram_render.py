"""Rendering replies for Telegram: keyboards, long texts, callback data limits."""

from __future__ import annotations

from telegram import Chat, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.messages import Button, Reply
from bot.telegram import (
    TITLE_PREFIX,
    button_title,
    callback_data_for,
    keyboard_for,
    split_text,
    webhook_secret,
)


def test_keyboard_rows() -> None:
    short = Reply(
        "ok ?", (Button("Oui", "/affirm"), Button("Non", "/deny"), Button("Jsp", "/dont_know"))
    )
    markup = keyboard_for(short)
    assert markup is not None
    assert [[b.text for b in row] for row in markup.inline_keyboard] == [["Oui", "Non"], ["Jsp"]]
    long = Reply("?", (Button("Une formation qualifiante", "/need_training"),))
    assert [len(r) for r in keyboard_for(long).inline_keyboard] == [1]  # type: ignore[union-attr]
    assert keyboard_for(Reply("pas de boutons")) is None


def test_callback_data_never_exceeds_telegram_limit() -> None:
    assert callback_data_for("/consent_accept", "OK") == "/consent_accept"
    long_payload = '/inform{"commune":"' + "x" * 80 + '"}'
    data = callback_data_for(long_payload, "Saint-Rémy-lès-Chevreuse")
    assert data.startswith(TITLE_PREFIX) and len(data.encode()) <= 64


def test_split_text_keeps_everything_in_order() -> None:
    text = "\n".join(f"ligne {i} " + "mot " * 30 for i in range(200))
    chunks = split_text(text)
    assert all(len(c) <= 4096 for c in chunks) and len(chunks) > 1
    assert " ".join(" ".join(chunks).split()) == " ".join(text.split())
    assert split_text("x" * 5000) == ["x" * 4096, "x" * 904]


def test_button_title_only_for_buttons_of_that_message() -> None:
    markup = InlineKeyboardMarkup(
        [[InlineKeyboardButton("OK pour moi", callback_data="/consent_accept")]]
    )
    message = Message(1, date=None, chat=Chat(5, "private"), text="?", reply_markup=markup)  # type: ignore[arg-type]
    assert button_title(message, "/consent_accept") == "OK pour moi"
    assert button_title(message, "/delete_data") is None
    assert button_title(None, "/consent_accept") is None


def test_webhook_secret_is_stable_and_telegram_safe() -> None:
    secret = webhook_secret("a" * 40)
    assert secret == webhook_secret("a" * 40) != webhook_secret("b" * 40)
    assert secret.isalnum() and len(secret) <= 256
