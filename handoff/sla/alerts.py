"""Scheduled SLA checks and the daily digest (jobs wired in maraude/jobs.py).

- `check_sla(services)` (every minute): for each unclaimed ticket past its SLA, once per
  ticket, the team is reminded in the ticket's forum topic of the counsellors' group (and the
  dashboard shows it); once past `manager_alert_factor` x the SLA, the managers of the team
  (or all managers) are alerted in the group's general topic. `SlaService.record_due` records
  each alert as a ticket event before it is sent, so running the check again, or in two app
  workers at once, never repeats one (a failed send is not retried: the dashboard still
  shows the late ticket).
- `send_digest(services)` (daily at `handoff.digest_time`): the digest of `SlaService.digest`
  posted in the group's general topic; the dashboard shows the same at /tableau/synthese.

Everything here is read by counsellors: French.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from core.clock import Clock
from core.db import Database
from core.metrics import METRICS
from core.models import EventKind, Urgency
from core.settings import Settings
from core.vocabulary import duration_fr
from handoff.accounts import AccountService, CounsellorRef
from handoff.sla.digest import digest_text
from handoff.sla.policy import waited_fr
from handoff.sla.service import SlaAlert, SlaService

log = logging.getLogger(__name__)


class Announcer(Protocol):
    """Where the alerts are posted: the counsellors' Telegram group (handoff/bridge/)."""

    async def notify(self, ticket_id: int, text: str) -> bool: ...

    async def announce(self, text: str) -> None: ...


class RunOnce(Protocol):
    """Claims a once-only run (the digest of a day) among the app's workers."""

    def run_once(self, kind: str, key: str, worker: str) -> bool: ...


class SlaHost(Protocol):
    """What the SLA jobs need of the app's services (maraude/services.py `Services`)."""

    @property
    def settings(self) -> Settings: ...
    @property
    def db(self) -> Database: ...
    @property
    def sla(self) -> SlaService: ...
    @property
    def accounts(self) -> AccountService: ...
    @property
    def bridge(self) -> Announcer | None: ...
    @property
    def followups(self) -> RunOnce | None: ...
    @property
    def worker_id(self) -> str: ...


def sla_service(services: SlaHost, clock: Clock | None = None) -> SlaService:
    """The app's SlaService, or one on another clock (tests, a digest for another day)."""
    if clock is None:
        return services.sla
    return SlaService(services.db, services.settings, clock)


def ticket_url(services: SlaHost, ticket_id: int) -> str:
    return f"{services.settings.public_url}/tableau/tickets/{ticket_id}"


def managers_for(team: str, accounts: list[CounsellorRef]) -> list[CounsellorRef]:
    """The managers/admins of the ticket's team; all of them if that team has none."""
    managers = [a for a in accounts if a.can_manage]
    of_team = [a for a in managers if a.team == team]
    return of_team or managers


def reminder_text(alert: SlaAlert, url: str) -> str:
    status = alert.status
    reference = alert.ticket.reference
    if alert.ticket.urgency == Urgency.crisis:
        head = f"🔴 Urgence {reference} toujours sans prise en charge"
    else:
        head = f"⏰ Ticket {reference} toujours sans prise en charge"
    return (
        f"{head} : {waited_fr(status)} d'attente (délai : {duration_fr(status.limit)}"
        f"{' ouvrées' if status.working_time else ''}). Qui le prend ?\n{url}"
    )


def manager_text(alert: SlaAlert, managers: list[CounsellorRef], team_name: str, url: str) -> str:
    status = alert.status
    names = ", ".join(m.first_name for m in managers) or "aucun·e responsable enregistré·e"
    kind = "Urgence" if alert.ticket.urgency == Urgency.crisis else "Ticket"
    return (
        f"🚨 {kind} {alert.ticket.reference} ({team_name}) toujours sans prise en charge : "
        f"{waited_fr(status)} d'attente, plus de {_factor(alert)} fois le délai "
        f"({duration_fr(status.limit)}{' ouvrées' if status.working_time else ''}).\n"
        f"Responsables alerté·es : {names}.\n{url}"
    )


def _factor(alert: SlaAlert) -> str:
    limit = alert.status.limit.total_seconds()
    ratio = alert.status.elapsed.total_seconds() / limit if limit else 0
    return f"{int(ratio)}" if ratio >= 1 else "1"


async def check_sla(services: SlaHost, *, clock: Clock | None = None) -> None:
    """Remind the team of late tickets, then alert a manager: each once per ticket."""
    await run_sla_check(services, clock=clock)


async def run_sla_check(services: SlaHost, *, clock: Clock | None = None) -> list[SlaAlert]:
    """`check_sla`, returning the alerts this call recorded (and tried to send)."""
    sla = sla_service(services, clock)
    alerts = await asyncio.to_thread(sla.record_due)
    if not alerts:
        return []
    accounts: list[CounsellorRef] | None = None
    names = sla.team_names
    for alert in alerts:
        ticket = alert.ticket
        url = ticket_url(services, ticket.id)
        log.info("ticket %s: %s", ticket.id, alert.kind)
        METRICS.sla_alert(alert.kind)  # /metrics
        bridge = services.bridge
        if bridge is None:
            continue  # the dashboard shows it (red badge, synthesis page)
        try:
            if alert.kind == EventKind.sla_breached:
                await bridge.notify(ticket.id, reminder_text(alert, url))
            else:
                if accounts is None:
                    accounts = list(await asyncio.to_thread(services.accounts.list))
                managers = managers_for(ticket.team, accounts or [])
                text = manager_text(alert, managers, names.get(ticket.team, ticket.team), url)
                await bridge.announce(text)
                await bridge.notify(ticket.id, text)
        except Exception:
            log.exception("ticket %s: could not send the %s message", ticket.id, alert.kind)
    return alerts


async def send_digest(services: SlaHost, *, clock: Clock | None = None) -> None:
    """Post the daily digest in the counsellors' group (general topic), if configured."""
    sla = sla_service(services, clock)
    digest = await asyncio.to_thread(sla.digest)
    bridge = services.bridge
    if bridge is None:
        log.info("daily digest: no counsellors' group, dashboard only")
        return
    followups = services.followups
    if followups is not None and not await asyncio.to_thread(
        followups.run_once, "digest", str(digest.day), services.worker_id
    ):
        log.info("daily digest of %s: already posted by another worker", digest.day)
        return
    text = digest_text(digest, services.settings.public_url, sla.policy.tz)
    try:
        await bridge.announce(text)
    except Exception:
        log.exception("could not post the daily digest")
