"""The engine client against a small real HTTP server that behaves like Rasa during a swap:
`PUT /model` takes a while and nothing else is answered meanwhile (Rasa loads the model in
its event loop). The client must hold conversation requests and never lose one."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from bot.engine_client import EngineClient, EngineUnavailable, turn_from_tracker
from tests.fakes.json_http import JsonHandler, JsonServer

LOAD_SECONDS = 1.5


class SlowRasa(ThreadingHTTPServer):
    """Logs (what, start, end) of every request; a model load blocks every other request."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.log: list[tuple[str, float, float]] = []
        self.loading = threading.Lock()
        self.model = "models/old.tar.gz"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(JsonHandler):
    server: SlowRasa

    def do_PUT(self) -> None:
        started = time.monotonic()
        body = self.read_json()
        with self.server.loading:
            time.sleep(LOAD_SECONDS)
            self.server.model = body["model_file"]
        self.server.log.append(("load", started, time.monotonic()))
        self.send_response(204)
        self.end_headers()

    def do_POST(self) -> None:
        started = time.monotonic()
        body = self.read_json()
        with self.server.loading:  # the engine answers nothing while it loads
            model = self.server.model
        self.server.log.append((f"message {body['message']}", started, time.monotonic()))
        self.reply_json([{"recipient_id": body["sender"], "text": f"{model}: {body['message']}"}])

    def do_GET(self) -> None:
        with self.server.loading:
            pass
        if self.path.startswith("/status"):
            self.reply_json({"model_file": self.server.model})
        else:
            self.reply_json({"latest_message": {"text": "x", "intent": {"name": "greet"}}})


async def swap_started(client: EngineClient) -> None:
    """Let the load task run up to its first wait: by then it has closed the gate."""
    await asyncio.sleep(0)
    assert client.swapping


@pytest.fixture
def rasa() -> Iterator[SlowRasa]:
    server = SlowRasa()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


async def test_messages_sent_during_a_model_load_wait_and_get_the_new_model(
    rasa: SlowRasa,
) -> None:
    client = EngineClient(rasa.url, timeout=LOAD_SECONDS / 3)  # shorter than the load
    try:
        before = await client.send("y1", "avant")
        assert before[0]["text"] == "models/old.tar.gz: avant"
        load = asyncio.create_task(client.load_model("models/new.tar.gz"))
        await swap_started(client)
        during = await asyncio.gather(*(client.send(f"y{i}", f"pendant {i}") for i in range(3)))
        await load
        assert not client.swapping
        # Held in the app, not timed out: each answered once, by the new model.
        assert [d[0]["text"] for d in during] == [
            f"models/new.tar.gz: pendant {i}" for i in range(3)
        ]
        load_end = next(end for what, _, end in rasa.log if what == "load")
        for what, started, _ in rasa.log:
            if what.startswith("message pendant"):
                assert started >= load_end - 0.05  # posted after the load, not during it
        assert [what for what, _, _ in rasa.log].count("message pendant 0") == 1
        assert await client.model_file() == "models/new.tar.gz"
    finally:
        await client.aclose()


async def test_reading_a_turn_during_a_load_gives_up_at_once(rasa: SlowRasa) -> None:
    client = EngineClient(rasa.url, timeout=10)
    try:
        assert (await client.last_turn("y1")) is not None
        load = asyncio.create_task(client.load_model("models/new.tar.gz"))
        await swap_started(client)
        started = time.monotonic()
        with pytest.raises(EngineUnavailable, match="loading"):
            await client.last_turn("y1")
        assert time.monotonic() - started < 0.2  # a reply never waits for analytics
        await load
    finally:
        await client.aclose()


async def test_a_load_waits_for_the_messages_in_flight(rasa: SlowRasa) -> None:
    client = EngineClient(rasa.url, timeout=10)
    try:
        with rasa.loading:  # the engine is slow on this message
            sending = asyncio.create_task(client.send("y1", "en vol"))
            await asyncio.sleep(0.2)
            load = asyncio.create_task(client.load_model("models/new.tar.gz"))
            await asyncio.sleep(0.2)
            assert not load.done()
        answer = await sending
        await load
        assert answer[0]["text"] == "models/old.tar.gz: en vol"
        order = [what for what, _, _ in rasa.log]
        assert order.index("message en vol") < order.index("load")
    finally:
        await client.aclose()


async def test_a_swap_that_outlasts_the_wait_fails_clearly(rasa: SlowRasa) -> None:
    client = EngineClient(rasa.url, timeout=10, swap_wait=0.3)
    try:
        load = asyncio.create_task(client.load_model("models/new.tar.gz"))
        await swap_started(client)
        with pytest.raises(EngineUnavailable, match="still loading"):
            await client.send("y1", "trop tard")
        with pytest.raises(EngineUnavailable):
            await load  # the PUT itself is bounded by the same wait
    finally:
        await client.aclose()


def test_turn_from_tracker_reads_parse_data_and_actions() -> None:
    state = {
        "latest_message": {
            "text": "jsuis a la rue",
            "text_original": "jsuis a la rue",
            "text_normalised": "je suis à la rue",
            "intent": {"name": "crisis_shelter", "confidence": 0.93},
            "entities": [{"entity": "age", "value": "19", "start": 0, "end": 2}],
            "crisis_guard": {"intent": "crisis_shelter"},
        },
        "events": [
            {"event": "user", "text": "avant"},
            {"event": "action", "name": "utter_greet"},
            {"event": "user", "text": "jsuis a la rue", "metadata": {"model_id": "abc"}},
            {"event": "action", "name": "utter_crisis_shelter"},
            {"event": "action", "name": "action_request_handoff"},
            {"event": "action", "name": "action_listen"},
        ],
    }
    turn = turn_from_tracker(state)
    assert turn is not None
    assert (turn.normalised, turn.intent, turn.confidence) == (
        "je suis à la rue",
        "crisis_shelter",
        0.93,
    )
    assert turn.actions == ["utter_crisis_shelter", "action_request_handoff"]
    assert turn.model == "abc" and turn.crisis_guard and not turn.misunderstood
    assert turn.entities == [
        {"entity": "age", "value": "19", "extractor": None, "start": 0, "end": 2}
    ]
    fallback = turn_from_tracker({"latest_message": {"intent": {"name": "nlu_fallback"}}})
    assert fallback is not None and fallback.misunderstood and fallback.actions == []
    assert turn_from_tracker({"latest_message": {}}) is None


class _TokenRasaHandler(JsonHandler):
    """Rasa with `--auth-token`: its HTTP API answers 401 without `?token=`; the REST
    channel (`/webhooks/...`) has no token. Records the paths with their query strings."""

    TOKEN = "engine-token-0123456789abcdef0123456789"
    seen: list[str] = []

    def _authorised(self) -> bool:
        self.seen.append(self.path)
        if self.path.startswith("/webhooks/"):
            return True
        if parse_qs(urlsplit(self.path).query).get("token") == [self.TOKEN]:
            return True
        self.reply_json({"reason": "NotAuthenticated"}, status=401)
        return False

    def do_GET(self) -> None:
        if self._authorised():
            self.reply_json({"model_file": "models/m.tar.gz"})

    def do_POST(self) -> None:
        body = self.read_json()
        if self._authorised():
            if self.path.startswith("/webhooks/"):
                self.reply_json([{"recipient_id": body["sender"], "text": "salut"}])
            else:
                self.reply_json({"messages": [{"text": "relance"}]})

    def do_PUT(self) -> None:
        self.read_json()
        if self._authorised():
            self.send_response(204)
            self.end_headers()


async def test_the_http_api_gets_the_engines_token_and_the_channel_does_not() -> None:
    _TokenRasaHandler.seen = []
    with JsonServer(_TokenRasaHandler) as engine:
        anonymous = EngineClient(engine.url, timeout=5)
        client = EngineClient(engine.url, auth_token=_TokenRasaHandler.TOKEN, timeout=5)
        try:
            assert not await anonymous.is_ready()
            with pytest.raises(EngineUnavailable, match="401"):
                await anonymous.trigger("y1", "nudge")
            assert await client.is_ready()
            assert await client.model_file() == "models/m.tar.gz"
            assert (await client.trigger("y1", "nudge"))[0]["text"] == "relance"
            await client.last_turn("y1")
            await client.load_model("models/new.tar.gz")
            assert (await client.send("y1", "salut"))[0]["text"] == "salut"
        finally:
            await anonymous.aclose()
            await client.aclose()
    token = f"token={_TokenRasaHandler.TOKEN}"
    api = [path for path in _TokenRasaHandler.seen[2:] if not path.startswith("/webhooks/")]
    assert len(api) == 5 and all(token in path for path in api)
    assert _TokenRasaHandler.seen[-1] == "/webhooks/maraude/webhook"  # no token on a channel


class _TurnChannelHandler(JsonHandler):
    """An engine with the Maraude channel (engine/channel.py), or only Rasa's REST one."""

    with_turn_channel = True
    seen: list[str] = []

    def do_POST(self) -> None:
        body = self.read_json()
        self.seen.append(self.path)
        if self.path == "/webhooks/maraude/webhook" and self.with_turn_channel:
            turn = {
                "events": [
                    {"event": "user", "text": body["message"], "parse_data": {}},
                    {"event": "action", "name": "utter_greet"},
                    {"event": "action", "name": "action_listen"},
                ],
                "latest_message": {
                    "text": body["message"],
                    "intent": {"name": "greet", "confidence": 0.97},
                    "entities": [],
                },
            }
            self.reply_json({"messages": [{"text": "salut"}], "turn": turn})
        elif self.path == "/webhooks/rest/webhook":
            self.reply_json([{"recipient_id": body["sender"], "text": "salut"}])
        else:
            self.reply_json({"error": "not found"}, status=404)


async def test_the_turn_comes_with_the_answer_no_tracker_read() -> None:
    _TurnChannelHandler.seen = []
    _TurnChannelHandler.with_turn_channel = True
    with JsonServer(_TurnChannelHandler) as engine:
        client = EngineClient(engine.url, timeout=5)
        try:
            answer = await client.exchange("y1", "wesh")
        finally:
            await client.aclose()
    assert answer.messages == [{"text": "salut"}]
    assert answer.turn is not None
    assert (answer.turn.intent, answer.turn.confidence) == ("greet", 0.97)
    assert answer.turn.actions == ["utter_greet"]
    assert _TurnChannelHandler.seen == ["/webhooks/maraude/webhook"]  # one request per turn


async def test_an_engine_without_the_maraude_channel_is_asked_on_rasas_rest_channel() -> None:
    _TurnChannelHandler.seen = []
    _TurnChannelHandler.with_turn_channel = False
    with JsonServer(_TurnChannelHandler) as engine:
        client = EngineClient(engine.url, timeout=5)
        try:
            first = await client.exchange("y1", "wesh")
            second = await client.exchange("y1", "re")
        finally:
            await client.aclose()
    assert first.messages[0]["text"] == second.messages[0]["text"] == "salut"
    assert first.turn is None  # the app reads the tracker as before
    # Asked once on the missing channel, then straight to Rasa's REST channel.
    assert _TurnChannelHandler.seen == [
        "/webhooks/maraude/webhook",
        "/webhooks/rest/webhook",
        "/webhooks/rest/webhook",
    ]
