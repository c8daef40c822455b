"""The engine pool (bot/engine_pool.py) against small real HTTP engines: a conversation keeps
its engine, an exchange that meets a dead, failing or stuck engine is retried on the next one
(a refusal is not), an engine marked down comes back once its /status answers, models are
loaded one engine after another."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

from bot.engine_client import EngineUnavailable
from bot.engine_pool import EnginePool
from tests.fakes.json_http import JsonHandler

TOKEN = "pool-test-token"


class FakeEngine:
    """A Rasa stand-in on a fixed port: `mode` is ok, error (HTTP 500), refuse (HTTP 400),
    hang (answers nothing until released) or down (the port closed)."""

    def __init__(self, port: int = 0, name: str = "") -> None:
        self.mode = "ok"
        self.model: str | None = "models/a.tar.gz"
        self.senders: list[str] = []  # conversations this engine served
        self.loads: list[str] = []
        self.release = threading.Event()
        self.name = name
        self._server: ThreadingHTTPServer | None = None
        self.port = port
        self.up()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def up(self) -> None:
        server = ThreadingHTTPServer(("127.0.0.1", self.port), _Handler)
        server.daemon_threads = True
        server.engine = self  # type: ignore[attr-defined]
        self.port = server.server_address[1]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self._server = server
        self.mode = "ok"

    def down(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self.mode = "down"

    def close(self) -> None:
        self.release.set()
        self.down()


class _Handler(JsonHandler):
    server: Any

    @property
    def engine(self) -> FakeEngine:
        return self.server.engine  # type: ignore[no-any-return]

    def _misbehave(self) -> bool:
        mode = self.engine.mode
        if mode == "reset":  # dies while handling it: the connection closes, no answer
            self.close_connection = True
            return True
        if mode == "hang":
            self.engine.release.wait(30)
            mode = "error"
        if mode == "error":
            self.reply_json({"error": "boom"}, status=500)
            return True
        if mode == "refuse":
            self.reply_json({"error": "bad request"}, status=400)
            return True
        return False

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path == "/status":
            if self.engine.mode in ("error", "hang"):
                self.reply_json({}, status=503)
            else:
                self.reply_json({"model_file": self.engine.model})
            return
        if self._misbehave():
            return
        sender = unquote(path.split("/")[2])
        self.engine.senders.append(sender)
        self.reply_json(
            {
                "latest_message": {"text": "salut", "intent": {"name": "greet", "confidence": 1}},
                "events": [],
                "sender_id": sender,
            }
        )

    def do_POST(self) -> None:
        body = self.read_json()
        if self._misbehave():
            return
        path = urlsplit(self.path).path
        if path.startswith("/webhooks/"):  # a channel (Rasa's REST one's answer shape)
            self.engine.senders.append(body["sender"])
            reply = f"{self.engine.name}: {body['message']}"
            self.reply_json([{"recipient_id": body["sender"], "text": reply}])
            return
        sender = unquote(path.split("/")[2])
        self.engine.senders.append(sender)
        self.reply_json({"messages": [{"recipient_id": sender, "text": body["name"]}]})

    def do_PUT(self) -> None:
        body = self.read_json()
        if self._misbehave():
            return
        self.engine.model = body["model_file"]
        self.engine.loads.append(body["model_file"])
        self.send_response(204)
        self.end_headers()


@pytest.fixture
def engines() -> Iterator[list[FakeEngine]]:
    fakes = [FakeEngine(name=f"e{i}") for i in range(3)]
    yield fakes
    for fake in fakes:
        fake.close()


def pool_of(engines: list[FakeEngine], **options: Any) -> EnginePool:
    options.setdefault("timeout", 2.0)
    return EnginePool([e.url for e in engines], auth_token=TOKEN, probe_every=0, **options)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def served_by(engines: list[FakeEngine], sender: str) -> list[str]:
    return [e.name for e in engines if sender in e.senders]


def first_engine(pool: EnginePool, engines: list[FakeEngine], sender: str) -> FakeEngine:
    return next(e for e in engines if e.url == pool.ranked(sender)[0])


def test_a_conversation_keeps_its_engine_and_conversations_spread(
    engines: list[FakeEngine],
) -> None:
    async def scenario() -> None:
        pool = pool_of(engines)
        try:
            for turn in range(3):
                for n in range(30):
                    answer = await pool.send(f"person-{n}", f"turn {turn}")
                    assert answer[0]["text"].endswith(f"turn {turn}")
            await pool.trigger("person-0", "nudge")
            await pool.last_turn("person-0")
        finally:
            await pool.aclose()

    run(scenario())
    pool = pool_of(engines)
    for n in range(30):
        sender = f"person-{n}"
        assert served_by(engines, sender) == [first_engine(pool, engines, sender).name]
    assert all(e.senders for e in engines)  # 30 conversations over 3 engines: each has some
    # 3 messages, the trigger and the tracker read, all on its engine
    assert sum(e.senders.count("person-0") for e in engines) == 5
    assert all(h["healthy"] and h["failures"] == 0 for h in pool.health())


@pytest.mark.parametrize("failure", ["down", "error", "hang"])
def test_an_engine_down_failing_or_stuck_is_passed_over(
    engines: list[FakeEngine], failure: str
) -> None:
    pool = pool_of(engines, timeout=0.5)
    sender = "someone"
    dead = first_engine(pool, engines, sender)
    if failure == "down":
        dead.down()
    else:
        dead.mode = failure
    errors: list[tuple[str, bool]] = []
    pool.add_error_hook(lambda url, exc: errors.append((url, exc.retryable)))

    async def scenario() -> list[list[dict[str, Any]]]:
        try:
            return [await pool.send(sender, "bonjour"), await pool.send(sender, "encore")]
        finally:
            await pool.aclose()

    answers = run(scenario())
    second = next(e for e in engines if e.url == pool.ranked(sender)[1])
    assert [a[0]["text"] for a in answers] == [f"{second.name}: bonjour", f"{second.name}: encore"]
    health = {h["url"]: h for h in pool.health()}
    assert health[dead.url]["healthy"] is False and health[dead.url]["failures"] == 1
    assert errors == [(dead.url, True)]  # the second message went straight to the next one
    assert all(health[e.url]["healthy"] for e in engines if e is not dead)


def test_losing_an_engine_moves_only_its_conversations(engines: list[FakeEngine]) -> None:
    pool = pool_of(engines)
    senders = [f"p{n}" for n in range(60)]
    before = {s: pool.ranked(s)[0] for s in senders}
    engines[1].down()

    async def scenario() -> None:
        try:
            for sender in senders:
                await pool.send(sender, "hello")
        finally:
            await pool.aclose()

    run(scenario())
    for sender in senders:
        if before[sender] != engines[1].url:
            owner = next(e for e in engines if e.url == before[sender])
            assert served_by(engines, sender) == [owner.name]  # unmoved
        else:
            assert served_by(engines, sender) != []  # moved, answered


def test_a_refusal_is_not_retried_elsewhere(engines: list[FakeEngine]) -> None:
    pool = pool_of(engines)
    sender = "refused"
    first = first_engine(pool, engines, sender)
    first.mode = "refuse"

    async def scenario() -> None:
        try:
            await pool.send(sender, "x")
        finally:
            await pool.aclose()

    with pytest.raises(EngineUnavailable) as caught:
        run(scenario())
    assert caught.value.retryable is False
    assert all(sender not in e.senders for e in engines)
    assert all(h["healthy"] for h in pool.health())


def test_every_engine_down_then_one_back(engines: list[FakeEngine]) -> None:
    pool = pool_of(engines)

    async def scenario() -> None:
        try:
            for engine in engines:
                engine.down()
            with pytest.raises(EngineUnavailable) as caught:
                await pool.send("alone", "allo ?")
            assert caught.value.retryable  # all down: worth holding the message
            assert not any(h["healthy"] for h in pool.health())
            assert not await pool.is_ready()
            # One comes back on its port; no probe ran: the next exchange finds it anyway.
            engines[2].up()
            answer = await pool.send("alone", "allo ?")
            assert answer[0]["text"] == "e2: allo ?"
            health = {h["url"]: h["healthy"] for h in pool.health()}
            assert health == {engines[0].url: False, engines[1].url: False, engines[2].url: True}
            # The probe brings the others back once their /status answers with a model.
            engines[0].up()
            await pool.probe()
            assert [h["healthy"] for h in pool.health()] == [True, False, True]
            engines[1].up()
            engines[1].model = None  # up, but no model loaded yet: still down
            await pool.probe()
            assert [h["healthy"] for h in pool.health()] == [True, False, True]
            engines[1].model = "models/a.tar.gz"
            await pool.probe()
            assert all(h["healthy"] for h in pool.health())
            assert await pool.is_ready()
        finally:
            await pool.aclose()

    run(scenario())


def test_the_background_probe_runs_from_start_until_aclose(engines: list[FakeEngine]) -> None:
    async def scenario() -> None:
        pool = EnginePool([e.url for e in engines], auth_token=TOKEN, probe_every=0.05)
        engines[0].down()
        assert await pool.is_ready()  # the others are; engine 0 marked down
        assert pool.health()[0]["healthy"] is False
        pool.start()
        engines[0].up()
        while not pool.health()[0]["healthy"]:  # noqa: ASYNC110 - no timing asserted
            await asyncio.sleep(0.02)
        await pool.aclose()
        assert pool._probe_task is None

    asyncio.run(asyncio.wait_for(scenario(), 60))


def test_models_are_loaded_one_engine_after_another(engines: list[FakeEngine]) -> None:
    pool = pool_of(engines)
    engines[1].model = "models/b.tar.gz"

    async def scenario() -> None:
        try:
            assert await pool.model_file() is None  # they disagree: the watch loads again
            await pool.load_model("/abs/models/b.tar.gz")
            assert await pool.model_file() == "/abs/models/b.tar.gz"
            engines[2].down()
            await pool.load_model("/abs/models/c.tar.gz")  # one down: the others load it
            engines[0].mode = "refuse"
            with pytest.raises(EngineUnavailable):
                await pool.load_model("/abs/models/d.tar.gz")  # refused: the roll stops
        finally:
            await pool.aclose()

    run(scenario())
    assert engines[0].loads == ["/abs/models/b.tar.gz", "/abs/models/c.tar.gz"]
    assert engines[1].loads == ["/abs/models/c.tar.gz"]  # it had b already
    assert engines[2].loads == ["/abs/models/b.tar.gz"]


def test_engine_client_errors_say_whether_another_engine_may_help(
    engines: list[FakeEngine],
) -> None:
    from bot.engine_client import EngineClient

    async def outcome(mode: str) -> bool:
        engines[0].mode = mode
        if mode == "down":
            engines[0].down()
        client = EngineClient(engines[0].url, auth_token=TOKEN, timeout=0.5)
        try:
            await client.send("x", "y")
        except EngineUnavailable as exc:
            return exc.retryable
        finally:
            await client.aclose()
        raise AssertionError("no error")

    assert run(outcome("error")) is True
    assert run(outcome("refuse")) is False
    assert run(outcome("hang")) is True
    assert run(outcome("down")) is True

    async def started(mode: str) -> bool:
        engines[1].mode = mode
        if mode == "down":
            engines[1].down()
        client = EngineClient(engines[1].url, auth_token=TOKEN, timeout=0.5)
        try:
            await client.send("x", "y")
        except EngineUnavailable as exc:
            return exc.maybe_started
        finally:
            await client.aclose()
        raise AssertionError("no error")

    assert run(started("reset")) is True  # it had the message when it died
    assert run(started("hang")) is True
    assert run(started("down")) is False  # refused: never had it


@pytest.mark.parametrize(("failure", "waits"), [("reset", [11.0]), ("down", [])])
def test_a_turn_cut_off_by_a_dying_engine_is_retried_after_its_ticket(
    engines: list[FakeEngine], failure: str, waits: list[float]
) -> None:
    """Engines sharing Rasa's lock store: the dead engine may hold the conversation's ticket
    (it got the message); the next engine is asked once that ticket has expired. A refused
    connection never reached it: no wait. A tracker read takes no ticket: no wait."""
    pool = pool_of(engines, ticket_wait=11.0)
    waited: list[float] = []

    async def sleep(seconds: float) -> None:
        waited.append(seconds)

    pool._sleep = sleep  # type: ignore[method-assign]
    sender = "cut-off"
    first = first_engine(pool, engines, sender)
    if failure == "down":
        first.down()
    else:
        first.mode = failure

    async def scenario() -> list[dict[str, Any]]:
        try:
            answer = await pool.send(sender, "bonjour")
            first.mode = "reset" if failure == "reset" else first.mode
            pool._members[[e.url for e in engines].index(first.url)].healthy = True
            await pool.last_turn(sender)  # cut off too, retried without a wait
            return answer
        finally:
            await pool.aclose()

    answer = run(scenario())
    assert answer[0]["text"].endswith("bonjour")
    assert waited == waits
