"""Results for managers and funders: the funnel, delays, outcomes, nudges, intents, variants.

Every query is a SQLAlchemy expression (no SQL text), the same on SQLite and PostgreSQL; the
database groups and counts, Python only buckets timestamps into local weeks/months (the time
zone of the service, `nudges.timezone`: time-zone arithmetic differs between the two
databases) and computes percentiles.

One module per job: filters.py (the filters, attribution, the filter choices), periods.py
(local days, weeks, months, quarters), stats.py, stages.py (when each person reached each
stage), funnel.py, impact.py, delays.py, outcomes.py, nudges.py, intents.py, variants.py,
sources.py (by campaign and channel), channels.py (by conversation channel), masking.py
(small numbers hidden), and service.py (AnalyticsService: all of them in one transaction for
the results page).

Definitions (the results page repeats them in French):

- Period: `Filters.start`..`Filters.end`, whole local days, both included. Weeks are local ISO
  weeks (Monday 00:00 local), labelled like ``2026-W10``.
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
- Sources (sources.py has the details): the funnel's cohort by first-touch campaign
  (young_person.campaign_id) and by channel (the campaign's, else heard_via, else unknown):
  reached, consent, triage, hand-off, claimed, positive; the median time from a person's first
  ticket to its first human reply; the invisible share (followed "non" / "oui" or "non"); the
  cost per young person reached (a campaign's cost over the people it reached in the period;
  a channel's: its costed campaigns' costs over their people). Simulations never count there,
  whatever the settings. Team and territory filters select the campaigns with that team and
  territory (people without a campaign are then left out), not the latest ticket's.
- By conversation channel (channels.py): the funnel's totals and the impact report's year by
  the young person's own channel (Telegram, the web chat: young_person.channel), each row the
  same count with a channel filter; simulations as in the rest of the results.
"""

from __future__ import annotations

from studio.analytics.channels import ChannelRow, ChannelSplit
from studio.analytics.delays import DelayRow
from studio.analytics.filters import NO_TERRITORY, Filters, Options
from studio.analytics.funnel import Funnel, FunnelWeek
from studio.analytics.impact import Impact, ImpactRow
from studio.analytics.intents import IntentRow, Intents
from studio.analytics.nudges import RESPONSE_WINDOW, NudgeRow
from studio.analytics.outcomes import OutcomeRow
from studio.analytics.service import AnalyticsService, Results
from studio.analytics.sources import SOURCE_STAGES, SourceRow, Sources
from studio.analytics.stages import IMPACT_LABELS, IMPACT_STAGES, STAGE_LABELS, STAGES
from studio.analytics.stats import share
from studio.analytics.variants import MIN_PER_ARM, VariantRow

# What the results pages use (web/results/).
__all__ = [
    "IMPACT_LABELS",
    "IMPACT_STAGES",
    "MIN_PER_ARM",
    "NO_TERRITORY",
    "RESPONSE_WINDOW",
    "SOURCE_STAGES",
    "STAGES",
    "STAGE_LABELS",
    "AnalyticsService",
    "ChannelRow",
    "ChannelSplit",
    "DelayRow",
    "Filters",
    "Funnel",
    "FunnelWeek",
    "Impact",
    "ImpactRow",
    "IntentRow",
    "Intents",
    "NudgeRow",
    "Options",
    "OutcomeRow",
    "Results",
    "SourceRow",
    "Sources",
    "VariantRow",
    "share",
]
