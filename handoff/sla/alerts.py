"""Scheduled SLA checks and the daily digest (jobs of nudges/sweeper.py).

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
from datetime import datetime
from typing import Any

from core.clock import Clock
from core.models import EventKind, Urgency
from handoff.accounts import CounsellorRef
from handoff.sla.policy import Digest, SlaAlert, SlaService, duration_fr, waited_fr

log = logging.getLogger(__name__)

MAX_DIGEST_LINES = 30  # per section in the Telegram message; the page shows everything
SYNTHESE_PATH = "/tableau/synthese"


def sla_service(services: Any, clock: Clock | None = None) -> SlaService:
    """The app's SlaService (`services.sla` if the composition root made one)."""
    existing: SlaService | None = getattr(services, "sla", None)
    if existing is not None and clock is None:
        return existing
    return SlaService(services.db, services.settings, clock or _TicketClock(services))


class _TicketClock:
    """The app's clock, as the ticket service sees it (create_app(clock=...))."""

    def __init__(self, services: Any) -> None:
        self._tickets = services.tickets

    def now(self) -> datetime:
        now: datetime = self._tickets.now()
        return now


def ticket_url(services: Any, ticket_id: int) -> str:
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


async def check_sla(services: Any, *, clock: Clock | None = None) -> None:
    """Remind the team of late tickets, then alert a manager: each once per ticket."""
    await run_sla_check(services, clock=clock)


async def run_sla_check(services: Any, *, clock: Clock | None = None) -> list[SlaAlert]:
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
        bridge = getattr(services, "bridge", None)
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


# Digest ------------------------------------------------------------------------------------
def _local(moment: Any, tz: Any, fmt: str) -> str:
    return str(moment.astimezone(tz).strftime(fmt))


def digest_text(digest: Digest, base_url: str, tz: Any) -> str:
    """The digest as a Telegram message (plain text, French)."""
    day = digest.day.strftime("%d/%m/%Y")
    lines = [f"☀️ Synthèse du {day}"]

    def link(ticket_id: int) -> str:
        return f"{base_url}/tableau/tickets/{ticket_id}"

    lines.append("")
    if digest.unclaimed:
        lines.append(f"📥 Tickets non pris en charge ({digest.unclaimed_count}) :")
        for team in digest.unclaimed:
            lines.append(f"• {team.team_name} ({len(team.tickets)})")
            for item in team.tickets[:MAX_DIGEST_LINES]:
                ticket = item.ticket
                mark = "🔴 urgence, " if ticket.urgency == Urgency.crisis else ""
                late = " ⚠️ délai dépassé" if item.status.breached else ""
                needs = f", {', '.join(item.needs)}" if item.needs else ""
                lines.append(
                    f"  {ticket.reference} ({mark}depuis le "
                    f"{_local(ticket.created_at, tz, '%d/%m %H:%M')}, "
                    f"{item.waited}{needs}){late} {link(ticket.id)}"
                )
            if len(team.tickets) > MAX_DIGEST_LINES:
                lines.append(f"  … et {len(team.tickets) - MAX_DIGEST_LINES} autres")
    else:
        lines.append("📥 Aucun ticket en attente de prise en charge.")

    lines.append("")
    if digest.breaches:
        lines.append(f"⏰ Délais dépassés ces dernières 24 h ({len(digest.breaches)}) :")
        for breach in digest.breaches[:MAX_DIGEST_LINES]:
            state = (
                "toujours en attente"
                if breach.still_waiting
                else f"pris par {breach.assignee_name}"
                if breach.assignee_name
                else "traité"
            )
            manager = ", responsable alerté·e" if breach.manager_alerted_at else ""
            lines.append(
                f"• #{breach.ticket_id} ({breach.team_name}) : {state}{manager} "
                f"{link(breach.ticket_id)}"
            )
    else:
        lines.append("⏰ Aucun délai dépassé ces dernières 24 h.")

    lines.append("")
    if digest.follow_ups:
        lines.append(f"📅 Relances prévues aujourd'hui ({len(digest.follow_ups)}) :")
        for follow in digest.follow_ups[:MAX_DIGEST_LINES]:
            who = f", suivi par {follow.assignee_name}" if follow.assignee_name else ""
            lines.append(
                f"• #{follow.ticket_id} à {_local(follow.due_at, tz, '%H:%M')} "
                f"({follow.team_name}{who}) {link(follow.ticket_id)}"
            )
    else:
        lines.append("📅 Aucune relance prévue aujourd'hui.")
    lines.append("")
    lines.append(f"Tout le détail : {base_url}{SYNTHESE_PATH}")
    return "\n".join(lines)


async def send_digest(services: Any, *, clock: Clock | None = None) -> None:
    """Post the daily digest in the counsellors' group (general topic), if configured."""
    sla = sla_service(services, clock)
    digest = await asyncio.to_thread(sla.digest)
    bridge = getattr(services, "bridge", None)
    if bridge is None:
        log.info("daily digest: no counsellors' group, dashboard only")
        return
    followups = getattr(services, "followups", None)
    sweeper = getattr(services, "sweeper", None)
    worker = sweeper.worker if sweeper is not None else "app"
    if followups is not None and not await asyncio.to_thread(
        followups.run_once, "digest", str(digest.day), worker
    ):
        log.info("daily digest of %s: already posted by another worker", digest.day)
        return
    text = digest_text(digest, services.settings.public_url, sla.policy.tz)
    try:
        await bridge.announce(text)
    except Exception:
        log.exception("could not post the daily digest")
