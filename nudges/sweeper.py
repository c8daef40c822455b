"""Scheduled work of the app process: the follow-up sweeper and the APScheduler jobs.

`FollowUpSweeper.sweep` claims due follow-ups (FollowUpService.claim_due: row claiming that
is safe with several app processes), checks each against the rules (opt-out, blocked bot,
quiet hours, weekly cap), asks the policies what to send, sends it and closes the row. One
bad job never stops a sweep: a failure postpones the job with a backoff, then fails it after
`MAX_ATTEMPTS`. Telegram's 403 ("bot was blocked by the user") marks the person blocked and
cancels all their nudges; 429 postpones the job (and the rest of the batch) by `retry_after`.

`build_scheduler` registers the periodic jobs (one AsyncIOScheduler per app process, memory
job store: the state that matters lives in the database, so nothing is lost on restart).
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from apscheduler.executors.asyncio import AsyncIOExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from telegram.error import Forbidden, RetryAfter

from bot.messages import Reply, replies_from_engine
from core.clock import Clock
from core.models import Channel, Direction, Origin
from core.people import LoggedMessage, PeopleService
from handoff.sla.alerts import check_sla, send_digest
from handoff.tickets import TicketNotFound
from nudges.calendar import QuietHours
from nudges.contract import CounsellorNotice, DirectMessage, EngineNudge, NudgePolicies, Outgoing
from nudges.store import NUDGE_KINDS, YOUTH_KINDS, FollowUpJob, FollowUpService
from studio.model_watch import register_model_watch

if TYPE_CHECKING:
    from bot.engine_client import EngineClient
    from bot.telegram import TelegramChannel
    from core.settings import Nudges
    from handoff.bridge.core import TelegramBridge
    from handoff.desk import HandoffDesk
    from handoff.tickets import TicketService
    from studio.experiments.exposures import ExperimentService

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5  # claims of one job before it is marked failed
BACKOFF_BASE = timedelta(minutes=1)  # 1, 2, 4, 8 minutes... between attempts
BACKOFF_MAX = timedelta(hours=1)
CAP_WINDOW = timedelta(days=7)
MAX_BATCHES = 20  # batches per sweep: a sweep stays short, the next one goes on
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# Job ids (explicit, so a restart or a second registration replaces instead of duplicating).
SWEEP_JOB = "followups.sweep"
SLA_JOB = "sla.check"
DIGEST_JOB = "digest.daily"
RETENTION_JOB = "retention.purge"


# Delivery ----------------------------------------------------------------------------------
class RecipientBlocked(Exception):
    """The person blocked the bot (Telegram 403): nothing can reach them any more."""


class RateLimited(Exception):
    """Flood control (Telegram 429): try again after `retry_after` seconds."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"retry after {retry_after}s")
        self.retry_after = retry_after


class Undeliverable(Exception):
    """This job can never be delivered here (e.g. a Telegram person while Telegram is off)."""


class Deliver(Protocol):
    async def __call__(self, job: FollowUpJob, outgoing: Outgoing) -> None:
        """Send `outgoing`; raise RecipientBlocked, RateLimited, Undeliverable or anything."""
        ...


def _seconds(delay: Any) -> float:
    return float(delay.total_seconds() if hasattr(delay, "total_seconds") else delay)


class ChannelDelivery:
    """Sends what the policies decided: to the young person on their channel (an engine
    response or a counsellor's text), or to the counsellors of a ticket."""

    def __init__(
        self,
        *,
        people: PeopleService,
        tickets: TicketService,
        desk: HandoffDesk,
        engine: EngineClient,
        telegram: TelegramChannel | None = None,
        bridge: TelegramBridge | None = None,
        experiments: ExperimentService | None = None,
    ) -> None:
        self.people = people
        self.tickets = tickets
        self.desk = desk
        self.engine = engine
        self.telegram = telegram
        self.bridge = bridge
        self.experiments = experiments  # records the wording variants a nudge showed

    async def __call__(self, job: FollowUpJob, outgoing: Outgoing) -> None:
        if isinstance(outgoing, CounsellorNotice):
            await self._to_counsellors(outgoing)
            return
        if isinstance(outgoing, EngineNudge):
            items = await self.engine.trigger(job.pseudo_id, outgoing.intent, outgoing.entities)
            replies = replies_from_engine(items)
            if not replies:
                log.warning("follow-up %s: the engine said nothing for %s", job.id, outgoing.intent)
                return
        elif isinstance(outgoing, DirectMessage):
            replies = [Reply(outgoing.text)]
        else:
            raise Undeliverable(f"unknown outgoing {outgoing!r}")
        await self._to_youth(job, replies)
        if isinstance(outgoing, EngineNudge) and self.experiments is not None:
            await self._exposures(job, replies)
        if isinstance(outgoing, DirectMessage) and job.ticket_id is not None:
            return  # a counsellor's message: Policies.after_sent keeps it in the ticket
        try:  # it is sent: a failure to record it must not send it again
            await self._record(job, [reply.text for reply in replies])
        except Exception:
            log.exception("follow-up %s sent but not recorded", job.id)

    async def _exposures(self, job: FollowUpJob, replies: list[Reply]) -> None:
        assert self.experiments is not None
        try:  # analytics: a failure here must not make the nudge count as unsent
            await asyncio.to_thread(
                self.experiments.record, job.person_id, [reply.text for reply in replies]
            )
        except Exception:
            log.exception("follow-up %s: wording variants not recorded", job.id)

    async def _to_youth(self, job: FollowUpJob, replies: list[Reply]) -> None:
        if job.channel == Channel.telegram:
            if self.telegram is None:
                raise Undeliverable("Telegram is off (no TELEGRAM_BOT_TOKEN)")
            try:
                await self.telegram.push(int(job.channel_user_id), replies)
            except Forbidden as exc:
                raise RecipientBlocked(str(exc)) from exc
            except RetryAfter as exc:
                raise RateLimited(_seconds(exc.retry_after)) from exc
        # The simulator and the terminal have no push: they read what is stored (the
        # simulator polls the messages of the person's ticket).

    async def _record(self, job: FollowUpJob, texts: list[str]) -> None:
        if job.ticket_id is not None:
            try:
                ticket = await asyncio.to_thread(self.tickets.get, job.ticket_id)
            except TicketNotFound:
                pass
            else:  # in the ticket's transcript, and shown to its counsellors
                await self.desk.bot_said(ticket, texts)
                return
        logged = [LoggedMessage(Direction.outgoing, Origin.bot, text) for text in texts]
        await asyncio.to_thread(self.people.log_messages, job.person_id, logged)  # consent-aware

    async def _to_counsellors(self, notice: CounsellorNotice) -> None:
        # The dashboard shows it as a note of the ticket (no author); the group, in the topic.
        await asyncio.to_thread(self.tickets.system_note, notice.ticket_id, notice.text)
        if self.bridge is not None:
            try:
                await self.bridge.notify(notice.ticket_id, f"⏰ {notice.text}")
            except Exception:
                log.exception("reminder of ticket %s not posted in its topic", notice.ticket_id)


# The sweeper -------------------------------------------------------------------------------
@dataclass
class SweepReport:
    claimed: int = 0
    sent: int = 0
    postponed: int = 0
    cancelled: int = 0
    failed: int = 0

    @property
    def handled(self) -> int:
        return self.sent + self.postponed + self.cancelled + self.failed


def make_worker_id() -> str:
    """hostname:pid:random, unique per app process (and fits the 64-char column)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"


def quiet_hours_from(nudges: Nudges) -> QuietHours:
    return QuietHours(
        tz=ZoneInfo(nudges.timezone),
        start=time.fromisoformat(nudges.quiet_start),
        end=time.fromisoformat(nudges.quiet_end),
        quiet_weekdays=frozenset(WEEKDAYS.index(day) for day in nudges.quiet_days),
        public_holidays=nudges.public_holidays,
    )


class FollowUpSweeper:
    def __init__(
        self,
        followups: FollowUpService,
        policies: NudgePolicies,
        deliver: Deliver | Callable[[FollowUpJob, Outgoing], Awaitable[None]],
        calendar: QuietHours,
        cap_per_week: int,
        worker: str,
        clock: Clock,
        batch_size: int = 100,
        *,
        people: PeopleService | None = None,
        max_batches: int = MAX_BATCHES,
    ) -> None:
        self.followups = followups
        self.policies = policies
        self.deliver = deliver
        self.calendar = calendar
        self.cap_per_week = cap_per_week
        self.worker = worker
        self.clock = clock
        self.batch_size = batch_size
        self.people = people
        self.max_batches = max_batches
        self._stopping = False
        self._current: asyncio.Task[Any] | None = None

    async def run(self) -> None:
        """The scheduler's job: one sweep, logged."""
        report = await self.sweep()
        if report.claimed:
            log.info(
                "follow-ups: %s sent, %s postponed, %s cancelled, %s failed (%s)",
                report.sent,
                report.postponed,
                report.cancelled,
                report.failed,
                self.worker,
            )

    async def stop(self, grace: float = 10.0) -> None:
        """Let a running sweep finish the job in hand (and no more), then return."""
        self._stopping = True
        task = self._current
        if task is not None and not task.done() and task is not asyncio.current_task():
            await asyncio.wait({task}, timeout=grace)

    async def sweep(self) -> SweepReport:
        """Claim due follow-ups batch after batch (up to `max_batches`) and handle them."""
        self._current = asyncio.current_task()
        report = SweepReport()
        try:
            for _ in range(self.max_batches):
                if self._stopping:
                    break
                jobs = await asyncio.to_thread(
                    self.followups.claim_due, self.worker, self.batch_size
                )
                report.claimed += len(jobs)
                held_until = await self._handle_batch(jobs, report)
                if held_until is not None or len(jobs) < self.batch_size:
                    break
        finally:
            self._current = None
        return report

    async def _handle_batch(self, jobs: list[FollowUpJob], report: SweepReport) -> datetime | None:
        held_until: datetime | None = None  # flood control: the rest waits as well
        for index, job in enumerate(jobs):
            if self._stopping or held_until is not None:
                # Give the rest back now rather than leave it leased.
                for rest in jobs[index:]:
                    due = held_until or self.clock.now()
                    reason = "flood_control" if held_until else "shutdown"
                    if await self._postpone(rest, due, reason):
                        report.postponed += 1
                break
            try:
                outcome, until = await self._handle(job)
            except Exception:
                log.exception("follow-up %s: unexpected error in the sweeper", job.id)
                outcome, until = await self._retry_later(job, "error"), None
            setattr(report, outcome, getattr(report, outcome) + 1)
            held_until = until
        return held_until

    async def _handle(self, job: FollowUpJob) -> tuple[str, datetime | None]:
        now = self.clock.now()
        if job.to_youth and (job.opted_out or job.blocked):
            reason = "opt_out" if job.opted_out else "blocked"
            await asyncio.to_thread(self.followups.mark_cancelled, job.id, self.worker, reason)
            return "cancelled", None
        if not self.calendar.allows(now):
            await self._postpone(job, self.calendar.next_allowed(now), "quiet_hours")
            return "postponed", None
        outgoing = await asyncio.to_thread(self.policies.outgoing, job)
        if outgoing is None:
            await asyncio.to_thread(self.followups.mark_cancelled, job.id, self.worker, "obsolete")
            return "cancelled", None
        # The weekly cap counts light nudges to the young person (not a closing step that
        # only tells the counsellor).
        if job.kind in NUDGE_KINDS and not isinstance(outgoing, CounsellorNotice):
            if self.cap_per_week <= 0:
                await asyncio.to_thread(self.followups.mark_cancelled, job.id, self.worker, "cap")
                return "cancelled", None
            sent = await asyncio.to_thread(
                self.followups.nudges_sent_since, job.person_id, now - CAP_WINDOW
            )
            if len(sent) >= self.cap_per_week:
                # Allowed again once enough of them left the 7-day window.
                frees = sent[len(sent) - self.cap_per_week] + CAP_WINDOW + timedelta(seconds=1)
                await self._postpone(job, self.calendar.next_allowed(max(frees, now)), "cap")
                return "postponed", None
        # Last look before sending: an opt-out (or a replacement) may have cancelled it.
        if not await asyncio.to_thread(self.followups.still_held, job.id, self.worker):
            return "cancelled", None
        try:
            await self.deliver(job, outgoing)
        except RecipientBlocked:
            await asyncio.to_thread(self._blocked, job)
            return "cancelled", None
        except RateLimited as exc:
            until = now + timedelta(seconds=max(1.0, exc.retry_after))
            await self._postpone(job, until, "flood_control")
            return "postponed", until
        except Undeliverable as exc:
            log.warning("follow-up %s cannot be delivered: %s", job.id, exc)
            await asyncio.to_thread(self.followups.mark_failed, job.id, self.worker, str(exc))
            return "failed", None
        except Exception as exc:
            log.warning("follow-up %s: delivery failed (attempt %s): %r", job.id, job.attempts, exc)
            return await self._retry_later(job, type(exc).__name__), None
        if await asyncio.to_thread(self.followups.mark_sent, job.id, self.worker):
            try:
                await self.policies.after_sent(job)
            except Exception:
                log.exception("follow-up %s sent, but its next step failed", job.id)
        else:
            log.warning("follow-up %s was sent but no longer held by %s", job.id, self.worker)
        return "sent", None

    def _blocked(self, job: FollowUpJob) -> None:
        log.info("person %s blocked the bot: their nudges are cancelled", job.pseudo_id)
        if self.people is not None:
            self.people.mark_blocked(Channel(job.channel), job.channel_user_id)
        self.followups.cancel(job.person_id, kinds=YOUTH_KINDS, reason="blocked")
        self.followups.mark_cancelled(job.id, self.worker, "blocked")  # if not a youth kind

    async def _retry_later(self, job: FollowUpJob, reason: str) -> str:
        try:
            if job.attempts >= MAX_ATTEMPTS:
                await asyncio.to_thread(self.followups.mark_failed, job.id, self.worker, reason)
                return "failed"
            delay = min(BACKOFF_MAX, BACKOFF_BASE * 2 ** max(0, job.attempts - 1))
            await self._postpone(job, self.clock.now() + delay, f"retry:{reason}")
            return "postponed"
        except Exception:
            log.exception("follow-up %s: could not even postpone it (its lease will)", job.id)
            return "failed"

    async def _postpone(self, job: FollowUpJob, due_at: datetime, reason: str) -> bool:
        return await asyncio.to_thread(self.followups.postpone, job.id, self.worker, due_at, reason)


# Wiring ------------------------------------------------------------------------------------
def build_sweeper(services: Any, clock: Clock) -> FollowUpSweeper | None:
    """The app's sweeper with the app's policies (None without policies or follow-ups)."""
    policies = getattr(services, "policies", None)
    if policies is None or getattr(services, "followups", None) is None:
        log.warning("no nudge policies: follow-ups are not swept")
        return None
    settings = services.settings
    deliver = ChannelDelivery(
        people=services.people,
        tickets=services.tickets,
        desk=services.desk,
        engine=services.engine,
        telegram=services.telegram,
        bridge=services.bridge,
        experiments=getattr(services, "experiments", None),
    )
    return FollowUpSweeper(
        services.followups,
        policies,
        deliver,
        quiet_hours_from(settings.nudges),
        settings.nudges.cap_per_week,
        make_worker_id(),
        clock,
        settings.nudges.batch_size,
        people=services.people,
    )


async def purge_retention(services: Any) -> None:
    """The retention hook: privacy work plugs `services.retention.purge()` in here."""
    retention = getattr(services, "retention", None)
    if retention is None or not hasattr(retention, "purge"):
        log.info("retention purge: not implemented yet, nothing purged")
        return
    result = retention.purge()
    if asyncio.iscoroutine(result):
        result = await result
    log.info("retention purge done: %s", result)


def build_scheduler(services: Any) -> AsyncIOScheduler:
    """One scheduler per app process (memory job store); started by the app's lifespan."""
    settings = services.settings
    tz = ZoneInfo(settings.nudges.timezone)
    scheduler = AsyncIOScheduler(
        timezone=tz,
        jobstores={"default": MemoryJobStore()},
        executors={"default": AsyncIOExecutor()},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60},
    )
    common: dict[str, Any] = {"replace_existing": True, "max_instances": 1, "coalesce": True}
    sweeper = getattr(services, "sweeper", None)
    if sweeper is not None:
        every = max(settings.nudges.sweep_every.total_seconds(), 1.0)
        scheduler.add_job(
            sweeper.run, IntervalTrigger(seconds=every, timezone=tz), id=SWEEP_JOB, **common
        )
    scheduler.add_job(
        check_sla,
        IntervalTrigger(minutes=1, timezone=tz),
        args=[services],
        id=SLA_JOB,
        **common,
    )
    hour, minute = (int(part) for part in settings.handoff.digest_time.split(":"))
    scheduler.add_job(
        send_digest,
        CronTrigger(hour=hour, minute=minute, timezone=tz),
        args=[services],
        id=DIGEST_JOB,
        misfire_grace_time=3600,
        **common,
    )
    scheduler.add_job(
        purge_retention,
        CronTrigger(hour=3, minute=30, timezone=tz),
        args=[services],
        id=RETENTION_JOB,
        misfire_grace_time=3600,
        **common,
    )
    register_model_watch(scheduler, services)  # hot swap of the engine's model
    return scheduler


async def stop_scheduler(services: Any, grace: float = 10.0) -> None:
    """Stop scheduling, let a sweep in progress finish its current job, then shut down."""
    scheduler: AsyncIOScheduler | None = getattr(services, "scheduler", None)
    if scheduler is None or not scheduler.running:
        return
    scheduler.pause()
    sweeper: FollowUpSweeper | None = getattr(services, "sweeper", None)
    if sweeper is not None:
        await sweeper.stop(grace)
    scheduler.shutdown(wait=False)
