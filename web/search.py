"""Ticket search for counsellors (French, /tableau/recherche?q=...&par=...).

Through the dashboard's DashboardRoute (session). The search itself, and who may find what
(their team's tickets and the ones they hold; managers everything), are in
handoff/search.py, handoff/permissions.py and handoff/access.py (the rule as a query
condition). A bad input gets a French message on the page (status 400), never an error page.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from core.models import Urgency
from handoff.search import (
    KINDS,
    MATCH_LABELS,
    RESULTS,
    Hit,
    SearchError,
    TicketSearch,
    parse_search,
)
from web.dashboard.guard import QUEUE_PATH, DashboardRoute, ticket_path
from web.deps import Me, ServicesDep
from web.labels import field, needs, request_excerpt, team_names
from web.render import LocalTime, render

if TYPE_CHECKING:
    from handoff.accounts import CounsellorRef
    from maraude.services import Services

router = APIRouter(prefix=QUEUE_PATH, include_in_schema=False, route_class=DashboardRoute)


def _hit(hit: Hit, me: CounsellorRef, services: Services) -> dict[str, Any]:
    ticket = hit.ticket
    outcomes = services.tickets.outcomes
    return {
        "id": ticket.id,
        "reference": ticket.reference,
        "url": ticket_path(ticket.id),
        "matched": [MATCH_LABELS[name] for name in hit.matched],
        "crisis": ticket.urgency == Urgency.crisis,
        "opened": LocalTime.of(services.settings).show(ticket.created_at, "%d/%m/%Y"),
        "status_label": ticket.status_label,
        "outcome": outcomes.get(ticket.outcome or "", ticket.outcome or ""),
        "needs": needs(ticket),
        "request": request_excerpt(ticket, me),
        "age": field(ticket, "age"),
        "location": field(ticket, "location"),
        "team_name": team_names(services.settings).get(ticket.team, ticket.team),
        "assignee": ticket.assignee_name or "",
    }


def _scope(me: CounsellorRef, services: Services) -> str:
    if me.can_manage:
        return "Tous les tickets, ouverts ou clôturés."
    if me.team:
        team = team_names(services.settings).get(me.team, me.team)
        return f"Parmi les tickets de ton équipe ({team}) et ceux que tu suis, ouverts ou clôturés."
    return "Parmi les tickets que tu suis, ouverts ou clôturés."


@router.get("/recherche", response_class=HTMLResponse)
async def search_page(
    request: Request, services: ServicesDep, me: Me, q: str = "", par: str = "tout"
) -> Response:
    searched = "q" in request.query_params
    context: dict[str, Any] = {
        "search_q": q[:200],
        "search_kind": par if par in KINDS else "tout",
        "searched": searched,
        "scope": _scope(me, services),
        "limit": RESULTS,
        "hits": [],
        "error": "",
    }
    if not searched:
        return render(request, services, "dashboard_search.html", context)
    try:
        query = parse_search(q, par)
    except SearchError as error:
        context["error"] = str(error)
        return render(request, services, "dashboard_search.html", context, 400)
    finder = TicketSearch(services.db, services.settings)
    hits = await asyncio.to_thread(finder.search, me, query)
    context["hits"] = [_hit(hit, me, services) for hit in hits]
    return render(request, services, "dashboard_search.html", context)
