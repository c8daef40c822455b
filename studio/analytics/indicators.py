"""The funders' indicators of "Repérer et mobiliser les publics invisibles" (PIC) for one
period (a quarter or a year), overall and by source channel.

Activity, as the impact report counts it: each person is counted in the period (local days,
`nudges.timezone`) in which they first reached the indicator's stage, so the four quarters add
up to the year. Simulations never count (whatever the simulator mode). The team and territory
filters attribute people to their most recent ticket, as the impact report does
(filters.py); the reply delay uses each ticket's own team and territory.

Definitions (the indicators page repeats them in French, web/results/indicators.py):
- repérés: the person's first contact (stage "started": young_person.created_at).
- mobilisés: the first of a consent granted (stage "consent") or a hand-off request (stage
  "handoff", a crisis included): the person entered into a relationship.
- orientés: a counsellor of a structure took the person's hand-off (stage "claimed": the first
  ticket claim): the effective hand-over to a professional.
- sorties positives: a ticket resolved with one of settings.handoff.positive_outcomes (stage
  "positive"); `positive_outcomes` also lists those tickets closed in the period by outcome.
- invisibles: among the people repérés in the period who answered the triage's "followed"
  question (young_person.followed "oui"/"non"), those not followed by any structure ("non").
- reply delay: tickets opened in the period that got a first counsellor's message; real
  minutes from the ticket's opening to that message; the median.
- source: the channel of the campaign that brought the person first (young_person.campaign_id
  -> campaign.channel), else the channel they said they heard of the bot through (heard_via),
  else UNKNOWN_SOURCE.

Erased people (archive.py) count through the anonymous counts: `stage:started`,
`stage:mobilised` (the first of their consent and hand-off request), `stage:claimed`,
`stage:positive` exactly; their reply delays exactly
(`delay:*:reply_us:*`); their positive outcomes (`outcome:*`). Their source channel and
their "followed" answer are not kept: they form the ERASED source row, outside the invisible
share.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select, union_all
from sqlalchemy.orm import Session

from core.clock import Clock, SystemClock
from core.db import Database
from core.models import Campaign, Ticket, YoungPerson
from core.settings import Settings
from core.vocabulary import CAMPAIGN_CHANNELS, UNKNOWN_SOURCE, UNKNOWN_SOURCE_LABEL
from studio.analytics.anonymous import DELAY, STAGE, archived
from studio.analytics.filters import Filters, Options, filter_options, ticket_conditions
from studio.analytics.outcomes import OutcomeRow, count_outcomes
from studio.analytics.sources import channel_of
from studio.analytics.stages import MOBILISED, MOBILISED_STAGES, stage_query
from studio.analytics.stats import median

INDICATORS: tuple[str, ...] = ("reperes", "mobilises", "orientes", "sorties")
INDICATOR_LABELS = {
    "reperes": "Jeunes repérés",
    "mobilises": "Jeunes mobilisés",
    "orientes": "Jeunes orientés",
    "sorties": "Sorties positives",
}
# The stages (stages.py) each indicator is the first of.
INDICATOR_STAGES: dict[str, tuple[str, ...]] = {
    "reperes": ("started",),
    "mobilises": MOBILISED_STAGES,
    "orientes": ("claimed",),
    "sorties": ("positive",),
}
# The anonymous count (`stage:<stage>`) standing for erased people.
ARCHIVED_STAGE = {
    "reperes": "started",
    "mobilises": MOBILISED,
    "orientes": "claimed",
    "sorties": "positive",
}
ERASED = "erased"  # the source row of erased people (their channel is not kept)
ERASED_LABEL = "Personnes effacées (source non conservée)"
TOTAL = "total"
QUARTERS = (1, 2, 3, 4)


@dataclass(frozen=True)
class Period:
    """A quarter (T1-T4) of a year, or the whole year (`quarter` None)."""

    year: int
    quarter: int | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.year <= 9998:
            raise ValueError(f"year out of range: {self.year}")
        if self.quarter is not None and self.quarter not in QUARTERS:
            raise ValueError(f"unknown quarter {self.quarter}")

    @property
    def start(self) -> date:
        return date(self.year, 1 if self.quarter is None else 3 * self.quarter - 2, 1)

    @property
    def end(self) -> date:
        """The last day, included."""
        if self.quarter is None or self.quarter == 4:
            return date(self.year, 12, 31)
        return date(self.year, 3 * self.quarter + 1, 1) - timedelta(days=1)

    @property
    def label(self) -> str:
        return f"année {self.year}" if self.quarter is None else f"T{self.quarter} {self.year}"

    @property
    def slug(self) -> str:
        return str(self.year) if self.quarter is None else f"{self.year}-T{self.quarter}"

    @classmethod
    def of(cls, day: date) -> Period:
        """The quarter `day` is in."""
        return cls(day.year, (day.month - 1) // 3 + 1)


@dataclass
class SourceFigures:
    """The indicators of one source channel (or of all of them: TOTAL; erased people: ERASED)."""

    source: str
    label: str
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(INDICATORS, 0))
    answered: int = 0  # repérés who answered the "followed" question
    invisible: int = 0  # ...and said no structure follows them
    replies: list[float] = field(default_factory=list)  # minutes to a first counsellor's reply

    @property
    def reply_median(self) -> float | None:
        return median(self.replies)

    @property
    def empty(self) -> bool:
        return not any(self.counts.values()) and not self.replies and not self.answered


@dataclass(frozen=True)
class Indicators:
    period: Period
    team: str | None
    territory: str | None
    generated_at: datetime
    total: SourceFigures
    sources: list[SourceFigures]  # channels (vocabulary order), unknown, erased: non-empty ones
    positive_outcomes: list[OutcomeRow]  # tickets closed in the period with a positive outcome


def source_label(source: str) -> str:
    if source == ERASED:
        return ERASED_LABEL
    return CAMPAIGN_CHANNELS.get(source, UNKNOWN_SOURCE_LABEL)


def first_reached(indicator: str, filters: Filters, positive: list[str]) -> Select[int, datetime]:
    """(person_id, at): when each person first reached the indicator's stage(s)."""
    stages = INDICATOR_STAGES[indicator]
    if len(stages) == 1:
        return stage_query(stages[0], filters, positive)
    both = union_all(*(stage_query(s, filters, positive) for s in stages)).subquery()
    query: Select[int, datetime] = select(
        both.c.person_id, func.min(both.c.at).label("at")
    ).group_by(both.c.person_id)
    return query


def count_indicators(
    session: Session,
    period: Period,
    team: str | None,
    territory: str | None,
    tz: ZoneInfo,
    settings: Settings,
    now: datetime,
) -> Indicators:
    filters = Filters(period.start, period.end, team, territory, real_only=True)
    since, until = filters.since(tz), filters.until(tz)
    positive = list(settings.handoff.positive_outcomes)
    by_source: dict[str, SourceFigures] = {}

    def figures(source: str) -> SourceFigures:
        if source not in by_source:
            by_source[source] = SourceFigures(source, source_label(source))
        return by_source[source]

    for indicator in INDICATORS:
        first = first_reached(indicator, filters, positive).subquery()
        rows = session.execute(
            select(Campaign.channel, YoungPerson.heard_via, YoungPerson.followed)
            .select_from(first)
            .join(YoungPerson, YoungPerson.id == first.c.person_id)
            .outerjoin(Campaign, Campaign.id == YoungPerson.campaign_id)
            .where(first.c.at >= since, first.c.at < until)
        )
        for channel, heard_via, followed in rows:
            row = figures(channel_of(channel, heard_via))
            row.counts[indicator] += 1
            if indicator == "reperes" and followed in ("oui", "non"):
                row.answered += 1
                row.invisible += 1 if followed == "non" else 0
    replies = session.execute(
        select(Ticket.created_at, Ticket.first_reply_at, Campaign.channel, YoungPerson.heard_via)
        .join(YoungPerson, YoungPerson.id == Ticket.person_id)
        .outerjoin(Campaign, Campaign.id == YoungPerson.campaign_id)
        .where(
            Ticket.first_reply_at.is_not(None),
            Ticket.created_at >= since,
            Ticket.created_at < until,
            *ticket_conditions(filters),
        )
    )
    for created_at, first_reply_at, channel, heard_via in replies:
        assert first_reply_at is not None  # selected so
        minutes = (first_reply_at - created_at).total_seconds() / 60
        figures(channel_of(channel, heard_via)).replies.append(minutes)
    _add_erased(session, filters, figures(ERASED))
    order = [*CAMPAIGN_CHANNELS, UNKNOWN_SOURCE, ERASED]
    sources = [by_source[s] for s in order if s in by_source and not by_source[s].empty]
    return Indicators(
        period=period,
        team=team,
        territory=territory,
        generated_at=now,
        total=_total(sources),
        sources=sources,
        positive_outcomes=[
            row for row in count_outcomes(session, filters, tz, settings.handoff) if row.positive
        ],
    )


def _add_erased(session: Session, filters: Filters, row: SourceFigures) -> None:
    """Erased people's part, from the anonymous counts that exist (see the module's doc)."""
    stages: Counter[str] = Counter()
    for stage, _day, n in archived(session, STAGE, filters):
        stages[stage] += n
    for indicator, stage in ARCHIVED_STAGE.items():
        row.counts[indicator] += stages[stage]
    for metric, _day, n in archived(session, DELAY, filters):
        _urgency, _, what = metric.partition(":")  # <urgency>:reply_us:<µs>
        kind, _, micros = what.partition(":")
        if kind == "reply_us" and micros.isdigit():
            row.replies.extend([int(micros) / 60_000_000] * n)


def _total(sources: Iterable[SourceFigures]) -> SourceFigures:
    total = SourceFigures(TOTAL, "Total")
    counts: defaultdict[str, int] = defaultdict(int)
    for row in sources:
        for indicator, n in row.counts.items():
            counts[indicator] += n
        total.answered += row.answered
        total.invisible += row.invisible
        total.replies.extend(row.replies)
    total.counts.update(counts)
    return total


class IndicatorsService:
    """The indicators page's entry point: one period, read in one transaction."""

    def __init__(self, db: Database, settings: Settings, clock: Clock | None = None) -> None:
        self._db = db
        self._settings = settings
        self._clock = clock or SystemClock()
        self._tz = ZoneInfo(settings.nudges.timezone)

    def now(self) -> datetime:
        return self._clock.now()

    def today(self) -> date:
        return self._clock.now().astimezone(self._tz).date()

    def options(self) -> Options:
        with self._db.transaction() as session:
            return filter_options(session, self._settings)

    def indicators(
        self, period: Period, team: str | None = None, territory: str | None = None
    ) -> Indicators:
        with self._db.transaction() as session:
            return count_indicators(
                session, period, team, territory, self._tz, self._settings, self.now()
            )
