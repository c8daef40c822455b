"""The results page's one entry point: every measure for one choice of filters, read in one
transaction, with the service's clock and time zone (`nudges.timezone`)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from core.clock import Clock, SystemClock
from core.db import Database
from core.settings import Settings
from handoff.sla.policy import SlaPolicy
from studio.analytics.appointments import AppointmentResults, count_appointments
from studio.analytics.channels import ChannelSplit, split_funnel, split_impact
from studio.analytics.delays import DelayRow, measure_delays
from studio.analytics.filters import Filters, Options, default_filters, filter_options
from studio.analytics.funnel import Funnel, count_funnel
from studio.analytics.impact import Impact, count_impact
from studio.analytics.intents import Intents, count_intents
from studio.analytics.nudges import NudgeRow, count_nudges
from studio.analytics.outcomes import OutcomeRow, count_outcomes
from studio.analytics.sources import Sources, campaign_territories, count_sources
from studio.analytics.variants import VariantRow, compare_variants


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
    sources: Sources
    appointments: AppointmentResults
    channels: ChannelSplit  # the funnel by the young person's channel (channels.py)


class AnalyticsService:
    def __init__(self, db: Database, settings: Settings, clock: Clock | None = None) -> None:
        self._db = db
        self._settings = settings
        self._clock = clock or SystemClock()
        self._tz = ZoneInfo(settings.nudges.timezone)

    @property
    def tz(self) -> ZoneInfo:
        """The time zone local days, weeks, months and quarters are counted in."""
        return self._tz

    def now(self) -> datetime:
        return self._clock.now()

    def today(self) -> date:
        return self._clock.now().astimezone(self._tz).date()

    def default_filters(self) -> Filters:
        return default_filters(self.today())

    def _scoped(self, filters: Filters) -> Filters:
        """The filters with the simulations left out when the settings say so (every
        simulator mode but the open demo: core/simulations.py)."""
        return replace(filters, real_only=self._settings.simulations_hidden)

    # All at once, in one transaction (one consistent view for the page).
    def results(self, filters: Filters) -> Results:
        filters = self._scoped(filters)
        with self._db.transaction() as session:
            funnel = self._funnel(session, filters)
            return Results(
                filters=filters,
                generated_at=self.now(),
                funnel=funnel,
                delays=self._delays(session, filters),
                outcomes=count_outcomes(session, filters, self._tz, self._settings.handoff),
                nudges=count_nudges(session, filters, self._tz),
                intents=count_intents(session, filters, self._tz),
                variants=compare_variants(session, filters, self._tz),
                options=self._options(session),
                sources=self._sources(session, filters),
                appointments=self._appointments(session, filters),
                channels=self._channels(session, filters, funnel),
            )

    def funnel(self, filters: Filters) -> Funnel:
        filters = self._scoped(filters)
        with self._db.transaction() as session:
            return self._funnel(session, filters)

    def channels(self, filters: Filters) -> ChannelSplit:
        """The funnel by the young person's channel (channels.py)."""
        filters = self._scoped(filters)
        with self._db.transaction() as session:
            return self._channels(session, filters, self._funnel(session, filters))

    def delays(self, filters: Filters) -> list[DelayRow]:
        filters = self._scoped(filters)
        with self._db.transaction() as session:
            return self._delays(session, filters)

    def outcomes(self, filters: Filters) -> list[OutcomeRow]:
        filters = self._scoped(filters)
        with self._db.transaction() as session:
            return count_outcomes(session, filters, self._tz, self._settings.handoff)

    def nudges(self, filters: Filters) -> list[NudgeRow]:
        filters = self._scoped(filters)
        with self._db.transaction() as session:
            return count_nudges(session, filters, self._tz)

    def intents(self, filters: Filters) -> Intents:
        filters = self._scoped(filters)
        with self._db.transaction() as session:
            return count_intents(session, filters, self._tz)

    def variants(self, filters: Filters) -> list[VariantRow]:
        filters = self._scoped(filters)
        with self._db.transaction() as session:
            return compare_variants(session, filters, self._tz)

    def sources(self, filters: Filters) -> Sources:
        """The per-source funnel (sources.py: simulations never count there)."""
        with self._db.transaction() as session:
            return self._sources(session, filters)

    def appointments(self, filters: Filters) -> AppointmentResults:
        """Appointments of the period (appointments.py: simulations never count there)."""
        with self._db.transaction() as session:
            return self._appointments(session, filters)

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
        positive = self._settings.handoff.positive_outcomes
        with self._db.transaction() as session:
            return count_impact(
                session,
                year,
                grain,
                team,
                territory,
                self._tz,
                positive,
                real_only=self._settings.simulations_hidden,
            )

    def impact_channels(
        self,
        year: int,
        grain: str = "quarter",
        team: str | None = None,
        territory: str | None = None,
    ) -> tuple[Impact, ChannelSplit]:
        """The impact report (as `impact`) and its year's totals by the young person's
        channel, read in one transaction (channels.py)."""
        positive = self._settings.handoff.positive_outcomes
        hidden = self._settings.simulations_hidden
        with self._db.transaction() as session:
            impact = count_impact(
                session, year, grain, team, territory, self._tz, positive, real_only=hidden
            )
            split = split_impact(
                session, year, team, territory, self._tz, positive, impact.totals, real_only=hidden
            )
            return impact, split

    def _channels(self, session: Session, filters: Filters, funnel: Funnel) -> ChannelSplit:
        positive = self._settings.handoff.positive_outcomes
        return split_funnel(session, filters, self._tz, positive, funnel.totals)

    def _funnel(self, session: Session, filters: Filters) -> Funnel:
        positive = self._settings.handoff.positive_outcomes
        return count_funnel(session, filters, self._tz, positive)

    def _sources(self, session: Session, filters: Filters) -> Sources:
        positive = self._settings.handoff.positive_outcomes
        return count_sources(session, filters, self._tz, positive)

    def _appointments(self, session: Session, filters: Filters) -> AppointmentResults:
        teams = {team.id: team.name for team in self._settings.teams}
        return count_appointments(session, filters, self._tz, self.now(), teams)

    def _options(self, session: Session) -> Options:
        """The filter choices, with the territories campaigns name (the sources table)."""
        options = filter_options(session, self._settings)
        configured = [t.name for t in self._settings.territories]
        others = {*options.territories, *campaign_territories(session)} - set(configured)
        return replace(options, territories=[*configured, *sorted(others)])

    def _delays(self, session: Session, filters: Filters) -> list[DelayRow]:
        policy = SlaPolicy.from_settings(self._settings)
        return measure_delays(session, filters, self._tz, policy, self.now())
