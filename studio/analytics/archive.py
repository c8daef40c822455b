"""Anonymous counts: what an erased person counted for, kept so that past figures stay.

Before a person is erased (/oubli, the retention purge: core/erasure.py), `StatsArchive.fold`
adds their part of the statistics to `anonymous_count` rows: a metric, a local day, the team
and territory it was attributed to, a count. No person id, no text, no link between rows.
The funnel, the impact report, the delays, the outcomes, the intents and the nudges add these
counts to what they count in the live tables (`archived`), so erasing people does not change
them; so do the wording experiments. Simulations count nowhere and are not folded.

Metrics (the day is local, in `nudges.timezone`):
- `cohort:<stage>`: the person's first contact was on that day and they reached <stage>
  (whenever): the funnel, a cohort.
- `stage:<stage>`: the person first reached <stage> on that day: the impact report; and
  `stage:mobilised`, the first of their consent and hand-off request: the funders' indicators.
- `channel:<channel>:cohort:<stage>`, `channel:<channel>:stage:<stage>`: the same two, by the
  person's channel (telegram, web, terminal: core/models/people.py Channel), so that the
  funnel and the impact report split by channel (channels.py) hold too.
- `outcome:<code>`: a ticket closed on that day with that outcome ("" none), the ticket's own
  team and territory.
- `intent:<name>`, `turn:all`, `turn:fallback`, `turn:low`: NLU turns of that day.
- `nudge:<kind>:<step>`, `nudge_answered:<kind>:<step>`: nudges sent that day, and answered.
- `variant:<response>:<variant>`, `variant_converted:<response>:<variant>`: the person's first
  exposure to a wording variant was that day, and a hand-off request followed.
- `delay:<urgency>:tickets`, `delay:<urgency>:claim_us:<µs>` (one per claimed ticket, the
  exact time to claim, so medians and p90 stay exact), `delay:<urgency>:claim_ok`, and
  `claim_late` / `claim_pending` (still unclaimed when erased), the same for `reply`: tickets
  opened that day, the ticket's own team and territory.
- `source:<campaign id, 0 none>:<channel>:<stage>`, `...:reply_us:<µs>`, `...:followed:<oui|non>`:
  the person's part of the per-source funnel (sources.py) on the day of their first contact,
  with their campaign's team and territory ("" none) instead of their ticket's.
- `appointment:<campaign id, 0 none>:<channel>:<status>:<confirmed 0|1>:<reminded 0|1>` and
  `...:first_us:<µs>`: the person's appointments (appointments.py) on the local day of each
  one's time, with the appointment's team and its ticket's territory.
Team "" means no ticket (no attribution), territory "" a ticket without territory.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.clock import Clock, SystemClock
from core.models import (
    OPEN_STATUSES,
    Channel,
    FollowUp,
    FollowUpStatus,
    HandoffRequest,
    NluTurn,
    ResponseExposure,
    Ticket,
    TicketStatus,
    Urgency,
    YoungPerson,
)
from core.settings import Settings
from core.turns import LOW_CONFIDENCE
from handoff.sla.policy import SlaPolicy
from studio.analytics.anonymous import (
    COHORT,
    DELAY,
    INTENT,
    NUDGE,
    NUDGE_ANSWERED,
    OUTCOME,
    STAGE,
    TURN,
    VARIANT,
    VARIANT_CONVERTED,
    Key,
    add_counts,
    channel_prefix,
)
from studio.analytics.appointments import appointment_counts
from studio.analytics.filters import Filters
from studio.analytics.nudges import RESPONSE_WINDOW, YOUTH_KINDS, _youth_activity
from studio.analytics.sources import source_counts
from studio.analytics.stages import MOBILISED, MOBILISED_STAGES, STAGES, stage_query


class StatsArchive:
    """Folds a person's part of the statistics into anonymous counts (an erasure hook)."""

    def __init__(self, settings: Settings, clock: Clock | None = None) -> None:
        self._tz = ZoneInfo(settings.nudges.timezone)
        self._positive = list(settings.handoff.positive_outcomes)
        self._policy = SlaPolicy.from_settings(settings)
        self._clock = clock or SystemClock()

    def fold(self, session: Session, person_id: int) -> None:
        person = session.get(YoungPerson, person_id)
        if person is None or person.channel == Channel.simulator:
            return  # simulations count nowhere
        counts: Counter[Key] = Counter()
        team, territory = self._attribution(session, person_id)
        cohort = self._day(person.created_at)
        reached, first_at = [], {}
        channel = str(person.channel)
        for stage in STAGES:
            first = stage_query(stage, _ANY, self._positive).subquery()
            at = session.scalar(select(first.c.at).where(first.c.person_id == person_id))
            if at is not None:
                reached.append(stage)
                first_at[stage] = at
                for prefix in (STAGE, channel_prefix(channel, STAGE)):
                    counts[(prefix + stage, self._day(at), team, territory)] += 1
                for prefix in (COHORT, channel_prefix(channel, COHORT)):
                    counts[(prefix + stage, cohort, team, territory)] += 1
        # The funders' "mobilisés": the first of a consent or a hand-off request (indicators.py).
        engaged = [first_at[s] for s in MOBILISED_STAGES if s in first_at]
        if engaged:
            counts[(STAGE + MOBILISED, self._day(min(engaged)), team, territory)] += 1
        counts.update(source_counts(session, person, reached, cohort))  # by campaign, channel
        counts.update(appointment_counts(session, person, self._tz))
        closed = session.execute(
            select(Ticket.outcome, Ticket.resolved_at, Ticket.team, Ticket.territory).where(
                Ticket.person_id == person_id,
                Ticket.status.in_((TicketStatus.resolved, TicketStatus.closed_unreachable)),
                Ticket.resolved_at.is_not(None),
            )
        )
        for outcome, resolved_at, ticket_team, ticket_territory in closed:
            day = self._day(resolved_at)  # not None (selected so)
            counts[(OUTCOME + (outcome or ""), day, ticket_team or "", ticket_territory or "")] += 1
        self._fold_delays(session, person_id, counts)
        self._fold_turns(session, person_id, counts, team, territory)
        self._fold_variants(session, person_id, counts, team, territory)
        self._fold_nudges(session, person_id, counts, team, territory)
        add_counts(session, counts)

    def _fold_delays(self, session: Session, person_id: int, counts: Counter[Key]) -> None:
        """Each ticket as measure_delays (delays.py) counts it, frozen at the erasure."""
        now = self._clock.now()
        tickets = session.scalars(select(Ticket).where(Ticket.person_id == person_id)).all()
        for ticket in tickets:
            urgency = str(ticket.urgency)
            prefix = f"{DELAY}{urgency}:"
            where = (self._day(ticket.created_at), ticket.team or "", ticket.territory or "")
            counts[(prefix + "tickets", *where)] += 1
            start = ticket.created_at
            if ticket.urgency == Urgency.crisis and ticket.urgent_since is not None:
                start = max(ticket.urgent_since, ticket.created_at)
            still_open = ticket.status in OPEN_STATUSES
            late_from = self._policy.late_from(ticket.urgency, start)
            over = still_open and now >= late_from
            for step, at in (("claim", ticket.claimed_at), ("reply", ticket.first_reply_at)):
                if at is not None:
                    micros = _micros(at - ticket.created_at)
                    counts[(f"{prefix}{step}_us:{micros}", *where)] += 1
                    if at < late_from:
                        counts[(f"{prefix}{step}_ok", *where)] += 1
                elif still_open:
                    counts[(f"{prefix}{step}_{'late' if over else 'pending'}", *where)] += 1

    def _fold_variants(
        self, session: Session, person_id: int, counts: Counter[Key], team: str, territory: str
    ) -> None:
        """First exposure to each variant, and whether a hand-off request came after it."""
        requests = list(
            session.scalars(
                select(HandoffRequest.created_at).where(HandoffRequest.person_id == person_id)
            )
        )
        firsts = session.execute(
            select(
                ResponseExposure.response,
                ResponseExposure.variant,
                func.min(ResponseExposure.created_at),
            )
            .where(ResponseExposure.person_id == person_id)
            .group_by(ResponseExposure.response, ResponseExposure.variant)
        )
        for response, variant, first_at in firsts:
            key, day = f"{response}:{variant}", self._day(first_at)
            counts[(VARIANT + key, day, team, territory)] += 1
            if any(at >= first_at for at in requests):
                counts[(VARIANT_CONVERTED + key, day, team, territory)] += 1

    def _fold_turns(
        self, session: Session, person_id: int, counts: Counter[Key], team: str, territory: str
    ) -> None:
        turns = session.execute(
            select(NluTurn.intent, NluTurn.fallback, NluTurn.confidence, NluTurn.created_at).where(
                NluTurn.person_id == person_id
            )
        )
        for intent, fallback, confidence, created_at in turns:
            day = self._day(created_at)
            counts[(INTENT + (intent or ""), day, team, territory)] += 1
            counts[(TURN + "all", day, team, territory)] += 1
            if fallback:
                counts[(TURN + "fallback", day, team, territory)] += 1
            if fallback or (confidence is not None and confidence < LOW_CONFIDENCE):
                counts[(TURN + "low", day, team, territory)] += 1

    def _fold_nudges(
        self, session: Session, person_id: int, counts: Counter[Key], team: str, territory: str
    ) -> None:
        sent = session.execute(
            select(FollowUp.kind, FollowUp.step, FollowUp.sent_at).where(
                FollowUp.person_id == person_id,
                FollowUp.status == FollowUpStatus.sent,
                FollowUp.kind.in_(YOUTH_KINDS),
                FollowUp.sent_at.is_not(None),
            )
        ).all()
        moments = [row.sent_at for row in sent if row.sent_at is not None]
        if not moments:
            return
        first, last = min(moments), max(moments) + RESPONSE_WINDOW
        activity = _youth_activity(session, [person_id], first, last).get(person_id, [])
        for kind, step, sent_at in sent:
            if sent_at is None:
                continue
            day, suffix = self._day(sent_at), f"{kind}:{step}"
            counts[(NUDGE + suffix, day, team, territory)] += 1
            if any(sent_at < at <= sent_at + RESPONSE_WINDOW for at in activity):
                counts[(NUDGE_ANSWERED + suffix, day, team, territory)] += 1

    def _attribution(self, session: Session, person_id: int) -> tuple[str, str]:
        """Team and territory of the person's most recent ticket ("" without)."""
        row = session.execute(
            select(Ticket.team, Ticket.territory)
            .where(Ticket.person_id == person_id)
            .order_by(Ticket.id.desc())
            .limit(1)
        ).first()
        if row is None:
            return "", ""
        return row.team or "", row.territory or ""

    def _day(self, moment: datetime | None) -> date:
        assert moment is not None
        return moment.astimezone(self._tz).date()


def _micros(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


# stage_query only reads the team and territory of its filters: none here.
_ANY = Filters(date(2000, 1, 1), date(2000, 1, 1))


__all__ = ["StatsArchive"]
