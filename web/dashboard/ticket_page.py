"""The ticket page (French, /tableau/tickets/<id>): the triage summary, what alerted the bot,
the conversation and its live feed (/tableau/api/tickets/<id>/messages), notes, history,
the young person's other tickets, and the buttons the permission policy allows
(handoff/permissions.py). A ticket the counsellor may not read answers 404 exactly as one that
does not exist (need to know)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from core.models import Origin, Urgency
from core.vocabulary import SOURCE_LABELS, VIA_LABELS, crisis_label, duration_fr
from handoff.alarms import MAX_REASON
from handoff.history import HistoryService, OtherTicket
from handoff.permissions import allowed
from web.dashboard.appointment_view import (
    APPOINTMENT_EVENT_LABELS,
    ProposalForm,
    appointment_event_detail,
    section_context,
)
from web.dashboard.guard import QUEUE_PATH, DashboardRoute, ticket_path
from web.dashboard.rows import ticket_row
from web.deps import Me, ServicesDep, TicketId
from web.labels import (
    field,
    needs,
    phone_label,
    questions,
    team_names,
    ticket_crisis_label,
    writer_label,
)
from web.render import LocalTime, render

if TYPE_CHECKING:
    from handoff.accounts import CounsellorRef
    from handoff.signals import SignalView
    from handoff.tickets import EventView, TicketView, TranscriptItem
    from maraude.services import Services

router = APIRouter(prefix=QUEUE_PATH, include_in_schema=False, route_class=DashboardRoute)

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
    **APPOINTMENT_EVENT_LABELS,
}
SUMMARY_ROWS = (
    ("age", "Âge"),
    ("location", "Lieu"),
    ("situation", "Situation"),
    ("followed", "Déjà suivi"),
    ("contact", "Contact"),
    ("availability", "Disponibilités"),
)
MESSAGE_LIMIT = 500  # transcript items per poll


def _message(item: TranscriptItem, times: LocalTime) -> dict[str, Any]:
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
        "at": times.show(item.created_at, "%d/%m %H:%M"),
        "in_ticket": item.in_ticket,
    }


def _signal_line(signal: SignalView, times: LocalTime) -> dict[str, Any]:
    return {
        "at": times.show(signal.created_at),
        "tier": signal.tier,
        "tier_label": signal.tier_label,
        "kind": signal.kind_label,
        "why": signal.why,
        "origin": str(signal.origin),
        "origin_label": signal.origin_label,
        "text": signal.text or "",
        "false_alarm": signal.false_alarm,
        "false_alarm_at": times.show(signal.false_alarm_at),
        "false_alarm_by": signal.false_alarm_by or "",
        "false_alarm_reason": signal.false_alarm_reason or "",
    }


class _Words:
    """What the history and the other tickets name: colleagues, teams, outcomes, times."""

    def __init__(
        self,
        names: dict[int, str],
        teams: dict[str, str],
        outcomes: dict[str, str],
        times: LocalTime,
    ) -> None:
        self.names, self.teams, self.outcomes, self.times = names, teams, outcomes, times

    def outcome(self, code: str | None) -> str:
        return self.outcomes.get(code or "", code or "")


def _transfer_detail(data: dict[str, Any], words: _Words) -> str:
    """To whom, and the teams crossed when the ticket changed team (`from_team` → `to_team`)."""
    source, target = data.get("from_team"), data.get("to_team")
    crossed = ""
    if source and target and source != target:
        crossed = (
            f"de l'équipe {words.teams.get(str(source), str(source))} "
            f"à l'équipe {words.teams.get(str(target), str(target))}"
        )
    if data.get("to_counsellor") is not None:
        who = "à " + words.names.get(int(data["to_counsellor"]), "un·e collègue")
        return f"{who} ({crossed})" if crossed else who
    if crossed:
        return crossed
    if target:
        return "à l'équipe " + words.teams.get(str(target), str(target))
    return ""


def _event_detail(event: EventView, words: _Words) -> str:
    data = event.data
    if event.kind == "created":
        return SOURCE_LABELS.get(str(data.get("source", "")), str(data.get("source", "")))
    if event.kind == "transferred":
        return _transfer_detail(data, words)
    if event.kind == "follow_up_set":
        try:
            at = datetime.fromisoformat(str(data["at"])) if data.get("at") else None
        except ValueError:
            at = None
        return f"programmée le {words.times.show(at)}" if at else "supprimée"
    if event.kind == "resolved":
        return words.outcome(str(data.get("outcome", "")))
    if event.kind == "escalated" and data.get("crisis_kind"):
        return crisis_label(str(data["crisis_kind"]))
    if event.kind == "false_alarm":
        return f"« {data.get('reason', '')} »"
    if str(event.kind).startswith("appointment_"):
        return appointment_event_detail(str(event.kind), data, words.times)
    return ""


def _event_line(event: EventView, words: _Words) -> dict[str, str]:
    return {
        "at": words.times.show(event.created_at),
        "label": EVENT_LABELS.get(str(event.kind), str(event.kind)),
        "detail": _event_detail(event, words),
        "actor": event.actor_name or "",
        "via": VIA_LABELS.get(event.via, event.via),
    }


def _other_ticket(other: OtherTicket, words: _Words) -> dict[str, Any]:
    """Another ticket of the same young person (only those the counsellor may read)."""
    return {
        "reference": other.reference,
        "when": "plus récent" if other.later else "antérieur",
        "url": ticket_path(other.id),
        "opened": words.times.show(other.created_at, "%d/%m/%Y"),
        "closed": words.times.show(other.resolved_at, "%d/%m/%Y"),
        "status_label": other.status_label,
        "outcome": words.outcome(other.outcome),
        "assignee": other.assignee_name or "",
        "team_name": words.teams.get(other.team or "", other.team or ""),
        "needs": other.needs,
        "notes": [
            {"author": n.author_name or "—", "text": n.text, "at": words.times.show(n.created_at)}
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
    return await render_ticket(request, services, me, ticket_id)


async def render_ticket(
    request: Request,
    services: Services,
    me: CounsellorRef,
    ticket_id: int,
    *,
    appointment_form: ProposalForm | None = None,
    status_code: int = 200,
) -> Response:
    """The ticket page; `appointment_form`: the proposal refused, shown again with its values
    and why (web/dashboard/appointments.py)."""
    tickets = services.tickets
    # Need to know first: a ticket `me` may not read is a 404, as one that does not exist.
    ticket = await asyncio.to_thread(lambda: tickets.get(ticket_id, viewer=me))
    transcript = await asyncio.to_thread(lambda: tickets.transcript(ticket_id, viewer=me))
    notes = await asyncio.to_thread(lambda: tickets.notes(ticket_id, viewer=me))
    events = await asyncio.to_thread(lambda: tickets.events(ticket_id, viewer=me))
    alarms = services.desk.alarms
    signals = await asyncio.to_thread(alarms.signals, ticket_id) if alarms else []
    colleagues = await asyncio.to_thread(services.accounts.list)
    others = await asyncio.to_thread(HistoryService(services.db).others, ticket_id, me)
    appointments = await asyncio.to_thread(services.appointments.for_ticket, ticket_id, me)
    now = tickets.now()
    times = LocalTime.of(services.settings)
    teams = team_names(services.settings)
    outcomes = tickets.outcomes
    words = _Words({c.id: c.first_name for c in colleagues}, teams, outcomes, times)
    summary = [(label, field(ticket, name)) for name, label in SUMMARY_ROWS]
    summary.append(("Téléphone", phone_label(ticket.summary.get("phone")) or "—"))
    messages = [_message(item, times) for item in transcript]
    return render(
        request,
        services,
        "dashboard_ticket.html",
        {
            "ticket": ticket,
            "row": ticket_row(ticket, now, me, services),
            "age": duration_fr(now - ticket.created_at),
            "opened_at": times.show(ticket.created_at),
            "source_label": SOURCE_LABELS.get(ticket.source, ticket.source),
            "needs": needs(ticket),
            "summary": summary,
            "excerpt": ticket.summary.get("excerpt") or "",
            "questions": questions(ticket),
            "writer": writer_label(ticket),
            "others": [_other_ticket(o, words) for o in others],
            "crisis": ticket.urgency == Urgency.crisis,
            "crisis_label": ticket_crisis_label(ticket),
            "signals": [_signal_line(signal, times) for signal in signals],
            "max_reason": MAX_REASON,
            "messages": messages,
            "last_message_id": messages[-1]["id"] if messages else 0,
            "notes": [
                {"author": n.author_name or "—", "text": n.text, "at": times.show(n.created_at)}
                for n in notes
            ],
            "events": [_event_line(e, words) for e in reversed(events)],
            "colleagues": [c for c in colleagues if c.id != me.id],
            "teams": teams,
            "outcomes": outcomes,
            "outcome_label": words.outcome(ticket.outcome),
            "canned_replies": tickets.canned_replies,
            "follow_up": times.show(ticket.follow_up_at),
            "follow_up_value": times.show(ticket.follow_up_at, "%Y-%m-%dT%H:%M"),
            "min_follow_up": times.show(now, "%Y-%m-%dT%H:%M"),
            "resolved_at": times.show(ticket.resolved_at),
            "can": allowed(me, ticket),
            "state": _ticket_state(ticket),
            "feed_url": f"{QUEUE_PATH}/api/tickets/{ticket.id}/messages",
            **section_context(
                appointments,
                team=ticket.team,
                now=now,
                times=times,
                sites=services.sites,
                names=words.names,
                form=appointment_form,
            ),
        },
        status_code,
    )


@router.get("/api/tickets/{ticket_id}/messages")
async def api_messages(
    services: ServicesDep,
    me: Me,
    ticket_id: TicketId,
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
) -> JSONResponse:
    """The transcript after message `after`, and the ticket's current state."""
    tickets = services.tickets
    ticket = await asyncio.to_thread(lambda: tickets.get(ticket_id, viewer=me))
    items = await asyncio.to_thread(lambda: tickets.transcript(ticket_id, after, viewer=me))
    times = LocalTime.of(services.settings)
    messages = [_message(item, times) for item in items[:MESSAGE_LIMIT]]
    return JSONResponse(
        {
            "messages": messages,
            "last": messages[-1]["id"] if messages else after,
            **_ticket_state(ticket),
        }
    )
