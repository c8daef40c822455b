"""The daily digest as a page (French, /tableau/synthese): unclaimed tickets by team, SLA
breaches of the last 24 hours, today's follow-ups, today's appointments and those not marked
yet (handoff/sla/digest.py builds it).

Need to know: a counsellor's digest holds only the tickets they may read (their team's and
the ones they hold); managers and admins see the whole structure's."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from core.models import Urgency
from handoff.sla.alerts import sla_service
from handoff.sla.digest import by_team
from handoff.tickets import STATUS_LABELS
from web.dashboard.guard import QUEUE_PATH, DashboardRoute, ticket_path
from web.deps import Me, ServicesDep
from web.render import LocalTime, render

if TYPE_CHECKING:
    from handoff.accounts import CounsellorRef
    from handoff.sla.digest import Digest, DigestAppointment
    from maraude.services import Services

router = APIRouter(prefix=QUEUE_PATH, include_in_schema=False, route_class=DashboardRoute)


def digest_context(digest: Digest, services: Services) -> dict[str, Any]:
    """The digest of SlaService.digest as the page shows it (each item links to its ticket)."""
    times = LocalTime.of(services.settings)
    teams = [
        {
            "id": team.team,
            "name": team.team_name,
            "tickets": [
                {
                    "id": item.ticket.id,
                    "reference": item.ticket.reference,
                    "url": ticket_path(item.ticket.id),
                    "crisis": item.ticket.urgency == Urgency.crisis,
                    "created": times.show(item.ticket.created_at, "%d/%m %H:%M"),
                    "waited": item.waited,
                    "needs": item.needs,
                    "sla": item.status.colour,
                    "late": item.status.breached,
                    "manager": item.status.manager_due,
                }
                for item in team.tickets
            ],
        }
        for team in digest.unclaimed
    ]
    breaches = [
        {
            "id": b.ticket_id,
            "reference": f"#{b.ticket_id}",
            "url": ticket_path(b.ticket_id),
            "team_name": b.team_name,
            "crisis": b.urgency == Urgency.crisis,
            "breached_at": times.show(b.breached_at, "%d/%m %H:%M"),
            "manager_alerted_at": times.show(b.manager_alerted_at, "%d/%m %H:%M"),
            "still_waiting": b.still_waiting,
            "state": (
                "toujours en attente"
                if b.still_waiting
                else f"pris par {b.assignee_name}"
                if b.assignee_name
                else STATUS_LABELS[b.status].lower()
            ),
        }
        for b in digest.breaches
    ]
    follow_ups = [
        {
            "id": f.ticket_id,
            "reference": f"#{f.ticket_id}",
            "url": ticket_path(f.ticket_id),
            "team_name": f.team_name,
            "at": times.show(f.due_at, "%H:%M"),
            "assignee": f.assignee_name or "",
            "status_label": STATUS_LABELS[f.status],
            "reminder": f.reminder,
        }
        for f in digest.follow_ups
    ]
    return {
        "appointments": _appointments(digest.appointments, times, "%H:%M"),
        "unmarked": _appointments(digest.unmarked, times, "%d/%m %H:%M"),
        "day": digest.day.strftime("%d/%m/%Y"),
        "generated": times.show(digest.generated_at, "%H:%M"),
        "unclaimed_count": digest.unclaimed_count,
        "teams": teams,
        "breaches": breaches,
        "follow_ups": follow_ups,
        "sla_late": sum(
            1 for team in digest.unclaimed for item in team.tickets if item.status.breached
        ),
        "digest_time": services.settings.handoff.digest_time,
    }


def _appointments(
    items: list[DigestAppointment], times: LocalTime, fmt: str
) -> list[dict[str, Any]]:
    """Appointments by team (handoff/sla/digest.py), each linking to its ticket."""
    return [
        {
            "name": team_name,
            "items": [
                {
                    "id": a.ticket_id,
                    "reference": f"#{a.ticket_id}",
                    "url": ticket_path(a.ticket_id),
                    "at": times.show(a.starts_at, fmt),
                    "kind": a.kind_word,
                    "state": a.state,
                    "confirmed": a.confirmed,
                    "counsellor": a.counsellor_name or "",
                }
                for a in team
            ],
        }
        for team_name, team in by_team(items)
    ]


def digest_for(digest: Digest, me: CounsellorRef, services: Services) -> Digest:
    """The digest as `me` may read it: only the tickets they may see (all for a manager)."""
    if me.can_manage:
        return digest
    ids = {item.ticket.id for team in digest.unclaimed for item in team.tickets}
    ids |= {b.ticket_id for b in digest.breaches} | {f.ticket_id for f in digest.follow_ups}
    ids |= {a.ticket_id for a in digest.appointments} | {a.ticket_id for a in digest.unmarked}
    shown = services.tickets.readable(ids, me)
    teams = [
        replace(team, tickets=[item for item in team.tickets if item.ticket.id in shown])
        for team in digest.unclaimed
    ]
    return replace(
        digest,
        unclaimed=[team for team in teams if team.tickets],
        breaches=[b for b in digest.breaches if b.ticket_id in shown],
        follow_ups=[f for f in digest.follow_ups if f.ticket_id in shown],
        appointments=[a for a in digest.appointments if a.ticket_id in shown],
        unmarked=[a for a in digest.unmarked if a.ticket_id in shown],
    )


@router.get("/synthese", response_class=HTMLResponse)
async def synthese_page(request: Request, services: ServicesDep, me: Me) -> Response:
    digest = await asyncio.to_thread(sla_service(services).digest)
    digest = await asyncio.to_thread(digest_for, digest, me, services)
    return render(request, services, "dashboard_synthese.html", digest_context(digest, services))
