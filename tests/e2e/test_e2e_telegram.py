"""End to end: the real python-telegram-bot client polling a fake Bot API, the real app,
the real trained Rasa engine calling the app's actions, a real SQLite database.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from bot.texts import AppTexts
from core.db import Database
from core.models import ConsentStatus, Direction
from tests.fakes.telegram_api import FakeTelegramServer
from tests.support import TEST_TOKEN, AppServer, free_port, make_settings
from tests.support.telegram import keyboard, new_user, pseudo, start, texts

pytestmark = pytest.mark.engine
TEXTS = AppTexts.load()


def test_start_consent_button_and_free_text(stack: Any) -> None:
    tg, user = stack.telegram, new_user()
    consent_question = start(stack, user)

    welcome = "\n".join(texts(tg.sent_messages(user)))
    assert "robot" in welcome.lower()  # says plainly it is a bot
    assert stack.settings.organisation.name in welcome  # run by the named structure
    assert "conseill" in welcome.lower()  # a human counsellor can take over
    assert stack.settings.privacy_url in welcome  # link to the privacy notice
    assert "/oubli" in welcome and "/stop" in welcome
    buttons = dict(keyboard(consent_question))
    assert buttons == {"OK pour moi": "/consent_accept", "Non merci": "/consent_refuse"}
    assert stack.services.people.get(pseudo(stack, user)).consent is ConsentStatus.unknown
    assert stack.services.people.transcript(pseudo(stack, user)) == []  # nothing kept yet

    before = len(tg.sent_messages(user))
    query = tg.push_callback(user, consent_question["message_id"], "/consent_accept")
    after = tg.wait_for_messages(user, before + 2, timeout=30)
    assert any(a["callback_query_id"] == query for a in tg.callback_answers)
    closed = next(
        m for m in tg.sent_messages(user) if m["message_id"] == consent_question["message_id"]
    )
    assert not keyboard(closed) and closed["text"].endswith("OK pour moi")  # keyboard removed
    person = stack.services.people.get(pseudo(stack, user))
    assert person.consent is ConsentStatus.granted
    assert [s for s, _ in stack.services.people.consent_history(person.pseudo_id)] == [
        ConsentStatus.granted
    ]
    opening = after[-1]["text"].lower()
    assert "?" in opening

    before = len(tg.sent_messages(user))
    tg.push_message(user, "t un robot ou une vraie personne ?")
    reply = tg.wait_for_messages(user, before + 1, timeout=30)[-1]["text"]
    assert "robot" in reply.lower()

    transcript = stack.services.people.transcript(person.pseudo_id)
    assert [m.text for m in transcript if m.direction is Direction.incoming][-2:] == [
        "OK pour moi",
        "t un robot ou une vraie personne ?",
    ]
    assert transcript[-1].text.lower() == reply.lower()


def test_refusing_consent_keeps_nothing(stack: Any) -> None:
    tg, user = stack.telegram, new_user()
    question = start(stack, user)
    before = len(tg.sent_messages(user))
    tg.push_callback(user, question["message_id"], "/consent_refuse")
    tg.wait_for_messages(user, before + 1, timeout=30)
    tg.push_message(user, "salut")
    tg.wait_for_messages(user, before + 2, timeout=30)
    person = stack.services.people.get(pseudo(stack, user))
    assert person.consent is ConsentStatus.refused
    assert stack.services.people.transcript(person.pseudo_id) == []


def test_crisis_message_right_after_start_gets_helplines(stack: Any) -> None:
    tg, user = stack.telegram, new_user()
    start(stack, user)
    before = len(tg.sent_messages(user))
    tg.push_message(user, "jen peux plus jveux mourir")
    reply = tg.wait_for_messages(user, before + 1, timeout=30)[before]
    assert "3114" in reply["text"]
    assert not keyboard(reply)


def test_forged_callback_is_refused_and_nothing_is_processed(stack: Any) -> None:
    tg, user = stack.telegram, new_user()
    question = start(stack, user)
    before = len(tg.sent_messages(user))
    query = tg.push_callback(user, question["message_id"], "/delete_data")
    answer = tg.wait_until(
        lambda: [a for a in tg.callback_answers if a["callback_query_id"] == query] or None,
        what="the callback answer",
    )[0]
    assert answer["text"] == TEXTS.button_expired
    time.sleep(1.0)  # give a wrongly processed payload the time to produce a message
    assert len(tg.sent_messages(user)) == before
    assert stack.services.people.get(pseudo(stack, user)).consent is ConsentStatus.unknown


def test_sticker_unknown_command_and_edited_message(stack: Any) -> None:
    tg, user = stack.telegram, new_user()
    tg.push_sticker(user)
    assert tg.wait_for_messages(user, 1)[0]["text"] == TEXTS.unsupported_content
    tg.push_message(user, "/pizza")
    assert tg.wait_for_messages(user, 2)[1]["text"] == TEXTS.unknown_command
    sent = tg.push_message(user, "slt")
    tg.wait_for_messages(user, 3, timeout=30)
    tg.push_edited_message(user, sent["message"]["message_id"], "t'es un robot ?")
    assert "robot" in tg.wait_for_messages(user, 4, timeout=30)[3]["text"].lower()


def test_flood_control_is_honoured(stack: Any) -> None:
    tg, user = stack.telegram, new_user()
    tg.fail_next("sendMessage", status=429, retry_after=1, chat_id=user)
    started = time.monotonic()
    tg.push_message(user, "/pizza")
    assert tg.wait_for_messages(user, 1, timeout=15)[0]["text"] == TEXTS.unknown_command
    assert time.monotonic() - started >= 1.0
    assert len(tg.calls("sendMessage", chat_id=user)) == 2


def test_blocked_bot_is_recorded(stack: Any) -> None:
    tg, user = stack.telegram, new_user()
    tg.fail_next("sendMessage", status=403, chat_id=user, times=5)
    tg.push_message(user, "slt")
    tg.wait_until(lambda: tg.calls("sendMessage", chat_id=user), timeout=30, what="a send attempt")
    from core.models import YoungPerson

    def blocked() -> bool:
        with stack.services.db.transaction() as session:
            row = session.query(YoungPerson).filter_by(pseudo_id=pseudo(stack, user)).one_or_none()
            return bool(row and row.blocked_at)

    deadline = time.monotonic() + 10
    while not blocked():
        assert time.monotonic() < deadline, "blocked_at was not recorded"
        time.sleep(0.05)
    assert len(tg.calls("sendMessage", chat_id=user)) == 1  # no retry against a block


def test_webhook_mode(stack: Any, tmp_path: Any) -> None:
    """Webhook mode: Telegram POSTs to the app, which checks the secret token."""
    with FakeTelegramServer() as tg:
        port = free_port()
        settings = make_settings(
            tmp_path,
            telegram_bot_token=TEST_TOKEN,
            telegram_api_base_url=tg.url,
            telegram_webhook_url=f"http://127.0.0.1:{port}/telegram/hook",
            rasa_url=stack.engine.url,
            database_url=stack.settings.effective_database_url,
            maraude_secret_key=stack.settings.secret_key,
        )
        with AppServer(settings, port=port):
            webhook = tg.calls("setWebhook")[-1]
            assert webhook["url"] == f"http://127.0.0.1:{port}/telegram/hook"
            secret = webhook["secret_token"]
            user = new_user()
            tg.push_message(user, "t'es un bot ?")
            reply = tg.wait_for_messages(user, 1, timeout=30)[0]["text"]
            assert "robot" in reply.lower()
            assert tg.webhook_deliveries[-1]["status"] == 200

            hook = f"http://127.0.0.1:{port}/telegram/hook"
            update = {
                "update_id": 99,
                "message": {
                    "message_id": 1,
                    "date": 0,
                    "chat": {"id": 1, "type": "private"},
                    "text": "x",
                },
            }
            assert httpx.post(hook, json=update).status_code == 403  # no secret
            wrong = {"X-Telegram-Bot-Api-Secret-Token": "nope"}
            assert httpx.post(hook, json=update, headers=wrong).status_code == 403
            right = {"X-Telegram-Bot-Api-Secret-Token": secret}
            assert httpx.post(hook, content=b"{oops", headers=right).status_code == 400
            assert httpx.post(hook, json={"hello": 1}, headers=right).status_code == 400
            deep = b'{"update_id": 1, "x": ' + b"[" * 5000 + b"]" * 5000 + b"}"
            assert httpx.post(hook, content=deep, headers=right).status_code == 400


def test_oubli_erases_the_app_database_and_the_engine_tracker(stack: Any) -> None:
    tg, user = stack.telegram, new_user()
    question = start(stack, user)
    before = len(tg.sent_messages(user))
    tg.push_callback(user, question["message_id"], "/consent_accept")
    tg.wait_for_messages(user, before + 2, timeout=30)
    sender = pseudo(stack, user)
    assert stack.services.people.transcript(sender)
    tracker_db = Database.from_url(stack.settings.tracker_store_url)

    def tracker_events() -> int:
        with tracker_db.transaction() as session:
            query = text("SELECT count(*) FROM events WHERE sender_id = :s")
            return int(session.execute(query, {"s": sender}).scalar_one())

    assert tracker_events() > 0

    before = len(tg.sent_messages(user))
    tg.push_message(user, "/oubli")
    confirm = tg.wait_for_messages(user, before + 1, timeout=30)[before]
    assert dict(keyboard(confirm)) == {"Oui, efface tout": "/affirm", "Non, laisse": "/deny"}
    tg.push_callback(user, confirm["message_id"], "/affirm")
    done = tg.wait_for_messages(user, before + 2, timeout=30)[before + 1]
    assert "effac" in done["text"]
    assert stack.services.people.get(sender) is None
    assert tracker_events() == 0

    before = len(tg.sent_messages(user))
    tg.push_message(user, "slt")  # starts again from nothing
    tg.wait_for_messages(user, before + 1, timeout=30)
    assert stack.services.people.get(sender).consent is ConsentStatus.unknown
    assert stack.services.people.transcript(sender) == []
    tracker_db.dispose()
