"""The stages of a young person's path (the funnel's seven, the impact report's five) and when
each person first reached each of them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.sql.elements import ColumnElement

from core.models import (
    ConsentRecord,
    ConsentStatus,
    HandoffRequest,
    Milestone,
    PersonEvent,
    Ticket,
    TicketStatus,
    YoungPerson,
)
from studio.analytics.filters import Filters, people_condition

STAGES: tuple[str, ...] = (
    "started",
    "consent",
    "triage",
    "handoff",
    "claimed",
    "replied",
    "positive",
)
STAGE_LABELS = {
    "started": "Conversations commencées",
    "consent": "Consentement donné",
    "triage": "Questionnaire terminé",
    "handoff": "Mise en relation demandée",
    "claimed": "Pris en charge",
    "replied": "Première réponse d'un·e conseiller·e",
    "positive": "Sortie positive",
}
# The funders' "mobilisés" (indicators.py): the first of these stages; the anonymous count
# `stage:mobilised` keeps it for erased people (archive.py).
MOBILISED = "mobilised"
MOBILISED_STAGES: tuple[str, ...] = ("consent", "handoff")
# The impact report's five lines (the format these programmes report in).
IMPACT_STAGES: tuple[str, ...] = ("started", "triage", "handoff", "claimed", "positive")
IMPACT_LABELS = {
    "started": "Jeunes touchés",
    "triage": "Jeunes ayant fait le point (questionnaire)",
    "handoff": "Jeunes mis en relation",
    "claimed": "Jeunes pris en charge",
    "positive": "Sorties positives",
}


def stage_query(
    stage: str, filters: Filters, positive_outcomes: Iterable[str]
) -> Select[int, datetime]:
    """(person_id, at): when each person first reached `stage` (attribution applied)."""
    positive = list(positive_outcomes)
    query: Select[int, datetime]
    if stage == "started":
        query = select(YoungPerson.id.label("person_id"), YoungPerson.created_at.label("at"))
        return query.where(*people_condition(YoungPerson.id, filters))
    if stage == "consent":
        person: Any = ConsentRecord.person_id
        at: Any = ConsentRecord.recorded_at
        where: list[ColumnElement[bool]] = [ConsentRecord.status == ConsentStatus.granted]
    elif stage == "triage":
        person, at = PersonEvent.person_id, PersonEvent.created_at
        where = [PersonEvent.kind == Milestone.triage_completed]
    elif stage == "handoff":
        person, at = HandoffRequest.person_id, HandoffRequest.created_at
        where = []
    elif stage == "claimed":
        person, at = Ticket.person_id, Ticket.claimed_at
        where = [Ticket.claimed_at.is_not(None)]
    elif stage == "replied":
        person, at = Ticket.person_id, Ticket.first_reply_at
        where = [Ticket.first_reply_at.is_not(None)]
    elif stage == "positive":
        person, at = Ticket.person_id, Ticket.resolved_at
        where = [
            Ticket.status == TicketStatus.resolved,
            Ticket.outcome.in_(positive),
            Ticket.resolved_at.is_not(None),
        ]
    else:
        raise ValueError(f"unknown stage {stage!r}")
    return (
        select(person.label("person_id"), func.min(at).label("at"))
        .where(*where, *people_condition(person, filters))
        .group_by(person)
    )
