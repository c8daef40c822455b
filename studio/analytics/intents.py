"""Intents: the NLU turns in the period, the fallback and low-confidence rates, the top intents."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from core.models import NluTurn
from core.turns import LOW_CONFIDENCE
from studio.analytics.anonymous import INTENT, TURN, archived_totals
from studio.analytics.filters import Filters, people_condition
from studio.analytics.stats import share

TOP_INTENTS = 10


@dataclass(frozen=True)
class IntentRow:
    intent: str  # "" when the engine gave none
    count: int


@dataclass(frozen=True)
class Intents:
    turns: int
    fallback: int
    low_confidence: int  # fallback, or confidence under LOW_CONFIDENCE
    top: list[IntentRow]

    @property
    def fallback_rate(self) -> float | None:
        return share(self.fallback, self.turns)

    @property
    def low_confidence_rate(self) -> float | None:
        return share(self.low_confidence, self.turns)


def count_intents(session: Session, filters: Filters, tz: ZoneInfo) -> Intents:
    """NLU turns in the period: fallbacks, low confidence, the most frequent intents."""
    where = [
        NluTurn.created_at >= filters.since(tz),
        NluTurn.created_at < filters.until(tz),
        *people_condition(NluTurn.person_id, filters),
    ]
    low = case(
        (NluTurn.fallback.is_(True), 1),
        (NluTurn.confidence < LOW_CONFIDENCE, 1),
        else_=0,
    )
    totals = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((NluTurn.fallback.is_(True), 1), else_=0)), 0),
            func.coalesce(func.sum(low), 0),
        ).where(*where)
    ).one()
    count = func.count().label("n")
    top = session.execute(
        select(NluTurn.intent, count)
        .where(*where)
        .group_by(NluTurn.intent)
        .order_by(count.desc(), NluTurn.intent.asc().nulls_last())
    ).all()
    # The erased people's turns (archive.py) add up with the live ones.
    by_intent: dict[str, int] = {}
    for intent, n in top:
        by_intent[intent or ""] = by_intent.get(intent or "", 0) + int(n)
    for intent, n in archived_totals(session, INTENT, filters).items():
        by_intent[intent] = by_intent.get(intent, 0) + n
    ranked = sorted(by_intent.items(), key=lambda item: (-item[1], item[0] == "", item[0]))
    archived_turns = archived_totals(session, TURN, filters)
    return Intents(
        turns=int(totals[0]) + archived_turns.get("all", 0),
        fallback=int(totals[1]) + archived_turns.get("fallback", 0),
        low_confidence=int(totals[2]) + archived_turns.get("low", 0),
        top=[IntentRow(intent, n) for intent, n in ranked[:TOP_INTENTS]],
    )
