"""Crisis signals: what made the bot think a young person may be in danger.

The conversation side (actions/crisis.py, bot/pipeline.py) describes each worrying message
as a `CrisisSignal` and hands it over through the desk: `HandoffDesk.request(..., signal=...)`
(an urgent or normal hand-off) or `HandoffDesk.flag(pseudo_id, signal)` (a medium-tier message the
young person then said was fine: no ticket, no priority change). The signal is stored in
`crisis_signal`, on the person's ticket (a flag without a ticket waits for the next one), so
counsellors see why a ticket is urgent even when nothing else of the conversation is kept:

- for an URGENT hand-off the message (`text`) is kept even without consent, on the basis of
  vital interest, for the hand-off only; otherwise it is kept only with consent (refusing
  consent later drops it: `forget_signal_texts`);
- the signal sets the ticket's `severity` (lower = more urgent), the queue's order among
  crisis tickets: by tier and reason (high by pattern or the app's own check first, then high
  by the classifier / danger words / safety answer, then medium), then by kind (suicide,
  violence, shelter), then waiting time;
- a counsellor may mark the urgency a false alarm (handoff/alarms.py).

Everything here is plain functions on the caller's session (one transaction, the caller's);
the labels are French, for counsellors.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.intents import intent_label
from core.models import (
    ConsentStatus,
    CrisisSignalRecord,
    SignalOrigin,
    Ticket,
    Urgency,
    YoungPerson,
)
from core.text import storable

MAX_SIGNAL_TEXT = 500
MAX_DETAIL = 200
TIERS = ("high", "medium")
REASONS = ("pattern", "intent", "danger_words", "safety_answer", "app_check")
KINDS = ("suicide", "violence", "shelter")
ANSWERS = ("oui", "non", "jsp")
NORMAL_SEVERITY = 100  # every normal ticket; crisis tickets are 0-39
# Tier rank: high by pattern (or the app's own pattern check) first, then high by anything
# else, then medium; a crisis without a signal (older callers) sits with the classifier's.
UNKNOWN_TIER_RANK = 1
KIND_RANK = {"suicide": 0, "violence": 1, "shelter": 2}
UNKNOWN_KIND_RANK = 3

TIER_LABELS = {"high": "élevé", "medium": "moyen"}
REASON_LABELS = {
    "pattern": "phrase repérée",
    "intent": "compris par le robot",
    "danger_words": "mots inquiétants",
    "safety_answer": "réponse à « Est-ce que tu es en sécurité ? »",
    "app_check": "vérification de secours (moteur indisponible)",
}
KIND_LABELS = {
    "suicide": "idées suicidaires",
    "violence": "violences",
    "shelter": "sans endroit où dormir",
}
ANSWER_LABELS = {"oui": "« oui »", "non": "« non »", "jsp": "« je sais pas »"}
ORIGIN_LABELS = {
    SignalOrigin.urgent: "a déclenché l'urgence",
    SignalOrigin.request: "avec la demande",
    SignalOrigin.flag: "signalé, puis le jeune a dit être en sécurité",
}


@dataclass(frozen=True)
class CrisisSignal:
    """A worrying message, as the conversation side saw it (the contract of `request`/`flag`).

    text: the young person's message that raised it (cut to 500 characters when stored);
    tier: "high" | "medium"; reason: "pattern" | "intent" | "danger_words" | "safety_answer"
    | "app_check"; kind: "suicide" | "violence" | "shelter"; detail: e.g. the matched words,
    or "crisis_suicide 0.62"; answer: the answer to "Est-ce que tu es en sécurité ?" ("oui",
    "non", "jsp"). Unknown values are stored as given (cut to the column sizes), never
    refused: a crisis must always reach a counsellor.
    """

    text: str | None
    tier: str
    reason: str
    kind: str | None = None
    detail: str | None = None
    intent: str | None = None
    confidence: float | None = None
    answer: str | None = None


@dataclass(frozen=True)
class SignalView:
    """A stored signal as counsellors see it (`text` None: not kept)."""

    id: int
    ticket_id: int | None
    origin: SignalOrigin
    tier: str
    reason: str
    kind: str | None
    detail: str | None
    intent: str | None
    confidence: float | None
    answer: str | None
    text: str | None
    created_at: datetime
    false_alarm_at: datetime | None = None
    false_alarm_by: str | None = None  # the counsellor's first name
    false_alarm_reason: str | None = None

    @property
    def severity(self) -> int:
        return severity_of(self.tier, self.reason, self.kind)

    @property
    def false_alarm(self) -> bool:
        return self.false_alarm_at is not None

    @property
    def tier_label(self) -> str:
        return TIER_LABELS.get(self.tier, self.tier)

    @property
    def kind_label(self) -> str:
        kind = normal_kind(self.kind)
        return KIND_LABELS.get(kind or "", kind or "")

    @property
    def origin_label(self) -> str:
        return ORIGIN_LABELS.get(self.origin, str(self.origin))

    @property
    def why(self) -> str:
        """Why it was raised, in French: "phrase repérée : « me foutre en l'air »",
        "compris par le robot : « CRISE : idées suicidaires » (62 %)" (the intent's French name,
        core/intents.py), "réponse à « ... » : « non »"."""
        label = REASON_LABELS.get(self.reason, self.reason)
        parts = []
        if self.reason == "intent" and (self.intent or self.confidence is not None):
            confidence = f" ({round(self.confidence * 100)} %)" if self.confidence else ""
            parts.append(f"« {intent_label(self.intent) if self.intent else '?'} »{confidence}")
        elif self.detail:
            parts.append(f"« {self.detail} »")
        if self.answer and self.reason == "safety_answer":
            parts.append(ANSWER_LABELS.get(self.answer, self.answer))
        elif self.answer:
            parts.append(f"sécurité : {ANSWER_LABELS.get(self.answer, self.answer)}")
        return f"{label} : {', '.join(parts)}" if parts else label


def normal_kind(kind: str | None) -> str | None:
    """ "crisis_suicide" and "suicide" are the same kind."""
    return kind.removeprefix("crisis_") if kind else None


def severity_of(tier: str | None, reason: str | None, kind: str | None) -> int:
    """Lower = more urgent: 10 x tier rank + kind rank (see the module's docstring)."""
    if tier == "high":
        tier_rank = 0 if reason in ("pattern", "app_check") else 1
    elif tier == "medium":
        tier_rank = 2
    else:
        tier_rank = UNKNOWN_TIER_RANK
    kind_rank = KIND_RANK.get(normal_kind(kind) or "", UNKNOWN_KIND_RANK)
    return 10 * tier_rank + kind_rank


def _cut(value: str | None, size: int) -> str | None:
    if value is None:
        return None
    value = storable(str(value)).strip()
    return value[:size] or None


def view_of(row: CrisisSignalRecord, by: str | None = None) -> SignalView:
    return SignalView(
        id=row.id,
        ticket_id=row.ticket_id,
        origin=row.origin,
        tier=row.tier,
        reason=row.reason,
        kind=row.kind,
        detail=row.detail,
        intent=row.intent,
        confidence=row.confidence,
        answer=row.answer,
        text=row.text,
        created_at=row.created_at,
        false_alarm_at=row.false_alarm_at,
        false_alarm_by=by,
        false_alarm_reason=row.false_alarm_reason,
    )


def alert_of(signals: Iterable[CrisisSignalRecord]) -> SignalView | None:
    """What made the ticket urgent: its most severe live (not false alarm) urgent signal,
    the latest on a tie."""
    live = [s for s in signals if s.origin == SignalOrigin.urgent and s.false_alarm_at is None]
    if not live:
        return None
    best = min(live, key=lambda s: (severity_of(s.tier, s.reason, s.kind), -s.id))
    return view_of(best)


def flag_count(signals: Iterable[CrisisSignalRecord]) -> int:
    return sum(1 for s in signals if s.origin == SignalOrigin.flag)


# Writing (in the caller's transaction) --------------------------------------------------------
def store_signal(
    session: Session,
    person: YoungPerson,
    signal: CrisisSignal,
    origin: SignalOrigin,
    now: datetime,
    ticket_id: int | None = None,
) -> CrisisSignalRecord:
    """Store a signal; its text only for an urgent hand-off or with consent."""
    keep_text = origin == SignalOrigin.urgent or person.consent == ConsentStatus.granted
    confidence = signal.confidence
    row = CrisisSignalRecord(
        person_id=person.id,
        ticket_id=ticket_id,
        origin=origin,
        tier=_cut(signal.tier, 16) or "high",
        reason=_cut(signal.reason, 24) or "pattern",
        kind=_cut(normal_kind(signal.kind), 32),
        detail=_cut(signal.detail, MAX_DETAIL),
        intent=_cut(signal.intent, 64),
        confidence=float(confidence) if isinstance(confidence, int | float) else None,
        answer=_cut(signal.answer, 16),
        text=_cut(signal.text, MAX_SIGNAL_TEXT) if keep_text else None,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


def on_request(
    session: Session,
    person: YoungPerson,
    ticket: Ticket,
    *,
    urgent: bool,
    crisis_kind: str | None,
    signal: CrisisSignal | None,
    minor: bool,
    now: datetime,
) -> None:
    """After a hand-off request landed on `ticket`: attach the person's waiting flags, store
    the request's signal, mark a minor, and set the crisis order (severity, urgent_since)."""
    session.execute(
        update(CrisisSignalRecord)
        .where(CrisisSignalRecord.person_id == person.id, CrisisSignalRecord.ticket_id.is_(None))
        .values(ticket_id=ticket.id)
        .execution_options(synchronize_session=False)
    )
    if signal is not None:
        origin = SignalOrigin.urgent if urgent else SignalOrigin.request
        store_signal(session, person, signal, origin, now, ticket.id)
    if minor:
        ticket.minor = True
    if ticket.urgency != Urgency.crisis:
        return
    if ticket.urgent_since is None:
        ticket.urgent_since = now
    current = ticket.severity if ticket.severity is not None else NORMAL_SEVERITY
    if urgent:
        kind = normal_kind(signal.kind if signal is not None and signal.kind else crisis_kind)
        tier, reason = (signal.tier, signal.reason) if signal is not None else (None, None)
        severity = severity_of(tier, reason, kind)
        if severity < current:  # a crisis more severe than what the ticket had (or its first)
            ticket.severity = severity
            if kind and kind != normal_kind(ticket.crisis_kind):
                ticket.crisis_kind = kind
    elif current >= NORMAL_SEVERITY:  # urgent from an older request (no severity yet)
        ticket.severity = severity_of(None, None, ticket.crisis_kind)


def flag(session: Session, person: YoungPerson, signal: CrisisSignal, now: datetime) -> int | None:
    """Record a flag on the person's open ticket, or keep it for their next ticket; the
    ticket it went on, if any. Nothing about the ticket changes."""
    from handoff.tickets import open_ticket_of  # tickets imports this module

    ticket = open_ticket_of(session, person.id)
    store_signal(session, person, signal, SignalOrigin.flag, now, ticket.id if ticket else None)
    return ticket.id if ticket else None


def forget_signal_texts(session: Session, person_id: int) -> int:
    """Consent refused: drop the texts kept on the basis of consent (flags, normal
    requests); those of urgent hand-offs stay (vital interest). Returns rows changed."""
    rows = session.scalars(
        select(CrisisSignalRecord).where(
            CrisisSignalRecord.person_id == person_id,
            CrisisSignalRecord.origin != SignalOrigin.urgent,
            CrisisSignalRecord.text.is_not(None),
        )
    ).all()
    for row in rows:
        row.text = None
    return len(rows)
