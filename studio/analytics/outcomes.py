"""Outcomes: the tickets closed in the period (resolved_at), by outcome code."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.models import Ticket, TicketStatus
from core.settings import Handoff
from studio.analytics.anonymous import OUTCOME, archived_totals
from studio.analytics.filters import Filters, ticket_conditions


@dataclass(frozen=True)
class OutcomeRow:
    code: str  # "" for a ticket closed without an outcome
    label: str
    positive: bool
    count: int


def count_outcomes(
    session: Session, filters: Filters, tz: ZoneInfo, handoff: Handoff
) -> list[OutcomeRow]:
    """Tickets closed in the period, by outcome: the configured ones first, in their order."""
    rows = session.execute(
        select(Ticket.outcome, func.count())
        .where(
            Ticket.status.in_((TicketStatus.resolved, TicketStatus.closed_unreachable)),
            Ticket.resolved_at >= filters.since(tz),
            Ticket.resolved_at < filters.until(tz),
            *ticket_conditions(filters),
        )
        .group_by(Ticket.outcome)
    ).all()
    found = {outcome or "": int(count) for outcome, count in rows}
    for code, count in archived_totals(session, OUTCOME, filters).items():  # erased people's
        found[code] = found.get(code, 0) + count
    labels = handoff.outcomes
    positive = set(handoff.positive_outcomes)
    result = [
        OutcomeRow(code, label, code in positive, found.get(code, 0))
        for code, label in labels.items()
    ]
    for code in sorted(set(found) - set(labels)):  # retired codes, or none at all
        label = code if code else "Sans issue renseignée"
        result.append(OutcomeRow(code, label, False, found[code]))
    return result
