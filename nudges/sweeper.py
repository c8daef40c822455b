"""The follow-up sweeper: sends the follow-ups that are due.

`FollowUpSweeper.sweep` claims due follow-ups (FollowUpService.claim_due: row claiming that
is safe with several app processes), checks each against the rules (opt-out, blocked bot,
quiet hours, weekly cap), asks the policies what to send, sends it and closes the row. One
bad job never stops a sweep: a failure postpones the job with a backoff, then fails it after
`MAX_ATTEMPTS`. Telegram's 403 ("bot was blocked by the user") marks the person blocked and
cancels all their nudges; 429 postpones the job (and the rest of the batch) by `retry_after`.

Delivery is nudges/delivery.py; the periodic jobs that run the sweeper are wired in
maraude/jobs.py.
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
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from core.calendar import QuietHours
from core.clock import Clock
from core.metrics import METRICS
from core.models import Channel, FollowUpKind
from core.people import PeopleService
from nudges.contract import CounsellorNotice, NudgePolicies, Outgoing
from nudges.delivery import Deliver, RateLimited, RecipientBlocked, Undeliverable
from nudges.store import (
    KEPT_AFTER_STOP,
    NUDGE_KINDS,
    YOUTH_KINDS,
    FollowUpJob,
    FollowUpService,
)

if TYPE_CHECKING:
    from core.settings import Nudges

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5  # claims of one job before it is marked failed
BACKOFF_BASE = timedelta(minutes=1)  # 1, 2, 4, 8 minutes... between attempts
BACKOFF_MAX = timedelta(hours=1)
CAP_WINDOW = timedelta(days=7)
# A nudge to a person whose held messages are not answered yet waits this long, again and again.
HELD_WAIT = timedelta(minutes=1)
MAX_BATCHES = 20  # batches per sweep: a sweep stays short, the next one goes on
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


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
        if job.to_youth and (
            job.blocked or (job.opted_out and job.kind not in KEPT_AFTER_STOP)
        ):  # a kept appointment's reminder goes out after /stop (its policy checks it)
            reason = "opt_out" if job.opted_out and job.kind not in KEPT_AFTER_STOP else "blocked"
            await asyncio.to_thread(self.followups.mark_cancelled, job.id, self.worker, reason)
            return "cancelled", None
        calendar = self.calendar_for(job)
        if not calendar.allows(now):
            await self._postpone(job, calendar.next_allowed(now), "quiet_hours")
            return "postponed", None
        if job.to_youth and await asyncio.to_thread(
            self.followups.has_held_messages, job.person_id
        ):
            # Messages written while no engine answered (a /stop among them?) come first.
            await self._postpone(job, now + HELD_WAIT, "held_messages")
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
            METRICS.followup_sent(job.kind)  # /metrics
            try:
                await self.policies.after_sent(job)
            except Exception:
                log.exception("follow-up %s sent, but its next step failed", job.id)
        else:
            log.warning("follow-up %s was sent but no longer held by %s", job.id, self.worker)
        return "sent", None

    def calendar_for(self, job: FollowUpJob) -> QuietHours:
        """An appointment's reminder keeps the nights quiet only: a Sunday reminder of
        Monday's appointment is welcome (handoff/appointments/reminders.py)."""
        if job.kind == FollowUpKind.appointment_reminder:
            return self.calendar.nightly_only()
        return self.calendar

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
