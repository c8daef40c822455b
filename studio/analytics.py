"""Results for managers and funders: the funnel, delays, outcomes, nudges, intents, variants.

Every query is a SQLAlchemy expression (no SQL text), the same on SQLite and PostgreSQL; the
database groups and counts, Python only buckets timestamps into Europe/Paris weeks/months
(time-zone arithmetic differs between the two databases) and computes percentiles.

Definitions (the results page repeats them in French):

- Period: `Filters.start`..`Filters.end`, whole days in Europe/Paris, both included. Weeks are
  ISO weeks in Europe/Paris (Monday 00:00 local), labelled like ``2026-W10``.
- Funnel stages, each counted as distinct people, each on its own (a stage is not required to
  follow the previous one: a crisis hand-off skips the consent and the triage):
  started = the person's first contact (young_person.created_at); consent = a consent_record
  'granted'; triage = a person_event 'triage_completed'; hand-off = a handoff_request;
  claimed = a ticket with claimed_at; replied = a ticket with first_reply_at; positive = a ticket
  resolved with an outcome of settings.handoff.positive_outcomes.
- The funnel is a cohort: people whose first contact falls in the period (or week), and the
  stages they reached since, whenever that was. The impact report is activity: each stage is
  counted in the period (month, quarter) in which the person reached it for the first time, so
  the periods of a year add up to the year.
- Team and territory: only tickets carry them. A person is attributed to the team and territory
  of their most recent ticket (its current values, after any transfer). With a team or territory
  filter, every person-level figure (funnel, impact, nudges, intents, variants) counts only the
  people attributed to it, so the early stages only count people who went on to a hand-off
  there. Ticket-level figures (delays, outcomes) use each ticket's own team and territory.
- Delays: tickets opened in the period; time to claim = claimed_at - created_at, time to first
  reply = first_reply_at - created_at, in real minutes; median (statistics.median) and p90
  (nearest rank: the ceil(0.9 n)-th smallest value). Within SLA: the claim (or first reply)
  came within settings.handoff.sla_minutes of the urgency, counted as the SLA counts it
  (working minutes of the opening hours for normal tickets, real minutes for crises from
  when the ticket became urgent: handoff/sla/policy.py). The SLA share counts the tickets
  still waiting: an open ticket still unclaimed (or still without a first reply) once its
  SLA is over is a miss, in the share's denominator (`claim_late`, `reply_late`); one whose
  SLA is not over yet is "pending", outside the share (`claim_pending`, `reply_pending`).
  A ticket closed without a claim (or without a reply in the app: a phone call, unreachable)
  is in neither.
- Outcomes: tickets closed in the period (resolved_at), by outcome code.
- Nudges: follow_up rows to a young person (every kind but counsellor_reminder) sent in the
  period, by (kind, step). Answered = the young person wrote within RESPONSE_WINDOW (72 h) after
  sent_at: an incoming message, an NLU turn, or a youth_message / checkin_answered event on one
  of their tickets (messages are only kept with consent; the other two are kept for everyone).
- Intents: nlu_turn rows in the period; fallback rate = fallback turns / turns.
- Variants: for each (response, variant) of response_exposure, the people whose first exposure
  to it falls in the period, and those of them with a handoff_request created at or after that
  first exposure. A person shown two variants of one response counts in both. Each variant is
  compared with the response's reference variant (the first by id) with a two-proportion
  z-test (pooled, two-sided).
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, case, exists, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from core.clock import Clock, SystemClock
from core.db import Database
from core.models import (
    OPEN_STATUSES,
    ConsentRecord,
    ConsentStatus,
    Direction,
    EventKind,
    FollowUp,
    FollowUpKind,
    FollowUpStatus,
    HandoffRequest,
    Message,
    Milestone,
    NluTurn,
    PersonEvent,
    ResponseExposure,
    Ticket,
    TicketEvent,
    TicketStatus,
    Urgency,
    YoungPerson,
)
from core.settings import Settings
from core.text import MONTHS_FR
from core.turns import LOW_CONFIDENCE
from handoff.sla.policy import SlaPolicy, limit_fr

PARIS = ZoneInfo("Europe/Paris")
RESPONSE_WINDOW = timedelta(hours=72)
TOP_INTENTS = 10
SIGNIFICANCE = 0.05  # two-sided p-value under which a variant difference is reported
MIN_PER_ARM = 30  # fewer people exposed: "too few to conclude", whatever the p-value
MAX_DAYS = 3 * 366  # longest period a page may ask for
NO_TERRITORY = "-"  # filter value for tickets without a territory

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
# The impact report's five lines (the format these programmes report in).
IMPACT_STAGES: tuple[str, ...] = ("started", "triage", "handoff", "claimed", "positive")
IMPACT_LABELS = {
    "started": "Jeunes touchés",
    "triage": "Jeunes ayant fait le point (questionnaire)",
    "handoff": "Jeunes mis en relation",
    "claimed": "Jeunes pris en charge",
    "positive": "Sorties positives",
}
YOUTH_KINDS: tuple[FollowUpKind, ...] = tuple(
    k for k in FollowUpKind if k is not FollowUpKind.counsellor_reminder
)


# Filters and periods ------------------------------------------------------------------------
@dataclass(frozen=True)
class Filters:
    """What a results page asks for: a period of whole local days, a team, a territory."""

    start: date
    end: date  # included
    team: str | None = None
    territory: str | None = None  # a territory name, or NO_TERRITORY for tickets without one

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("the period ends before it starts")
        if (self.end - self.start).days > MAX_DAYS:
            raise ValueError("the period is too long")

    @property
    def since(self) -> datetime:
        return local_midnight(self.start)

    @property
    def until(self) -> datetime:
        """Exclusive upper bound: the day after `end`, 00:00 local."""
        return local_midnight(self.end + timedelta(days=1))

    @property
    def attributed(self) -> bool:
        return self.team is not None or self.territory is not None


def local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), PARIS).astimezone(UTC)


def week_start(moment: datetime) -> date:
    """Monday of the Europe/Paris ISO week of `moment`."""
    local = moment.astimezone(PARIS).date()
    return local - timedelta(days=local.weekday())


def week_label(monday: date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def weeks_between(start: date, end: date) -> list[date]:
    """Mondays of every ISO week that overlaps start..end."""
    monday = start - timedelta(days=start.weekday())
    weeks = []
    while monday <= end:
        weeks.append(monday)
        monday += timedelta(days=7)
    return weeks


def default_filters(today: date, weeks: int = 12) -> Filters:
    """The last `weeks` ISO weeks, this one included."""
    monday = today - timedelta(days=today.weekday())
    return Filters(start=monday - timedelta(weeks=weeks - 1), end=today)


def period_key(moment: datetime, grain: str) -> tuple[int, int]:
    """(year, month) or (year, quarter) of `moment` in Europe/Paris."""
    local = moment.astimezone(PARIS)
    if grain == "quarter":
        return local.year, (local.month - 1) // 3 + 1
    return local.year, local.month


def period_label(key: tuple[int, int], grain: str) -> str:
    year, index = key
    if grain == "quarter":
        return f"T{index} {year}"
    return f"{MONTHS_FR[index - 1]} {year}"


# Small statistics ---------------------------------------------------------------------------
def median(values: Sequence[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def p90(values: Sequence[float]) -> float | None:
    """Nearest-rank 90th percentile: the ceil(0.9 n)-th smallest value."""
    if not values:
        return None
    ordered = sorted(values)
    return float(ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)])


def share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass(frozen=True)
class ZTest:
    z: float
    p_value: float


def two_proportion_z(x1: int, n1: int, x2: int, n2: int) -> ZTest | None:
    """Pooled two-proportion z-test, two-sided; None when it cannot be computed."""
    if n1 == 0 or n2 == 0:
        return None
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return None
    z = (x2 / n2 - x1 / n1) / se
    return ZTest(z=z, p_value=math.erfc(abs(z) / math.sqrt(2)))


# Results ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FunnelWeek:
    week: date  # Monday
    label: str  # 2026-W10
    counts: dict[str, int]


@dataclass(frozen=True)
class Funnel:
    """Cohort funnel: people who started in the period, by week of first contact."""

    weeks: list[FunnelWeek]
    totals: dict[str, int]

    def rate(self, stage: str) -> float | None:
        """Share of the people who started that reached `stage`."""
        return share(self.totals[stage], self.totals["started"])


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


@dataclass(frozen=True)
class OutcomeRow:
    code: str  # "" for a ticket closed without an outcome
    label: str
    positive: bool
    count: int


@dataclass(frozen=True)
class NudgeRow:
    kind: str
    step: int
    sent: int
    answered: int

    @property
    def rate(self) -> float | None:
        return share(self.answered, self.sent)


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


@dataclass(frozen=True)
class VariantRow:
    response: str
    variant: str
    exposed: int
    converted: int  # asked for a hand-off after the first exposure
    reference: bool  # the variant the others are compared with
    test: ZTest | None = None  # against the reference variant

    @property
    def rate(self) -> float | None:
        return share(self.converted, self.exposed)

    @property
    def verdict(self) -> str:
        """A manager's reading of the comparison, in French."""
        if self.reference:
            return "référence"
        if self.test is None:
            return "pas de comparaison possible"
        if self.exposed < MIN_PER_ARM:
            return "trop peu de personnes pour conclure"
        if self.test.p_value < SIGNIFICANCE:
            return "différence significative"
        return "différence non significative"


@dataclass(frozen=True)
class ImpactRow:
    key: tuple[int, int]
    label: str
    counts: dict[str, int]


@dataclass(frozen=True)
class Impact:
    grain: str  # month, quarter
    year: int
    rows: list[ImpactRow]
    totals: dict[str, int]


@dataclass(frozen=True)
class Results:
    """Everything the results page shows for one choice of filters."""

    filters: Filters
    generated_at: datetime
    funnel: Funnel
    delays: list[DelayRow]
    outcomes: list[OutcomeRow]
    nudges: list[NudgeRow]
    intents: Intents
    variants: list[VariantRow]
    options: Options


@dataclass(frozen=True)
class Options:
    """Choices for the filters: teams (id, name) and territories seen on tickets."""

    teams: list[tuple[str, str]]
    territories: list[str] = field(default_factory=list)


# The service --------------------------------------------------------------------------------
class AnalyticsService:
    def __init__(self, db: Database, settings: Settings, clock: Clock | None = None) -> None:
        self._db = db
        self._settings = settings
        self._clock = clock or SystemClock()

    def now(self) -> datetime:
        return self._clock.now()

    def today(self) -> date:
        return self._clock.now().astimezone(PARIS).date()

    def default_filters(self) -> Filters:
        return default_filters(self.today())

    # All at once, in one transaction (one consistent view for the page).
    def results(self, filters: Filters) -> Results:
        with self._db.transaction() as session:
            return Results(
                filters=filters,
                generated_at=self.now(),
                funnel=self._funnel(session, filters),
                delays=self._delays(session, filters),
                outcomes=self._outcomes(session, filters),
                nudges=self._nudges(session, filters),
                intents=self._intents(session, filters),
                variants=self._variants(session, filters),
                options=self._options(session),
            )

    def funnel(self, filters: Filters) -> Funnel:
        with self._db.transaction() as session:
            return self._funnel(session, filters)

    def delays(self, filters: Filters) -> list[DelayRow]:
        with self._db.transaction() as session:
            return self._delays(session, filters)

    def outcomes(self, filters: Filters) -> list[OutcomeRow]:
        with self._db.transaction() as session:
            return self._outcomes(session, filters)

    def nudges(self, filters: Filters) -> list[NudgeRow]:
        with self._db.transaction() as session:
            return self._nudges(session, filters)

    def intents(self, filters: Filters) -> Intents:
        with self._db.transaction() as session:
            return self._intents(session, filters)

    def variants(self, filters: Filters) -> list[VariantRow]:
        with self._db.transaction() as session:
            return self._variants(session, filters)

    def options(self) -> Options:
        with self._db.transaction() as session:
            return self._options(session)

    def impact(
        self,
        year: int,
        grain: str = "quarter",
        team: str | None = None,
        territory: str | None = None,
    ) -> Impact:
        """Activity by month or quarter of `year`: people who first reached each stage then."""
        if grain not in ("month", "quarter"):
            raise ValueError(f"unknown grain {grain!r}")
        filters = Filters(date(year, 1, 1), date(year, 12, 31), team, territory)
        keys = (
            [(year, q) for q in range(1, 5)]
            if grain == "quarter"
            else [(year, m) for m in range(1, 13)]
        )
        counts: dict[tuple[int, int], dict[str, int]] = {
            k: dict.fromkeys(IMPACT_STAGES, 0) for k in keys
        }
        with self._db.transaction() as session:
            for stage in IMPACT_STAGES:
                query = self._stage_query(stage, filters)
                first = query.subquery()
                rows = session.execute(
                    select(first.c.person_id, first.c.at).where(
                        first.c.at >= filters.since, first.c.at < filters.until
                    )
                )
                for _person, at in rows:
                    counts[period_key(at, grain)][stage] += 1
        rows_out = [ImpactRow(k, period_label(k, grain), counts[k]) for k in keys]
        totals = {s: sum(r.counts[s] for r in rows_out) for s in IMPACT_STAGES}
        return Impact(grain=grain, year=year, rows=rows_out, totals=totals)

    # Attribution ----------------------------------------------------------------------------
    def _attributed_people(self, filters: Filters) -> Select[int]:
        """People whose most recent ticket has the filtered team/territory."""
        latest = (
            select(Ticket.person_id, func.max(Ticket.id).label("ticket_id"))
            .group_by(Ticket.person_id)
            .subquery()
        )
        query = select(latest.c.person_id).join(Ticket, Ticket.id == latest.c.ticket_id)
        return query.where(*self._ticket_conditions(filters))

    @staticmethod
    def _ticket_conditions(filters: Filters) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        if filters.team is not None:
            conditions.append(Ticket.team == filters.team)
        if filters.territory == NO_TERRITORY:
            conditions.append(Ticket.territory.is_(None))
        elif filters.territory is not None:
            conditions.append(Ticket.territory == filters.territory)
        return conditions

    def _people_condition(self, column: Any, filters: Filters) -> list[ColumnElement[bool]]:
        if not filters.attributed:
            return []
        return [column.in_(self._attributed_people(filters))]

    # Funnel ---------------------------------------------------------------------------------
    def _stage_query(self, stage: str, filters: Filters) -> Select[int, datetime]:
        """(person_id, at): when each person first reached `stage` (attribution applied)."""
        positive = list(self._settings.handoff.positive_outcomes)
        query: Select[int, datetime]
        if stage == "started":
            query = select(YoungPerson.id.label("person_id"), YoungPerson.created_at.label("at"))
            return query.where(*self._people_condition(YoungPerson.id, filters))
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
            .where(*where, *self._people_condition(person, filters))
            .group_by(person)
        )

    def _funnel(self, session: Session, filters: Filters) -> Funnel:
        cohort = select(YoungPerson.id, YoungPerson.created_at).where(
            YoungPerson.created_at >= filters.since,
            YoungPerson.created_at < filters.until,
            *self._people_condition(YoungPerson.id, filters),
        )
        week_of = {pid: week_start(at) for pid, at in session.execute(cohort)}
        mondays = weeks_between(filters.start, filters.end)
        counts = {m: dict.fromkeys(STAGES, 0) for m in mondays}
        for monday in week_of.values():
            counts[monday]["started"] += 1
        cohort_ids = cohort.with_only_columns(YoungPerson.id)
        for stage in STAGES[1:]:
            first = self._stage_query(stage, filters).subquery()
            rows = session.execute(
                select(first.c.person_id).where(first.c.person_id.in_(cohort_ids))
            )
            for (pid,) in rows:
                counts[week_of[pid]][stage] += 1
        weeks = [FunnelWeek(m, week_label(m), counts[m]) for m in mondays]
        totals = {s: sum(w.counts[s] for w in weeks) for s in STAGES}
        return Funnel(weeks=weeks, totals=totals)

    # Delays ---------------------------------------------------------------------------------
    def _delays(self, session: Session, filters: Filters) -> list[DelayRow]:
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
                Ticket.created_at >= filters.since,
                Ticket.created_at < filters.until,
                *self._ticket_conditions(filters),
            )
            .order_by(Ticket.id)
        ).all()
        policy = SlaPolicy.from_settings(self._settings)
        now = self.now()
        by_urgency: dict[str, list[Any]] = defaultdict(list)
        for row in rows:
            by_urgency[str(row.urgency)].append(row)
        result = []
        urgencies = [u.value for u in (Urgency.crisis, Urgency.normal)]
        for urgency in [*urgencies, "all"]:
            chosen = rows if urgency == "all" else by_urgency.get(urgency, [])
            result.append(self._delay_row(urgency, chosen, policy, now))
        return result

    def _delay_row(
        self, urgency: str, rows: Sequence[Any], policy: SlaPolicy, now: datetime
    ) -> DelayRow:
        claims: list[float] = []
        replies: list[float] = []
        claim_ok = reply_ok = 0
        waiting = {"claim_late": 0, "claim_pending": 0, "reply_late": 0, "reply_pending": 0}
        for row in rows:
            limit = policy.limit(row.urgency)
            start = row.created_at
            if row.urgency == Urgency.crisis and row.urgent_since is not None:
                start = max(row.urgent_since, row.created_at)  # as the SLA counts it
            still_open = row.status in OPEN_STATUSES
            over = still_open and policy.elapsed(row.urgency, start, now) > limit
            if row.claimed_at is not None:
                claims.append(_minutes(row.claimed_at - row.created_at))
                if policy.elapsed(row.urgency, start, row.claimed_at) <= limit:
                    claim_ok += 1
            elif still_open:
                waiting["claim_late" if over else "claim_pending"] += 1
            if row.first_reply_at is not None:
                replies.append(_minutes(row.first_reply_at - row.created_at))
                if policy.elapsed(row.urgency, start, row.first_reply_at) <= limit:
                    reply_ok += 1
            elif still_open:
                waiting["reply_late" if over else "reply_pending"] += 1
        sla = None if urgency == "all" else int(policy.limit(urgency).total_seconds() // 60)
        return DelayRow(
            urgency=urgency,
            sla_minutes=sla,
            tickets=len(rows),
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

    # Outcomes -------------------------------------------------------------------------------
    def _outcomes(self, session: Session, filters: Filters) -> list[OutcomeRow]:
        rows = session.execute(
            select(Ticket.outcome, func.count())
            .where(
                Ticket.status.in_((TicketStatus.resolved, TicketStatus.closed_unreachable)),
                Ticket.resolved_at >= filters.since,
                Ticket.resolved_at < filters.until,
                *self._ticket_conditions(filters),
            )
            .group_by(Ticket.outcome)
        ).all()
        found = {outcome or "": int(count) for outcome, count in rows}
        labels = self._settings.handoff.outcomes
        positive = set(self._settings.handoff.positive_outcomes)
        result = [
            OutcomeRow(code, label, code in positive, found.get(code, 0))
            for code, label in labels.items()
        ]
        for code in sorted(set(found) - set(labels)):  # retired codes, or none at all
            label = code if code else "Sans issue renseignée"
            result.append(OutcomeRow(code, label, False, found[code]))
        return result

    # Nudges ---------------------------------------------------------------------------------
    def _nudges(self, session: Session, filters: Filters) -> list[NudgeRow]:
        sent = session.execute(
            select(FollowUp.person_id, FollowUp.kind, FollowUp.step, FollowUp.sent_at)
            .where(
                FollowUp.status == FollowUpStatus.sent,
                FollowUp.kind.in_(YOUTH_KINDS),
                FollowUp.sent_at >= filters.since,
                FollowUp.sent_at < filters.until,
                *self._people_condition(FollowUp.person_id, filters),
            )
            .order_by(FollowUp.id)
        ).all()
        if not sent:
            return []
        people = sorted({row.person_id for row in sent})
        first = min(row.sent_at for row in sent)
        last = max(row.sent_at for row in sent) + RESPONSE_WINDOW
        activity = self._youth_activity(session, people, first, last)
        tally: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0])
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

    @staticmethod
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

    # Intents --------------------------------------------------------------------------------
    def _intents(self, session: Session, filters: Filters) -> Intents:
        where = [
            NluTurn.created_at >= filters.since,
            NluTurn.created_at < filters.until,
            *self._people_condition(NluTurn.person_id, filters),
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
            .limit(TOP_INTENTS)
        ).all()
        return Intents(
            turns=int(totals[0]),
            fallback=int(totals[1]),
            low_confidence=int(totals[2]),
            top=[IntentRow(intent or "", int(n)) for intent, n in top],
        )

    # Variants -------------------------------------------------------------------------------
    def _variants(self, session: Session, filters: Filters) -> list[VariantRow]:
        first = (
            select(
                ResponseExposure.person_id,
                ResponseExposure.response,
                ResponseExposure.variant,
                func.min(ResponseExposure.created_at).label("first_at"),
            )
            .where(*self._people_condition(ResponseExposure.person_id, filters))
            .group_by(
                ResponseExposure.person_id, ResponseExposure.response, ResponseExposure.variant
            )
            .subquery()
        )
        converted = exists().where(
            and_(
                HandoffRequest.person_id == first.c.person_id,
                HandoffRequest.created_at >= first.c.first_at,
            )
        )
        rows = session.execute(
            select(
                first.c.response,
                first.c.variant,
                func.count(),
                func.coalesce(func.sum(case((converted, 1), else_=0)), 0),
            )
            .where(first.c.first_at >= filters.since, first.c.first_at < filters.until)
            .group_by(first.c.response, first.c.variant)
            .order_by(first.c.response, first.c.variant)
        ).all()
        by_response: dict[str, list[tuple[str, int, int]]] = defaultdict(list)
        for response, variant, exposed, conv in rows:
            by_response[response].append((variant, int(exposed), int(conv)))
        result = []
        for response, variants in by_response.items():
            _, ref_n, ref_x = variants[0]
            for index, (variant, exposed, conv) in enumerate(variants):
                test = None if index == 0 else two_proportion_z(ref_x, ref_n, conv, exposed)
                result.append(VariantRow(response, variant, exposed, conv, index == 0, test))
        return result

    # Filter choices -------------------------------------------------------------------------
    def _options(self, session: Session) -> Options:
        territories = session.scalars(
            select(Ticket.territory)
            .where(Ticket.territory.is_not(None))
            .distinct()
            .order_by(Ticket.territory)
        ).all()
        configured = [t.name for t in self._settings.territories]
        names = configured + sorted(str(t) for t in territories if t and t not in configured)
        return Options(
            teams=[(team.id, team.name) for team in self._settings.teams],
            territories=names,
        )


def _minutes(delta: timedelta) -> float:
    return delta.total_seconds() / 60


def _chunks(items: list[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
