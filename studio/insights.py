"""Manager studio: what the engine understood of each typed message, and the inbox of
messages it did not understand (grouped by similarity, annotated by a manager, exported as
Rasa NLU training data by `maraude annotate export`, see studio/annotations.py).

`InsightsService` is an exchange observer of the conversation pipeline (bot/pipeline.py): it
records one `NluTurn` per message the young person typed (buttons and commands are not
language). The text is kept only while the person's consent is granted, like the message
log; refusing consent later drops the texts again (`forget_turn_texts`, called by
PeopleService.record_consent), and erasure deletes the rows (cascade on the person).

A turn is recorded with the engine's analysis only when that analysis is of the typed message:
the crisis actions replay an earlier worrying message once the young person has answered the
safety question (actions/crisis.py `_replay`), and the engine's "latest message" is then that
earlier message, not the answer; the answer is then recorded without analysis (no intent, no
confidence), so that the inbox never shows a message with another message's analysis.

Each message of the inbox is shown in its conversation: studio/turn_context.py.

Besides low-confidence turns, the inbox lists the messages that raised a crisis a counsellor
then called a false alarm (`review_reason` "false_alarm", written by
handoff/alarms.py): with their text when the person consented (annotated and
exported like the others), otherwise without it, to be acknowledged (`dismiss`).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from core.clock import Clock
from core.db import Database
from core.models import ConsentStatus, NluTurn, YoungPerson
from core.text import fold, storable
from core.turns import LOW_CONFIDENCE, TurnInfo
from core.yamlfile import read_yaml

if TYPE_CHECKING:
    from bot.pipeline import Exchange

OUT_OF_SCOPE = "out_of_scope"
DEFAULT_DOMAIN = Path(__file__).resolve().parents[1] / "domain"
GROUP_THRESHOLD = 0.5  # char-trigram Jaccard from which two messages go in the same group
INBOX_LIMIT = 1000  # most recent misunderstood turns the inbox reads
MAX_INTENT = 64  # column sizes of nlu_turn
MAX_MODEL = 120
FALSE_ALARM = "false_alarm"  # NluTurn.review_reason (handoff/alarms.py)


class UnknownIntent(ValueError):
    """An annotation names an intent the domain does not declare."""

    def __init__(self, intent: str) -> None:
        super().__init__(f"unknown intent {intent!r}")
        self.intent = intent


# Domain ------------------------------------------------------------------------------------
def domain_intents(domain: Path) -> list[str]:
    """The intents a message can be annotated with, from domain/*.yml (or a domain.yml).

    Retrieval intents (those with `utter_<intent>/<key>` responses, e.g. faq) are listed by
    their full names (`faq/cej`); external intents (`EXTERNAL_*`, triggered by the app, never
    typed) are left out.
    """
    files = (
        sorted(domain.glob("*.yml")) + sorted(domain.glob("*.yaml"))
        if domain.is_dir()
        else [domain]
    )
    intents: list[str] = []
    responses: set[str] = set()
    for path in files:
        data = read_yaml(path) or {}
        if not isinstance(data, dict):
            continue
        for item in data.get("intents") or []:
            name = next(iter(item), None) if isinstance(item, dict) else item
            if isinstance(name, str) and name not in intents:
                intents.append(name)
        responses.update(str(key) for key in (data.get("responses") or {}))
    names: list[str] = []
    for intent in intents:
        if intent.startswith("EXTERNAL_"):
            continue
        prefix = f"utter_{intent}/"
        keys = sorted(r.removeprefix("utter_") for r in responses if r.startswith(prefix))
        names.extend(keys or [intent])
    return names


# Similarity --------------------------------------------------------------------------------
def trigrams(text: str) -> frozenset[str]:
    """Character trigrams of the folded text (words padded with a space)."""
    padded = f" {fold(text)} "
    return frozenset(padded[i : i + 3] for i in range(len(padded) - 2))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


@dataclass(frozen=True)
class TurnView:
    id: int
    text: str
    normalised: str | None
    intent: str | None
    confidence: float | None
    fallback: bool
    action: str | None
    created_at: datetime
    review_reason: str | None = None  # "false_alarm": a crisis a counsellor called false
    review_note: str | None = None  # the counsellor's reason
    person_id: int | None = None

    @property
    def false_alarm(self) -> bool:
        return self.review_reason == FALSE_ALARM


@dataclass(frozen=True)
class TurnGroup:
    """Messages that look alike, with what the engine guessed for them."""

    turns: list[TurnView]
    intents: list[tuple[str, int]]  # predicted intents, most frequent first

    @property
    def id(self) -> int:
        return self.turns[0].id

    @property
    def count(self) -> int:
        return len(self.turns)

    def examples(self, n: int = 3) -> list[str]:
        return [turn.text for turn in self.turns[:n]]


def group_turns(turns: Sequence[TurnView], threshold: float = GROUP_THRESHOLD) -> list[TurnGroup]:
    """Greedy clustering on char-trigram Jaccard, deterministic: turns are taken oldest first
    (by id), each joins the group whose first message it is most similar to (at least
    `threshold`, the oldest group on a tie) or starts a new one. Biggest groups first."""
    groups: list[tuple[frozenset[str], list[TurnView]]] = []
    for turn in sorted(turns, key=lambda t: t.id):
        grams = trigrams(turn.normalised or turn.text)
        best, best_score = None, threshold
        for index, (head, _members) in enumerate(groups):
            small, large = sorted((len(grams), len(head)))
            if large and small / large < best_score:
                continue  # the Jaccard index cannot reach the best score: skip the sets
            score = jaccard(grams, head)
            if score >= best_score and (best is None or score > best_score):
                best, best_score = index, score
        if best is None:
            groups.append((grams, [turn]))
        else:
            groups[best][1].append(turn)
    result = [
        TurnGroup(
            members,
            sorted(
                Counter(t.intent or "?" for t in members).items(), key=lambda kv: (-kv[1], kv[0])
            ),
        )
        for _head, members in groups
    ]
    result.sort(key=lambda g: (-g.count, g.id))
    return result


# Service -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class InboxCounts:
    pending: int  # misunderstood, with text, not annotated yet
    hidden: int  # misunderstood but without text (no consent): cannot be annotated
    annotated: int  # annotated, waiting for `maraude annotate export`
    exported: int
    false_alarms: int = 0  # false alarms with text, not annotated yet
    false_alarms_hidden: int = 0  # false alarms without text (no consent), not acknowledged


@dataclass(frozen=True)
class Annotation:
    id: int
    text: str
    intent: str  # an intent of the domain, or out_of_scope


def redact_entities(entities: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Entities without their values and offsets (what is kept without consent)."""
    return [
        {"entity": e.get("entity"), "extractor": e.get("extractor")}
        for e in entities
        if isinstance(e, dict)
    ]


def forget_turn_texts(session: Session, person_id: int) -> int:
    """Drop the texts (and entity values) of a person's NLU turns, in the caller's
    transaction: consent refused. The predicted intents stay, anonymous. Returns rows."""
    turns = session.scalars(select(NluTurn).where(NluTurn.person_id == person_id)).all()
    for turn in turns:
        turn.text = None
        turn.normalised = None
        turn.entities = redact_entities(turn.entities or [])
    return len(turns)


def _misunderstood() -> ColumnElement[bool]:
    """Low-confidence and fallback turns (false alarms have their own list)."""
    return and_(
        or_(NluTurn.fallback.is_(True), NluTurn.confidence < LOW_CONFIDENCE),
        NluTurn.review_reason.is_(None),
    )


def _turn_view(row: NluTurn) -> TurnView:
    return TurnView(
        row.id,
        row.text or "",
        row.normalised,
        row.intent,
        row.confidence,
        row.fallback,
        row.action,
        row.created_at,
        row.review_reason,
        row.review_note,
        row.person_id,
    )


def same_message(typed: str, analysed: str | None) -> bool:
    """Whether the engine's analysis (of `analysed`) is about the message typed."""
    if not analysed:
        return True  # nothing to compare with: the engine gave no text back
    return fold(typed) == fold(analysed)


class InsightsService:
    def __init__(self, db: Database, clock: Clock, domain: Path | None = None) -> None:
        self._db = db
        self._clock = clock
        self._domain = domain or DEFAULT_DOMAIN

    def now(self) -> datetime:
        return self._clock.now()

    def intents(self) -> list[str]:
        """Intents a manager may choose (read from the domain each time: files change)."""
        names = domain_intents(self._domain)
        return names if OUT_OF_SCOPE in names else [*names, OUT_OF_SCOPE]

    # Recording ---------------------------------------------------------------------------
    async def after_exchange(self, exchange: Exchange) -> None:
        if not exchange.typed or exchange.turn is None:
            return
        await asyncio.to_thread(self.record, exchange.person.id, exchange.shown, exchange.turn)

    def record(self, person_id: int, typed: str, turn: TurnInfo) -> int | None:
        """Record one typed message's turn; the text only if consent is granted now.

        Consent is read in this transaction: the consent action may just have run."""
        with self._db.transaction() as session:
            person = session.get(YoungPerson, person_id)
            if person is None:  # erased in the meantime
                return None
            consent = person.consent == ConsentStatus.granted
            text = typed or turn.text or ""
            if not same_message(text, turn.text):
                # The engine's latest message is another one (replayed by a crisis action):
                # its analysis is not this message's.
                turn = TurnInfo(
                    text=text,
                    normalised=None,
                    intent=None,
                    confidence=None,
                    actions=list(turn.actions),
                    model=turn.model,
                )
            row = NluTurn(
                person_id=person_id,
                text=storable(text) if consent and text else None,
                normalised=storable(turn.normalised) if consent and turn.normalised else None,
                intent=(turn.intent or None) and turn.intent[:MAX_INTENT],
                confidence=turn.confidence,
                entities=list(turn.entities) if consent else redact_entities(turn.entities),
                action=(turn.action or None) and turn.action[:MAX_INTENT],
                fallback=turn.fallback,
                model=(turn.model or None) and turn.model[:MAX_MODEL],
                created_at=self._clock.now(),
            )
            session.add(row)
            session.flush()
            return row.id

    # Inbox -------------------------------------------------------------------------------
    def misunderstood(self, limit: int = INBOX_LIMIT) -> list[TurnView]:
        """Misunderstood turns with a text, not annotated yet, most recent first."""
        with self._db.transaction() as session:
            rows = session.scalars(
                select(NluTurn)
                .where(
                    _misunderstood(),
                    NluTurn.annotated_intent.is_(None),
                    NluTurn.text.is_not(None),
                )
                .order_by(NluTurn.created_at.desc(), NluTurn.id.desc())
                .limit(limit)
            ).all()
            return [_turn_view(r) for r in rows]

    def groups(self, limit: int = INBOX_LIMIT) -> list[TurnGroup]:
        return group_turns(self.misunderstood(limit))

    def false_alarms(self, limit: int = INBOX_LIMIT) -> list[TurnView]:
        """Messages of crises called false alarms, still to deal with, most recent first:
        with a text, not annotated yet; without (no consent), not acknowledged yet."""
        with self._db.transaction() as session:
            rows = session.scalars(
                select(NluTurn)
                .where(
                    NluTurn.review_reason == FALSE_ALARM,
                    NluTurn.annotated_intent.is_(None),
                    NluTurn.annotated_at.is_(None),
                )
                .order_by(NluTurn.created_at.desc(), NluTurn.id.desc())
                .limit(limit)
            ).all()
            return [_turn_view(r) for r in rows]

    def dismiss(self, turn_ids: Iterable[int], counsellor_id: int | None) -> int:
        """Acknowledge false alarms without text (nothing to annotate): they leave the inbox.
        Returns how many."""
        ids = sorted({int(i) for i in turn_ids})
        if not ids:
            return 0
        with self._db.transaction() as session:
            result = session.execute(
                update(NluTurn)
                .where(
                    NluTurn.id.in_(ids),
                    NluTurn.review_reason.is_not(None),
                    NluTurn.text.is_(None),
                    NluTurn.annotated_at.is_(None),
                )
                .values(annotated_by=counsellor_id, annotated_at=self._clock.now())
            )
            return int(getattr(result, "rowcount", 0) or 0)

    def annotate(self, turn_ids: Iterable[int], intent: str, counsellor_id: int | None) -> int:
        """Give turns their right intent (or out_of_scope). Only turns with a text that are
        neither annotated nor exported yet change (the first manager wins). Returns how many."""
        if intent not in self.intents():
            raise UnknownIntent(intent)
        ids = sorted({int(i) for i in turn_ids})
        if not ids:
            return 0
        with self._db.transaction() as session:
            result = session.execute(
                update(NluTurn)
                .where(
                    NluTurn.id.in_(ids),
                    NluTurn.text.is_not(None),
                    NluTurn.annotated_intent.is_(None),
                    NluTurn.exported_at.is_(None),
                )
                .values(
                    annotated_intent=intent,
                    annotated_by=counsellor_id,
                    annotated_at=self._clock.now(),
                )
            )
            return int(getattr(result, "rowcount", 0) or 0)

    def counts(self) -> InboxCounts:
        with self._db.transaction() as session:

            def count(*where: Any) -> int:
                return int(session.scalar(select(func.count(NluTurn.id)).where(*where)) or 0)

            not_annotated = NluTurn.annotated_intent.is_(None)
            false_alarm = NluTurn.review_reason == FALSE_ALARM
            return InboxCounts(
                pending=count(_misunderstood(), not_annotated, NluTurn.text.is_not(None)),
                hidden=count(_misunderstood(), not_annotated, NluTurn.text.is_(None)),
                annotated=count(
                    NluTurn.annotated_intent.is_not(None),
                    NluTurn.exported_at.is_(None),
                    NluTurn.text.is_not(None),
                ),
                exported=count(NluTurn.exported_at.is_not(None)),
                false_alarms=count(false_alarm, not_annotated, NluTurn.text.is_not(None)),
                false_alarms_hidden=count(
                    false_alarm, NluTurn.text.is_(None), NluTurn.annotated_at.is_(None)
                ),
            )

    # Export ------------------------------------------------------------------------------
    def export_selection(self) -> list[Annotation]:
        """Annotated turns with a text, not exported yet, oldest first."""
        with self._db.transaction() as session:
            rows = session.execute(
                select(NluTurn.id, NluTurn.text, NluTurn.annotated_intent)
                .where(
                    NluTurn.annotated_intent.is_not(None),
                    NluTurn.exported_at.is_(None),
                    NluTurn.text.is_not(None),
                )
                .order_by(NluTurn.id)
            ).all()
            return [Annotation(i, t, a) for i, t, a in rows if t and a]

    def mark_exported(self, turn_ids: Iterable[int]) -> int:
        ids = sorted({int(i) for i in turn_ids})
        if not ids:
            return 0
        with self._db.transaction() as session:
            result = session.execute(
                update(NluTurn)
                .where(NluTurn.id.in_(ids), NluTurn.exported_at.is_(None))
                .values(exported_at=self._clock.now())
            )
            return int(getattr(result, "rowcount", 0) or 0)
