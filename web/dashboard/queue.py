"""The queue (French, /tableau): open tickets, crises first then the longest waiting,
filtered by team, status and "mine"; the page and its live feed (/tableau/api/file).

Need to know: only the tickets the counsellor may read (their team's and the ones they hold;
managers and admins: all), and the count of late tickets among those only."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from core.models import OPEN_STATUSES, TicketStatus
from handoff.permissions import may_see
from handoff.sla.alerts import sla_service
from handoff.tickets import STATUS_LABELS, QueueFilter
from web.dashboard.guard import QUEUE_PATH, DashboardRoute
from web.dashboard.rows import ticket_row
from web.deps import Me, ServicesDep
from web.labels import team_names
from web.render import LocalTime, render

if TYPE_CHECKING:
    from handoff.accounts import CounsellorRef
    from maraude.services import Services

CLOSED_STATUSES = (TicketStatus.resolved, TicketStatus.closed_unreachable)
router = APIRouter(prefix=QUEUE_PATH, include_in_schema=False, route_class=DashboardRoute)


@dataclass(frozen=True)
class QueueChoice:
    """The queue filters as chosen in the page (and echoed back in its links)."""

    team: str  # a team id, or "tous"
    status: str  # "", a status value, or "clos"
    mine: bool

    def to_filter(self, me: CounsellorRef) -> QueueFilter:
        if self.status == "clos":
            statuses: tuple[TicketStatus, ...] = CLOSED_STATUSES
        elif self.status:
            statuses = (TicketStatus(self.status),)
        else:
            statuses = OPEN_STATUSES
        return QueueFilter(
            team=None if self.team == "tous" else self.team,
            statuses=statuses,
            assignee_id=me.id if self.mine else None,
        )

    @property
    def query(self) -> str:
        mine = "1" if self.mine else ""
        return urlencode({"equipe": self.team, "statut": self.status, "mes": mine})


def _choice(
    me: CounsellorRef, services: Services, equipe: str | None, statut: str, mes: str
) -> QueueChoice:
    teams = team_names(services.settings)
    if equipe is None:  # first visit: the counsellor's own team
        equipe = me.team if me.team in teams else "tous"
    if equipe != "tous" and equipe not in teams:
        equipe = "tous"
    valid = {str(s) for s in OPEN_STATUSES} | {"clos"}
    return QueueChoice(equipe, statut if statut in valid else "", mes in ("1", "on", "true"))


async def _queue_rows(
    services: Services, me: CounsellorRef, choice: QueueChoice
) -> list[dict[str, Any]]:
    tickets = await asyncio.to_thread(
        lambda: services.tickets.queue(choice.to_filter(me), viewer=me)
    )
    now = services.tickets.now()
    return [ticket_row(ticket, now, me, services) for ticket in tickets]


def late_count(services: Services, me: CounsellorRef) -> int:
    """Unclaimed tickets past their SLA, among those `me` may read (the queue's badge)."""
    return sum(
        1
        for ticket, status in sla_service(services).waiting()
        if status.breached and may_see(me, ticket.team, ticket.assignee_id)
    )


def _refreshed(services: Services) -> str:
    return LocalTime.of(services.settings).show(services.tickets.now(), "%H:%M:%S")


@router.get("", response_class=HTMLResponse)
async def queue_page(
    request: Request,
    services: ServicesDep,
    me: Me,
    equipe: Annotated[str | None, Query(max_length=40)] = None,
    statut: Annotated[str, Query(max_length=40)] = "",
    mes: Annotated[str, Query(max_length=8)] = "",
) -> Response:
    choice = _choice(me, services, equipe, statut, mes)
    rows = await _queue_rows(services, me, choice)
    status_options = [("", "Ouverts (tous)")]
    status_options += [(str(s), STATUS_LABELS[s]) for s in OPEN_STATUSES]
    status_options.append(("clos", "Clôturés"))
    return render(
        request,
        services,
        "dashboard_queue.html",
        {
            "rows": rows,
            "choice": choice,
            "teams": team_names(services.settings),
            "status_options": status_options,
            "feed_url": f"{QUEUE_PATH}/api/file?{choice.query}",
            "refreshed": _refreshed(services),
            "sla_late": await asyncio.to_thread(late_count, services, me),
        },
    )


@router.get("/api/file")
async def api_queue(
    services: ServicesDep,
    me: Me,
    equipe: Annotated[str | None, Query(max_length=40)] = None,
    statut: Annotated[str, Query(max_length=40)] = "",
    mes: Annotated[str, Query(max_length=8)] = "",
) -> JSONResponse:
    choice = _choice(me, services, equipe, statut, mes)
    rows = await _queue_rows(services, me, choice)
    return JSONResponse({"tickets": rows, "count": len(rows), "refreshed": _refreshed(services)})
