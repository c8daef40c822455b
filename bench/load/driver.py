"""The simulated young people (and one counsellor) of a load-bench phase, and what they saw.

Young people arrive at a fixed rate, each with a scripted conversation (bench/load/scripts.py)
and a think time between turns. A turn is posted (a Telegram update to the app's webhook, or
the REST channel of a bare engine); its replies are the bot messages that arrive for that chat
until the turn settles (`settle` seconds without a new one). The turn's latency runs from the
post to its last reply. A turn answered only by the engine-down text waits (up to
`replay_timeout`) for the replay of the held message.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.load.fake import LoadTelegram
from bench.load.scripts import Step, personas, script
from bot.pipeline import COMMAND_RE, COMMANDS

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
COUNSELLOR_MARK = "(réf. "
_chat_ids = itertools.count(7_100_000)


@dataclass
class Turn:
    persona: str
    kind: str
    posted: float
    replies: list[tuple[float, str]] = field(default_factory=list)
    lost: bool = False
    error: str | None = None
    duplicates: int = 0
    out_of_order: bool = False
    order_checked: bool = False
    redelivered: bool = False
    held: bool = False  # answered with the engine-down text first
    step: int = 0  # index in the script
    sent: str = ""  # what was typed or pressed (the bench's own texts)

    @property
    def latency(self) -> float | None:
        if self.lost or self.error or not self.replies:
            return None
        return self.replies[-1][0] - self.posted


@dataclass
class Person:
    chat_id: int
    persona: str
    event: asyncio.Event = field(default_factory=asyncio.Event)
    turn: Turn | None = None
    keyboard: tuple[int | None, list[tuple[str, str]]] | None = None
    last_texts: list[str] = field(default_factory=list)
    late_duplicates: int = 0
    claimed: bool = False  # a counsellor took their ticket


@dataclass
class Options:
    rate: float  # young people arriving per second
    duration: float  # seconds of arrivals
    think: tuple[float, float] = (1.0, 3.0)
    settle: float = 0.8
    timeout: float = 60.0
    replay_timeout: float = 150.0
    redeliver: float = 0.05  # share of typed messages Telegram posts twice
    seed: int = 20
    grace: float = 10.0  # after the arrivals, seconds during which turns may still start


@dataclass
class PhaseResult:
    name: str
    turns: list[Turn]
    started: float
    ended: float
    counsellor: list[dict[str, Any]] = field(default_factory=list)
    late_duplicates: int = 0
    window: tuple[float, float] = (0.0, 0.0)  # steady state: after the ramp-up, before the end


class Driver:
    """Runs phases against one target: `webhook` (the app) or `engine` (a bare engine)."""

    def __init__(
        self,
        *,
        telegram: LoadTelegram | None = None,
        engine_url: str | None = None,
        engine_down_text: str = "",
        claimed_prefix: str = "",
    ) -> None:
        self.tg, self.engine_url = telegram, engine_url
        self.engine_down, self.claimed_prefix = engine_down_text, claimed_prefix
        self.people: dict[int, Person] = {}
        self.counsellor: dict[int, dict[str, Any]] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        self.clients: list[httpx.AsyncClient] = []
        self.hook: tuple[str, str] | None = None
        self.closing = 0.0

    # Replies -------------------------------------------------------------------------------
    def _listener(self, chat_id: int, msg: dict[str, Any], at: float) -> None:
        if self.loop is not None:
            self.loop.call_soon_threadsafe(self._arrived, chat_id, msg, at)

    def _arrived(self, chat_id: int, msg: dict[str, Any], at: float) -> None:
        text = str(msg.get("text") or "")
        if COUNSELLOR_MARK in text:
            for ticket, record in self.counsellor.items():
                if f"{COUNSELLOR_MARK}{ticket})" in text and record.get("delivered") is None:
                    record["delivered"] = at
            return
        person = self.people.get(chat_id)
        if person is None:
            return
        if self.claimed_prefix and text.startswith(self.claimed_prefix):
            person.claimed = True  # from now on what they write goes to the counsellor
            person.event.set()
            return
        rows = msg.get("reply_markup", {}).get("inline_keyboard", [])
        buttons = [(b["text"], b["callback_data"]) for row in rows for b in row]
        # What a press aims at: the keyboard of the bot's last message, if it has one.
        person.keyboard = (msg.get("message_id"), buttons) if buttons else None
        if person.turn is not None:
            person.turn.replies.append((at, text))
        elif text in person.last_texts and text != self.engine_down:
            person.late_duplicates += 1  # a reply sent again after its turn settled
        person.event.set()

    # Posting -------------------------------------------------------------------------------
    async def _post_update(self, update: dict[str, Any], client: int = 0) -> str | None:
        assert self.hook is not None
        url, secret = self.hook
        try:
            response = await self.clients[client].post(
                url, json=update, headers={SECRET_HEADER: secret}
            )
        except httpx.HTTPError as exc:
            return type(exc).__name__
        return None if response.status_code == 200 else f"HTTP {response.status_code}"

    async def _post_engine(self, person: Person, message: str) -> str | None:
        command = COMMAND_RE.match(message)
        if command and command.group(1) in COMMANDS:  # what the app sends for a command
            message = COMMANDS[command.group(1)]
        body = {"sender": f"load-{person.chat_id}", "message": message}
        try:
            response = await self.clients[0].post(
                f"{self.engine_url}/webhooks/rest/webhook", json=body
            )
            response.raise_for_status()
            answers = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            return type(exc).__name__
        at = time.monotonic()
        for answer in answers:
            buttons = [(b["title"], b["payload"]) for b in answer.get("buttons") or []]
            person.keyboard = (None, buttons) if buttons else None
            if person.turn is not None and answer.get("text"):
                person.turn.replies.append((at, str(answer["text"])))
        person.event.set()
        return None

    async def _send(self, person: Person, text: str, *, redeliver: bool = False) -> str | None:
        if self.engine_url is not None:
            return await self._post_engine(person, text)
        assert self.tg is not None
        update = self.tg.push_message(person.chat_id, text)
        error = await self._post_update(update)
        if redeliver and error is None:  # Telegram posts it again (no answer in time)
            await asyncio.sleep(0.2)
            await self._post_update(update, client=1)
        return error

    async def _press(self, person: Person, title: str) -> str | None | bool:
        """False when there is no keyboard to press on (the step is skipped)."""
        if person.keyboard is None:
            return False
        message_id, buttons = person.keyboard
        data = dict(buttons).get(title) if title != "*" else None
        data = data or buttons[0][1]
        person.keyboard = None
        if self.engine_url is not None:
            return await self._post_engine(person, data)
        assert self.tg is not None and message_id is not None
        self.tg.push_callback(person.chat_id, message_id, data)
        return await self._post_update(self.tg.last_built)

    # Waiting -------------------------------------------------------------------------------
    async def _settle(self, person: Person, turn: Turn, expect: int, opts: Options) -> None:
        settle = opts.settle if self.engine_url is None else 0.0
        while True:
            now = time.monotonic()
            real = [r for r in turn.replies if r[1] != self.engine_down]
            if len(turn.replies) > len(real):
                turn.held = True
            limit = opts.replay_timeout if turn.held else opts.timeout
            if person.claimed and not real:
                turn.kind = "relayed"  # went to the counsellor: no answer from the bot
                return
            if len(real) >= expect:
                wait = turn.replies[-1][0] + settle - now
                if wait <= 0:
                    return
            else:
                wait = turn.posted + limit - now
                if wait <= 0:
                    turn.lost = True
                    return
            person.event.clear()
            try:
                await asyncio.wait_for(person.event.wait(), wait)
            except TimeoutError:
                pass

    async def _turn(self, person: Person, step: Step, opts: Options, rng: random.Random) -> Turn:
        turn = Turn(person.persona, step[0], time.monotonic(), sent=str(step[1])[:40])
        person.turn, expect = turn, 1
        if step[0] == "say":
            turn.redelivered = self.engine_url is None and rng.random() < opts.redeliver
            turn.error = await self._send(person, str(step[1]), redeliver=turn.redelivered)
        elif step[0] == "press":
            outcome = await self._press(person, str(step[1]))
            if outcome is False:
                person.turn = None
                turn.kind = "skipped"
                return turn
            turn.error = outcome if isinstance(outcome, str) else None
        else:  # burst: two messages, answered in order
            (first, _), (second, _) = step[1], step[2]
            sent = asyncio.create_task(self._send(person, first))
            await asyncio.sleep(0.15)
            error = await self._send(person, second)
            turn.error = await sent or error
            expect = 2
        if turn.error is None:
            await self._settle(person, turn, expect, opts)
        person.turn = None
        texts = [text for _, text in turn.replies if text != self.engine_down]
        turn.duplicates = len(texts) - len(set(texts))
        person.last_texts = texts
        if step[0] == "burst" and not turn.lost:
            (_, mark_a), (_, mark_b) = step[1], step[2]
            a = [i for i, t in enumerate(texts) if t.startswith(mark_a)]
            b = [i for i, t in enumerate(texts) if t.startswith(mark_b)]
            turn.order_checked = bool(a and b)
            turn.out_of_order = bool(a and b and min(b) < max(a))
        return turn

    async def _young_person(
        self, persona: str, opts: Options, rng: random.Random, turns: list[Turn]
    ) -> None:
        person = Person(next(_chat_ids), persona)
        self.people[person.chat_id] = person
        for index, step in enumerate(script(persona, rng)):
            if time.monotonic() > self.closing:
                break  # the run is over: no new turn
            turn = await self._turn(person, step, opts, rng)
            turn.step = index
            if turn.kind not in ("skipped", "relayed"):
                turns.append(turn)
            if turn.lost or turn.error or person.claimed:
                break  # lost: a real person would not go on; claimed: talks to the counsellor
            await asyncio.sleep(rng.uniform(*opts.think))
        await asyncio.sleep(opts.settle)
        self.late = getattr(self, "late", 0) + person.late_duplicates

    # Counsellor ----------------------------------------------------------------------------
    async def _counsellor(self, app_url: str, token: str, stop: asyncio.Event) -> None:
        """Every 2 s: claims the new tickets seen 2 s earlier and replies through the API."""
        headers = {"Authorization": f"Bearer {token}"}
        seen: dict[int, float] = {}
        async with httpx.AsyncClient(base_url=f"{app_url}/api/v1", headers=headers) as api:
            while not stop.is_set():
                try:
                    page = await api.get("/tickets", params={"status": "new", "limit": 200})
                    page.raise_for_status()
                    for ticket in page.json()["items"]:
                        seen.setdefault(ticket["id"], time.monotonic())
                    for ticket_id, first in list(seen.items()):
                        if ticket_id in self.counsellor or time.monotonic() - first < 2:
                            continue
                        await self._answer_ticket(api, ticket_id)
                except (httpx.HTTPError, ValueError, KeyError) as exc:
                    self.counsellor[-len(self.counsellor) - 1] = {"error": type(exc).__name__}
                try:
                    await asyncio.wait_for(stop.wait(), 2)
                except TimeoutError:
                    pass

    async def _answer_ticket(self, api: httpx.AsyncClient, ticket_id: int) -> None:
        record: dict[str, Any] = {"delivered": None}
        self.counsellor[ticket_id] = record
        t0 = time.monotonic()
        claim = await api.post(f"/tickets/{ticket_id}/claim")
        if claim.status_code != 200:
            record["error"] = f"claim HTTP {claim.status_code}"
            return
        text = f"Salut, c'est Awa ! Je regarde ta demande {COUNSELLOR_MARK}{ticket_id})"
        record["posted"] = time.monotonic()
        reply = await api.post(f"/tickets/{ticket_id}/reply", json={"text": text})
        record["api"] = time.monotonic() - t0
        if reply.status_code != 201:
            record["error"] = f"reply HTTP {reply.status_code}"

    # A phase -------------------------------------------------------------------------------
    async def run(
        self,
        name: str,
        opts: Options,
        *,
        counsellor: tuple[str, str] | None = None,
        during: Callable[[], Any] | None = None,
    ) -> PhaseResult:
        """Young people arriving at opts.rate for opts.duration; `during` runs alongside."""
        self.loop, self.people, self.counsellor, self.late = asyncio.get_running_loop(), {}, {}, 0
        if self.tg is not None:
            self.tg.listener = self._listener
            self.hook = self.tg.webhook()
            if self.hook is None:
                raise RuntimeError("the app never called setWebhook on the fake Bot API")
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=100)
        self.clients = [httpx.AsyncClient(timeout=60, limits=limits) for _ in range(2)]
        rng = random.Random(opts.seed)
        draws = personas(rng)
        turns: list[Turn] = []
        stop = asyncio.Event()
        side = []
        if counsellor is not None:
            side.append(asyncio.create_task(self._counsellor(*counsellor, stop)))
        if during is not None:
            side.append(asyncio.create_task(during()))
        started = time.monotonic()
        self.closing = started + opts.duration + opts.grace
        tasks = []
        for index in itertools.count():
            at = started + index / opts.rate
            if at - started >= opts.duration:
                break
            await asyncio.sleep(max(0.0, at - time.monotonic()))
            person_rng = random.Random(rng.random())
            tasks.append(
                asyncio.create_task(self._young_person(draws[index], opts, person_rng, turns))
            )
        await asyncio.gather(*tasks)
        if counsellor is not None:  # let the last tickets be answered and delivered
            await asyncio.sleep(5)
        stop.set()
        await asyncio.gather(*side)
        for client in self.clients:
            await client.aclose()
        if self.tg is not None:
            self.tg.listener = None
        ended = max((t.replies[-1][0] for t in turns if t.replies), default=time.monotonic())
        first = min((t.posted for t in turns), default=started)
        result = PhaseResult(name, turns, first, ended, list(self.counsellor.values()))
        result.window = (started + opts.duration / 4, started + opts.duration)
        result.late_duplicates = self.late
        return result
