"""Counsellor dashboard (French): login, queue, ticket page. Routes call the desk/services.

Every route goes through `DashboardRoute`, which checks, before the route runs:
- the session: the account is read again on every request (a deactivated account is logged
  out); not logged in gives the login page (HTML routes) or 401 (JSON routes, `api_*`);
- the CSRF token on every POST (403 otherwise), the login form included.
Every write goes through the hand-off desk with via="web"; a refused operation (TicketError)
comes back as a flash message in French. Pages are Jinja templates (autoescaped); the
scripts build the live parts with textContent only.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute

from core.models import OPEN_STATUSES, RELAY_STATUSES, Origin, TicketStatus, Urgency
from core.turns import LOW_CONFIDENCE
from handoff.access import may_see
from handoff.accounts import CounsellorRef
from handoff.alarms import MAX_REASON
from handoff.history import HistoryService, OtherTicket
from handoff.signals import SignalView
from handoff.sla.alerts import sla_service
from handoff.sla.policy import Digest, SlaPolicy, SlaStage, waited_fr
from handoff.tickets import (
    STATUS_LABELS,
    EventView,
    QueueFilter,
    TicketError,
    TicketNotFound,
    TicketView,
    TranscriptItem,
)
from web import auth
from web.deps import get_services

if TYPE_CHECKING:
    from maraude.app import Services

log = logging.getLogger(__name__)
PARIS = ZoneInfo("Europe/Paris")
MAX_TICKET_ID = 2**31 - 1
POLL_SECONDS = 5
LOGIN_PATH = "/tableau/connexion"
QUEUE_PATH = "/tableau"
PUBLIC_ROUTES = frozenset({"login_page", "login_submit"})
CLOSED_STATUSES = (TicketStatus.resolved, TicketStatus.closed_unreachable)
SKIPPED = "passé"  # what the triage stores for a skipped question
ROLE_LABELS = {"counsellor": "conseiller·e", "manager": "responsable", "admin": "admin"}
SOURCE_LABELS = {
    "triage": "après le questionnaire",
    "ask_human": "demande directe",
    "crisis": "message de crise",
    "fallback": "le robot n'a pas su répondre",
}
CRISIS_LABELS = {
    "suicide": "idées suicidaires",
    "violence": "violences",
    "shelter": "sans endroit où dormir",
}
VIA_LABELS = {
    "web": "tableau de bord",
    "api": "API",
    "telegram": "Telegram",
    "bot": "robot",
    "system": "système",
}
EVENT_LABELS = {
    "created": "Ticket ouvert",
    "escalated": "Passé en urgence",
    "claimed": "Pris en charge",
    "released": "Remis dans la file",
    "transferred": "Transféré",
    "replied": "Réponse envoyée au jeune",
    "youth_message": "Message du jeune",
    "noted": "Note interne ajoutée",
    "follow_up_set": "Relance",
    "resolved": "Clôturé",
    "closed_unreachable": "Clôturé (injoignable)",
    "reopened": "Rouvert",
    "sla_breached": "Délai de prise en charge dépassé : équipe relancée",
    "manager_alerted": "Délai largement dépassé : responsable alerté·e",
    "false_alarm": "Fausse alerte : retour en priorité normale",
}
SUMMARY_ROWS = (
    ("age", "Âge"),
    ("location", "Lieu"),
    ("situation", "Situation"),
    ("followed", "Déjà suivi"),
    ("contact", "Contact"),
    ("availability", "Disponibilités"),
)
WRITER_LABELS = {"parent": "un parent", "proche": "un proche"}
MESSAGE_LIMIT = 500  # transcript items per poll
TRIGGER_SHOWN = 90  # characters of the message that raised a crisis, in the queue


# Access control ----------------------------------------------------------------------------
def _is_json(route_name: str) -> bool:
    return route_name.startswith("api_")


def _login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET" or not _safe_next(target):
        target = ""
    query = f"?{urlencode({'suivant': target})}" if target and target != QUEUE_PATH else ""
    return RedirectResponse(LOGIN_PATH + query, status_code=303)


def _safe_next(target: str) -> bool:
    """Only paths of the dashboard itself (no open redirect)."""
    return (
        (target == QUEUE_PATH or target.startswith(QUEUE_PATH + "/"))
        and "//" not in target
        and "\\" not in target
        and not _is_json_path(target)
    )


def _is_json_path(path: str) -> bool:
    return path.startswith(QUEUE_PATH + "/api/")


class DashboardRoute(APIRoute):
    """Checks the session and the CSRF token before any dashboard route runs, and adds
    headers that keep the pages out of caches and frames."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        name = self.name

        async def guarded(request: Request) -> Response:
            response = await self._check(request, name)
            if response is None:
                try:
                    response = await handler(request)
                except TicketNotFound as error:
                    response = _error(request, str(error), 404, json=_is_json(name))
            response.headers.setdefault("Cache-Control", "no-store")
            response.headers.setdefault("X-Frame-Options", "DENY")
            response.headers.setdefault("Referrer-Policy", "same-origin")
            response.headers.setdefault("X-Content-Type-Options", "nosniff")
            response.headers.setdefault(
                "Content-Security-Policy",
                "default-src 'self'; img-src 'self' data:; object-src 'none'; "
                "base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
            )
            return response

        return guarded

    @staticmethod
    async def _check(request: Request, name: str) -> Response | None:
        """A response that stops the request here (login page, 401, 403), or None."""
        services: Services = request.app.state.services
        if name not in PUBLIC_ROUTES:
            me = await _session_account(request, services)
            if me is None:
                if _is_json(name):
                    return JSONResponse({"detail": "Connexion requise."}, status_code=401)
                return _login_redirect(request)
            request.state.counsellor = me
        if request.method == "POST" and not await auth.csrf_valid(request):
            log.info("dashboard: CSRF check failed on %s", request.url.path)
            return _error(
                request,
                "Formulaire expiré ou invalide : recharge la page et recommence.",
                403,
                json=_is_json(name),
            )
        return None


async def _session_account(request: Request, services: Services) -> CounsellorRef | None:
    counsellor_id = auth.session_counsellor_id(request)
    if counsellor_id is None:
        return None
    if auth.session_expired(request, services.tickets.now()):
        auth.log_out(request)
        return None
    me = await asyncio.to_thread(services.accounts.get, counsellor_id)
    if me is None:  # deleted or deactivated since login
        auth.log_out(request)
    return me


def current_counsellor(request: Request) -> CounsellorRef:
    """The logged-in account, set by DashboardRoute (every non-public route has one)."""
    me: CounsellorRef = request.state.counsellor
    return me


Me = Annotated[CounsellorRef, Depends(current_counsellor)]
ServicesDep = Annotated[Any, Depends(get_services)]
TicketId = Annotated[int, Path(ge=1, le=MAX_TICKET_ID)]

router = APIRouter(prefix="/tableau", include_in_schema=False, route_class=DashboardRoute)


# Rendering helpers -------------------------------------------------------------------------
def _render(
    request: Request,
    services: Services,
    template: str,
    context: dict[str, Any],
    status_code: int = 200,
) -> HTMLResponse:
    me = getattr(request.state, "counsellor", None)
    base = {
        "s": services.settings,
        "me": me,
        "role_label": ROLE_LABELS.get(str(me.role), str(me.role)) if me else "",
        "csrf": auth.csrf_token(request),
        "csrf_field": auth.CSRF_FIELD,
        "flashes": auth.pop_flashes(request),
        "poll_seconds": POLL_SECONDS,
        "low_confidence_pct": round(LOW_CONFIDENCE * 100),
    }
    response: HTMLResponse = services.templates.TemplateResponse(
        request, template, {**base, **context}, status_code=status_code
    )
    return response


def _error(request: Request, message: str, status_code: int, *, json: bool) -> Response:
    if json:
        return JSONResponse({"detail": message}, status_code=status_code)
    return _render(
        request,
        request.app.state.services,
        "dashboard_error.html",
        {"message": message, "status_code": status_code},
        status_code,
    )


def local_time(moment: datetime | None, fmt: str = "%d/%m/%Y %H:%M") -> str:
    return moment.astimezone(PARIS).strftime(fmt) if moment is not None else ""


def duration_label(minutes: int) -> str:
    """12 min, 3 h 05, 2 j 4 h."""
    if minutes < 60:
        return f"{minutes} min"
    hours, mins = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {mins:02d}"
    days, hours = divmod(hours, 24)
    return f"{days} j {hours} h"


def sla_colour(ticket: TicketView, now: datetime, services: Services) -> str:
    """green under half of the SLA, orange under all of it, red beyond (working time for
    normal tickets, real time for crises: handoff/sla/policy.py)."""
    return SlaPolicy.from_settings(services.settings).status(ticket, now).colour


SLA_LABELS = {"green": "dans les temps", "orange": "à surveiller", "red": "délai dépassé"}
SLA_STAGE_LABELS = {
    SlaStage.late: "délai dépassé",
    SlaStage.manager: "délai largement dépassé : alerte des responsables",
}


def _needs(ticket: TicketView) -> list[str]:
    needs = ticket.summary.get("needs") or []
    if not isinstance(needs, list):
        needs = [needs]
    return [str(n) for n in needs if n and n != SKIPPED]


def _crisis_label(ticket: TicketView) -> str:
    kind = (ticket.crisis_kind or "").removeprefix("crisis_")
    return CRISIS_LABELS.get(kind, kind.replace("_", " ")) or "crise"


def short(text: str, limit: int = TRIGGER_SHOWN) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _alert(alert: SignalView | None) -> dict[str, str]:
    """What raised the crisis, for a queue line (escaped by the template / textContent)."""
    if alert is None:
        return {"alert_tier": "", "alert_why": "", "alert_text": ""}
    return {
        "alert_tier": alert.tier_label,
        "alert_why": alert.why,
        "alert_text": short(alert.text) if alert.text else "",
    }


def _signal_line(signal: SignalView) -> dict[str, Any]:
    return {
        "at": local_time(signal.created_at),
        "tier": signal.tier,
        "tier_label": signal.tier_label,
        "kind": signal.kind_label,
        "why": signal.why,
        "origin": str(signal.origin),
        "origin_label": signal.origin_label,
        "text": signal.text or "",
        "false_alarm": signal.false_alarm,
        "false_alarm_at": local_time(signal.false_alarm_at),
        "false_alarm_by": signal.false_alarm_by or "",
        "false_alarm_reason": signal.false_alarm_reason or "",
    }


def _field(ticket: TicketView, name: str) -> str:
    value = ticket.summary.get(name)
    return "—" if value in (None, "", SKIPPED) else str(value)


def phone_label(phone: str | None) -> str:
    """ "06 12 34 56 78" for a stored "0612345678"; anything else as stored."""
    if not phone or phone == SKIPPED:
        return ""
    if len(phone) == 10 and phone.isdigit():
        return " ".join(phone[i : i + 2] for i in range(0, 10, 2))
    return phone


def writer_label(ticket: TicketView) -> str:
    """ "un parent" / "un proche" when someone wrote for the young person, else ""."""
    writer = ticket.summary.get("writer")
    return WRITER_LABELS.get(str(writer), str(writer)) if writer else ""


def _questions(ticket: TicketView) -> list[str]:
    questions = ticket.summary.get("questions") or []
    if not isinstance(questions, list):
        questions = [questions]
    return [str(q) for q in questions if q and q != SKIPPED]


def _request(ticket: TicketView, me: CounsellorRef) -> str:
    """The first words of the young person's request, only for a ticket `me` may see."""
    return ticket.request_excerpt if may_see(me, ticket.team, ticket.assignee_id) else ""


def _ticket_row(
    ticket: TicketView, now: datetime, me: CounsellorRef, services: Services
) -> dict[str, Any]:
    """One queue line, the same for the page and its JSON feed."""
    waited = ticket.waiting_minutes(now)
    sla = SlaPolicy.from_settings(services.settings).status(ticket, now)
    colour = sla.colour
    sla_label = SLA_STAGE_LABELS.get(sla.stage, SLA_LABELS[colour])
    crisis = ticket.urgency == Urgency.crisis
    return {
        "id": ticket.id,
        "reference": ticket.reference,
        "url": f"{QUEUE_PATH}/tickets/{ticket.id}",
        "claim_url": f"{QUEUE_PATH}/tickets/{ticket.id}/prendre",
        "crisis": crisis,
        "crisis_label": _crisis_label(ticket) if crisis else "",
        **_alert(ticket.alert if crisis else None),
        "minor": ticket.minor,
        "status": str(ticket.status),
        "status_label": ticket.status_label,
        "waiting_minutes": waited,
        "waiting_label": duration_label(waited),
        "waiting_title": (
            f"Attente avant prise en charge : {SLA_LABELS[colour]}"
            if ticket.claimed_at
            else f"En attente depuis {duration_label(waited)} ({waited_fr(sla)}) : {sla_label}"
        ),
        "sla": colour,
        "sla_stage": str(sla.stage),
        "team": ticket.team,
        "team_name": _team_names(services).get(ticket.team, ticket.team),
        "territory": ticket.territory or "",
        "needs": _needs(ticket),
        "age": _field(ticket, "age"),
        "location": _field(ticket, "location"),
        "request": _request(ticket, me),
        "request_hidden": not may_see(me, ticket.team, ticket.assignee_id),
        "writer": writer_label(ticket),
        "assignee": ticket.assignee_name or "",
        "mine": ticket.assignee_id == me.id,
        "can_claim": ticket.status == TicketStatus.new,
        "created": local_time(ticket.created_at, "%d/%m %H:%M"),
    }


def _team_names(services: Services) -> dict[str, str]:
    return {team.id: team.name for team in services.settings.teams}


# Login -------------------------------------------------------------------------------------
def _throttle(request: Request) -> auth.LoginThrottle:
    throttle = getattr(request.app.state, "dashboard_login_throttle", None)
    if throttle is None:
        throttle = auth.LoginThrottle()
        request.app.state.dashboard_login_throttle = throttle
    return throttle


@router.get("/connexion", response_class=HTMLResponse)
async def login_page(request: Request, services: ServicesDep, suivant: str = "") -> Response:
    if auth.session_counsellor_id(request) is not None:
        if await _session_account(request, services) is not None:
            return RedirectResponse(suivant if _safe_next(suivant) else QUEUE_PATH, 303)
    return _render(
        request,
        services,
        "dashboard_login.html",
        {"next": suivant if _safe_next(suivant) else "", "email": "", "error": ""},
    )


@router.post("/connexion", response_class=HTMLResponse)
async def login_submit(
    request: Request,
    services: ServicesDep,
    email: Annotated[str, Form(max_length=254)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    suivant: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    now = services.tickets.now()
    throttle = _throttle(request)
    target = suivant if _safe_next(suivant) else QUEUE_PATH
    if throttle.blocked(email, now):
        error = "Trop de tentatives pour ce compte. Réessaie dans quelques minutes."
    else:
        me = await asyncio.to_thread(services.accounts.authenticate, email, password)
        if me is not None:
            throttle.succeeded(email)
            auth.log_in(request, me.id, now)
            log.info("dashboard: counsellor %s logged in", me.id)
            return RedirectResponse(target, status_code=303)
        throttle.failed(email, now)
        error = "E-mail ou mot de passe incorrect."
    return _render(
        request,
        services,
        "dashboard_login.html",
        {"next": suivant if _safe_next(suivant) else "", "email": email, "error": error},
        status_code=401,
    )


@router.post("/deconnexion")
async def logout(request: Request, me: Me) -> Response:
    auth.log_out(request)
    auth.flash(request, "Tu es déconnecté·e.")
    return RedirectResponse(LOGIN_PATH, status_code=303)


# Queue -------------------------------------------------------------------------------------
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
    teams = _team_names(services)
    if equipe is None:  # first visit: the counsellor's own team
        equipe = me.team if me.team in teams else "tous"
    if equipe != "tous" and equipe not in teams:
        equipe = "tous"
    valid = {str(s) for s in OPEN_STATUSES} | {"clos"}
    return QueueChoice(equipe, statut if statut in valid else "", mes in ("1", "on", "true"))


async def _queue_rows(
    services: Services, me: CounsellorRef, choice: QueueChoice
) -> list[dict[str, Any]]:
    tickets = await asyncio.to_thread(services.tickets.queue, choice.to_filter(me))
    now = services.tickets.now()
    return [_ticket_row(ticket, now, me, services) for ticket in tickets]


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
    return _render(
        request,
        services,
        "dashboard_queue.html",
        {
            "rows": rows,
            "choice": choice,
            "teams": _team_names(services),
            "status_options": status_options,
            "feed_url": f"{QUEUE_PATH}/api/file?{choice.query}",
            "refreshed": local_time(services.tickets.now(), "%H:%M:%S"),
            "sla_late": await asyncio.to_thread(sla_service(services).late_count),
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
    return JSONResponse(
        {
            "tickets": rows,
            "count": len(rows),
            "refreshed": local_time(services.tickets.now(), "%H:%M:%S"),
        }
    )


# Daily digest ------------------------------------------------------------------------------
def _digest_context(digest: Digest, services: Services) -> dict[str, Any]:
    """The digest of SlaService.digest as the page shows it (each item links to its ticket)."""

    def url(ticket_id: int) -> str:
        return f"{QUEUE_PATH}/tickets/{ticket_id}"

    teams = [
        {
            "id": team.team,
            "name": team.team_name,
            "tickets": [
                {
                    "id": item.ticket.id,
                    "reference": item.ticket.reference,
                    "url": url(item.ticket.id),
                    "crisis": item.ticket.urgency == Urgency.crisis,
                    "created": local_time(item.ticket.created_at, "%d/%m %H:%M"),
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
            "url": url(b.ticket_id),
            "team_name": b.team_name,
            "crisis": b.urgency == Urgency.crisis,
            "breached_at": local_time(b.breached_at, "%d/%m %H:%M"),
            "manager_alerted_at": local_time(b.manager_alerted_at, "%d/%m %H:%M"),
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
            "url": url(f.ticket_id),
            "team_name": f.team_name,
            "at": local_time(f.due_at, "%H:%M"),
            "assignee": f.assignee_name or "",
            "status_label": STATUS_LABELS[f.status],
            "reminder": f.reminder,
        }
        for f in digest.follow_ups
    ]
    return {
        "day": digest.day.strftime("%d/%m/%Y"),
        "generated": local_time(digest.generated_at, "%H:%M"),
        "unclaimed_count": digest.unclaimed_count,
        "teams": teams,
        "breaches": breaches,
        "follow_ups": follow_ups,
        "sla_late": sum(
            1 for team in digest.unclaimed for item in team.tickets if item.status.breached
        ),
        "digest_time": services.settings.handoff.digest_time,
    }


@router.get("/synthese", response_class=HTMLResponse)
async def synthese_page(request: Request, services: ServicesDep, me: Me) -> Response:
    digest = await asyncio.to_thread(sla_service(services).digest)
    return _render(request, services, "dashboard_synthese.html", _digest_context(digest, services))


# Ticket page -------------------------------------------------------------------------------
def _message(item: TranscriptItem) -> dict[str, Any]:
    if item.origin is Origin.youth:
        who = "Jeune"
    elif item.origin is Origin.counsellor:
        who = item.counsellor_name or "Conseiller·e"
    else:
        who = "Robot"
    return {
        "id": item.id,
        "origin": str(item.origin),
        "who": who,
        "text": item.text,
        "at": local_time(item.created_at, "%d/%m %H:%M"),
        "in_ticket": item.in_ticket,
    }


def _event_line(
    event: EventView, names: dict[int, str], teams: dict[str, str], outcomes: dict[str, str]
) -> dict[str, str]:
    label = EVENT_LABELS.get(str(event.kind), str(event.kind))
    data = event.data
    detail = ""
    if event.kind == "created":
        detail = SOURCE_LABELS.get(str(data.get("source", "")), str(data.get("source", "")))
    elif event.kind == "transferred":
        if data.get("to_counsellor") is not None:
            detail = "à " + names.get(int(data["to_counsellor"]), "un·e collègue")
        elif data.get("to_team"):
            detail = "à l'équipe " + teams.get(str(data["to_team"]), str(data["to_team"]))
    elif event.kind == "follow_up_set":
        try:
            at = datetime.fromisoformat(str(data["at"])) if data.get("at") else None
        except ValueError:
            at = None
        detail = f"programmée le {local_time(at)}" if at else "supprimée"
    elif event.kind == "resolved":
        detail = outcomes.get(str(data.get("outcome", "")), str(data.get("outcome", "")))
    elif event.kind == "escalated" and data.get("crisis_kind"):
        detail = str(data["crisis_kind"]).removeprefix("crisis_").replace("_", " ")
    elif event.kind == "false_alarm":
        detail = f"« {data.get('reason', '')} »"
    return {
        "at": local_time(event.created_at),
        "label": label,
        "detail": detail,
        "actor": event.actor_name or "",
        "via": VIA_LABELS.get(event.via, event.via),
    }


def _other_ticket(
    other: OtherTicket, teams: dict[str, str], outcomes: dict[str, str]
) -> dict[str, Any]:
    """Another ticket of the same young person: everything, or only its reference."""
    line: dict[str, Any] = {"reference": other.reference, "visible": other.visible}
    line["when"] = "plus récent" if other.later else "antérieur"
    if not other.visible:
        return line
    return {
        **line,
        "url": f"{QUEUE_PATH}/tickets/{other.id}",
        "opened": local_time(other.created_at, "%d/%m/%Y"),
        "closed": local_time(other.resolved_at, "%d/%m/%Y"),
        "status_label": other.status_label,
        "outcome": outcomes.get(other.outcome or "", other.outcome or ""),
        "assignee": other.assignee_name or "",
        "team_name": teams.get(other.team or "", other.team or ""),
        "needs": other.needs,
        "notes": [
            {"author": n.author_name or "—", "text": n.text, "at": local_time(n.created_at)}
            for n in other.notes
        ],
    }


def _ticket_state(ticket: TicketView) -> dict[str, Any]:
    return {
        "status": str(ticket.status),
        "status_label": ticket.status_label,
        "assignee": ticket.assignee_name or "",
    }


@router.get("/tickets/{ticket_id}", response_class=HTMLResponse)
async def ticket_page(
    request: Request, services: ServicesDep, me: Me, ticket_id: TicketId
) -> Response:
    tickets = services.tickets
    ticket = await asyncio.to_thread(tickets.get, ticket_id)
    transcript = await asyncio.to_thread(tickets.transcript, ticket_id)
    notes = await asyncio.to_thread(tickets.notes, ticket_id)
    events = await asyncio.to_thread(tickets.events, ticket_id)
    alarms = services.desk.alarms
    signals = await asyncio.to_thread(alarms.signals, ticket_id) if alarms else []
    colleagues = await asyncio.to_thread(services.accounts.list)
    others = await asyncio.to_thread(HistoryService(services.db).others, ticket_id, me)
    now = tickets.now()
    teams = _team_names(services)
    outcomes = tickets.outcomes
    names = {c.id: c.first_name for c in colleagues}
    mine = ticket.assignee_id == me.id
    holder = mine or me.can_manage
    summary = [(label, _field(ticket, name)) for name, label in SUMMARY_ROWS]
    summary.append(("Téléphone", phone_label(ticket.summary.get("phone")) or "—"))
    messages = [_message(item) for item in transcript]
    return _render(
        request,
        services,
        "dashboard_ticket.html",
        {
            "ticket": ticket,
            "row": _ticket_row(ticket, now, me, services),
            "age": duration_label(max(0, int((now - ticket.created_at).total_seconds() // 60))),
            "opened_at": local_time(ticket.created_at),
            "source_label": SOURCE_LABELS.get(ticket.source, ticket.source),
            "needs": _needs(ticket),
            "summary": summary,
            "excerpt": ticket.summary.get("excerpt") or "",
            "questions": _questions(ticket),
            "writer": writer_label(ticket),
            "others": [_other_ticket(o, teams, outcomes) for o in others],
            "crisis": ticket.urgency == Urgency.crisis,
            "crisis_label": _crisis_label(ticket),
            "signals": [_signal_line(signal) for signal in signals],
            "max_reason": MAX_REASON,
            "messages": messages,
            "last_message_id": messages[-1]["id"] if messages else 0,
            "notes": [
                {"author": n.author_name or "—", "text": n.text, "at": local_time(n.created_at)}
                for n in notes
            ],
            "events": [_event_line(e, names, teams, outcomes) for e in reversed(events)],
            "colleagues": [c for c in colleagues if c.id != me.id],
            "teams": teams,
            "outcomes": outcomes,
            "outcome_label": outcomes.get(ticket.outcome or "", ticket.outcome or ""),
            "canned_replies": tickets.canned_replies,
            "follow_up": local_time(ticket.follow_up_at),
            "follow_up_value": local_time(ticket.follow_up_at, "%Y-%m-%dT%H:%M"),
            "min_follow_up": local_time(now, "%Y-%m-%dT%H:%M"),
            "resolved_at": local_time(ticket.resolved_at),
            "can": {
                "claim": ticket.status == TicketStatus.new,
                "reply": ticket.status in RELAY_STATUSES and mine,
                "release": ticket.status in RELAY_STATUSES and holder,
                "transfer": ticket.is_open and (ticket.status == TicketStatus.new or holder),
                "resolve": ticket.is_open and holder,
                "follow_up": ticket.is_open,
                # As closing: the holder, or a manager (even unclaimed).
                "false_alarm": ticket.is_open
                and ticket.urgency == Urgency.crisis
                and (me.can_manage or (mine and ticket.status in RELAY_STATUSES)),
            },
            "mine": mine,
            "state": _ticket_state(ticket),
            "feed_url": f"{QUEUE_PATH}/api/tickets/{ticket.id}/messages",
        },
    )


@router.get("/api/tickets/{ticket_id}/messages")
async def api_messages(
    services: ServicesDep,
    me: Me,
    ticket_id: TicketId,
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
) -> JSONResponse:
    """The transcript after message `after`, and the ticket's current state."""
    ticket = await asyncio.to_thread(services.tickets.get, ticket_id)
    items = await asyncio.to_thread(services.tickets.transcript, ticket_id, after)
    messages = [_message(item) for item in items[:MESSAGE_LIMIT]]
    return JSONResponse(
        {
            "messages": messages,
            "last": messages[-1]["id"] if messages else after,
            **_ticket_state(ticket),
        }
    )


# Actions -----------------------------------------------------------------------------------
def _back(ticket_id: int) -> RedirectResponse:
    return RedirectResponse(f"{QUEUE_PATH}/tickets/{ticket_id}", status_code=303)


async def _act(request: Request, ticket_id: int, action: Awaitable[Any], done: str) -> Response:
    """Run a desk operation; its outcome, good or bad, is a flash message on the ticket."""
    try:
        await action
    except TicketNotFound as error:
        auth.flash(request, str(error), "error")
        return RedirectResponse(QUEUE_PATH, status_code=303)
    except TicketError as error:
        auth.flash(request, str(error), "error")
    else:
        auth.flash(request, done)
    return _back(ticket_id)


@router.post("/tickets/{ticket_id}/prendre")
async def claim(request: Request, services: ServicesDep, me: Me, ticket_id: TicketId) -> Response:
    return await _act(
        request,
        ticket_id,
        services.desk.claim(ticket_id, me, via="web"),
        f"Tu as pris le ticket #{ticket_id}. Le jeune est prévenu.",
    )


@router.post("/tickets/{ticket_id}/liberer")
async def release(request: Request, services: ServicesDep, me: Me, ticket_id: TicketId) -> Response:
    return await _act(
        request,
        ticket_id,
        services.desk.release(ticket_id, me, via="web"),
        f"Le ticket #{ticket_id} est remis dans la file.",
    )


@router.post("/tickets/{ticket_id}/transferer")
async def transfer(
    request: Request,
    services: ServicesDep,
    me: Me,
    ticket_id: TicketId,
    vers: Annotated[str, Form(max_length=80)] = "",
) -> Response:
    kind, _, value = vers.partition(":")
    if kind == "c" and value.isdigit():
        colleague = await asyncio.to_thread(services.accounts.get, int(value))
        if colleague is None:
            auth.flash(request, "Collègue introuvable (compte désactivé ?).", "error")
            return _back(ticket_id)
        return await _act(
            request,
            ticket_id,
            services.desk.transfer(ticket_id, me, to_counsellor=colleague, via="web"),
            f"Ticket #{ticket_id} transféré à {colleague.first_name}.",
        )
    if kind == "e" and value:
        team = _team_names(services).get(value, value)
        return await _act(
            request,
            ticket_id,
            services.desk.transfer(ticket_id, me, to_team=value, via="web"),
            f"Ticket #{ticket_id} transféré à l'équipe {team}.",
        )
    auth.flash(request, "Choisis un·e collègue ou une équipe.", "error")
    return _back(ticket_id)


@router.post("/tickets/{ticket_id}/repondre")
async def reply(
    request: Request,
    services: ServicesDep,
    me: Me,
    ticket_id: TicketId,
    texte: Annotated[str, Form(max_length=20_000)] = "",
) -> Response:
    return await _act(
        request,
        ticket_id,
        services.desk.reply(ticket_id, me, texte, via="web"),
        "Message envoyé au jeune.",
    )


@router.post("/tickets/{ticket_id}/note")
async def add_note(
    request: Request,
    services: ServicesDep,
    me: Me,
    ticket_id: TicketId,
    texte: Annotated[str, Form(max_length=20_000)] = "",
) -> Response:
    return await _act(
        request,
        ticket_id,
        services.desk.add_note(ticket_id, me, texte, via="web"),
        "Note interne ajoutée (le jeune ne la voit pas).",
    )


def parse_local_datetime(value: str) -> datetime | None:
    """A datetime-local value ("2026-03-05T14:30"), read as Europe/Paris time; None if empty.

    Raises ValueError for anything else.
    """
    value = value.strip()
    if not value:
        return None
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=PARIS)
    return moment


@router.post("/tickets/{ticket_id}/relance")
async def follow_up(
    request: Request,
    services: ServicesDep,
    me: Me,
    ticket_id: TicketId,
    quand: Annotated[str, Form(max_length=40)] = "",
    effacer: Annotated[str, Form(max_length=8)] = "",
    message: Annotated[str, Form(max_length=20_000)] = "",
) -> Response:
    if effacer:
        when = None
    else:
        try:
            when = parse_local_datetime(quand)
        except ValueError:
            when = None
        if when is None:
            auth.flash(request, "Date de relance invalide.", "error")
            return _back(ticket_id)
    done = f"Relance prévue le {local_time(when)}." if when is not None else "Relance supprimée."
    if when is not None and message.strip():
        done += " Ton message partira au jeune à cette date."
    return await _act(
        request,
        ticket_id,
        services.desk.set_follow_up(ticket_id, me, when, via="web", message=message or None),
        done,
    )


@router.post("/tickets/{ticket_id}/cloturer")
async def resolve(
    request: Request,
    services: ServicesDep,
    me: Me,
    ticket_id: TicketId,
    issue: Annotated[str, Form(max_length=40)] = "",
    commentaire: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    outcomes = services.tickets.outcomes
    if issue not in outcomes:
        auth.flash(request, "Choisis une issue pour clôturer.", "error")
        return _back(ticket_id)
    return await _act(
        request,
        ticket_id,
        services.desk.resolve(ticket_id, me, issue, commentaire or None, via="web"),
        f"Ticket #{ticket_id} clôturé : {outcomes[issue]}.",
    )


@router.post("/tickets/{ticket_id}/fausse-alerte")
async def false_alarm(
    request: Request,
    services: ServicesDep,
    me: Me,
    ticket_id: TicketId,
    raison: Annotated[str, Form(max_length=20_000)] = "",
) -> Response:
    """The urgent ticket was a false alarm (with a reason): back to normal priority."""
    return await _act(
        request,
        ticket_id,
        services.desk.false_alarm(ticket_id, me, raison, via="web"),
        f"Ticket #{ticket_id} marqué comme fausse alerte : il repasse en priorité normale. "
        "Le message est transmis aux responsables pour corriger le robot.",
    )
