"""The scheduled jobs of the app process, wired in one place: the follow-up sweeper, the SLA
check, the daily digest, the retention purge and the model watch.

One AsyncIOScheduler per app process (memory job store: the state that matters lives in the
database, so nothing is lost on restart), explicit job ids with `replace_existing=True`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from apscheduler.executors.asyncio import AsyncIOExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from handoff.sla.alerts import check_sla, send_digest
from studio.model_watch import register_model_watch

if TYPE_CHECKING:
    from maraude.services import Services

log = logging.getLogger(__name__)

# Job ids (explicit, so a restart or a second registration replaces instead of duplicating).
SWEEP_JOB = "followups.sweep"
SLA_JOB = "sla.check"
DIGEST_JOB = "digest.daily"
RETENTION_JOB = "retention.purge"
MINORS_JOB = "minors.forget"


async def forget_minors(services: Services) -> None:
    """Under 15: the engine's tracker of a conversation idle for a session is erased."""
    if services.minors is not None:
        await asyncio.to_thread(services.minors.forget_idle)


async def purge_retention(services: Services) -> None:
    """The retention hook: privacy work plugs `services.retention.purge()` in here."""
    retention = getattr(services, "retention", None)
    if retention is None or not hasattr(retention, "purge"):
        log.info("retention purge: not implemented yet, nothing purged")
        return
    result = retention.purge()
    if asyncio.iscoroutine(result):
        result = await result
    log.info("retention purge done: %s", result)


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
    register_model_watch(scheduler, settings, services.engine)  # hot swap of the engine's model
    return scheduler


async def stop_scheduler(services: Services, grace: float = 10.0) -> None:
    """Stop scheduling, let a sweep in progress finish its current job, then shut down."""
    scheduler = services.scheduler
    if scheduler is None or not scheduler.running:
        return
    scheduler.pause()
    await services.sweeper.stop(grace)
    scheduler.shutdown(wait=False)
