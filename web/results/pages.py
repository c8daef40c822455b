"""Results pages for managers and admins (French): the funnel, by source (campaign, channel),
delays, appointments, outcomes, nudges, intents and wording variants (`/tableau/resultats`),
a CSV export of each table (`/tableau/resultats/<table>.csv`) and the printable impact report
for funders (`/tableau/impact`, with a breakdown by channel and the appointments' figures).
Both split the funnel by the young person's channel too (Telegram, Chat web: channel_split.py).
Counsellors get 403 (`Manager`, web/deps.py).

The figures come from studio/analytics.py; the tables, charts and their words from
web/results/tables.py, appointments.py (the "Rendez-vous" tables), charts.py and figures.py.
"""

from __future__ import annotations

import asyncio
from datetime import date
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from core.vocabulary import SMALL_NUMBER
from studio.analytics import (
    IMPACT_LABELS,
    IMPACT_STAGES,
    MIN_PER_ARM,
    NO_TERRITORY,
    AnalyticsService,
    ChannelSplit,
    Filters,
    Impact,
    Options,
)
from studio.analytics.masking import HIDDEN, NOT_SHOWN
from web.dashboard.guard import QUEUE_PATH, DashboardRoute
from web.deps import Manager, ServicesDep
from web.render import LocalTime, error, render
from web.results.appointments import APPOINTMENT_TABLES, key_figures
from web.results.channel_split import CHANNEL_TABLES, UNATTRIBUTED_LABEL, impact_channels_table
from web.results.figures import KPI_LABELS, impact_charts, results_charts
from web.results.numbers import minutes_label, pct
from web.results.tables import (
    NO_CAMPAIGN_LABEL,
    RESULT_TABLES,
    UNKNOWN_CHANNEL_LABEL,
    WINDOW_HOURS,
    Table,
    impact_table,
    sla_text,
    sources_channels_table,
)

if TYPE_CHECKING:
    from maraude.services import Services

router = APIRouter(prefix=QUEUE_PATH, include_in_schema=False, route_class=DashboardRoute)
# the page's tables, each a CSV
ALL_TABLES = {**RESULT_TABLES, **CHANNEL_TABLES, **APPOINTMENT_TABLES}
GRAINS = {"mois": "month", "trimestre": "quarter"}


# Filters -----------------------------------------------------------------------------------
def parse_scope(
    params: dict[str, str], options: Options
) -> tuple[str | None, str | None, list[tuple[str, str]]]:
    """The team and territory filters of the query string, each None when absent or unknown,
    and what was unknown: (what was wrong, what is shown instead), for pages that say it."""
    problems: list[tuple[str, str]] = []
    team = params.get("equipe") or None
    if team is not None and team not in {t for t, _ in options.teams}:
        problems.append(("Équipe inconnue", "toutes les équipes sont affichées"))
        team = None
    territory = params.get("territoire") or None
    if territory is not None and territory != NO_TERRITORY and territory not in options.territories:
        problems.append(("Territoire inconnu", "tous les territoires sont affichés"))
        territory = None
    return team, territory, problems


def parse_filters(
    service: AnalyticsService, params: dict[str, str], options: Options
) -> tuple[Filters, str]:
    """The page's filters from the query string; invalid ones fall back, with a message."""
    default = service.default_filters()
    team, territory, _unknown = parse_scope(params, options)
    problem = ""
    start, end = default.start, default.end
    if params.get("du") or params.get("au"):
        try:
            start = date.fromisoformat(params.get("du") or default.start.isoformat())
            end = date.fromisoformat(params.get("au") or default.end.isoformat())
            return Filters(start, end, team, territory), ""
        except ValueError:
            problem = "Période invalide : les 12 dernières semaines sont affichées."
            start, end = default.start, default.end
    return Filters(start, end, team, territory), problem


def _service(services: Services) -> AnalyticsService:
    return AnalyticsService(services.db, services.settings, services.clock)


def _query(filters: Filters, **extra: str) -> str:
    values = {"du": filters.start.isoformat(), "au": filters.end.isoformat()}
    if filters.team:
        values["equipe"] = filters.team
    if filters.territory:
        values["territoire"] = filters.territory
    values.update(extra)
    return urlencode(values)


def _scope(filters: Filters, options: Options) -> str:
    teams = dict(options.teams)
    parts = []
    if filters.team:
        parts.append(f"équipe {teams.get(filters.team, filters.team)}")
    if filters.territory:
        parts.append("sans territoire" if filters.territory == NO_TERRITORY else filters.territory)
    return ", ".join(parts) or "toutes équipes, tous territoires"


def _filter_context(filters: Filters, options: Options) -> dict[str, Any]:
    return {
        "filters": filters,
        "options": options,
        "no_territory": NO_TERRITORY,
        "scope": _scope(filters, options),
        "period_label": f"du {filters.start:%d/%m/%Y} au {filters.end:%d/%m/%Y}",
    }


# The words of the small-number masking (studio/analytics/masking.py), for the definitions.
MASKING = {
    "small_number": SMALL_NUMBER,
    "hidden": HIDDEN,
    "not_shown": NOT_SHOWN,
    "no_campaign_label": NO_CAMPAIGN_LABEL,
    "unknown_channel_label": UNKNOWN_CHANNEL_LABEL,
    "unattributed_label": UNATTRIBUTED_LABEL,
}


# Routes --------------------------------------------------------------------------------------
@router.get("/resultats")
async def results_page(request: Request, services: ServicesDep, me: Manager) -> Response:
    service = _service(services)
    options = await asyncio.to_thread(service.options)
    filters, problem = parse_filters(service, dict(request.query_params), options)
    results = await asyncio.to_thread(service.results, filters)
    tables = {name: build(results) for name, build in ALL_TABLES.items()}
    query = _query(filters)
    return render(
        request,
        services,
        "dashboard_results.html",
        {
            **_filter_context(filters, options),
            **results_charts(results),
            "results": results,
            "tables": tables,
            "csv": {name: f"{QUEUE_PATH}/resultats/{name}.csv?{query}" for name in tables},
            "error": problem,
            "generated": LocalTime.of(services.settings).show(results.generated_at),
            "window_hours": WINDOW_HOURS,
            "min_per_arm": MIN_PER_ARM,
            "kpis": [
                {
                    "urgency": d.urgency,
                    "label": f"Prise en charge, {KPI_LABELS[d.urgency]}",
                    "median": minutes_label(d.claim_median),
                    "p90": minutes_label(d.claim_p90),
                    "late": d.unclaimed_late,
                    "pending": d.claim_pending,
                    "share": sla_text(d.claim_within_sla, d.claim_judged, d.claim_pending),
                }
                for d in results.delays
            ],
            "sla_labels": {d.urgency: d.sla_label for d in results.delays if d.sla_label},
            "fallback_rate": pct(results.intents.fallback_rate),
            "low_rate": pct(results.intents.low_confidence_rate),
            "appointment_figures": key_figures(results.appointments),
            **MASKING,
        },
    )


def _csv_response(table: Table, suffix: str) -> Response:
    return Response(
        table.csv(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{table.name}-{suffix}.csv"'},
    )


@router.get("/resultats/{table}.csv")
async def results_csv(
    request: Request,
    services: ServicesDep,
    me: Manager,
    table: Annotated[str, Path(max_length=20)],
) -> Response:
    service = _service(services)
    options = await asyncio.to_thread(service.options)
    if table in ("impact", "impact_canaux"):
        impact, split, _, _ = await _impact(service, dict(request.query_params), options)
        built = (
            impact_table(impact) if table == "impact" else impact_channels_table(split, impact.year)
        )
        return _csv_response(built, str(impact.year))
    build = ALL_TABLES.get(table)
    if build is None:
        return error(request, "Tableau inconnu.", 404, json=False)
    filters, _ = parse_filters(service, dict(request.query_params), options)
    results = await asyncio.to_thread(service.results, filters)
    return _csv_response(build(results), f"{filters.start:%Y%m%d}-{filters.end:%Y%m%d}")


async def _impact(
    service: AnalyticsService, params: dict[str, str], options: Options
) -> tuple[Impact, ChannelSplit, Filters, str]:
    today = service.today()
    year_text = params.get("annee", "")
    year = int(year_text) if year_text.isdigit() and 2000 <= int(year_text) <= 2100 else today.year
    grain = GRAINS.get(params.get("pas", ""), "quarter")
    filters, _ = parse_filters(
        service, {k: v for k, v in params.items() if k in ("equipe", "territoire")}, options
    )
    scoped = Filters(date(year, 1, 1), date(year, 12, 31), filters.team, filters.territory)
    impact, split = await asyncio.to_thread(
        service.impact_channels, year, grain, scoped.team, scoped.territory
    )
    return impact, split, scoped, "trimestre" if grain == "quarter" else "mois"


@router.get("/impact")
async def impact_page(request: Request, services: ServicesDep, me: Manager) -> Response:
    service = _service(services)
    options = await asyncio.to_thread(service.options)
    impact, split, filters, grain = await _impact(service, dict(request.query_params), options)
    chart, by_period = impact_charts(impact, grain)
    sources = await asyncio.to_thread(service.sources, filters)  # the year's cohort
    appointments = await asyncio.to_thread(service.appointments, filters)
    totals = impact.totals
    query = urlencode(
        {
            "annee": str(impact.year),
            "pas": grain,
            **({"equipe": filters.team} if filters.team else {}),
            **({"territoire": filters.territory} if filters.territory else {}),
        }
    )
    times = LocalTime.of(services.settings)
    this_year = service.now().astimezone(times.zone).year
    return render(
        request,
        services,
        "dashboard_impact.html",
        {
            **_filter_context(filters, options),
            "impact": impact,
            "table": impact_table(impact),
            "chart": chart,
            "period_chart": by_period,
            "grain": grain,
            "labels": IMPACT_LABELS,
            "stages": IMPACT_STAGES,
            "csv_url": f"{QUEUE_PATH}/resultats/impact.csv?{query}",
            "conversation_channels": impact_channels_table(split, impact.year),
            "conversation_channels_csv": f"{QUEUE_PATH}/resultats/impact_canaux.csv?{query}",
            "channels": sources_channels_table(
                sources, f"Par canal : jeunes touchés en {impact.year} et leur parcours"
            ),
            "channels_csv": f"{QUEUE_PATH}/resultats/sources_channels.csv?{_query(filters)}",
            "appointment_figures": key_figures(appointments),
            **MASKING,
            "years": list(range(this_year, this_year - 5, -1)),
            "generated": times.show(service.now()),
            "positive_labels": [
                services.settings.handoff.outcomes[code]
                for code in services.settings.handoff.positive_outcomes
            ],
            "rate": {
                s: pct(totals[s] / totals["started"]) if totals["started"] else ""
                for s in IMPACT_STAGES
            },
        },
    )
