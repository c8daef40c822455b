"""The scheduled jobs of the app process, wired in one place: the follow-up sweeper, the SLA
check, the daily digest, the retention purge, the pending tracker erasures and the model
watch.

One AsyncIOScheduler per app process (memory job store: the state that matters lives in the
database, so nothing is lost on restart), explicit job ids with `replace_existing=True`.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from apscheduler.executors.asyncio import AsyncIOExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.replay import REPLAY_EVERY, replay_waiting
from bot.webchat.notify import SmtpMailer, WebChatNotices
from handoff.sla.alerts import check_sla, send_digest
from nudges.sweeper import quiet_hours_from
from studio.model_watch import MODEL_WATCH_JOB, register_model_watch

if TYPE_CHECKING:
    from maraude.services import Services

log = logging.getLogger(__name__)

# Job ids (explicit, so a restart or a second registration replaces instead of duplicating).
SWEEP_JOB = "followups.sweep"
SLA_JOB = "sla.check"
DIGEST_JOB = "digest.daily"
RETENTION_JOB = "retention.purge"
TRACKER_ERASURE_JOB = "privacy.tracker_erasures"
MINORS_JOB = "minors.forget"  # under 15: the tracker of an idle conversation (core/minors.py)
# Jobs that run even with nudges.enabled false (maraude/app.py): the young people's data rights.
PRIVACY_JOBS = (RETENTION_JOB, TRACKER_ERASURE_JOB, MINORS_JOB)
# Webhook mode: updates a dead worker left pending are drained; handled ones purged after a day.
INBOX_JOB = "inbox.drain"
INBOX_EVERY = timedelta(seconds=30)
INBOX_PURGE = "inbox.purge"  # once an hour, whatever the workers (run_once)
# Messages held while every engine was down, answered once one is back (bot/replay.py).
REPLAY_JOB = "held.replay"
# The e-mail telling a web chat young person that an answer waits (bot/webchat/notify.py).
WEBCHAT_NOTICES_JOB = "webchat-notices"
# Jobs kept with nudges.enabled false, besides the model watch (maraude/app.py).
ALWAYS_ON_JOBS = (*PRIVACY_JOBS, INBOX_JOB, REPLAY_JOB, WEBCHAT_NOTICES_JOB)
# A tracker erasure left pending while the engine was unreachable is retried after this (an
# engine that timed out may still be saving the turn), then every TRACKER_RETRY_EVERY.
TRACKER_GRACE = timedelta(minutes=1)
TRACKER_RETRY_EVERY = timedelta(minutes=5)


async def forget_minors(services: Services) -> None:
    """Under 15: the engine's tracker of a conversation idle for a session is erased."""
    if services.minors is not None:
        await asyncio.to_thread(services.minors.forget_idle)


async def purge_retention(services: Services) -> None:
    """The daily retention purge (core/retention.py): once a day, whatever the workers."""
    if services.retention is None:
        return
    tz = ZoneInfo(services.settings.nudges.timezone)
    day = services.clock.now().astimezone(tz).date().isoformat()
    first = await asyncio.to_thread(
        services.followups.run_once, RETENTION_JOB, day, services.worker_id
    )
    if first:
        await services.retention.purge(services.desk.forget, trigger="job")
        # The web chat's outbox items read a day ago (the message log keeps their text).
        purged = await asyncio.to_thread(services.webchat_store.purge_read)
        if purged:
            log.info("web chat: %s read outbox item(s) purged", purged)


async def retry_tracker_erasures(services: Services) -> None:
    """The tracker erasures still pending (core/erasure.py), until the store answers."""
    done, failed = await asyncio.to_thread(services.erasure.retry_pending, TRACKER_GRACE)
    if done or failed:
        log.info("tracker erasures: %s done, %s still pending", done, failed)


async def drain_inbox(services: Services) -> None:
    """Webhook updates left pending (their worker died, or stopped with the chat locked):
    processed by whichever worker gets the chat; done and failed rows purged after a day."""
    telegram = services.telegram
    if telegram is None or telegram.drain is None:
        return
    await telegram.drain.drain_stale()
    hour = services.clock.now().strftime("%Y-%m-%dT%H")
    if await asyncio.to_thread(services.followups.run_once, INBOX_PURGE, hour, services.worker_id):
        purged = await asyncio.to_thread(services.inbox.purge)
        if purged:
            log.info("inbox: %s handled update(s) forgotten", purged)


async def replay_held(services: Services) -> None:
    """Held messages answered and pushed once an engine answers (bot/replay.py)."""
    await replay_waiting(services.pipeline, services.chat_locks)


def webchat_notices(services: Services) -> WebChatNotices:
    """The e-mail notices of the web chat, at the services' clock; nightly quiet hours of the
    nudges (a counsellor's Sunday answer may be told, not at 2 a.m.)."""
    settings = services.settings
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    return WebChatNotices(
        services.webchat_store,
        SmtpMailer(settings.webchat.email, password),
        services.clock,
        quiet=quiet_hours_from(settings.nudges).nightly_only(),
        every=settings.webchat.notify_every,
        public_url=settings.public_url,
    )


async def send_webchat_notices(notices: WebChatNotices) -> None:
    """The notices due now (several workers: each claimed by one)."""
    await notices.run()


def build_scheduler(services: Services) -> AsyncIOScheduler:
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
    every = max(settings.nudges.sweep_every.total_seconds(), 1.0)
    scheduler.add_job(
        services.sweeper.run, IntervalTrigger(seconds=every, timezone=tz), id=SWEEP_JOB, **common
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
    scheduler.add_job(
        forget_minors,
        IntervalTrigger(minutes=10, timezone=tz),
        args=[services],
        id=MINORS_JOB,
        **common,
    )
    scheduler.add_job(
        retry_tracker_erasures,
        IntervalTrigger(seconds=TRACKER_RETRY_EVERY.total_seconds(), timezone=tz),
        args=[services],
        id=TRACKER_ERASURE_JOB,
        next_run_time=datetime.now(tz),  # also at start
        **common,
    )
    if services.telegram is not None and services.telegram.drain is not None:
        scheduler.add_job(
            drain_inbox,
            IntervalTrigger(seconds=INBOX_EVERY.total_seconds(), timezone=tz),
            args=[services],
            id=INBOX_JOB,
            next_run_time=datetime.now(tz),  # also at start: what a stopped worker left
            **common,
        )
    if services.pipeline.outlets:  # a channel it can push to (Telegram); else on next message
        scheduler.add_job(
            replay_held,
            IntervalTrigger(seconds=REPLAY_EVERY, timezone=tz),
            args=[services],
            id=REPLAY_JOB,
            next_run_time=datetime.now(tz),  # also at start: what was held before a restart
            **common,
        )
    if settings.webchat.enabled and settings.webchat.email.enabled:
        scheduler.add_job(
            send_webchat_notices,
            IntervalTrigger(minutes=1, timezone=tz),
            args=[webchat_notices(services)],
            id=WEBCHAT_NOTICES_JOB,
            **common,
        )
    register_model_watch(  # hot swap of the engine's model: one worker per model file
        scheduler,
        settings,
        services.engine,
        lambda key: services.followups.run_once(MODEL_WATCH_JOB, key, services.worker_id),
    )
    return scheduler


async def stop_scheduler(services: Services, grace: float = 10.0) -> None:
    """Stop scheduling, let a sweep in progress finish its current job, then shut down."""
    scheduler = services.scheduler
    if scheduler is None or not scheduler.running:
        return
    scheduler.pause()
    await services.sweeper.stop(grace)
    scheduler.shutdown(wait=False)
