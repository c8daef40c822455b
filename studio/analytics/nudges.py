"""Nudges: follow-ups to a young person (every kind but counsellor_reminder) sent in the period,
by (kind, step); answered = the young person wrote within RESPONSE_WINDOW after it was sent."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from core.models import (
    Direction,
    EventKind,
    FollowUp,
    FollowUpKind,
    FollowUpStatus,
    Message,
    NluTurn,
    Ticket,
    TicketEvent,
)
from studio.analytics.anonymous import NUDGE, NUDGE_ANSWERED, archived_totals
from studio.analytics.filters import Filters, people_condition
from studio.analytics.stats import share

RESPONSE_WINDOW = timedelta(hours=72)
YOUTH_KINDS: tuple[FollowUpKind, ...] = tuple(
    k for k in FollowUpKind if k is not FollowUpKind.counsellor_reminder
)


@dataclass(frozen=True)
class NudgeRow:
    kind: str
    step: int
    sent: int
    answered: int

    @property
    def rate(self) -> float | None:
        return share(self.answered, self.sent)


def count_nudges(session: Session, filters: Filters, tz: ZoneInfo) -> list[NudgeRow]:
    """Nudges sent to young people in the period, by (kind, step), and how many were answered."""
    sent = session.execute(
        select(FollowUp.person_id, FollowUp.kind, FollowUp.step, FollowUp.sent_at)
        .where(
            FollowUp.status == FollowUpStatus.sent,
            FollowUp.kind.in_(YOUTH_KINDS),
            FollowUp.sent_at >= filters.since(tz),
            FollowUp.sent_at < filters.until(tz),
            *people_condition(FollowUp.person_id, filters),
        )
        .order_by(FollowUp.id)
    ).all()
    people = sorted({row.person_id for row in sent})
    activity: dict[int, list[datetime]] = {}
    if sent:
        first = min(row.sent_at for row in sent)
        last = max(row.sent_at for row in sent) + RESPONSE_WINDOW
        activity = _youth_activity(session, people, first, last)
    tally: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0])
    # The erased people's nudges (archive.py): "<kind>:<step>" sent, and answered.
    for column, prefix in ((0, NUDGE), (1, NUDGE_ANSWERED)):
        for suffix, n in archived_totals(session, prefix, filters).items():
            kind, _, step = suffix.rpartition(":")
            tally[(kind, int(step))][column] += n
    for row in sent:
        key = (str(row.kind), int(row.step))
        tally[key][0] += 1
        end = row.sent_at + RESPONSE_WINDOW
        if any(row.sent_at < at <= end for at in activity.get(row.person_id, ())):
            tally[key][1] += 1
    order = {kind.value: i for i, kind in enumerate(FollowUpKind)}
    return [
        NudgeRow(kind, step, counts[0], counts[1])
        for (kind, step), counts in sorted(
            tally.items(), key=lambda item: (order.get(item[0][0], 99), item[0][1])
        )
    ]


def _youth_activity(
    session: Session, people: list[int], since: datetime, until: datetime
) -> dict[int, list[datetime]]:
    """When each of these people wrote (messages, NLU turns, ticket events)."""
    activity: dict[int, list[datetime]] = defaultdict(list)
    queries: list[Select[int, datetime]] = [
        select(Message.person_id, Message.created_at).where(
            Message.direction == Direction.incoming
        ),
        select(NluTurn.person_id, NluTurn.created_at),
        select(Ticket.person_id, TicketEvent.created_at)
        .join(Ticket, Ticket.id == TicketEvent.ticket_id)
        .where(TicketEvent.kind.in_((EventKind.youth_message, EventKind.checkin_answered))),
    ]
    for chunk in _chunks(people, 500):
        for query in queries:
            person_col, at_col = list(query.selected_columns)
            rows = session.execute(
                query.where(person_col.in_(chunk), at_col > since, at_col <= until)
            )
            for pid, at in rows:
                activity[pid].append(at)
    return activity


def _chunks(items: list[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
