"""Telegram channel: python-telegram-bot 22 handlers around the shared pipeline.

Polling when TELEGRAM_WEBHOOK_URL is unset, webhook otherwise (the web app feeds updates
posted by Telegram into `TelegramChannel.feed`). Replies with buttons become inline
keyboards; a pressed button is checked against the keyboard of the message it belongs to
(forged callback data is refused), answered, its keyboard removed, then handled.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from collections.abc import Sequence
from typing import Any

from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    Message,
    Update,
)
from telegram.constants import MessageLimit
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.inbox_drain import InboxDrain
from bot.messages import Document, Reply
from bot.ordering import PerChatUpdateProcessor, update_chat_key
from bot.pipeline import ConversationPipeline
from core.chatlock import ChatLocks, MemoryChatLocks
from core.inbox import InboxService
from core.models import Channel
from core.people import pseudonymise

log = logging.getLogger(__name__)

CALLBACK_LIMIT = 64  # bytes, Telegram's limit for callback_data
TITLE_PREFIX = "t:"  # callback data that carries a button title instead of a too-long payload
MAX_SEND_ATTEMPTS = 4
BOT_COMMANDS = [
    BotCommand("start", "Commencer / recommencer"),
    BotCommand("conseiller", "Parler à un·e conseiller·e"),
    BotCommand("stop", "Ne plus recevoir de relances"),
    BotCommand("oubli", "Effacer ce que tu m'as dit"),
    BotCommand("mesdonnees", "Recevoir tout ce qu'on garde sur toi"),
    BotCommand("corriger", "Corriger ce que voit ton ou ta conseiller·e"),
]


def webhook_secret(secret_key: str) -> str:
    """The X-Telegram-Bot-Api-Secret-Token we give Telegram (1-256 chars of A-Za-z0-9_-)."""
    return hmac.new(secret_key.encode(), b"telegram-webhook", hashlib.sha256).hexdigest()


def inbox_source(token: str) -> str:
    """Where webhook updates come from, for their de-duplication: update ids are per bot, so
    the bot's id (the token's first part) is in it: another bot's ids never collide."""
    return f"tg:{token.partition(':')[0]}"[:16]


def callback_data_for(payload: str, title: str) -> str:
    if len(payload.encode()) <= CALLBACK_LIMIT:
        return payload
    log.warning("button payload longer than 64 bytes, sending its title instead: %r", payload)
    return (TITLE_PREFIX + title).encode()[:CALLBACK_LIMIT].decode(errors="ignore")


def keyboard_for(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.buttons:
        return None
    buttons = [
        InlineKeyboardButton(b.title, callback_data=callback_data_for(b.payload, b.title))
        for b in reply.buttons
    ]
    per_row = 2 if all(len(b.title) <= 18 for b in reply.buttons) else 1
    rows = [buttons[i : i + per_row] for i in range(0, len(buttons), per_row)]
    return InlineKeyboardMarkup(rows)


def split_text(text: str, limit: int = MessageLimit.MAX_TEXT_LENGTH) -> list[str]:
    """Split a long text on line or word boundaries into Telegram-sized chunks."""
    chunks: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        if cut <= 0:
            cut = text.rfind(" ", 0, limit)
        if cut <= 0:
            cut = limit
        chunks.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        chunks.append(text)
    return chunks


def button_title(message: Message | None, data: str) -> str | None:
    """The title of the button carrying `data` in this message's keyboard, None if absent."""
    markup = message.reply_markup if message is not None else None
    if markup is None:
        return None
    for row in markup.inline_keyboard:
        for button in row:
            if button.callback_data == data:
                return button.text
    return None


class TelegramChannel:
    def __init__(
        self,
        pipeline: ConversationPipeline,
        *,
        token: str,
        api_base_url: str,
        webhook_url: str | None = None,
        secret_key: str,
        poll_timeout: int = 10,
        locks: ChatLocks | None = None,
        inbox: InboxService | None = None,
        worker_id: str = "app",
    ) -> None:
        self.pipeline = pipeline
        # One chat handled by one worker at a time (services.chat_locks: Redis across workers).
        self.locks: ChatLocks = locks if locks is not None else MemoryChatLocks()
        self.webhook_url = webhook_url
        self.secret_key = secret_key  # also keys the pseudonymous ids the logs show
        self.secret_token = webhook_secret(secret_key)
        self.poll_timeout = poll_timeout
        self.application: Application[Any, Any, Any, Any, Any, Any] = (
            Application.builder()
            .token(token)
            .base_url(f"{api_base_url}/bot")
            .base_file_url(f"{api_base_url}/file/bot")
            .concurrent_updates(PerChatUpdateProcessor(self.locks))
            .build()
        )
        self._register_handlers()
        # Webhook mode: updates go through the inbox (core/inbox.py), processed once, in order.
        self.drain: InboxDrain | None = None
        if webhook_url and inbox is not None:
            self.drain = InboxDrain(
                inbox, self.locks, self._process_payload, worker_id, source=inbox_source(token)
            )

    # Lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        app = self.application
        await app.initialize()
        try:
            await app.bot.set_my_commands(BOT_COMMANDS)
        except TelegramError as exc:
            log.warning("could not set the bot's command menu: %s", exc)
        if self.webhook_url:
            await self._set_webhook()
        else:
            await app.bot.delete_webhook()
            assert app.updater is not None
            await app.updater.start_polling(
                poll_interval=0,
                timeout=self.poll_timeout,
                allowed_updates=Update.ALL_TYPES,
            )
        await app.start()
        log.info("telegram channel started (%s)", "webhook" if self.webhook_url else "polling")

    async def _set_webhook(self) -> None:
        """Every app worker sets the same webhook (same URL, secret and updates) at start:
        harmless, but Telegram may answer 429 to several at once; then wait and set again."""
        for attempt in range(1, MAX_SEND_ATTEMPTS + 1):
            try:
                await self.application.bot.set_webhook(
                    self.webhook_url,
                    secret_token=self.secret_token,
                    allowed_updates=Update.ALL_TYPES,
                )
                return
            except RetryAfter as exc:
                if attempt == MAX_SEND_ATTEMPTS:
                    raise
                delay = exc.retry_after
                seconds = delay.total_seconds() if hasattr(delay, "total_seconds") else float(delay)
                log.info("setWebhook: Telegram asks to wait %ss (another worker set it)", seconds)
                await asyncio.sleep(seconds)

    async def stop(self) -> None:
        app = self.application
        if self.drain is not None:
            await self.drain.stop()  # the updates in progress finish; the rest stay pending
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        await app.shutdown()

    async def feed(self, data: dict[str, Any]) -> bool:
        """Take an update Telegram posted to our webhook; False if it was a duplicate.

        With the inbox: stored once (any worker), then processed in the background by the
        worker holding its chat (bot/inbox_drain.py). Without: queued in this process.
        """
        update = Update.de_json(data, self.application.bot)  # malformed: raises, refused
        if self.drain is None:
            await self.application.update_queue.put(update)
            return True
        return await self.drain.receive(update.update_id, update_chat_key(update), data)

    async def _process_payload(self, payload: dict[str, Any]) -> None:
        """One stored update, through the handlers (called under the chat's lock)."""
        await self.application.process_update(Update.de_json(payload, self.application.bot))

    # Handlers ----------------------------------------------------------------------------
    def _register_handlers(self) -> None:
        private = filters.ChatType.PRIVATE
        add = self.application.add_handler
        add(CallbackQueryHandler(self._on_button))
        add(MessageHandler(private & filters.UpdateType.MESSAGES & filters.TEXT, self._on_text))
        add(MessageHandler(private & filters.UpdateType.MESSAGES, self._on_other))
        self.application.add_error_handler(self._on_error)

    async def _on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        chat = update.effective_chat
        if message is None or chat is None or message.text is None:
            return
        replies = await self.pipeline.handle_text(Channel.telegram, str(chat.id), message.text)
        await self.send(chat.id, replies)

    async def _on_other(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = update.effective_chat
        if chat is None:
            return
        held = self.pipeline.admit(Channel.telegram, str(chat.id), None)  # a flood of stickers
        replies = [Reply(self.pipeline.texts.unsupported_content)] if held is None else held
        await self.send(chat.id, replies)

    async def _on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:
            return
        data = query.data or ""
        message = query.message if isinstance(query.message, Message) else None
        title = button_title(message, data)
        if message is None or title is None or message.chat.type != "private":
            # Not a button we showed in this chat (forged or stale): say so, process nothing.
            await self._answer(query, self.pipeline.texts.button_expired, alert=True)
            return
        await self._answer(query, None)
        try:
            base = message.text or ""
            await message.edit_text(f"{base}\n\n➜ {title}", reply_markup=None)
        except TelegramError as exc:
            log.info("could not close the keyboard of message %s: %s", message.message_id, exc)
        chat_id = message.chat.id
        if data.startswith(TITLE_PREFIX):
            replies = await self.pipeline.handle_text(Channel.telegram, str(chat_id), title)
        else:
            replies = await self.pipeline.handle_button(Channel.telegram, str(chat_id), data, title)
        await self.send(chat_id, replies)

    async def _answer(self, query: Any, text: str | None, *, alert: bool = False) -> None:
        try:
            await query.answer(text=text, show_alert=alert)
        except BadRequest as exc:  # query too old: nothing more to do
            log.info("callback query not answered: %s", exc)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("error while handling a Telegram update", exc_info=context.error)

    # Sending -----------------------------------------------------------------------------
    async def send_texts(self, chat_id: str, texts: list[str]) -> bool:
        """Plain texts to one private chat (hand-off relay): the desk's sender."""
        return await self.send(int(chat_id), [Reply(text) for text in texts])

    async def send_replies(self, chat_id: str, replies: list[Reply]) -> bool:
        """Replies with their buttons and files to one private chat (appointments)."""
        return await self.send(int(chat_id), replies)

    async def send(self, chat_id: int, replies: Sequence[Reply]) -> bool:
        """Send replies in order. False if the person blocked the bot (nothing more is sent)."""
        for reply in replies:
            chunks = split_text(reply.text)
            for index, chunk in enumerate(chunks):
                markup = keyboard_for(reply) if index == len(chunks) - 1 else None
                if not await self._send_one(chat_id, chunk, markup):
                    return False
            for document in reply.documents:
                if not await self._send_document(chat_id, document):
                    return False
        return True

    async def _send_document(self, chat_id: int, document: Document) -> bool:
        """A file (the /mesdonnees export); False if it could not be sent."""
        for attempt in range(1, MAX_SEND_ATTEMPTS + 1):
            try:
                await self.application.bot.send_document(
                    chat_id,
                    InputFile(document.content.encode("utf-8"), filename=document.filename),
                    filename=document.filename,
                )
                return True
            except RetryAfter as exc:
                delay = exc.retry_after
                seconds = delay.total_seconds() if hasattr(delay, "total_seconds") else float(delay)
                log.warning("Telegram flood control: retry in %ss (attempt %s)", seconds, attempt)
                await asyncio.sleep(seconds)
            except Forbidden:
                await asyncio.to_thread(
                    self.pipeline.people.mark_blocked, Channel.telegram, str(chat_id)
                )
                return False
            except TelegramError as exc:
                log.error("document not sent: %s", exc)
                return False
        return False

    async def push(self, chat_id: int, replies: Sequence[Reply]) -> None:
        """Send replies (with their buttons) for a scheduled job, without waiting or swallowing.

        Unlike `send` (conversation replies), Telegram's refusals reach the caller: `Forbidden`
        when the person blocked the bot (nothing is recorded here: the caller decides) and
        `RetryAfter` on flood control (the caller postpones instead of sleeping).
        """
        for reply in replies:
            chunks = split_text(reply.text)
            for index, chunk in enumerate(chunks):
                markup = keyboard_for(reply) if index == len(chunks) - 1 else None
                await self.application.bot.send_message(chat_id, chunk, reply_markup=markup)

    async def _send_one(self, chat_id: int, text: str, markup: InlineKeyboardMarkup | None) -> bool:
        for attempt in range(1, MAX_SEND_ATTEMPTS + 1):
            try:
                await self.application.bot.send_message(chat_id, text, reply_markup=markup)
                return True
            except RetryAfter as exc:
                delay = exc.retry_after
                seconds = delay.total_seconds() if hasattr(delay, "total_seconds") else float(delay)
                log.warning("Telegram flood control: retry in %ss (attempt %s)", seconds, attempt)
                await asyncio.sleep(seconds)
            except Forbidden as exc:
                log.info("%s blocked the bot: %s", self._who(chat_id), exc)
                await asyncio.to_thread(
                    self.pipeline.people.mark_blocked, Channel.telegram, str(chat_id)
                )
                return False
        log.error("message to %s dropped after %s attempts", self._who(chat_id), MAX_SEND_ATTEMPTS)
        return False

    def _who(self, chat_id: int) -> str:
        """A private chat as logs name it: the person's pseudonymous id, never the chat id."""
        return f"person {pseudonymise(self.secret_key, Channel.telegram, str(chat_id))}"
