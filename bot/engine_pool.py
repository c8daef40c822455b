"""Several Rasa engines behind the one "engine" the app talks to.

Every engine serves any conversation: they share the tracker store (PostgreSQL) and Rasa's
lock store (Redis), which keeps one conversation's turns in order whichever engine takes
them. The pool still sends a conversation to the same engine while it is healthy
(rendezvous hashing on the sender id: losing one engine moves only its conversations), and
when an exchange fails because that engine is down or stuck (refused, reset, timed out,
HTTP 5xx: `EngineUnavailable.retryable`), it marks it unhealthy and tries the same exchange
on the next engine, each engine at most once. An unhealthy engine is back once its
`/status` answers with a model (the background probe, every `probe_every` seconds; or an
exchange that finds no healthy engine left and tries the unhealthy ones first).

Raised by the pool, `EngineUnavailable` means every engine failed; its `retryable` says
whether they were all down or stuck (worth holding the message) rather than refusing it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import PurePath
from typing import Any, TypeVar

from bot.engine_client import EngineAnswer, EngineClient, EngineUnavailable
from core.clock import Clock, SystemClock
from core.turns import TurnInfo

log = logging.getLogger(__name__)

T = TypeVar("T")
ErrorHook = Callable[[str, EngineUnavailable], None]


@dataclass
class _Member:
    url: str
    client: EngineClient
    since: datetime  # when it became healthy or unhealthy
    healthy: bool = True
    failures: int = 0  # failed exchanges or probes since the pool started
    last_error: str | None = field(default=None, repr=False)


def _score(url: str, key: str) -> int:
    digest = hashlib.blake2b(f"{url}\x00{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


class EnginePool:
    """The app's engine: N `EngineClient`s, one per URL, with the same interface."""

    def __init__(
        self,
        urls: Sequence[str],
        *,
        auth_token: str | None = None,
        timeout: float = 30.0,
        swap_wait: float = 600.0,
        probe_every: float = 2.0,
        ticket_wait: float = 0.0,
        clock: Clock | None = None,
    ) -> None:
        """`ticket_wait`: with a lock store shared by the engines (Rasa's RedisLockStore), how
        long a conversation's ticket outlives a turn its engine died in (the engines'
        TICKET_LOCK_LIFETIME, plus a margin). An exchange cut off that way is retried on the
        next engine only after it: that engine would otherwise issue its own ticket behind
        the dead one's, both would expire together while it polls, and Rasa's ticket lock
        then waits for ever (its `now_serving` falls back to 0)."""
        if not urls:
            raise ValueError("an engine pool needs at least one engine URL")
        self._clock = clock or SystemClock()
        now = self._clock.now()
        self._members = [
            _Member(
                url.rstrip("/"),
                EngineClient(url, auth_token=auth_token, timeout=timeout, swap_wait=swap_wait),
                since=now,
            )
            for url in dict.fromkeys(u.strip() for u in urls if u.strip())
        ]
        self.probe_every = probe_every
        self.ticket_wait = ticket_wait
        self._sleep = asyncio.sleep  # tests: see what is waited, without waiting
        self._hooks: list[ErrorHook] = []
        self._probe_task: asyncio.Task[None] | None = None

    # --- state -------------------------------------------------------------------------

    @property
    def urls(self) -> list[str]:
        return [m.url for m in self._members]

    @property
    def base_url(self) -> str:
        """The first engine (messages naming "the engine")."""
        return self._members[0].url

    @property
    def swapping(self) -> bool:
        """A model swap started by this pool is in progress on some engine."""
        return any(m.client.swapping for m in self._members)

    def health(self) -> list[dict[str, Any]]:
        """Per engine: url, healthy, since (ISO 8601, UTC), failures (since the start)."""
        return [
            {
                "url": m.url,
                "healthy": m.healthy,
                "since": m.since.astimezone(UTC).isoformat(),
                "failures": m.failures,
            }
            for m in self._members
        ]

    def add_error_hook(self, hook: ErrorHook) -> None:
        """`hook(url, error)` on every failure of an engine (metrics); never raises into us."""
        self._hooks.append(hook)

    def _failed(self, member: _Member, exc: EngineUnavailable) -> None:
        member.failures += 1
        member.last_error = str(exc)
        for hook in self._hooks:
            try:
                hook(member.url, exc)
            except Exception:  # a metrics hook must not break a conversation
                log.exception("engine error hook failed")
        if member.client.swapping:
            return  # loading a model: busy, not down (the swap reopens it)
        if member.healthy:
            member.healthy = False
            member.since = self._clock.now()
            log.warning("engine %s marked unhealthy: %s", member.url, exc)

    def _recovered(self, member: _Member) -> None:
        if not member.healthy:
            member.healthy = True
            member.since = self._clock.now()
            log.info("engine %s is back", member.url)

    def ranked(self, key: str) -> list[str]:
        """The engines' URLs in the order tried for the conversation `key` (all healthy)."""
        return [m.url for m in self._ranked(key)]

    def _ranked(self, key: str) -> list[_Member]:
        return sorted(self._members, key=lambda m: _score(m.url, key), reverse=True)

    # --- routing -----------------------------------------------------------------------

    async def _exchange(
        self,
        key: str,
        what: str,
        call: Callable[[EngineClient], Awaitable[T]],
        *,
        locks: bool = True,
    ) -> T:
        """`call` on the conversation's engine, else the next ones; `locks`: the exchange
        takes the conversation's ticket in Rasa's lock store (a message, a trigger)."""
        ranked = self._ranked(key)
        healthy = [m for m in ranked if m.healthy]
        # An engine loading a model holds its requests: passed over while another can answer.
        order = [m for m in healthy if not m.client.swapping]
        order += [m for m in healthy if m.client.swapping]
        errors: list[EngineUnavailable] = []

        async def ticket_expired() -> None:
            last = errors[-1] if errors else None
            if locks and self.ticket_wait > 0 and last is not None and last.maybe_started:
                await self._sleep(self.ticket_wait)  # the dead engine's ticket expires

        for member in order:
            await ticket_expired()
            try:
                return await call(member.client)
            except EngineUnavailable as exc:
                if not exc.retryable:
                    raise  # refused by the engine: another would refuse it too
                self._failed(member, exc)
                errors.append(exc)
        # No healthy engine answered: try those marked down (each once), if they are back.
        for member in [m for m in ranked if m not in order]:
            if not await member.client.is_ready():
                continue
            await ticket_expired()
            try:
                result = await call(member.client)
            except EngineUnavailable as exc:
                if not exc.retryable:
                    self._recovered(member)  # it answered: up, but refused this
                    raise
                self._failed(member, exc)
                errors.append(exc)
                continue
            self._recovered(member)
            return result
        last = f": {errors[-1]}" if errors else ""
        raise EngineUnavailable(
            f"no engine answered {what} ({len(self._members)} engine(s)){last}", retryable=True
        )

    async def send(
        self, sender: str, message: str, metadata: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Post one user message to the conversation's engine; the bot's messages."""
        return await self._exchange(
            sender, "the message", lambda c: c.send(sender, message, metadata)
        )

    async def exchange(
        self, sender: str, message: str, metadata: dict[str, Any] | None = None
    ) -> EngineAnswer:
        """Post one user message to the conversation's engine; its messages and the turn."""
        return await self._exchange(
            sender, "the message", lambda c: c.exchange(sender, message, metadata)
        )

    async def trigger(
        self, sender_id: str, intent: str, entities: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        return await self._exchange(
            sender_id,
            f"trigger_intent {intent!r}",
            lambda c: c.trigger(sender_id, intent, entities),
        )

    async def last_turn(self, sender_id: str, *, with_actions: bool = True) -> TurnInfo | None:
        return await self._exchange(
            sender_id,
            "tracker",
            lambda c: c.last_turn(sender_id, with_actions=with_actions),
            locks=False,  # a tracker read takes no ticket
        )

    # --- models --------------------------------------------------------------------------

    async def model_file(self) -> str | None:
        """The model the healthy engines serve; None when they disagree (a rolling swap
        left one behind) or have none, so that the model watch loads the newest again."""
        models: list[str | None] = []
        for member in [m for m in self._members if m.healthy]:
            try:
                models.append(await member.client.model_file())
            except EngineUnavailable as exc:
                if exc.retryable:
                    self._failed(member, exc)
        if not models:
            raise EngineUnavailable("no engine answered status", retryable=True)
        names = {PurePath(m).name if m else None for m in models}
        return models[0] if len(names) == 1 else None

    async def load_model(self, model_path: str) -> None:
        """Rolling swap: one engine after another, so the others keep answering meanwhile.
        Engines already serving that model are skipped; a refused model stops the roll
        (the rest keep theirs); an unreachable engine is passed (it gets the model when the
        model watch runs again once it is back)."""
        name = PurePath(model_path).name
        served = 0
        for member in self._members:
            if not member.healthy:
                continue
            try:
                current = await member.client.model_file()
                if current is None or PurePath(current).name != name:
                    await member.client.load_model(model_path)
            except EngineUnavailable as exc:
                if not exc.retryable:
                    raise
                self._failed(member, exc)
                continue
            served += 1
        if served == 0:
            raise EngineUnavailable(f"no engine could load {name}", retryable=True)

    # --- health ------------------------------------------------------------------------

    async def is_ready(self) -> bool:
        """Checks every engine's `/status` now (updating their health); True if any is ready."""
        await asyncio.gather(*(self._check(m) for m in self._members))
        return any(m.healthy for m in self._members)

    async def probe(self) -> None:
        """One round of the background probe: engines marked down that answer again are back."""
        await asyncio.gather(*(self._check(m) for m in self._members if not m.healthy))

    async def _check(self, member: _Member) -> None:
        if member.client.swapping:
            return  # Rasa answers nothing while it loads: not a failure
        if await member.client.is_ready():
            self._recovered(member)
        elif member.healthy:
            self._failed(member, EngineUnavailable("no model on /status", retryable=True))

    async def _probe_forever(self) -> None:
        while True:
            await asyncio.sleep(self.probe_every)
            try:
                await self.probe()
            except Exception:  # keep probing whatever happens
                log.exception("engine probe failed")

    def start(self) -> None:
        """Start the background probe (from the app's lifespan, in its event loop)."""
        if self._probe_task is None and self.probe_every > 0:
            self._probe_task = asyncio.get_running_loop().create_task(
                self._probe_forever(), name="engine-probe"
            )

    async def aclose(self) -> None:
        task, self._probe_task = self._probe_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for member in self._members:
            await member.client.aclose()
