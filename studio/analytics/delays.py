"""Delays of the tickets opened in the period: time to claim and to first reply (median, p90,
in real minutes), and the share within the SLA, counted as the SLA counts it
(handoff/sla/policy.py), tickets still waiting past their SLA included as misses."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import OPEN_STATUSES, Ticket, Urgency
from handoff.sla.policy import SlaPolicy, limit_fr
from studio.analytics.anonymous import DELAY, archived
from studio.analytics.filters import Filters, ticket_conditions
from studio.analytics.stats import median, p90, share


@dataclass(frozen=True)
class DelayRow:
    urgency: str  # normal, crisis, or "all"
    sla_minutes: int | None
    tickets: int
    claimed: int
    claim_median: float | None  # minutes
    claim_p90: float | None
    claim_within_sla: int
    unclaimed_late: int  # open, still unclaimed and past the SLA now: a miss
    replied: int
    reply_median: float | None
    reply_p90: float | None
    reply_within_sla: int
    claim_pending: int = 0  # open, still unclaimed, SLA not over yet: not judged yet
    reply_late: int = 0  # open, no first reply yet and past the SLA now: a miss
    reply_pending: int = 0  # open, no first reply yet, SLA not over yet
    sla_label: str | None = None  # "15 min", "4 h ouvrées" (handoff/sla/policy.py limit_fr)

    @property
    def claim_judged(self) -> int:
        """The tickets the claim share is about: claimed, or waiting past the SLA."""
        return self.claimed + self.unclaimed_late

    @property
    def reply_judged(self) -> int:
        return self.replied + self.reply_late

    @property
    def claim_sla_rate(self) -> float | None:
        return share(self.claim_within_sla, self.claim_judged)

    @property
    def reply_sla_rate(self) -> float | None:
        return share(self.reply_within_sla, self.reply_judged)


def measure_delays(
    session: Session, filters: Filters, tz: ZoneInfo, policy: SlaPolicy, now: datetime
) -> list[DelayRow]:
    """Tickets opened in the period: by urgency (crisis, normal), then all of them."""
    rows = session.execute(
        select(
            Ticket.urgency,
            Ticket.status,
            Ticket.created_at,
            Ticket.urgent_since,
            Ticket.claimed_at,
            Ticket.first_reply_at,
        )
        .where(
            Ticket.created_at >= filters.since(tz),
            Ticket.created_at < filters.until(tz),
            *ticket_conditions(filters),
        )
        .order_by(Ticket.id)
    ).all()
    by_urgency: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        by_urgency[str(row.urgency)].append(row)
    # Erased people's tickets (archive.py): their exact times and counts, frozen at erasure.
    kept: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for metric, _day, n in archived(session, DELAY, filters):
        urgency, _, what = metric.partition(":")
        kept[urgency].append((what, n))
        kept["all"].append((what, n))
    result = []
    urgencies = [u.value for u in (Urgency.crisis, Urgency.normal)]
    for urgency in [*urgencies, "all"]:
        chosen = rows if urgency == "all" else by_urgency.get(urgency, [])
        result.append(_delay_row(urgency, chosen, policy, now, kept.get(urgency, [])))
    return result


def _delay_row(
    urgency: str,
    rows: Sequence[Any],
    policy: SlaPolicy,
    now: datetime,
    kept: Sequence[tuple[str, int]] = (),
) -> DelayRow:
    claims: list[float] = []
    replies: list[float] = []
    claim_ok = reply_ok = 0
    waiting = {"claim_late": 0, "claim_pending": 0, "reply_late": 0, "reply_pending": 0}
    erased = 0
    for what, n in kept:  # "tickets", "claim_us:<µs>", "claim_ok", "claim_late"...
        kind, _, value = what.partition(":")
        if kind == "tickets":
            erased += n
        elif kind in ("claim_us", "reply_us"):
            (claims if kind == "claim_us" else replies).extend([int(value) / 10**6 / 60] * n)
        elif kind == "claim_ok":
            claim_ok += n
        elif kind == "reply_ok":
            reply_ok += n
        elif kind in waiting:
            waiting[kind] += n
    for row in rows:
        start = row.created_at
        if row.urgency == Urgency.crisis and row.urgent_since is not None:
            start = max(row.urgent_since, row.created_at)  # as the SLA counts it
        still_open = row.status in OPEN_STATUSES
        late_from = policy.late_from(row.urgency, start)  # once per ticket (3 uses)
        over = still_open and now >= late_from
        if row.claimed_at is not None:
            claims.append(_minutes(row.claimed_at - row.created_at))
            if row.claimed_at < late_from:
                claim_ok += 1
        elif still_open:
            waiting["claim_late" if over else "claim_pending"] += 1
        if row.first_reply_at is not None:
            replies.append(_minutes(row.first_reply_at - row.created_at))
            if row.first_reply_at < late_from:
                reply_ok += 1
        elif still_open:
            waiting["reply_late" if over else "reply_pending"] += 1
    sla = None if urgency == "all" else int(policy.limit(urgency).total_seconds() // 60)
    return DelayRow(
        urgency=urgency,
        sla_minutes=sla,
        tickets=len(rows) + erased,
        claimed=len(claims),
        claim_median=median(claims),
        claim_p90=p90(claims),
        claim_within_sla=claim_ok,
        unclaimed_late=waiting["claim_late"],
        replied=len(replies),
        reply_median=median(replies),
        reply_p90=p90(replies),
        reply_within_sla=reply_ok,
        claim_pending=waiting["claim_pending"],
        reply_late=waiting["reply_late"],
        reply_pending=waiting["reply_pending"],
        sla_label=None if urgency == "all" else limit_fr(policy, urgency),
    )


def _minutes(delta: timedelta) -> float:
    return delta.total_seconds() / 60
