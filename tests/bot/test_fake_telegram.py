"""Tests of the fake Telegram Bot API server, driven by the real python-telegram-bot client."""

from __future__ import annotations

import asyncio
import datetime as dtm
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    ReplyParameters,
    Update,
)
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, RetryAfter
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from tests.fakes.telegram_api import TEST_TOKEN, FakeTelegramServer

# Until the root conftest loads it for everyone (harmless duplicate afterwards).

USER = 4242
BOT_ID = int(TEST_TOKEN.split(":")[0])


def keyboard(*data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(d.title(), callback_data=d) for d in data]])


@pytest.fixture
async def bot(fake_telegram: FakeTelegramServer) -> AsyncIterator[Bot]:
    url = fake_telegram.url
    async with Bot(TEST_TOKEN, base_url=f"{url}/bot", base_file_url=f"{url}/file/bot") as b:
        yield b


@pytest.fixture
def webhook_receiver() -> Iterator[tuple[str, list[tuple[dict, dict]]]]:
    """A tiny local HTTP server recording (headers, json body) of each POST; answers 200."""
    received: list[tuple[dict, dict]] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((dict(self.headers), json.loads(body)))
            status = 500 if self.path == "/broken" else 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=2)


# --------------------------------------------------------------------------- basics
async def test_get_me(bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.is_bot, me.username, me.first_name) == (
        BOT_ID,
        True,
        "maraude_test_bot",
        "Maraude",
    )
    assert me.can_join_groups is True
    assert bot.username == "maraude_test_bot"  # cached by Bot.initialize()


@pytest.mark.parametrize("token", ["not-a-token", "abc:def"])
async def test_malformed_token_is_unauthorized(fake_telegram: FakeTelegramServer, token) -> None:
    bot = Bot(token, base_url=f"{fake_telegram.url}/bot")
    with pytest.raises(InvalidToken, match="rejected by the server") as excinfo:
        await bot.initialize()
    assert str(excinfo.value.__cause__) == "Unauthorized"
    await bot.shutdown()


def test_unknown_token_and_method_with_raw_http() -> None:
    with FakeTelegramServer(tokens=["1:good"]) as tg, httpx.Client(base_url=tg.url) as http:
        resp = http.post("/bot2:other/getMe")
        assert resp.status_code == 401
        assert resp.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
        resp = http.get("/bot1:good/getMe")  # GET works too
        assert resp.json()["result"]["id"] == 1
        resp = http.post("/bot1:good/frobnicate")
        assert (resp.status_code, resp.json()["description"]) == (404, "Not Found")


def test_json_multipart_and_form_encodings() -> None:
    markup = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    with FakeTelegramServer() as tg, httpx.Client(base_url=f"{tg.url}/bot1:x") as http:
        r1 = http.post("/sendMessage", json={"chat_id": 7, "text": "json", "reply_markup": markup})
        form = {"chat_id": "7", "text": "42", "reply_markup": json.dumps(markup)}
        r2 = http.post("/sendMessage", data=form)
        r3 = http.post("/sendMessage", data=form, files={"doc": ("a.txt", b"\x00\xff")})
        assert [r.status_code for r in (r1, r2, r3)] == [200, 200, 200]
        texts = [m["text"] for m in tg.sent_messages(7)]
        assert texts == ["json", "42", "42"]  # "42" stays a string: text is never JSON-decoded
        assert all(m["reply_markup"] == markup for m in tg.sent_messages(7))
        assert tg.calls("sendMessage")[2]["doc"] == {"filename": "a.txt", "content": b"\x00\xff"}
        assert [m["message_id"] for m in tg.sent_messages(7)] == [1, 2, 3]
        resp = http.post("/editMessageText", data={"chat_id": "7", "message_id": "x", "text": "y"})
        assert resp.status_code == 400 and resp.json()["ok"] is False


# --------------------------------------------------------------------------- messages
async def test_send_message_with_inline_keyboard(bot: Bot, fake_telegram) -> None:
    msg = await bot.send_message(USER, "Bonjour", reply_markup=keyboard("oui", "non"))
    assert msg.text == "Bonjour" and msg.chat_id == USER and msg.from_user.id == BOT_ID
    assert msg.reply_markup == keyboard("oui", "non")
    [stored] = fake_telegram.sent_messages(USER)
    assert stored["message_id"] == msg.message_id
    buttons = stored["reply_markup"]["inline_keyboard"][0]
    assert [b["callback_data"] for b in buttons] == ["oui", "non"]
    assert fake_telegram.calls("sendMessage", chat_id=USER)[0]["text"] == "Bonjour"


async def test_user_and_bot_messages_share_the_chat_counter(bot: Bot, fake_telegram) -> None:
    update = fake_telegram.push_message(USER, "/start@maraude_test_bot hello")
    assert update["message"]["message_id"] == 1
    assert update["message"]["entities"] == [{"type": "bot_command", "offset": 0, "length": 23}]
    msg = await bot.send_message(USER, "Salut", reply_parameters=ReplyParameters(1))
    assert msg.message_id == 2 and msg.reply_to_message.text.startswith("/start")
    assert fake_telegram.push_sticker(USER)["message"]["message_id"] == 3
    command, sticker = await bot.get_updates()
    assert command.message.text.startswith("/start") and command.effective_user.first_name == "Lea"
    assert sticker.message.sticker.emoji == "👍"


async def test_edit_message_text_and_markup(bot: Bot, fake_telegram) -> None:
    msg = await bot.send_message(USER, "Question ?", reply_markup=keyboard("a", "b"))
    edited = await bot.edit_message_text(
        "Question ? (répondu)", chat_id=USER, message_id=msg.message_id, reply_markup=keyboard("a")
    )
    assert edited.text == "Question ? (répondu)" and edited.edit_date is not None
    edited = await bot.edit_message_reply_markup(chat_id=USER, message_id=msg.message_id)
    assert edited.reply_markup is None
    [stored] = fake_telegram.sent_messages(USER)
    assert stored["text"] == "Question ? (répondu)" and "reply_markup" not in stored
    assert [e["method"] for e in fake_telegram.edits] == [
        "editMessageText",
        "editMessageReplyMarkup",
    ]
    with pytest.raises(BadRequest, match="(?i)message is not modified"):
        await bot.edit_message_text("Question ? (répondu)", chat_id=USER, message_id=1)
    with pytest.raises(BadRequest, match="(?i)message to edit not found"):
        await bot.edit_message_text("x", chat_id=USER, message_id=99)


async def test_send_message_validation(bot: Bot, fake_telegram) -> None:
    with pytest.raises(BadRequest, match="(?i)message is too long"):
        await bot.send_message(USER, "x" * 4097)
    with pytest.raises(BadRequest, match="(?i)message text is empty"):
        await bot.send_message(USER, "")
    with pytest.raises(BadRequest, match="(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(USER, "hi", reply_markup=keyboard("é" * 33))
    assert await bot.send_message(USER, "x" * 4096)
    assert len(fake_telegram.sent_messages()) == 1


async def test_answer_callback_query(bot: Bot, fake_telegram) -> None:
    msg = await bot.send_message(USER, "Choisis", reply_markup=keyboard("oui"))
    query_id = fake_telegram.push_callback(USER, msg.message_id, "oui")
    [update] = await bot.get_updates(timeout=1)
    query = update.callback_query
    assert (query.id, query.data, query.message.message_id) == (query_id, "oui", msg.message_id)
    assert query.message.reply_markup == keyboard("oui")
    assert await query.answer("Merci", show_alert=True)
    assert fake_telegram.callback_answers == [
        {"callback_query_id": query_id, "text": "Merci", "show_alert": True}
    ]
    with pytest.raises(BadRequest, match="(?i)query is too old"):
        await bot.answer_callback_query("123")


async def test_other_methods(bot: Bot, fake_telegram) -> None:
    await bot.set_my_commands([BotCommand("start", "Démarrer"), BotCommand("aide", "Aide")])
    assert [c.command for c in await bot.get_my_commands()] == ["start", "aide"]
    assert fake_telegram.my_commands()[1] == {"command": "aide", "description": "Aide"}
    assert await bot.delete_my_commands() and await bot.get_my_commands() == ()
    assert await bot.send_chat_action(USER, "typing")
    assert fake_telegram.chat_actions == [{"chat_id": USER, "action": "typing"}]
    msg = await bot.send_message(USER, "temp")
    assert await bot.delete_message(USER, msg.message_id)
    assert fake_telegram.sent_messages(USER) == []
    with pytest.raises(BadRequest, match="(?i)message to delete not found"):
        await bot.delete_message(USER, msg.message_id)
    assert await bot.log_out() and await bot.close()


# --------------------------------------------------------------------------- getUpdates
async def test_long_poll_returns_as_soon_as_an_update_is_pushed(bot: Bot, fake_telegram) -> None:
    task = asyncio.create_task(bot.get_updates(timeout=5))
    await fake_telegram.async_wait_until(lambda: fake_telegram.calls("getUpdates"), timeout=2)
    await asyncio.sleep(0.05)  # the server is now blocked in its long poll
    started = time.monotonic()
    fake_telegram.push_message(USER, "coucou")
    updates = await asyncio.wait_for(task, timeout=3)
    assert time.monotonic() - started < 1
    assert [u.message.text for u in updates] == ["coucou"]


async def test_long_poll_honours_timeout(bot: Bot) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=1) == ()
    assert 0.9 <= time.monotonic() - started < 3


async def test_offset_confirms_updates(bot: Bot, fake_telegram) -> None:
    ids = [fake_telegram.push_message(USER, f"m{i}")["update_id"] for i in range(3)]
    assert ids == sorted(ids) and len(set(ids)) == 3
    assert [u.update_id for u in await bot.get_updates(limit=2)] == ids[:2]
    assert [u.update_id for u in await bot.get_updates()] == ids  # nothing confirmed yet
    assert [u.update_id for u in await bot.get_updates(offset=ids[1] + 1)] == ids[2:]
    assert await bot.get_updates(offset=ids[2] + 1) == ()
    fake_telegram.push_message(USER, "later")
    assert [u.message.text for u in await bot.get_updates(allowed_updates=["message"])] == ["later"]


async def test_stop_wakes_a_pending_long_poll() -> None:
    tg = FakeTelegramServer().start()
    async with Bot(TEST_TOKEN, base_url=f"{tg.url}/bot") as bot:
        task = asyncio.create_task(bot.get_updates(timeout=30))
        await tg.async_wait_until(lambda: tg.calls("getUpdates"), timeout=2)
        started = time.monotonic()
        await asyncio.to_thread(tg.stop)
        assert await asyncio.wait_for(task, timeout=3) == ()
        assert time.monotonic() - started < 2


# --------------------------------------------------------------------------- errors
async def test_forbidden_injection(bot: Bot, fake_telegram) -> None:
    fake_telegram.fail_next("sendMessage", chat_id=USER, times=2)
    assert await bot.send_message(1, "other chat is unaffected")
    for _ in range(2):
        with pytest.raises(Forbidden, match="bot was blocked by the user"):
            await bot.send_message(USER, "Bonjour")
    assert await bot.send_message(USER, "third time lucky")
    assert [m["text"] for m in fake_telegram.sent_messages(USER)] == ["third time lucky"]
    assert len(fake_telegram.calls("sendMessage", chat_id=USER)) == 3  # failures are recorded


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # int vs timedelta
async def test_retry_after_injection(bot: Bot, fake_telegram) -> None:
    fake_telegram.fail_next("sendMessage", status=429, retry_after=7)
    with pytest.raises(RetryAfter) as excinfo:
        await bot.send_message(USER, "spam")
    retry_after = excinfo.value.retry_after
    seconds = retry_after.total_seconds() if isinstance(retry_after, dtm.timedelta) else retry_after
    assert seconds == 7
    assert fake_telegram.sent_messages() == []


def test_429_payload_is_telegram_shaped() -> None:
    with FakeTelegramServer() as tg, httpx.Client(base_url=f"{tg.url}/bot1:x") as http:
        tg.fail_next("sendmessage", status=429, retry_after=3)
        resp = http.post("/sendMessage", data={"chat_id": "1", "text": "x"})
        assert resp.status_code == 429
        assert resp.json() == {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 3",
            "parameters": {"retry_after": 3},
        }


# --------------------------------------------------------------------------- webhooks
async def test_webhook_blocks_get_updates(bot: Bot) -> None:
    assert await bot.set_webhook("http://127.0.0.1:9/hook")
    assert (await bot.get_webhook_info()).url == "http://127.0.0.1:9/hook"
    with pytest.raises(Conflict, match="can't use getUpdates method while webhook is active"):
        await bot.get_updates()
    assert await bot.delete_webhook()
    assert await bot.get_updates() == ()


async def test_webhook_delivery_with_secret(bot: Bot, fake_telegram, webhook_receiver) -> None:
    url, received = webhook_receiver
    fake_telegram.push_message(USER, "avant")  # pending before the webhook is set
    await bot.set_webhook(f"{url}/hook", secret_token="s3cr3t")
    fake_telegram.push_message(USER, "après")
    deliveries = await fake_telegram.async_wait_until(
        lambda: len(d := fake_telegram.webhook_deliveries) == 2 and d, timeout=5
    )
    assert [d["status"] for d in deliveries] == [200, 200]
    assert [body["message"]["text"] for _, body in received] == ["avant", "après"]
    headers = {k.lower(): v for k, v in received[0][0].items()}
    assert headers["x-telegram-bot-api-secret-token"] == "s3cr3t"
    assert Update.de_json(received[1][1], bot).message.text == "après"
    info = await bot.get_webhook_info()
    assert info.pending_update_count == 0 and info.last_error_message is None

    await bot.set_webhook(f"{url}/broken")  # no secret, endpoint answers 500
    fake_telegram.push_message(USER, "perdu")
    await fake_telegram.async_wait_until(lambda: len(fake_telegram.webhook_deliveries) == 3)
    assert fake_telegram.webhook_deliveries[-1]["status"] == 500
    assert "x-telegram-bot-api-secret-token" not in {k.lower() for k in received[2][0]}
    assert "500" in (await bot.get_webhook_info()).last_error_message


# --------------------------------------------------------------------------- forum topics
GROUP = -1009876543210


async def test_forum_topics(bot: Bot, fake_telegram) -> None:
    topic = await bot.create_forum_topic(GROUP, "#1 · emploi", icon_color=0xFB6F5F)
    thread = topic.message_thread_id
    assert (topic.name, topic.icon_color) == ("#1 · emploi", 0xFB6F5F)
    other = await bot.create_forum_topic(GROUP, "#2 · logement")
    assert other.icon_color == 0x6FB9F0 and other.message_thread_id != thread

    msg = await bot.send_message(GROUP, "Résumé", message_thread_id=thread)
    assert (msg.message_thread_id, msg.is_topic_message) == (thread, True)
    assert msg.chat.type == "supergroup" and msg.chat.is_forum is True
    general = await bot.send_message(GROUP, "Général")
    assert general.message_thread_id is None and not general.is_topic_message
    assert [m["text"] for m in fake_telegram.sent_messages(GROUP, thread_id=thread)] == ["Résumé"]
    assert len(fake_telegram.sent_messages(GROUP)) == 2  # the topics' service messages are apart
    edited = await bot.edit_message_text("Résumé (pris)", chat_id=GROUP, message_id=msg.message_id)
    assert edited.message_thread_id == thread

    assert await bot.edit_forum_topic(GROUP, thread, name="🔴 #1 · emploi")
    with pytest.raises(BadRequest, match="(?i)topic_not_modified"):
        await bot.edit_forum_topic(GROUP, thread, name="🔴 #1 · emploi")
    assert await bot.close_forum_topic(GROUP, thread)
    with pytest.raises(BadRequest, match="(?i)topic_not_modified"):
        await bot.close_forum_topic(GROUP, thread)
    assert fake_telegram.topic(GROUP, thread) == {
        "chat_id": GROUP,
        "message_thread_id": thread,
        "name": "🔴 #1 · emploi",
        "icon_color": 0xFB6F5F,
        "closed": True,
        "names": ["#1 · emploi", "🔴 #1 · emploi"],
    }
    assert await bot.send_message(GROUP, "La fin", message_thread_id=thread)  # bot is admin
    assert await bot.reopen_forum_topic(GROUP, thread)
    assert [t["closed"] for t in fake_telegram.topics(GROUP)] == [False, False]
    assert "topic -1009876543210/" in fake_telegram.dump()

    assert await bot.delete_forum_topic(GROUP, other.message_thread_id)
    assert [t["message_thread_id"] for t in fake_telegram.topics()] == [thread]


async def test_forum_topic_errors(bot: Bot, fake_telegram) -> None:
    with pytest.raises(BadRequest, match="(?i)topic_id_invalid"):
        await bot.edit_forum_topic(GROUP, 999, name="x")
    with pytest.raises(BadRequest, match="(?i)topic_id_invalid"):
        await bot.close_forum_topic(GROUP, 999)
    with pytest.raises(BadRequest, match="(?i)message thread not found"):
        await bot.send_message(GROUP, "perdu", message_thread_id=999)
    with pytest.raises(BadRequest, match="(?i)invalid icon_color"):
        await bot.create_forum_topic(GROUP, "x", icon_color=0x123456)
    with pytest.raises(BadRequest, match="(?i)topic_title_invalid"):
        await bot.create_forum_topic(GROUP, "x" * 129)
    fake_telegram.add_group(-1005555, title="Sans sujets", is_forum=False)
    with pytest.raises(BadRequest, match="(?i)the chat is not a forum"):
        await bot.create_forum_topic(-1005555, "x")
    with pytest.raises(BadRequest, match="(?i)the chat is not a forum"):
        await bot.create_forum_topic(-4242, "basic group")
    with pytest.raises(BadRequest, match="(?i)the chat is not a forum"):
        await bot.create_forum_topic(USER, "private chat")
    assert fake_telegram.topics() == []


async def test_group_messages_and_callbacks_in_topics(bot: Bot, fake_telegram) -> None:
    thread = (await bot.create_forum_topic(GROUP, "#3 · santé")).message_thread_id
    summary = await bot.send_message(
        GROUP, "Résumé", message_thread_id=thread, reply_markup=keyboard("tk:3:claim")
    )
    update = fake_telegram.push_group_message(GROUP, 777, "je prends", thread_id=thread)
    assert update["message"]["message_thread_id"] == thread
    fake_telegram.push_group_message(GROUP, 777, "dans le général", first_name="Sam")
    query_id = fake_telegram.push_group_callback(GROUP, 778, summary.message_id, "tk:3:claim")
    forged = fake_telegram.push_callback(
        779, summary.message_id, "tk:9:res:cej", chat_id=GROUP, first_name="Intrus"
    )
    with pytest.raises(KeyError):
        fake_telegram.push_group_message(GROUP, 777, "x", thread_id=999)

    in_topic, in_general, pressed, forged_press = await bot.get_updates()
    message = in_topic.message
    assert (message.chat.id, message.chat.type, message.chat.is_forum) == (
        GROUP,
        "supergroup",
        True,
    )
    assert (message.message_thread_id, message.is_topic_message) == (thread, True)
    assert (message.from_user.id, message.from_user.first_name) == (777, "Camille")
    assert in_general.message.message_thread_id is None
    assert in_general.message.from_user.first_name == "Sam"
    query = pressed.callback_query
    assert (query.id, query.data, query.from_user.id) == (query_id, "tk:3:claim", 778)
    assert query.message.chat.id == GROUP and query.message.message_thread_id == thread
    assert forged_press.callback_query.id == forged
    assert forged_press.callback_query.from_user.first_name == "Intrus"
    assert forged_press.callback_query.data == "tk:9:res:cej"
    assert await forged_press.callback_query.answer("Refusé", show_alert=True)


# --------------------------------------------------------------------------- waiting helpers
def test_sync_wait_for_messages_and_timeout_dump() -> None:
    with FakeTelegramServer() as tg:

        def send_later() -> None:
            time.sleep(0.1)
            httpx.post(f"{tg.url}/bot1:x/sendMessage", data={"chat_id": "5", "text": "hello"})

        threading.Thread(target=send_later, daemon=True).start()
        started = time.monotonic()
        [msg] = tg.wait_for_messages(5, 1, timeout=5)
        assert msg["text"] == "hello" and time.monotonic() - started < 2
        with pytest.raises(AssertionError, match=r"2 bot message\(s\) in chat 5") as excinfo:
            tg.wait_for_messages(5, 2, timeout=0.2)
        assert "chat 5 #1: 'hello'" in str(excinfo.value)


# --------------------------------------------------------------------------- Application
async def test_application_polling_end_to_end(fake_telegram) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.message.reply_text("Tu veux parler ?", reply_markup=keyboard("oui", "non"))

    async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        await query.answer()
        await query.edit_message_text(f"Choix : {query.data}")

    app = (
        Application.builder()
        .token(TEST_TOKEN)
        .base_url(f"{fake_telegram.url}/bot")
        .base_file_url(f"{fake_telegram.url}/file/bot")
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(on_button))
    async with app:
        await app.updater.start_polling(poll_interval=0, timeout=1)
        await app.start()
        try:
            fake_telegram.push_message(USER, "/start")
            [msg] = await fake_telegram.async_wait_for_messages(USER, 1, timeout=5)
            assert msg["text"] == "Tu veux parler ?"
            fake_telegram.push_callback(USER, msg["message_id"], "oui")
            await fake_telegram.async_wait_until(
                lambda: fake_telegram.sent_messages(USER)[0]["text"] == "Choix : oui", timeout=5
            )
            assert len(fake_telegram.callback_answers) == 1
        finally:
            await app.updater.stop()
            await app.stop()
    assert fake_telegram.pending_updates == []  # the updater confirmed everything on stop
