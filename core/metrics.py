"""Prometheus metrics of the app process (served at /metrics by web/metrics.py).

What a worker counts as it works goes through the process's one recorder, `METRICS`, with
one-line calls from the modules that do the work: the turns of the conversation pipeline (by
channel and outcome) and their latency, the engine errors, the follow-ups sent, the SLA
alerts. Several app workers (`server.workers`, or several `maraude serve` behind a proxy)
each count their own share; with REDIS_URL (which several workers require) every worker adds
its counts to one Redis hash, about once a second and before it answers /metrics, so a scrape
through any worker gets the same totals. Without Redis (one process) they stay in memory.
Figures kept in the database (tickets waiting, follow-ups due, held messages) are read when
/metrics is asked (`stored_figures`): the same from any worker.

Labels name a channel, an outcome, an engine (its scheme, host and port), a follow-up kind or
an alert kind: never a chat id, a pseudonymous id or a text.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import json
import logging
import math
import threading
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Concatenate, ParamSpec, TypeVar
from urllib.parse import urlsplit

from sqlalchemy import func, select

from core.db import Database
from core.models import (
    Channel,
    FollowUp,
    FollowUpKind,
    FollowUpStatus,
    HeldMessage,
    InboundUpdate,
)

log = logging.getLogger(__name__)

TURN_OUTCOMES = ("answered", "engine_down", "held", "failed")
SLA_ALERT_KINDS = ("sla_breached", "manager_alerted")
# Turn latency buckets, in seconds: an engine answers in 0.1-1 s; 30 s is the request timeout.
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
FLUSH_DELAY = 1.0  # seconds a worker's counts may wait before they reach Redis
REDIS_KEY = "maraude:metrics"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

Labels = tuple[tuple[str, str], ...]
Series = tuple[str, Labels]  # a sample name and its labels


@dataclass(frozen=True)
class Family:
    name: str
    kind: str  # counter, gauge or histogram
    help: str


TURNS = Family(
    "maraude_turns_total",
    "counter",
    "Young people's messages and buttons for the engine (not those relayed to a counsellor), "
    "by channel and outcome (answered: by an engine; engine_down: the app's own answer; held: "
    "kept to be replayed; failed: an error).",
)
TURN_SECONDS = Family(
    "maraude_turn_seconds",
    "histogram",
    "Time from a young person's message to the answer (engine call included), by channel "
    "and outcome.",
)
ENGINE_ERRORS = Family(
    "maraude_engine_errors_total",
    "counter",
    "Engine requests that failed because the engine was down or stuck (refused, reset, "
    "timed out, HTTP 5xx, no model), by engine.",
)
FOLLOWUPS_SENT = Family(
    "maraude_followups_sent_total", "counter", "Follow-ups sent (nudges and reminders), by kind."
)
SLA_ALERTS = Family(
    "maraude_sla_alerts_total",
    "counter",
    "SLA reminders to the team (sla_breached) and alerts to a manager (manager_alerted).",
)
COUNTED = (TURNS, TURN_SECONDS, ENGINE_ERRORS, FOLLOWUPS_SENT, SLA_ALERTS)


def engine_label(url: str) -> str:
    """An engine as a label: scheme, host and port only (no credentials, path or query)."""
    parts = urlsplit(url)
    host = parts.hostname or "unknown"
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")


def _labels(values: dict[str, str]) -> Labels:
    return tuple(sorted((key, str(value)) for key, value in values.items()))


def _encode(series: Series) -> str:
    return json.dumps([series[0], [list(pair) for pair in series[1]]], separators=(",", ":"))


def _decode(raw: str | bytes) -> Series | None:
    try:
        name, pairs = json.loads(raw)
        return str(name), tuple((str(k), str(v)) for k, v in pairs)
    except (ValueError, TypeError):
        return None


class Metrics:
    """The counters and histograms of this process, kept in memory, and with `configure`d
    Redis also added up there for every worker. Safe to call from threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._totals: dict[Series, float] = defaultdict(float)  # this process, since start
        self._pending: dict[Series, float] = defaultdict(float)  # not yet added in Redis
        self._redis: Any = None
        self._key = REDIS_KEY
        self._flush_task: asyncio.Task[None] | None = None
        self._warned = False

    # Where the counts go ------------------------------------------------------------------
    def configure(self, redis_url: str | None, secret_key: str = "") -> None:
        """Share the counts of every worker in Redis (None: this process's memory only).

        The hash's name carries an HMAC of the secret key: two deployments sharing one Redis
        database keep their figures apart."""
        self._redis = None
        if redis_url:
            import redis.asyncio as aioredis

            self._redis = aioredis.Redis.from_url(redis_url, socket_timeout=2)
            suffix = hmac.new(secret_key.encode(), b"metrics", hashlib.sha256).hexdigest()[:16]
            self._key = f"{REDIS_KEY}:{suffix}"

    @property
    def shared(self) -> bool:
        return self._redis is not None

    async def aclose(self) -> None:
        """Add what is still pending, then back to memory only (the app's shutdown)."""
        if self._redis is None:
            return
        await self.flush()
        redis, self._redis = self._redis, None
        await redis.aclose()

    # Recording ----------------------------------------------------------------------------
    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        self._add({(name, _labels(labels)): amount})

    def observe(self, name: str, value: float, **labels: str) -> None:
        """One observation of a histogram (cumulative buckets, as exposed)."""
        base = _labels(labels)
        deltas = {
            (f"{name}_bucket", _labels({**labels, "le": _le(le)})): 1.0
            for le in LATENCY_BUCKETS
            if value <= le
        }
        deltas[(f"{name}_bucket", _labels({**labels, "le": "+Inf"}))] = 1.0
        deltas[(f"{name}_sum", base)] = max(value, 0.0)
        deltas[(f"{name}_count", base)] = 1.0
        self._add(deltas)

    def turn(self, channel: str, outcome: str, seconds: float) -> None:
        self.inc(TURNS.name, channel=channel, outcome=outcome)
        self.observe(TURN_SECONDS.name, seconds, channel=channel, outcome=outcome)

    def engine_error(self, url: str, error: object = None) -> None:
        """One failure of the engine at `url` (the engine pool's error hook)."""
        self.inc(ENGINE_ERRORS.name, engine=engine_label(url))

    def followup_sent(self, kind: str) -> None:
        self.inc(FOLLOWUPS_SENT.name, kind=str(kind))

    def sla_alert(self, kind: str) -> None:
        self.inc(SLA_ALERTS.name, kind=str(kind))

    def _add(self, deltas: dict[Series, float]) -> None:
        with self._lock:
            for series, amount in deltas.items():
                self._totals[series] += amount
                if self._redis is not None:
                    self._pending[series] += amount
        if self._redis is not None:
            self._schedule_flush()

    def _schedule_flush(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # a thread: the next flush from the event loop takes it
            return
        if self._flush_task is None or self._flush_task.done():
            self._flush_task = loop.create_task(self._flush_later())

    async def _flush_later(self) -> None:
        await asyncio.sleep(FLUSH_DELAY)
        await self.flush()

    async def flush(self) -> None:
        """Add this worker's pending counts to the shared hash (kept for later if Redis fails)."""
        redis = self._redis
        if redis is None:
            return
        with self._lock:
            pending, self._pending = dict(self._pending), defaultdict(float)
        if not pending:
            return
        try:
            async with redis.pipeline(transaction=False) as pipe:
                for series, amount in pending.items():
                    pipe.hincrbyfloat(self._key, _encode(series), amount)
                await pipe.execute()
            self._warned = False
        except Exception as exc:  # counts must never break a conversation
            with self._lock:
                for series, amount in pending.items():
                    self._pending[series] += amount
            if not self._warned:
                log.warning("metrics: Redis did not take the counts (%s)", type(exc).__name__)
                self._warned = True

    # Reading ------------------------------------------------------------------------------
    def local(self) -> dict[Series, float]:
        """What this process counted since it started."""
        with self._lock:
            return dict(self._totals)

    async def counted(self) -> dict[Series, float] | None:
        """The totals of every worker (Redis), or this process's (memory); None when Redis
        does not answer."""
        if self._redis is None:
            return self.local()
        await self.flush()
        try:
            raw = await self._redis.hgetall(self._key)
        except Exception as exc:
            log.warning("metrics: Redis did not answer (%s)", type(exc).__name__)
            return None
        totals: dict[Series, float] = {}
        for key, value in raw.items():
            series = _decode(key)
            if series is not None:
                totals[series] = float(value)
        return totals


METRICS = Metrics()


# The pipeline's turns -----------------------------------------------------------------------
@dataclass
class _Turn:
    outcome: str = "answered"


_CURRENT_TURN: ContextVar[_Turn | None] = ContextVar("maraude_turn", default=None)

S = TypeVar("S")
P = ParamSpec("P")
R = TypeVar("R")


def timed_turn(
    method: Callable[Concatenate[S, Any, P], Awaitable[R]],
) -> Callable[Concatenate[S, Any, P], Awaitable[R]]:
    """Count a pipeline method `(self, channel, ...)` as one turn of `channel`, with its
    latency; its outcome is "answered" unless the method calls `mark_turn` (or raises)."""

    @functools.wraps(method)
    async def timed(self: S, channel: Any, /, *args: P.args, **kwargs: P.kwargs) -> R:
        turn = _Turn()
        token = _CURRENT_TURN.set(turn)
        started = time.perf_counter()
        try:
            return await method(self, channel, *args, **kwargs)
        except BaseException:
            turn.outcome = "failed"
            raise
        finally:
            _CURRENT_TURN.reset(token)
            METRICS.turn(str(channel), turn.outcome, time.perf_counter() - started)

    return timed


def mark_turn(outcome: str) -> None:
    """The outcome of the turn in progress (engine_down, held); outside a turn: nothing."""
    turn = _CURRENT_TURN.get()
    if turn is not None:
        turn.outcome = outcome


# The exposition format ----------------------------------------------------------------------
def _le(bound: float) -> str:
    return "+Inf" if math.isinf(bound) else repr(float(bound))


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _sort_key(series: Series) -> tuple[Any, ...]:
    """By labels, then (histograms) buckets by bound, the sum, the count."""
    name, labels = series
    rest = tuple(pair for pair in labels if pair[0] != "le")
    le = next((float(v) for k, v in labels if k == "le"), 0.0)
    suffix = 0 if name.endswith("_bucket") else 1 if name.endswith("_sum") else 2
    return (rest, suffix, le)


def _with_all_buckets(name: str, counted: dict[Series, float]) -> dict[Series, float]:
    """Every bucket of each label set of histogram `name` (those never reached at 0)."""
    filled = dict(counted)
    for series_name, labels in counted:
        if series_name == f"{name}_count":
            for bound in (*LATENCY_BUCKETS, math.inf):
                bucket = (f"{name}_bucket", _labels({**dict(labels), "le": _le(bound)}))
                filled.setdefault(bucket, 0.0)
    return filled


@dataclass
class Gauge:
    """A figure read when /metrics is asked (the database, the engines)."""

    family: Family
    samples: dict[Labels, float] = field(default_factory=dict)

    def set(self, value: float, **labels: str) -> Gauge:
        self.samples[_labels(labels)] = float(value)
        return self


def defaults(engine_urls: Iterable[str]) -> dict[Series, float]:
    """The counters shown at 0 before anything happened (so rates work from the start)."""
    zero: dict[Series, float] = {}
    for channel in Channel:
        for outcome in TURN_OUTCOMES:
            zero[(TURNS.name, _labels({"channel": str(channel), "outcome": outcome}))] = 0.0
    for kind in FollowUpKind:
        zero[(FOLLOWUPS_SENT.name, _labels({"kind": str(kind)}))] = 0.0
    for alert in SLA_ALERT_KINDS:
        zero[(SLA_ALERTS.name, _labels({"kind": alert}))] = 0.0
    for url in engine_urls:
        zero[(ENGINE_ERRORS.name, _labels({"engine": engine_label(url)}))] = 0.0
    return zero


def exposition(counted: dict[Series, float], gauges: Iterable[Gauge] = ()) -> str:
    """Prometheus' text format (version 0.0.4): HELP and TYPE, then each sample."""
    lines: list[str] = []
    counted = _with_all_buckets(TURN_SECONDS.name, counted)
    for family in COUNTED:
        names = (
            {f"{family.name}_bucket", f"{family.name}_sum", f"{family.name}_count"}
            if family.kind == "histogram"
            else {family.name}
        )
        mine = sorted((s for s in counted if s[0] in names), key=_sort_key)
        lines += [
            f"# HELP {family.name} {_help(family.help)}",
            f"# TYPE {family.name} {family.kind}",
        ]
        lines += [_sample(series, counted[series]) for series in mine]
    for gauge in gauges:
        family = gauge.family
        lines += [
            f"# HELP {family.name} {_help(family.help)}",
            f"# TYPE {family.name} {family.kind}",
        ]
        lines += [
            _sample((family.name, labels), value) for labels, value in sorted(gauge.samples.items())
        ]
    return "\n".join(lines) + "\n"


def _sample(series: Series, value: float) -> str:
    name, labels = series
    if not labels:
        return f"{name} {_number(value)}"
    inner = ",".join(f'{key}="{_escape(val)}"' for key, val in labels)
    return f"{name}{{{inner}}} {_number(value)}"


# Figures kept in the database ---------------------------------------------------------------
FOLLOWUPS_DUE = Family(
    "maraude_followups_due", "gauge", "Follow-ups due and not sent yet (the sweeps' backlog)."
)
HELD_MESSAGES = Family(
    "maraude_held_messages",
    "gauge",
    "Messages kept while every engine was down, waiting to be replayed.",
)
UPDATES_PENDING = Family(
    "maraude_webhook_updates_pending", "gauge", "Telegram updates received, not handled yet."
)


def stored_figures(db: Database, now: datetime) -> list[Gauge]:
    """What the database says now (one short transaction of counts)."""
    due = Gauge(FOLLOWUPS_DUE)
    for kind in FollowUpKind:
        due.set(0, kind=str(kind))
    with db.transaction() as session:
        rows = session.execute(
            select(FollowUp.kind, func.count())
            .where(FollowUp.status == FollowUpStatus.pending, FollowUp.due_at <= now)
            .group_by(FollowUp.kind)
        )
        for kind, count in rows:
            due.set(count, kind=str(kind))
        held = session.scalar(select(func.count()).select_from(HeldMessage)) or 0
        pending = (
            session.scalar(
                select(func.count())
                .select_from(InboundUpdate)
                .where(InboundUpdate.state == "pending")
            )
            or 0
        )
    return [due, Gauge(HELD_MESSAGES).set(held), Gauge(UPDATES_PENDING).set(pending)]
