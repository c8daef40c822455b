"""One queue line per ticket (French), the same for the queue page, its live feed and the
ticket page's header: waiting time against the SLA, crisis and what raised it, the triage's
main answers, and the young person's words only for who may see the ticket."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from core.models import TicketStatus, Urgency
from core.vocabulary import channel_label, duration_fr
from handoff.permissions import may_see
from handoff.sla.policy import SlaPolicy, SlaStage, waited_fr
from web.dashboard.guard import ticket_path
from web.labels import field, needs, request_excerpt, team_names, ticket_crisis_label, writer_label
from web.render import LocalTime, short

if TYPE_CHECKING:
    from handoff.accounts import CounsellorRef
    from handoff.signals import SignalView
    from handoff.tickets import TicketView
    from maraude.services import Services

SLA_LABELS = {"green": "dans les temps", "orange": "à surveiller", "red": "délai dépassé"}
SLA_STAGE_LABELS = {
    SlaStage.late: "délai dépassé",
    SlaStage.manager: "délai largement dépassé : alerte des responsables",
}


def _alert(alert: SignalView | None) -> dict[str, str]:
    """What raised the crisis, for a queue line (escaped by the template / textContent)."""
    if alert is None:
        return {"alert_tier": "", "alert_why": "", "alert_text": ""}
    return {
        "alert_tier": alert.tier_label,
        "alert_why": alert.why,
        "alert_text": short(alert.text) if alert.text else "",
    }


def ticket_row(
    ticket: TicketView, now: datetime, me: CounsellorRef, services: Services
) -> dict[str, Any]:
    """One queue line, the same for the page and its JSON feed. The SLA colour: green under
    half of the SLA, orange under all of it, red beyond (working time for normal tickets,
    real time for crises: handoff/sla/policy.py)."""
    waited = ticket.waiting_minutes(now)
    waiting = duration_fr(timedelta(minutes=waited))
    sla = SlaPolicy.from_settings(services.settings).status(ticket, now)
    colour = sla.colour
    sla_label = SLA_STAGE_LABELS.get(sla.stage, SLA_LABELS[colour])
    crisis = ticket.urgency == Urgency.crisis
    visible = may_see(me, ticket.team, ticket.assignee_id)
    return {
        "id": ticket.id,
        "reference": ticket.reference,
        "url": ticket_path(ticket.id),
        "claim_url": f"{ticket_path(ticket.id)}/prendre",
        "crisis": crisis,
        "crisis_label": ticket_crisis_label(ticket) if crisis else "",
        **_alert(ticket.alert if crisis else None),
        "minor": ticket.minor,
        "simulated": ticket.simulated,  # the open demo's simulator (core/simulations.py)
        "channel": str(ticket.channel),  # where the young person writes
        "channel_label": channel_label(ticket.channel),
        "status": str(ticket.status),
        "status_label": ticket.status_label,
        "waiting_minutes": waited,
        "waiting_label": waiting,
        "waiting_title": (
            f"Attente avant prise en charge : {SLA_LABELS[colour]}"
            if ticket.claimed_at
            else f"En attente depuis {waiting} ({waited_fr(sla)}) : {sla_label}"
        ),
        "sla": colour,
        "sla_stage": str(sla.stage),
        "team": ticket.team,
        "team_name": team_names(services.settings).get(ticket.team, ticket.team),
        "territory": ticket.territory or "",
        "needs": needs(ticket),
        "age": field(ticket, "age"),
        "location": field(ticket, "location"),
        "request": request_excerpt(ticket, me),
        "request_hidden": not visible,
        "writer": writer_label(ticket),
        "assignee": ticket.assignee_name or "",
        "mine": ticket.assignee_id == me.id,
        "can_claim": ticket.status == TicketStatus.new,
        "created": LocalTime.of(services.settings).show(ticket.created_at, "%d/%m %H:%M"),
    }
