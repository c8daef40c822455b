"""Results pages for managers and admins (French): the funnel, delays, outcomes, nudges,
intents and wording variants (`/tableau/resultats`), a CSV export of each table
(`/tableau/resultats/<table>.csv`) and the printable impact report for funders
(`/tableau/impact`). Counsellors get 403.

Charts are inline SVG drawn on the server (no script, no network): the geometry is computed
here (`BarChart`, `LineChart`), the templates (`_charts.html`) only draw it. Each chart has a
title and description for screen readers and the table with the same figures right under it.

CSV: UTF-8 with a byte-order mark and `;` as separator, decimals with a comma: what a French
Excel opens without an import wizard (LibreOffice too). Each table of the page is exported
exactly as shown (the same `Table` feeds both).
"""

from __future__ import annotations

import asyncio
import csv
import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from core.intents import intent_label
from core.turns import LOW_CONFIDENCE
from studio.analytics import (
    IMPACT_LABELS,
    IMPACT_STAGES,
    MIN_PER_ARM,
    NO_TERRITORY,
    PARIS,
    RESPONSE_WINDOW,
    STAGE_LABELS,
    STAGES,
    AnalyticsService,
    DelayRow,
    Filters,
    Impact,
    Options,
    Results,
    share,
)
from web.dashboard import (
    DashboardRoute,
    Me,
    _error,
    _render,
    duration_label,
    local_time,
)
from web.deps import get_services

if TYPE_CHECKING:
    from maraude.app import Services

ServicesDep = Annotated[Any, Depends(get_services)]
router = APIRouter(prefix="/tableau", include_in_schema=False, route_class=DashboardRoute)

FORBIDDEN = "Les résultats sont réservés aux responsables et aux admins."
KPI_LABELS = {"crisis": "urgences", "normal": "demandes normales", "all": "toutes"}
URGENCY_LABELS = {"crisis": "Urgence", "normal": "Normale", "all": "Toutes"}
NUDGE_LABELS = {
    "triage_nudge": "Questionnaire abandonné",
    "handoff_pending": "Demande en attente",
    "youth_silent": "Jeune silencieux après une réponse",
    "youth_followup": "Message programmé par un·e conseiller·e",
    "outcome_checkin": "Nouvelles après une sortie positive",
}
MONTHS_SHORT = (
    "janv.",
    "févr.",
    "mars",
    "avr.",
    "mai",
    "juin",
    "juil.",
    "août",
    "sept.",
    "oct.",
    "nov.",
    "déc.",
)
GRAINS = {"mois": "month", "trimestre": "quarter"}
WINDOW_HOURS = int(RESPONSE_WINDOW.total_seconds() // 3600)
LOW_CONFIDENCE_PCT = round(LOW_CONFIDENCE * 100)  # the one label of the inbox's threshold


# Number formatting (French) ----------------------------------------------------------------
def num(value: float | None, digits: int = 1) -> str:
    """12 / 12,5 / "" for None: French decimal comma, no useless ",0"."""
    if value is None:
        return ""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.{digits}f}".replace(".", ",")


def pct(value: float | None) -> str:
    """A share as a percentage with one decimal: 0.125 -> "12,5"."""
    return "" if value is None else f"{value * 100:.1f}".replace(".", ",")


def minutes_label(value: float | None) -> str:
    return "—" if value is None else duration_label(int(round(value)))


# Tables (page and CSV) ---------------------------------------------------------------------
@dataclass(frozen=True)
class Table:
    name: str  # the CSV file name
    title: str
    columns: list[str]
    rows: list[list[str]]
    numeric: frozenset[int] = frozenset()  # right-aligned columns
    total_rows: int = 0  # the last rows are totals (bold)

    def csv(self) -> bytes:
        out = io.StringIO()
        writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
        writer.writerow(self.columns)
        writer.writerows(self.rows)
        return ("\ufeff" + out.getvalue()).encode("utf-8")


def funnel_table(results: Results) -> Table:
    funnel = results.funnel
    rows = [
        [w.label, w.week.strftime("%d/%m/%Y"), *(str(w.counts[s]) for s in STAGES)]
        for w in funnel.weeks
    ]
    rows.append(["Total", "", *(str(funnel.totals[s]) for s in STAGES)])
    rows.append(
        ["Part des conversations commencées (%)", "", *(pct(funnel.rate(s)) for s in STAGES)]
    )
    columns = ["Semaine", "Début de semaine", *(STAGE_LABELS[s] for s in STAGES)]
    return Table(
        "entonnoir",
        "Entonnoir par semaine de premier contact",
        columns,
        rows,
        frozenset(range(2, len(columns))),
        total_rows=2,
    )


def sla_text(within: int, judged: int, pending: int) -> str:
    """ "7,7 % (1/13)", and the tickets not judged yet: "… · 3 en attente"."""
    text = f"{pct(share(within, judged))} % ({within}/{judged})" if judged else "—"
    return text + (f" · {pending} en attente" if pending else "")


def delays_table(results: Results) -> Table:
    def row(d: DelayRow) -> list[str]:
        return [
            URGENCY_LABELS.get(d.urgency, d.urgency),
            d.sla_label or "selon l'urgence",
            str(d.tickets),
            str(d.claimed),
            num(d.claim_median),
            num(d.claim_p90),
            str(d.claim_within_sla),
            str(d.unclaimed_late),
            pct(d.claim_sla_rate),
            str(d.claim_pending),
            str(d.replied),
            num(d.reply_median),
            num(d.reply_p90),
            str(d.reply_within_sla),
            str(d.reply_late),
            pct(d.reply_sla_rate),
            str(d.reply_pending),
        ]

    columns = [
        "Urgence",
        "Délai visé",
        "Tickets ouverts",
        "Pris en charge",
        "Prise en charge : médiane (min)",
        "Prise en charge : p90 (min)",
        "Pris dans le délai",
        "Pas encore pris, délai dépassé",
        "Pris dans le délai (%)",
        "Pas encore pris, en attente (délai pas encore atteint)",
        "Avec une réponse",
        "Première réponse : médiane (min)",
        "Première réponse : p90 (min)",
        "Réponse dans le délai",
        "Pas encore de réponse, délai dépassé",
        "Réponse dans le délai (%)",
        "Pas encore de réponse, en attente (délai pas encore atteint)",
    ]
    return Table(
        "delais",
        "Délais de prise en charge et de première réponse",
        columns,
        [row(d) for d in results.delays],
        frozenset(range(2, len(columns))),
        total_rows=1,
    )


def outcomes_table(results: Results) -> Table:
    total = sum(r.count for r in results.outcomes)
    rows = [
        [
            r.code,
            r.label,
            "oui" if r.positive else "non",
            str(r.count),
            pct(r.count / total if total else None),
        ]
        for r in results.outcomes
    ]
    positive = sum(r.count for r in results.outcomes if r.positive)
    rows.append(["", "Total", "", str(total), pct(1 if total else None)])
    rows.append(
        [
            "",
            "dont sorties positives",
            "oui",
            str(positive),
            pct(positive / total if total else None),
        ]
    )
    return Table(
        "issues",
        "Issues des tickets clôturés",
        ["Code", "Issue", "Positive", "Tickets", "Part (%)"],
        rows,
        frozenset({3, 4}),
        total_rows=2,
    )


def nudges_table(results: Results) -> Table:
    rows = [
        [NUDGE_LABELS.get(r.kind, r.kind), str(r.step), str(r.sent), str(r.answered), pct(r.rate)]
        for r in results.nudges
    ]
    sent = sum(r.sent for r in results.nudges)
    answered = sum(r.answered for r in results.nudges)
    rows.append(["Toutes", "", str(sent), str(answered), pct(answered / sent if sent else None)])
    return Table(
        "relances",
        "Relances envoyées et réponses",
        ["Relance", "Étape", "Envoyées", f"Avec réponse sous {WINDOW_HOURS} h", "Taux (%)"],
        rows,
        frozenset({1, 2, 3, 4}),
        total_rows=1,
    )


def intents_table(results: Results) -> Table:
    intents = results.intents
    rows = [
        [intent_label(r.intent), str(r.count), pct(r.count / intents.turns)] for r in intents.top
    ]
    rows.append(["Tous les messages", str(intents.turns), pct(1 if intents.turns else None)])
    rows.append(["Repli (fallback)", str(intents.fallback), pct(intents.fallback_rate)])
    rows.append(
        [
            f"Mal compris (repli ou confiance < {LOW_CONFIDENCE_PCT} %)",
            str(intents.low_confidence),
            pct(intents.low_confidence_rate),
        ]
    )
    return Table(
        "intentions",
        "Intentions les plus fréquentes",
        ["Intention", "Messages", "Part (%)"],
        rows,
        frozenset({1, 2}),
        total_rows=3,
    )


def variants_table(results: Results) -> Table:
    rows = []
    reference: dict[str, float | None] = {}
    for r in results.variants:
        if r.reference:
            reference[r.response] = r.rate
        ref = reference.get(r.response)
        gap = None if r.reference or r.rate is None or ref is None else (r.rate - ref) * 100
        rows.append(
            [
                r.response,
                r.variant,
                str(r.exposed),
                str(r.converted),
                pct(r.rate),
                "" if gap is None else f"{gap:+.1f}".replace(".", ","),
                "" if r.test is None else f"{r.test.z:.2f}".replace(".", ","),
                "" if r.test is None else f"{r.test.p_value:.3f}".replace(".", ","),
                r.verdict,
            ]
        )
    return Table(
        "variantes",
        "Variantes de formulation : demandes de mise en relation",
        [
            "Réponse",
            "Variante",
            "Personnes exposées",
            "Ont demandé un·e conseiller·e ensuite",
            "Taux (%)",
            "Écart avec la référence (points)",
            "z",
            "p",
            "Lecture",
        ],
        rows,
        frozenset({2, 3, 4, 5, 6, 7}),
    )


def impact_table(impact: Impact) -> Table:
    rows = [[r.label, *(str(r.counts[s]) for s in IMPACT_STAGES)] for r in impact.rows]
    rows.append([f"Total {impact.year}", *(str(impact.totals[s]) for s in IMPACT_STAGES)])
    return Table(
        "impact",
        f"Activité {impact.year} par {'trimestre' if impact.grain == 'quarter' else 'mois'}",
        ["Période", *(IMPACT_LABELS[s] for s in IMPACT_STAGES)],
        rows,
        frozenset(range(1, len(IMPACT_STAGES) + 1)),
        total_rows=1,
    )


RESULT_TABLES: dict[str, Callable[[Results], Table]] = {
    "entonnoir": funnel_table,
    "delais": delays_table,
    "issues": outcomes_table,
    "relances": nudges_table,
    "intentions": intents_table,
    "variantes": variants_table,
}


# Charts (inline SVG geometry) --------------------------------------------------------------
def nice_ticks(top: float, count: int = 5) -> list[float]:
    """0 and round steps (1, 2, 5 x 10^k) up to at least `top`, at most about `count` + 1."""
    if top <= 0:
        return [0, 1]
    raw = top / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    if step < 1:
        step = 1
    ticks = [0.0]
    while ticks[-1] < top:
        ticks.append(ticks[-1] + step)
    return ticks


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str  # shown after the bar
    x: float
    y: float
    width: float
    height: float
    css: str
    label_x: float
    label_y: float
    text_x: float
    text_anchor: str


@dataclass(frozen=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True)
class BarChart:
    id: str
    title: str
    description: str
    width: int
    height: int
    bars: list[Bar]
    ticks: list[Tick] = field(default_factory=list)
    axis_y: float = 0
    plot_top: float = 0
    empty: bool = False


@dataclass(frozen=True)
class BarItem:
    label: str
    value: float
    text: str
    css: str = "bar"


BAR_W = 600
LABEL_H = 30  # room for the label above each bar (bigger on a phone: results.css)
BAR_H = 22
ROW_H = 62
VALUE_W = 175  # room for the value after the longest bar


def bar_chart(
    chart_id: str,
    title: str,
    description: str,
    items: Sequence[BarItem],
    *,
    maximum: float | None = None,
    centred: bool = False,
    axis: bool = True,
) -> BarChart:
    """Horizontal bars, each under its label (readable on a phone); an x axis with ticks."""
    left, right = 8, 8
    plot_w = BAR_W - left - right - VALUE_W
    top = max([maximum or 0, *(i.value for i in items)]) if items else 0
    ticks = nice_ticks(top) if axis and not centred else []
    scale_top = ticks[-1] if ticks else (top or 1)
    bars = []
    for index, item in enumerate(items):
        y0 = 6 + index * ROW_H
        width = plot_w * item.value / scale_top if scale_top else 0
        if centred:
            full = BAR_W - left - right
            width = full * item.value / scale_top if scale_top else 0
            x = left + (full - width) / 2
            bars.append(
                Bar(
                    item.label,
                    item.value,
                    item.text,
                    x,
                    y0 + LABEL_H,
                    max(width, 1.5),
                    BAR_H,
                    item.css,
                    BAR_W / 2,
                    y0 + LABEL_H - 6,
                    BAR_W / 2,
                    "middle",
                )
            )
            continue
        bars.append(
            Bar(
                item.label,
                item.value,
                item.text,
                left,
                y0 + LABEL_H,
                max(width, 1.5),
                BAR_H,
                item.css,
                left,
                y0 + LABEL_H - 6,
                left + max(width, 1.5) + 6,
                "start",
            )
        )
    axis_y = 6 + len(items) * ROW_H
    tick_marks = [Tick(left + plot_w * t / scale_top, num(t)) for t in ticks]
    height = int(axis_y + (28 if tick_marks else 6))
    return BarChart(
        chart_id,
        title,
        description,
        BAR_W,
        height,
        bars,
        tick_marks,
        axis_y,
        6 + LABEL_H,
        empty=not items or top == 0,
    )


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    value: int
    label: str


@dataclass(frozen=True)
class Series:
    key: str
    name: str
    points: list[Point]

    @property
    def path(self) -> str:
        return " ".join(
            f"{'M' if i == 0 else 'L'}{p.x:.1f},{p.y:.1f}" for i, p in enumerate(self.points)
        )


@dataclass(frozen=True)
class YTick:
    y: float
    label: str


@dataclass(frozen=True)
class LineChart:
    id: str
    title: str
    description: str
    width: int
    height: int
    left: float
    right: float
    top: float
    bottom: float
    series: list[Series]
    x_ticks: list[Tick]
    y_ticks: list[YTick]


def line_chart(
    chart_id: str,
    title: str,
    description: str,
    labels: Sequence[str],
    short_labels: Sequence[str],
    series: Sequence[tuple[str, str, Sequence[int]]],
) -> LineChart:
    width, height = 640, 310
    left, right, top, bottom = 48.0, width - 24.0, 14.0, height - 46.0
    highest = max([0, *(v for _, _, values in series for v in values)])
    ticks = nice_ticks(highest, 4)
    y_top = ticks[-1]
    n = len(labels)

    def x_of(i: int) -> float:
        return (left + right) / 2 if n == 1 else left + 10 + (right - left - 20) * i / (n - 1)

    def y_of(value: float) -> float:
        return bottom - (bottom - top) * value / y_top

    every = max(1, math.ceil(n / 8))  # at most 8 x labels (readable on a phone)
    return LineChart(
        chart_id,
        title,
        description,
        width,
        height,
        left,
        right,
        top,
        bottom,
        [
            Series(
                key,
                name,
                [Point(x_of(i), y_of(v), v, labels[i]) for i, v in enumerate(values)],
            )
            for key, name, values in series
        ],
        [Tick(x_of(i), short_labels[i]) for i in range(n) if i % every == 0],
        [YTick(y_of(t), num(t)) for t in ticks],
    )


# Filters -----------------------------------------------------------------------------------
def parse_filters(
    service: AnalyticsService, params: dict[str, str], options: Options
) -> tuple[Filters, str]:
    """The page's filters from the query string; invalid ones fall back, with a message."""
    default = service.default_filters()
    team = params.get("equipe") or None
    if team is not None and team not in {t for t, _ in options.teams}:
        team = None
    territory = params.get("territoire") or None
    if territory is not None and territory != NO_TERRITORY and territory not in options.territories:
        territory = None
    error = ""
    start, end = default.start, default.end
    if params.get("du") or params.get("au"):
        try:
            start = date.fromisoformat(params.get("du") or default.start.isoformat())
            end = date.fromisoformat(params.get("au") or default.end.isoformat())
            return Filters(start, end, team, territory), ""
        except ValueError:
            error = "Période invalide : les 12 dernières semaines sont affichées."
            start, end = default.start, default.end
    return Filters(start, end, team, territory), error


def _service(services: Services) -> AnalyticsService:
    # TicketService.now() is the app's injectable clock.
    return AnalyticsService(services.db, services.settings, services.tickets)


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


# Page context --------------------------------------------------------------------------------
def _charts(results: Results) -> dict[str, Any]:
    funnel = results.funnel
    started = funnel.totals["started"]
    funnel_chart = bar_chart(
        "chart-funnel",
        "Entonnoir",
        f"Personnes ayant atteint chaque étape, parmi les {started} conversations commencées.",
        [
            BarItem(
                STAGE_LABELS[s],
                funnel.totals[s],
                f"{funnel.totals[s]} ({pct(funnel.rate(s)) or '0,0'} %)",
                f"bar stage-{s}",
            )
            for s in STAGES
        ],
        centred=True,
    )
    weekly = line_chart(
        "chart-weekly",
        "Évolution par semaine",
        "Personnes par semaine de premier contact : conversations commencées, mises en "
        "relation demandées, prises en charge et sorties positives.",
        [w.label for w in funnel.weeks],
        [w.label.split("-")[1] for w in funnel.weeks],
        [
            (s, STAGE_LABELS[s], [w.counts[s] for w in funnel.weeks])
            for s in ("started", "handoff", "claimed", "positive")
        ],
    )
    sla_items = []
    for d in results.delays:
        if d.urgency == "all":
            continue
        name = KPI_LABELS[d.urgency]
        if d.claim_judged or d.claim_pending:
            sla_items.append(
                BarItem(
                    f"Prise en charge en moins de {d.sla_label} ({name})",
                    (d.claim_sla_rate or 0) * 100,
                    sla_text(d.claim_within_sla, d.claim_judged, d.claim_pending),
                    f"bar sla-{d.urgency}",
                )
            )
        if d.reply_judged or d.reply_pending:
            sla_items.append(
                BarItem(
                    f"Première réponse en moins de {d.sla_label} ({name})",
                    (d.reply_sla_rate or 0) * 100,
                    sla_text(d.reply_within_sla, d.reply_judged, d.reply_pending),
                    f"bar sla-{d.urgency}",
                )
            )
    sla_chart = bar_chart(
        "chart-sla",
        "Dans le délai",
        "Part des tickets pris en charge, et ayant reçu une première réponse, dans le délai ; "
        "les tickets qui attendent encore au-delà du délai comptent comme hors délai, ceux "
        "dont le délai court encore sont « en attente », à part.",
        sla_items,
        maximum=100,
    )
    outcomes = [r for r in results.outcomes if r.count]
    outcomes_chart = bar_chart(
        "chart-outcomes",
        "Issues",
        "Tickets clôturés par issue ; les sorties positives en vert.",
        [
            BarItem(r.label, r.count, str(r.count), "bar positive" if r.positive else "bar other")
            for r in sorted(outcomes, key=lambda r: (-r.count, r.label))
        ],
    )
    nudges_chart = bar_chart(
        "chart-nudges",
        "Réponse aux relances",
        f"Part des relances suivies d'un message du jeune dans les {WINDOW_HOURS} h.",
        [
            BarItem(
                f"{NUDGE_LABELS.get(r.kind, r.kind)} · étape {r.step}",
                (r.rate or 0) * 100,
                f"{pct(r.rate)} % ({r.answered}/{r.sent})",
                "bar nudge",
            )
            for r in results.nudges
        ],
        maximum=100,
    )
    intents_chart = bar_chart(
        "chart-intents",
        "Intentions",
        "Messages par intention reconnue (les plus fréquentes).",
        [
            BarItem(intent_label(r.intent), r.count, str(r.count), "bar intent")
            for r in results.intents.top
        ],
    )
    variants_chart = bar_chart(
        "chart-variants",
        "Variantes",
        "Part des personnes exposées à chaque variante qui ont ensuite demandé un·e conseiller·e.",
        [
            BarItem(
                f"{r.response} · {r.variant}",
                (r.rate or 0) * 100,
                f"{pct(r.rate)} % ({r.converted}/{r.exposed})",
                "bar variant-ref" if r.reference else "bar variant",
            )
            for r in results.variants
        ],
        maximum=100,
    )
    return {
        "funnel_chart": funnel_chart,
        "weekly_chart": weekly,
        "sla_chart": sla_chart,
        "outcomes_chart": outcomes_chart,
        "nudges_chart": nudges_chart,
        "intents_chart": intents_chart,
        "variants_chart": variants_chart,
    }


def _filter_context(filters: Filters, options: Options) -> dict[str, Any]:
    return {
        "filters": filters,
        "options": options,
        "no_territory": NO_TERRITORY,
        "scope": _scope(filters, options),
        "period_label": f"du {filters.start:%d/%m/%Y} au {filters.end:%d/%m/%Y}",
    }


# Routes --------------------------------------------------------------------------------------
def _forbidden(request: Request) -> Response:
    return _error(request, FORBIDDEN, 403, json=False)


@router.get("/resultats")
async def results_page(request: Request, services: ServicesDep, me: Me) -> Response:
    if not me.can_manage:
        return _forbidden(request)
    service = _service(services)
    options = await asyncio.to_thread(service.options)
    filters, error = parse_filters(service, dict(request.query_params), options)
    results = await asyncio.to_thread(service.results, filters)
    tables = {name: build(results) for name, build in RESULT_TABLES.items()}
    query = _query(filters)
    return _render(
        request,
        services,
        "dashboard_results.html",
        {
            **_filter_context(filters, options),
            **_charts(results),
            "results": results,
            "tables": tables,
            "csv": {name: f"/tableau/resultats/{name}.csv?{query}" for name in tables},
            "error": error,
            "generated": local_time(results.generated_at),
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
    me: Me,
    table: Annotated[str, Path(max_length=20)],
) -> Response:
    if not me.can_manage:
        return _forbidden(request)
    service = _service(services)
    options = await asyncio.to_thread(service.options)
    if table == "impact":
        impact, _, _ = await _impact(service, dict(request.query_params), options)
        return _csv_response(impact_table(impact), str(impact.year))
    build = RESULT_TABLES.get(table)
    if build is None:
        return _error(request, "Tableau inconnu.", 404, json=False)
    filters, _ = parse_filters(service, dict(request.query_params), options)
    results = await asyncio.to_thread(service.results, filters)
    return _csv_response(build(results), f"{filters.start:%Y%m%d}-{filters.end:%Y%m%d}")


async def _impact(
    service: AnalyticsService, params: dict[str, str], options: Options
) -> tuple[Impact, Filters, str]:
    today = service.today()
    year_text = params.get("annee", "")
    year = int(year_text) if year_text.isdigit() and 2000 <= int(year_text) <= 2100 else today.year
    grain = GRAINS.get(params.get("pas", ""), "quarter")
    filters, _ = parse_filters(
        service, {k: v for k, v in params.items() if k in ("equipe", "territoire")}, options
    )
    scoped = Filters(date(year, 1, 1), date(year, 12, 31), filters.team, filters.territory)
    impact = await asyncio.to_thread(service.impact, year, grain, scoped.team, scoped.territory)
    return impact, scoped, "trimestre" if grain == "quarter" else "mois"


@router.get("/impact")
async def impact_page(request: Request, services: ServicesDep, me: Me) -> Response:
    if not me.can_manage:
        return _forbidden(request)
    service = _service(services)
    options = await asyncio.to_thread(service.options)
    impact, filters, grain = await _impact(service, dict(request.query_params), options)
    table = impact_table(impact)
    totals = impact.totals
    chart = bar_chart(
        "chart-impact",
        f"Parcours des jeunes en {impact.year}",
        "Nombre de jeunes à chaque étape sur l'année.",
        [
            BarItem(IMPACT_LABELS[s], totals[s], str(totals[s]), f"bar stage-{s}")
            for s in IMPACT_STAGES
        ],
        centred=True,
    )
    by_period = line_chart(
        "chart-impact-periods",
        f"Par {grain}",
        f"Jeunes touchés, mis en relation et sorties positives par {grain}.",
        [r.label for r in impact.rows],
        [
            f"T{r.key[1]}" if impact.grain == "quarter" else MONTHS_SHORT[r.key[1] - 1]
            for r in impact.rows
        ],
        [
            (s, IMPACT_LABELS[s], [r.counts[s] for r in impact.rows])
            for s in ("started", "handoff", "positive")
        ],
    )
    query = urlencode(
        {
            "annee": str(impact.year),
            "pas": grain,
            **({"equipe": filters.team} if filters.team else {}),
            **({"territoire": filters.territory} if filters.territory else {}),
        }
    )
    now = service.now()
    return _render(
        request,
        services,
        "dashboard_impact.html",
        {
            **_filter_context(filters, options),
            "impact": impact,
            "table": table,
            "chart": chart,
            "period_chart": by_period,
            "grain": grain,
            "labels": IMPACT_LABELS,
            "stages": IMPACT_STAGES,
            "csv_url": f"/tableau/resultats/impact.csv?{query}",
            "years": list(range(now.astimezone(PARIS).year, now.astimezone(PARIS).year - 5, -1)),
            "generated": local_time(now),
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
