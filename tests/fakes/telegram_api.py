"""A local fake of the Telegram Bot API that speaks real HTTP.

``FakeTelegramServer`` runs a stdlib ``ThreadingHTTPServer`` in a daemon thread on
``127.0.0.1`` (OS-chosen port). It never touches an asyncio loop, so the same object serves
sync tests, async tests (where python-telegram-bot runs in the test's own loop) and benchmarks.

Point the real client at it::

    with FakeTelegramServer() as tg:  # or use the ``fake_telegram`` pytest fixture
        bot = Bot("123456:TEST", base_url=f"{tg.url}/bot", base_file_url=f"{tg.url}/file/bot")
        # Application.builder().token(...).base_url(f"{tg.url}/bot")
        #     .base_file_url(f"{tg.url}/file/bot").build() works the same way.

Drive it from a test::

    tg.push_message(42, "/start")                      # a user writes to the bot
    [reply] = await tg.async_wait_for_messages(42, 1)   # async test (keeps the loop running)
    tg.push_callback(42, reply["message_id"], "yes")    # the user presses a button
    tg.fail_next("sendMessage", status=429, retry_after=3)   # error injection
    tg.sent_messages(42), tg.calls("sendMessage"), tg.callback_answers, tg.edits  # inspection
    tg.documents(42)  # files sent with sendDocument, with their content

Forum supergroups (the counsellors' group): any chat id starting with ``-100`` is a supergroup
with topics enabled (``is_forum``) unless :meth:`FakeTelegramServer.add_group` says otherwise::

    topic = await bot.create_forum_topic(GROUP, "#12 · emploi")      # a ForumTopic
    await bot.send_message(GROUP, "hello", message_thread_id=topic.message_thread_id)
    tg.push_group_message(GROUP, 777, "salut", thread_id=topic.message_thread_id)
    tg.push_group_callback(GROUP, 777, message_id, "tk:12:claim")   # a member presses a button
    tg.topics(GROUP), tg.sent_messages(GROUP, thread_id=topic.message_thread_id)

Requests arrive as ``POST /bot<token>/<method>`` (GET is accepted too). Parameters may be
urlencoded, multipart or a JSON body; in the first two, non-string values (ints, bools, nested
objects) are JSON strings, which is how python-telegram-bot sends them. Results and errors are
Telegram-shaped (``{"ok": false, "error_code": 400, "description": "Bad Request: ..."}`` with the
same HTTP status). Note that PTB strips "Bad Request: " and ``str.capitalize()``s the rest, so
match ``BadRequest`` messages case-insensitively.

Simplifications: all state is shared by every token (one server = one bot); ``parse_mode`` is
recorded but not interpreted (text is stored verbatim); webhook deliveries are not retried; a
stopped server cannot be restarted. In groups the bot is an administrator allowed to manage
topics: it sees every message and may post in closed topics; the service message that opens a
topic is kept apart (it is not in ``sent_messages``) and topic messages carry no
``reply_to_message`` pointing at it. State is guarded by one re-entrant lock and every change
notifies a ``threading.Condition`` that long polls and the waiting helpers sleep on. In sync
tests use ``wait_*``; in async tests use ``async_wait_*`` (a blocking wait would freeze the event
loop PTB runs on).
"""

from __future__ import annotations

import asyncio
import copy
import functools
import itertools
import json
import mimetypes
import re
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

JSONDict = dict[str, Any]
ChatKey = int | str

TEST_TOKEN = "123456789:TEST-token_for_maraude"  # any "<digits>:<rest>" token is accepted
TOKEN_RE = re.compile(r"^(\d+):[A-Za-z0-9_-]+$")
MAX_MESSAGE_LENGTH = 4096
MAX_CALLBACK_DATA_BYTES = 64
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"
# Parameters PTB sends as raw strings: never JSON-decode them ("123" must stay a str).
STRING_PARAMS = frozenset(
    "text caption parse_mode callback_query_id url secret_token action inline_message_id "
    "language_code ip_address emoji business_connection_id message_effect_id description "
    "short_description name title question custom_emoji_id invite_link data".split()
)
# Update types delivered when allowed_updates is unset/empty (as documented by Telegram).
OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
# The six colours Telegram accepts for a topic icon (createForumTopic's icon_color).
FORUM_ICON_COLORS = (0x6FB9F0, 0xFFD67E, 0xCB86DB, 0x8EEE98, 0xFF93B2, 0xFB6F5F)
CHAT_ACTIONS = frozenset(
    "typing upload_photo record_video upload_video record_voice upload_voice upload_document "
    "choose_sticker find_location record_video_note upload_video_note".split()
)


class ApiError(Exception):
    """A Telegram error response: ``{"ok": false, "error_code": status, ...}``."""

    def __init__(self, status: int, description: str, parameters: JSONDict | None = None):
        super().__init__(description)
        self.status, self.description, self.parameters = status, description, parameters

    def payload(self) -> JSONDict:
        body: JSONDict = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: {detail}")


@dataclass
class _Failure:
    method: str  # lower-cased
    status: int
    description: str
    chat_id: str | None
    remaining: int
    retry_after: int | None


def _decode(name: str, value: Any) -> Any:
    if not isinstance(value, str) or name in STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value  # e.g. chat_id="@channel"


def parse_params(content_type: str, body: bytes, query: str = "") -> JSONDict:
    """Decode Bot API parameters from a query string plus an urlencoded/multipart/JSON body."""
    raw: JSONDict = dict(parse_qsl(query, keep_blank_values=True))
    kind = content_type.split(";")[0].strip().lower()
    if kind == "application/json" and body:
        data = json.loads(body)
        if not isinstance(data, dict):
            raise bad_request("JSON body must be an object")
        return {**{k: _decode(k, v) for k, v in raw.items()}, **data}
    if kind == "application/x-www-form-urlencoded":
        raw.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    elif kind == "multipart/form-data":
        head = f"Content-Type: {content_type}\r\n\r\n".encode()
        for part in BytesParser(policy=HTTP).parsebytes(head + body).iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            content = payload if isinstance(payload, bytes) else b""
            filename = part.get_filename()
            raw[str(name)] = (
                {"filename": filename, "content": content} if filename else content.decode()
            )
    return {k: _decode(k, v) for k, v in raw.items()}


def _compact(**fields: Any) -> JSONDict:
    """A dict of the given fields, without the ``None`` ones."""
    return {k: v for k, v in fields.items() if v is not None}


def _chat_key(value: Any) -> ChatKey:
    if value is None or value == "":
        raise bad_request("chat_id is empty")
    try:
        return int(value)
    except (TypeError, ValueError):
        return str(value)


def _command_entities(text: str) -> list[JSONDict]:
    if not text.startswith("/"):
        return []
    command = text.split(maxsplit=1)[0]
    return [{"type": "bot_command", "offset": 0, "length": len(command.encode("utf-16-le")) // 2}]


def _inline_markup(markup: Any) -> JSONDict | None:
    """Validate a reply_markup; return it only if it is a non-empty inline keyboard (Telegram
    only echoes inline keyboards in Message.reply_markup)."""
    if isinstance(markup, str):
        markup = json.loads(markup) if markup else None
    if not isinstance(markup, dict) or "inline_keyboard" not in markup:
        return None
    for row in markup["inline_keyboard"]:
        for button in row:
            data = button.get("callback_data")
            if data is not None and len(str(data).encode()) > MAX_CALLBACK_DATA_BYTES:
                raise bad_request("BUTTON_DATA_INVALID")
    return markup if any(markup["inline_keyboard"]) else None


def _check_text(text: Any) -> str:
    if text is None or not str(text).strip():
        raise bad_request("message text is empty")
    if len(str(text)) > MAX_MESSAGE_LENGTH:
        raise bad_request("message is too long")
    return str(text)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, fake: FakeTelegramServer, host: str):
        self.fake = fake
        super().__init__((host, 0), _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.1"  # keep-alive, like api.telegram.org
    disable_nagle_algorithm = True  # headers and body are separate writes: avoid 40 ms stalls

    def setup(self) -> None:
        super().setup()
        self.server.fake._track_connection(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.fake._track_connection(self.connection, add=False)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        ctype = self.headers.get("Content-Type", "")
        status, payload = self.server.fake._handle_http(url.path, url.query, ctype, body)
        data = json.dumps(payload, ensure_ascii=False).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:  # client gave up (e.g. a cancelled long poll)
            self.close_connection = True

    do_GET = do_POST

    def log_message(self, format: str, *args: Any) -> None:
        pass  # no per-request logging on stderr


class FakeTelegramServer:
    """Thread-safe fake Bot API server. See the module docstring for usage."""

    def __init__(
        self,
        *,
        username: str = "maraude_test_bot",
        first_name: str = "Maraude",
        tokens: Iterable[str] | None = None,
        known_chats_only: bool = False,
        host: str = "127.0.0.1",
        webhook_timeout: float = 5.0,
    ) -> None:
        """``tokens`` restricts valid tokens (default: any ``<digits>:<rest>``);
        ``known_chats_only`` makes sends to never-seen chats fail with "chat not found"."""
        self.username, self.first_name = username, first_name
        self._tokens = set(tokens) if tokens is not None else None
        self._known_chats_only, self._host = known_chats_only, host
        self.webhook_timeout = webhook_timeout
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._requests: list[tuple[str, JSONDict]] = []
        self._callback_answers: list[JSONDict] = []
        self._edits: list[JSONDict] = []
        self._deleted: list[JSONDict] = []
        self._chat_actions: list[JSONDict] = []
        self._documents: list[JSONDict] = []  # files the bot sent (sendDocument), with content
        self._file_ids = itertools.count(1)
        self._deliveries: list[JSONDict] = []
        self._pending: list[JSONDict] = []  # unconfirmed updates, oldest first
        self._next_update_id = 1
        self._message_ids: dict[ChatKey, int] = {}
        self._bot_messages: dict[tuple[ChatKey, int], JSONDict] = {}
        self._user_messages: dict[tuple[ChatKey, int], JSONDict] = {}
        self._chats: dict[ChatKey, JSONDict] = {}
        self._topics: dict[tuple[ChatKey, int], JSONDict] = {}
        self._service_messages: dict[tuple[ChatKey, int], JSONDict] = {}
        self._open_queries: dict[str, JSONDict] = {}
        self._query_ids = itertools.count(4_242_000_000_000_000_001)
        self._allowed_updates: list[str] | None = None
        self._webhook: JSONDict | None = None
        self._webhook_error: tuple[int, str] | None = None
        self._commands: dict[tuple[str, str], list[JSONDict]] = {}
        self._failures: list[_Failure] = []
        self._connections: set[socket.socket] = set()
        self._stopping = False
        self._httpd: _HTTPServer | None = None
        self._threads: list[threading.Thread] = []
        self._bot_id = 0
        self._handlers: dict[str, tuple[str, Callable[[JSONDict], Any]]] = {
            name[5:].lower(): (name[5:], getattr(self, name))
            for name in dir(self)
            if name.startswith("_api_")
        }

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> FakeTelegramServer:
        if self._httpd is None:
            self._httpd = _HTTPServer(self, self._host)
            serve = functools.partial(self._httpd.serve_forever, poll_interval=0.05)
            for target, name in ((serve, "http"), (self._deliver, "hook")):
                thread = threading.Thread(target=target, name=f"fake-telegram-{name}", daemon=True)
                thread.start()
                self._threads.append(thread)
        return self

    def stop(self) -> None:
        """Stop serving; wakes long polls and waiters, closes kept-alive connections."""
        with self._cond:
            if self._httpd is None or self._stopping:
                return
            self._stopping = True
            self._cond.notify_all()
        self._httpd.shutdown()
        self._httpd.server_close()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for thread in self._threads:
            thread.join(timeout=2)

    def __enter__(self) -> FakeTelegramServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Root URL, e.g. ``http://127.0.0.1:54321``."""
        if self._httpd is None:
            raise RuntimeError("FakeTelegramServer is not started")
        return f"http://{self._host}:{self._httpd.server_port}"

    def _track_connection(self, conn: socket.socket, *, add: bool) -> None:
        with self._lock:
            (self._connections.add if add else self._connections.discard)(conn)

    # ------------------------------------------------------------------ inspection
    @property
    def requests(self) -> list[tuple[str, JSONDict]]:
        """Every API call received, as ``(method, params)`` (including failed ones)."""
        with self._lock:
            return copy.deepcopy(self._requests)

    def calls(self, method: str, chat_id: ChatKey | None = None) -> list[JSONDict]:
        """Params of every call to ``method`` (case-insensitive), optionally for one chat."""
        return [
            params
            for name, params in self.requests
            if name.lower() == method.lower()
            and (chat_id is None or str(params.get("chat_id")) == str(chat_id))
        ]

    def sent_messages(
        self, chat_id: ChatKey | None = None, *, thread_id: int | None = None
    ) -> list[JSONDict]:
        """Current state (edits applied, deletions removed) of the bot's messages, in send order;
        ``thread_id`` keeps only those sent in that forum topic."""
        with self._lock:
            return [
                copy.deepcopy(msg)
                for (chat, _), msg in self._bot_messages.items()
                if (chat_id is None or str(chat) == str(chat_id))
                and (thread_id is None or msg.get("message_thread_id") == thread_id)
            ]

    def topics(self, chat_id: ChatKey | None = None) -> list[JSONDict]:
        """Forum topics the bot created (deleted ones removed), in creation order: dicts with
        ``chat_id, message_thread_id, name, icon_color, closed`` and ``names`` (every name the
        topic had, oldest first)."""
        with self._lock:
            return [
                copy.deepcopy(topic)
                for (chat, _), topic in self._topics.items()
                if chat_id is None or str(chat) == str(chat_id)
            ]

    def topic(self, chat_id: ChatKey, thread_id: int) -> JSONDict:
        """One forum topic (see :meth:`topics`); KeyError if there is none."""
        with self._lock:
            return copy.deepcopy(self._topics[(_chat_key(chat_id), int(thread_id))])

    def _snapshot(self, name: str) -> list[JSONDict]:
        with self._lock:
            return copy.deepcopy(getattr(self, name))

    callback_answers = property(lambda self: self._snapshot("_callback_answers"))
    edits = property(lambda self: self._snapshot("_edits"))
    deleted_messages = property(lambda self: self._snapshot("_deleted"))
    chat_actions = property(lambda self: self._snapshot("_chat_actions"))

    def documents(self, chat_id: ChatKey | None = None) -> list[JSONDict]:
        """Files the bot sent with sendDocument, in send order: dicts with ``chat_id,
        message_id, file_name, mime_type, content`` (bytes) and ``caption``."""
        documents = self._snapshot("_documents")
        return [d for d in documents if chat_id is None or str(d["chat_id"]) == str(chat_id)]

    webhook_deliveries = property(lambda self: self._snapshot("_deliveries"))
    pending_updates = property(lambda self: self._snapshot("_pending"))

    def my_commands(self, scope: JSONDict | None = None, language_code: str = "") -> list[JSONDict]:
        with self._lock:
            return copy.deepcopy(self._commands.get(self._scope_key(scope, language_code), []))

    def dump(self) -> str:
        """Human-readable summary of what the bot sent and did (used in timeout errors)."""
        with self._lock:
            lines = ["Bot messages:"] if self._bot_messages else ["Bot messages: none"]
            for (chat, mid), msg in self._bot_messages.items():
                buttons = [
                    [b.get("text") for b in row]
                    for row in msg.get("reply_markup", {}).get("inline_keyboard", [])
                ]
                lines.append(f"  chat {chat} #{mid}: {msg.get('text')!r} buttons={buttons}")
            for (chat, tid), topic in self._topics.items():
                state = "closed" if topic["closed"] else "open"
                lines.append(f"  topic {chat}/{tid}: {topic['name']!r} ({state})")
            tail = [name for name, _ in self._requests[-25:]]
            lines.append(f"Last requests ({len(self._requests)} total): {tail}")
            lines.append(f"Pending updates: {len(self._pending)}; webhook: {self._webhook}")
            return "\n".join(lines)

    # ------------------------------------------------------------------ waiting helpers
    def wait_until(
        self, predicate: Callable[[], Any], timeout: float = 10.0, what: str = "condition"
    ) -> Any:
        """Block until ``predicate()`` (run under the lock) is truthy and return its value;
        raise AssertionError with :meth:`dump` after ``timeout`` seconds. Never call this from
        a running event loop (it would freeze PTB): use :meth:`async_wait_until` there."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not (result := predicate()):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"Timed out after {timeout}s waiting for {what}\n{self.dump()}"
                    )
                self._cond.wait(remaining)
            return result

    async def async_wait_until(
        self,
        predicate: Callable[[], Any],
        timeout: float = 10.0,  # noqa: ASYNC109 - a bounded wait is the point of this helper
        what: str = "condition",
    ) -> Any:
        """Like :meth:`wait_until` but polls with ``asyncio.sleep(0.02)`` so the loop runs."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if result := predicate():
                    return result
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"Timed out after {timeout}s waiting for {what}\n{self.dump()}"
                )
            await asyncio.sleep(0.02)

    def _has_messages(self, chat_id: ChatKey, count: int) -> Callable[[], Any]:
        return lambda: msgs if len(msgs := self.sent_messages(chat_id)) >= count else None

    def wait_for_messages(self, chat_id: ChatKey, count: int, timeout: float = 10.0) -> list:
        """Block until the bot has >= ``count`` messages in ``chat_id``; return them all."""
        what = f"{count} bot message(s) in chat {chat_id}"
        return self.wait_until(self._has_messages(chat_id, count), timeout, what)

    async def async_wait_for_messages(
        self,
        chat_id: ChatKey,
        count: int,
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> list:
        """Awaitable :meth:`wait_for_messages` for tests running PTB in their event loop."""
        what = f"{count} bot message(s) in chat {chat_id}"
        return await self.async_wait_until(self._has_messages(chat_id, count), timeout, what)

    # ------------------------------------------------------------------ error injection
    def fail_next(
        self,
        method: str,
        *,
        status: int = 403,
        description: str = "Forbidden: bot was blocked by the user",
        chat_id: ChatKey | None = None,
        times: int = 1,
        retry_after: int | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` (for ``chat_id`` if given) fail."""
        if status == 429:
            retry_after = 1 if retry_after is None else retry_after
            if description == "Forbidden: bot was blocked by the user":
                description = f"Too Many Requests: retry after {retry_after}"
        target = None if chat_id is None else str(chat_id)
        with self._lock:
            self._failures.append(
                _Failure(method.lower(), status, description, target, times, retry_after)
            )

    def _take_failure(self, method: str, params: JSONDict) -> ApiError | None:
        for failure in self._failures:
            if failure.method == method and failure.chat_id in (None, str(params.get("chat_id"))):
                failure.remaining -= 1
                if failure.remaining <= 0:
                    self._failures.remove(failure)
                extra = _compact(retry_after=failure.retry_after)
                return ApiError(failure.status, failure.description, extra)
        return None

    # ------------------------------------------------------------------ pushing updates
    def _user(self, user_id: int, first_name: str = "Lea", **extra: Any) -> JSONDict:
        return _compact(id=user_id, is_bot=False, first_name=first_name, **extra)

    def _chat(self, user: JSONDict, chat_id: int | None) -> JSONDict:
        if chat_id is None or chat_id == user["id"]:
            chat = _compact(
                id=user["id"],
                type="private",
                first_name=user["first_name"],
                username=user.get("username"),
            )
        else:
            return self._group_chat(chat_id)
        with self._lock:
            self._chats[chat["id"]] = chat
        return chat

    def _group_chat(self, chat_id: int) -> JSONDict:
        """The group or supergroup ``chat_id`` (registered on first sight: ``-100…`` ids are
        forum supergroups, other negative ids basic groups)."""
        with self._lock:
            chat = self._chats.get(chat_id)
            if chat is None or chat.get("type") == "private":
                supergroup = str(chat_id).startswith("-100")
                kind = "supergroup" if supergroup else "group"
                chat = _compact(
                    id=chat_id,
                    type=kind,
                    title=f"Test {kind} {chat_id}",
                    is_forum=True if supergroup else None,
                )
                self._chats[chat_id] = chat
            return chat

    def add_group(self, chat_id: int, *, title: str | None = None, is_forum: bool = True) -> None:
        """Declare a supergroup (before use): its title, and whether topics are enabled."""
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        with self._lock:
            self._chats[chat_id] = _compact(
                id=chat_id,
                type="supergroup",
                title=title or f"Test supergroup {chat_id}",
                is_forum=True if is_forum else None,
            )

    def _thread_fields(self, chat: JSONDict, thread_id: Any) -> JSONDict:
        """``message_thread_id``/``is_topic_message`` of a message sent in a forum topic."""
        if thread_id in (None, "", 0):
            return {}
        thread = int(thread_id)
        if not chat.get("is_forum") or (chat["id"], thread) not in self._topics:
            raise bad_request("message thread not found")
        return {"message_thread_id": thread, "is_topic_message": True}

    def _next_message_id(self, chat_id: ChatKey) -> int:
        self._message_ids[chat_id] = self._message_ids.get(chat_id, 0) + 1
        return self._message_ids[chat_id]

    def push_update(self, update: JSONDict) -> JSONDict:
        """Queue a raw update (``update_id`` assigned unless given); return a copy."""
        update = copy.deepcopy(update)
        with self._cond:
            update.setdefault("update_id", self._next_update_id)
            self._next_update_id = max(self._next_update_id, update["update_id"] + 1)
            self._pending.append(update)
            self._cond.notify_all()
        return copy.deepcopy(update)

    def _push_user_message(
        self, user: JSONDict, chat: JSONDict, thread_id: int | None = None, **content: Any
    ) -> JSONDict:
        with self._lock:
            try:
                thread = self._thread_fields(chat, thread_id)
            except ApiError:
                raise KeyError(f"no forum topic {thread_id} in chat {chat['id']}") from None
            mid = self._next_message_id(chat["id"])
            msg = {"message_id": mid, "from": user, "chat": chat, "date": int(time.time())}
            msg.update(thread)
            msg.update(content)
            self._user_messages[(chat["id"], mid)] = msg
            return self.push_update({"message": msg})

    def push_message(
        self,
        user_id: int,
        text: str,
        *,
        first_name: str = "Lea",
        chat_id: int | None = None,
        username: str | None = None,
        language_code: str = "fr",
        thread_id: int | None = None,
    ) -> JSONDict:
        """A user sends ``text`` (private chat unless ``chat_id``; in forum topic ``thread_id``
        if given); returns the update."""
        user = self._user(user_id, first_name, username=username, language_code=language_code)
        content: JSONDict = {"text": text}
        if entities := _command_entities(text):
            content["entities"] = entities
        return self._push_user_message(user, self._chat(user, chat_id), thread_id, **content)

    def push_group_message(
        self,
        chat_id: int,
        user_id: int,
        text: str,
        *,
        thread_id: int | None = None,
        first_name: str = "Camille",
        username: str | None = None,
    ) -> JSONDict:
        """A member of group ``chat_id`` writes ``text`` (in forum topic ``thread_id`` if given,
        which must exist: KeyError otherwise); returns the update."""
        return self.push_message(
            user_id,
            text,
            first_name=first_name,
            chat_id=chat_id,
            username=username,
            thread_id=thread_id,
        )

    def push_sticker(
        self, user_id: int, *, chat_id: int | None = None, emoji: str = "👍"
    ) -> JSONDict:
        user = self._user(user_id, language_code="fr")
        sticker = dict(
            file_id=f"CAACAgIAAxkBAAE{user_id}",
            file_unique_id=f"AgAD{user_id}",
            type="regular",
            width=512,
            height=512,
            is_animated=False,
            is_video=False,
            emoji=emoji,
        )
        return self._push_user_message(user, self._chat(user, chat_id), sticker=sticker)

    def push_edited_message(
        self, user_id: int, message_id: int, text: str, *, chat_id: int | None = None
    ) -> JSONDict:
        """The user edits one of their earlier pushed messages."""
        chat = user_id if chat_id is None else chat_id
        with self._lock:
            original = self._user_messages.get((chat, message_id))
            if original is None:
                raise KeyError(f"no user message #{message_id} in chat {chat}")
            original.update(text=text, edit_date=int(time.time()))
            original.pop("entities", None)
            if entities := _command_entities(text):
                original["entities"] = entities
            return self.push_update({"edited_message": original})

    def push_callback(
        self,
        user_id: int,
        message_id: int,
        data: str,
        *,
        chat_id: int | None = None,
        first_name: str = "Lea",
        username: str | None = None,
    ) -> str:
        """The user presses a button on bot message ``message_id`` (in their private chat, or
        in ``chat_id``); ``data`` is sent as is, so a forged press is a press with data absent
        from the keyboard. Returns the query id."""
        chat = user_id if chat_id is None else chat_id
        with self._lock:
            message = self._bot_messages.get((chat, message_id))
            if message is None:
                raise KeyError(f"no bot message #{message_id} in chat {chat}\n{self.dump()}")
            query_id = str(next(self._query_ids))
            query = {
                "id": query_id,
                "from": self._user(user_id, first_name, username=username, language_code="fr"),
                "message": message,
                "chat_instance": str(-7_000_000 - abs(int(chat))),
                "data": data,
            }
            self._open_queries[query_id] = query
            self.push_update({"callback_query": query})
            return query_id

    def push_group_callback(
        self,
        chat_id: int,
        user_id: int,
        message_id: int,
        data: str,
        *,
        first_name: str = "Camille",
        username: str | None = None,
    ) -> str:
        """A member of group ``chat_id`` presses a button on the bot's message there."""
        return self.push_callback(
            user_id, message_id, data, chat_id=chat_id, first_name=first_name, username=username
        )

    # ------------------------------------------------------------------ HTTP dispatch
    def _handle_http(self, path: str, query: str, ctype: str, body: bytes) -> tuple[int, JSONDict]:
        match = re.fullmatch(r"/bot([^/]*)/([A-Za-z]+)/?", path)
        if not match:
            return 404, ApiError(404, "Not Found").payload()
        token, method = match.groups()
        parse_error: Exception | None = None
        try:
            params = parse_params(ctype, body, query)
        except (ValueError, ApiError) as exc:
            params, parse_error = {}, exc
        name, handler = self._handlers.get(method.lower(), (method, None))
        try:
            with self._cond:
                self._requests.append((name, params))
                self._cond.notify_all()
                token_ok = TOKEN_RE.match(token)
                if not token_ok or (self._tokens is not None and token not in self._tokens):
                    raise ApiError(401, "Unauthorized")
                if handler is None:
                    raise ApiError(404, "Not Found")
                if parse_error is not None:
                    raise bad_request(f"can't parse request: {parse_error}")
                if failure := self._take_failure(method.lower(), params):
                    raise failure
                self._bot_id = int(token_ok.group(1))
                result = handler(params)
                self._cond.notify_all()
        except ApiError as err:
            return err.status, err.payload()
        except (TypeError, ValueError) as exc:  # malformed parameter (e.g. message_id="abc")
            return 400, bad_request(f"invalid parameters: {exc}").payload()
        return 200, {"ok": True, "result": result}

    @property
    def bot_user(self) -> JSONDict:
        return dict(
            id=self._bot_id, is_bot=True, first_name=self.first_name, username=self.username
        )

    def _api_getMe(self, p: JSONDict) -> JSONDict:
        return self.bot_user | dict(
            can_join_groups=True,
            can_read_all_group_messages=False,
            supports_inline_queries=False,
            can_connect_to_business=False,
            has_main_web_app=False,
        )

    def _api_close(self, p: JSONDict) -> bool:
        return True

    _api_logOut = _api_close

    # --- updates & webhooks
    def _allowed(self, update: JSONDict, allowed: list[str] | None) -> bool:
        kind = next((k for k in update if k != "update_id"), "")
        return kind in allowed if allowed else kind not in OPT_IN_UPDATES

    def _api_getUpdates(self, p: JSONDict) -> list[JSONDict]:
        if self._webhook:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset, limit = p.get("offset"), max(1, min(100, int(p.get("limit") or 100)))
        if p.get("allowed_updates") is not None:
            self._allowed_updates = list(p["allowed_updates"]) or None
        if offset is not None:
            offset = int(offset)
            if offset < 0:
                self._pending = self._pending[offset:]
            else:
                self._pending = [u for u in self._pending if u["update_id"] >= offset]
        deadline = time.monotonic() + max(0.0, float(p.get("timeout") or 0))
        while True:
            self._pending = [u for u in self._pending if self._allowed(u, self._allowed_updates)]
            remaining = deadline - time.monotonic()
            if self._pending or self._stopping or self._webhook or remaining <= 0:
                return copy.deepcopy(self._pending[:limit])
            self._cond.wait(remaining)

    def _api_setWebhook(self, p: JSONDict) -> bool:
        url = str(p.get("url") or "")
        if not url:
            return self._api_deleteWebhook(p)
        if not url.startswith(("http://", "https://")):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = p.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise bad_request("bad webhook: secret token contains unallowed characters")
        if p.get("drop_pending_updates"):
            self._pending.clear()
        self._webhook = dict(
            url=url,
            secret_token=secret,
            allowed_updates=p.get("allowed_updates"),
            max_connections=int(p.get("max_connections") or 40),
        )
        self._webhook_error = None
        return True

    def _api_deleteWebhook(self, p: JSONDict) -> bool:
        self._webhook = None
        if p.get("drop_pending_updates"):
            self._pending.clear()
        return True

    def _api_getWebhookInfo(self, p: JSONDict) -> JSONDict:
        hook = self._webhook or {}
        info: JSONDict = dict(
            url=hook.get("url", ""),
            has_custom_certificate=False,
            pending_update_count=len(self._pending),
        )
        if hook:
            info["max_connections"] = hook["max_connections"]
            if hook["allowed_updates"]:
                info["allowed_updates"] = hook["allowed_updates"]
        if hook and self._webhook_error:
            info["last_error_date"], info["last_error_message"] = self._webhook_error
        return info

    def _deliver(self) -> None:
        """Background thread: POST pending updates, one at a time, to the webhook."""
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        while True:
            with self._cond:
                while not self._stopping and not (self._webhook and self._pending):
                    self._cond.wait()
                if self._stopping:
                    return
                hook, update = dict(self._webhook), self._pending.pop(0)  # type: ignore[arg-type]
            if not self._allowed(update, hook["allowed_updates"]):
                continue
            headers = {"Content-Type": "application/json"}
            if hook["secret_token"]:
                headers["X-Telegram-Bot-Api-Secret-Token"] = hook["secret_token"]
            body = json.dumps(update, ensure_ascii=False).encode()
            req = urllib.request.Request(hook["url"], data=body, headers=headers, method="POST")
            status: int | None
            error = None
            try:
                with opener.open(req, timeout=self.webhook_timeout) as resp:
                    status = resp.status
            except urllib.error.HTTPError as exc:
                status, error = (
                    exc.code,
                    f"Wrong response from the webhook: {exc.code} {exc.reason}",
                )
            except (OSError, ValueError) as exc:
                status, error = None, f"Connection failed: {exc}"
            with self._cond:
                record = dict(
                    update_id=update["update_id"], url=hook["url"], status=status, error=error
                )
                self._deliveries.append(record)
                if error:
                    self._webhook_error = (int(time.time()), error)
                self._cond.notify_all()

    # --- messages
    def _target_chat(self, p: JSONDict) -> JSONDict:
        key = _chat_key(p.get("chat_id"))
        if key not in self._chats:
            if self._known_chats_only or not isinstance(key, int):
                raise bad_request("chat not found")
            if key < 0:
                return self._group_chat(key)
            self._chats[key] = {"id": key, "type": "private"}
        return self._chats[key]

    def _api_sendMessage(self, p: JSONDict) -> JSONDict:
        chat = self._target_chat(p)
        text = _check_text(p.get("text"))
        markup = _inline_markup(p.get("reply_markup"))
        thread = self._thread_fields(chat, p.get("message_thread_id"))
        msg: JSONDict = {"message_id": self._next_message_id(chat["id"]), "from": self.bot_user}
        msg |= _compact(
            chat=chat,
            date=int(time.time()),
            text=text,
            entities=p.get("entities") or None,
            reply_markup=markup,
        )
        msg |= thread
        reply = p.get("reply_parameters") or {}
        key = (chat["id"], int(reply.get("message_id") or p.get("reply_to_message_id") or 0))
        if original := self._bot_messages.get(key) or self._user_messages.get(key):
            msg["reply_to_message"] = {k: v for k, v in original.items() if k != "reply_to_message"}
        self._bot_messages[(chat["id"], msg["message_id"])] = msg
        return copy.deepcopy(msg)

    def _message_to_edit(self, p: JSONDict) -> JSONDict:
        msg = self._bot_messages.get((_chat_key(p.get("chat_id")), int(p.get("message_id") or 0)))
        if msg is None:
            raise bad_request("message to edit not found")
        return msg

    def _apply_edit(self, method: str, p: JSONDict, msg: JSONDict, **changes: Any) -> JSONDict:
        new = {k: v for k, v in {**msg, **changes}.items() if v is not None}
        if new == msg:
            raise ApiError(400, NOT_MODIFIED)
        new["edit_date"] = int(time.time())
        self._edits.append(
            dict(
                method=method,
                chat_id=msg["chat"]["id"],
                params=p,
                message_id=msg["message_id"],
                before=copy.deepcopy(msg),
                after=copy.deepcopy(new),
            )
        )
        msg.clear()
        msg.update(new)
        return copy.deepcopy(msg)

    def _api_editMessageText(self, p: JSONDict) -> JSONDict | bool:
        text, markup = _check_text(p.get("text")), _inline_markup(p.get("reply_markup"))
        if p.get("inline_message_id"):
            self._edits.append({"method": "editMessageText", "params": p})
            return True
        msg = self._message_to_edit(p)
        entities = p.get("entities") or None
        return self._apply_edit(
            "editMessageText", p, msg, text=text, entities=entities, reply_markup=markup
        )

    def _api_editMessageReplyMarkup(self, p: JSONDict) -> JSONDict | bool:
        markup = _inline_markup(p.get("reply_markup"))
        if p.get("inline_message_id"):
            self._edits.append({"method": "editMessageReplyMarkup", "params": p})
            return True
        msg = self._message_to_edit(p)
        return self._apply_edit("editMessageReplyMarkup", p, msg, reply_markup=markup)

    def _api_deleteMessage(self, p: JSONDict) -> bool:
        key = (_chat_key(p.get("chat_id")), int(p.get("message_id") or 0))
        msg = self._bot_messages.pop(key, None) or self._user_messages.pop(key, None)
        if msg is None:
            raise bad_request("message to delete not found")
        self._deleted.append(msg)
        return True

    def _api_answerCallbackQuery(self, p: JSONDict) -> bool:
        if self._open_queries.pop(str(p.get("callback_query_id")), None) is None:
            raise ApiError(400, QUERY_INVALID)
        self._callback_answers.append(dict(p))
        return True

    def _api_sendChatAction(self, p: JSONDict) -> bool:
        chat = self._target_chat(p)
        if p.get("action") not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        self._chat_actions.append({"chat_id": chat["id"], "action": p["action"]})
        return True

    def _api_sendDocument(self, p: JSONDict) -> JSONDict:
        """An uploaded file (multipart, as PTB sends an InputFile) or a file_id/URL string."""
        chat = self._target_chat(p)
        document = p.get("document")
        if isinstance(document, dict):
            name, content = str(document.get("filename") or "document"), document["content"]
        elif isinstance(document, str) and document:
            name, content = document.rsplit("/", 1)[-1], b""
        else:
            raise bad_request("there is no document in the request")
        caption = p.get("caption")
        if caption is not None and len(str(caption)) > 1024:
            raise bad_request("message caption is too long")
        number = next(self._file_ids)
        mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
        msg: JSONDict = {"message_id": self._next_message_id(chat["id"]), "from": self.bot_user}
        msg |= _compact(
            chat=chat,
            date=int(time.time()),
            document=dict(
                file_id=f"DOC{number}",
                file_unique_id=f"UDOC{number}",
                file_name=name,
                mime_type=mime,
                file_size=len(content),
            ),
            caption=caption,
        )
        msg |= self._thread_fields(chat, p.get("message_thread_id"))
        self._bot_messages[(chat["id"], msg["message_id"])] = msg
        self._documents.append(
            dict(
                chat_id=chat["id"],
                message_id=msg["message_id"],
                file_name=name,
                mime_type=mime,
                content=content,
                caption=caption,
            )
        )
        return copy.deepcopy(msg)

    # --- forum topics
    def _forum(self, p: JSONDict) -> JSONDict:
        chat = self._target_chat(p)
        if not chat.get("is_forum"):
            raise bad_request("the chat is not a forum")
        return chat

    def _existing_topic(self, p: JSONDict) -> JSONDict:
        chat = self._forum(p)
        topic = self._topics.get((chat["id"], int(p.get("message_thread_id") or 0)))
        if topic is None:
            raise bad_request("TOPIC_ID_INVALID")
        return topic

    @staticmethod
    def _topic_name(value: Any) -> str:
        name = str(value or "")
        if not 1 <= len(name) <= 128:
            raise bad_request("TOPIC_TITLE_EMPTY" if not name else "TOPIC_TITLE_INVALID")
        return name

    def _api_createForumTopic(self, p: JSONDict) -> JSONDict:
        chat = self._forum(p)
        name = self._topic_name(p.get("name"))
        color = int(p.get("icon_color") or FORUM_ICON_COLORS[0])
        if color not in FORUM_ICON_COLORS:
            raise bad_request("invalid icon_color specified")
        thread_id = self._next_message_id(chat["id"])
        topic = _compact(
            message_thread_id=thread_id,
            name=name,
            icon_color=color,
            icon_custom_emoji_id=p.get("icon_custom_emoji_id") or None,
        )
        self._topics[(chat["id"], thread_id)] = topic | {
            "chat_id": chat["id"],
            "closed": False,
            "names": [name],
        }
        self._service_messages[(chat["id"], thread_id)] = {
            "message_id": thread_id,
            "from": self.bot_user,
            "chat": chat,
            "date": int(time.time()),
            "message_thread_id": thread_id,
            "is_topic_message": True,
            "forum_topic_created": {"name": name, "icon_color": color},
        }
        return copy.deepcopy(topic)

    def _api_editForumTopic(self, p: JSONDict) -> bool:
        topic = self._existing_topic(p)
        changes: JSONDict = {}
        if p.get("name") is not None:
            changes["name"] = self._topic_name(p["name"])
        if p.get("icon_custom_emoji_id") is not None:
            changes["icon_custom_emoji_id"] = str(p["icon_custom_emoji_id"]) or None
        if all(topic.get(key) == value for key, value in changes.items()):
            raise bad_request("TOPIC_NOT_MODIFIED")
        topic.update(changes)
        if "name" in changes:
            topic["names"].append(changes["name"])
        return True

    def _set_topic_closed(self, p: JSONDict, closed: bool) -> bool:
        topic = self._existing_topic(p)
        if topic["closed"] == closed:
            raise bad_request("TOPIC_NOT_MODIFIED")
        topic["closed"] = closed
        return True

    def _api_closeForumTopic(self, p: JSONDict) -> bool:
        return self._set_topic_closed(p, True)

    def _api_reopenForumTopic(self, p: JSONDict) -> bool:
        return self._set_topic_closed(p, False)

    def _api_deleteForumTopic(self, p: JSONDict) -> bool:
        """Delete a topic with every message in it."""
        topic = self._existing_topic(p)
        chat_id, thread_id = topic["chat_id"], topic["message_thread_id"]
        del self._topics[(chat_id, thread_id)]
        self._service_messages.pop((chat_id, thread_id), None)
        for store in (self._bot_messages, self._user_messages):
            for key in [k for k, m in store.items() if m.get("message_thread_id") == thread_id]:
                if key[0] == chat_id:
                    self._deleted.append(store.pop(key))
        return True

    # --- commands
    @staticmethod
    def _scope_key(scope: Any, language_code: Any) -> tuple[str, str]:
        scope = json.loads(scope) if isinstance(scope, str) else scope
        return json.dumps(scope or {"type": "default"}, sort_keys=True), str(language_code or "")

    def _api_setMyCommands(self, p: JSONDict) -> bool:
        commands = p.get("commands")
        if not isinstance(commands, list):
            raise bad_request('parameter "commands" is required')
        for cmd in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(cmd.get("command", ""))):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(cmd.get("description", ""))) <= 256:
                raise bad_request("command description is empty")
        self._commands[self._scope_key(p.get("scope"), p.get("language_code"))] = commands
        return True

    def _api_getMyCommands(self, p: JSONDict) -> list[JSONDict]:
        return self._commands.get(self._scope_key(p.get("scope"), p.get("language_code")), [])

    def _api_deleteMyCommands(self, p: JSONDict) -> bool:
        self._commands.pop(self._scope_key(p.get("scope"), p.get("language_code")), None)
        return True
