"""The funders' indicators page (`/tableau/indicateurs`, managers only): "Repérer et mobiliser
les publics invisibles" for one quarter or year, with their definitions, printable (A4) and
exported as CSV (`/tableau/indicateurs.csv`, the same figures). Every figure goes through
studio/analytics/masking.py: 1-4 people show as "< 5", a share or a median over too few
people is not shown.

The figures: studio/analytics/indicators.py.
"""

from __future__ import annotations

import asyncio
import csv
import io
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from studio.analytics import NO_TERRITORY, Options
from studio.analytics.indicators import (
    INDICATOR_LABELS,
    INDICATORS,
    QUARTERS,
    Indicators,
    IndicatorsService,
    Period,
    SourceFigures,
)
from studio.analytics.masking import NOT_SHOWN, enough, masked, masked_column, shown_share
from web.dashboard.guard import QUEUE_PATH, DashboardRoute
from web.deps import Manager, ServicesDep
from web.render import LocalTime, error, render
from web.results.numbers import minutes_label, num, pct
from web.results.pages import parse_scope
from web.results.tables import Table

if TYPE_CHECKING:
    from maraude.services import Services

router = APIRouter(prefix=QUEUE_PATH, include_in_schema=False, route_class=DashboardRoute)
FIRST_YEAR = 2000
WHOLE_YEAR = "annee"  # the `trimestre` value for the whole year

INVISIBLE_LABEL = "Part des invisibles (%)"
REPLY_LABEL = "Délai médian de première réponse (min)"
# What each figure means, in the funders' words (the page and the CSV).
DEFINITIONS: list[tuple[str, str]] = [
    (
        INDICATOR_LABELS["reperes"],
        "jeunes ayant écrit au robot pour la première fois pendant la période (premier message).",
    ),
    (
        INDICATOR_LABELS["mobilises"],
        "jeunes entrés en relation pendant la période : le premier de ces deux moments, "
        "l'accord donné pour continuer l'échange (consentement) ou la demande de parler à "
        "un·e conseiller·e (y compris un signalement d'urgence).",
    ),
    (
        INDICATOR_LABELS["orientes"],
        "jeunes dont la demande a été prise en charge pendant la période par un·e "
        "conseiller·e d'une structure (Mission Locale, prévention, Info Jeunes…) : la "
        "mise en relation effective avec un·e professionnel·le.",
    ),
    (
        INDICATOR_LABELS["sorties"],
        "jeunes dont l'accompagnement s'est clôturé pendant la période par une orientation "
        "ou une solution : {positive}.",
    ),
    (
        INVISIBLE_LABEL,
        "parmi les jeunes repérés pendant la période qui ont répondu à la question « une "
        "structure t'accompagne déjà ? », la part de ceux qui ont répondu non.",
    ),
    (
        REPLY_LABEL,
        "demandes ouvertes pendant la période qui ont reçu un message d'un·e conseiller·e : "
        "temps réel entre la demande et ce premier message, la valeur du milieu.",
    ),
    (
        "Source",
        "le canal de la campagne (lien ou QR code) qui a amené le ou la jeune la première "
        "fois ; sinon le canal qu'il ou elle a déclaré, s'il ou elle l'a dit ; "
        "sinon « sans campagne connue ».",
    ),
]
NOTES = [
    "Chaque jeune est compté une seule fois par indicateur, dans la période où il ou elle l'a "
    "atteint pour la première fois : les trimestres s'additionnent pour faire l'année.",
    "Les conversations du simulateur (essais de l'équipe) ne sont jamais comptées.",
    "Moins de 5 jeunes : le nombre est remplacé par « < 5 » ; une part ou un délai calculé "
    "sur moins de 5 jeunes n'est pas affiché (—), pour qu'on ne puisse reconnaître personne ; "
    "quand un seul nombre d'une colonne est masqué, un autre l'est aussi (—), pour qu'on ne "
    "puisse pas le retrouver en soustrayant les autres du total.",
    "Les jeunes qui ont demandé l'effacement de leurs données restent comptés dans chaque "
    "indicateur et dans les délais, sans leur source (ligne « personnes effacées ») ni leur "
    "réponse sur l'accompagnement.",
]
TEAM_NOTE = (
    "Avec un filtre d'équipe ou de territoire, un·e jeune compte pour l'équipe et le "
    "territoire de sa dernière demande : seuls les jeunes mis en relation y sont rattachés ; "
    "le délai de réponse retient l'équipe et le territoire de chaque demande."
)


@dataclass(frozen=True)
class Choice:
    """What the page shows: a period, a team, a territory, and what was wrong in the asking."""

    period: Period
    team: str | None
    territory: str | None
    problems: list[tuple[str, str]]  # (what was wrong, what is shown instead)

    @property
    def message(self) -> str:
        """What the page says about the parameters it could not use."""
        return " ".join(f"{wrong} : {instead}." for wrong, instead in self.problems)


def parse_choice(params: dict[str, str], options: Options, today: date) -> Choice:
    """The period and filters from the query string; a bad value falls back, with a message."""
    problems: list[tuple[str, str]] = []
    year_text = params.get("annee", "").strip()
    year = today.year
    if year_text:
        known = year_text.isascii() and year_text.isdigit() and len(year_text) == 4
        if known and FIRST_YEAR <= int(year_text) <= today.year + 1:
            year = int(year_text)
        else:
            wrong = f"Année invalide (de {FIRST_YEAR} à {today.year + 1})"
            problems.append((wrong, f"l'année {year} est affichée"))
    quarter_text = params.get("trimestre", "").strip().upper()
    quarter: int | None
    if not quarter_text:
        # Nothing asked: the current quarter; a year asked: the whole of it.
        quarter = None if year_text else Period.of(today).quarter
    elif quarter_text == WHOLE_YEAR.upper():
        quarter = None
    elif quarter_text in {f"T{q}" for q in QUARTERS}:
        quarter = int(quarter_text[1])
    else:
        quarter = None
        problems.append(("Trimestre invalide (T1 à T4)", "toute l'année est affichée"))
    team, territory, unknown = parse_scope(params, options)
    return Choice(Period(year, quarter), team, territory, problems + unknown)


# Figures as shown (masked) ----------------------------------------------------------------
def invisible_share(row: SourceFigures) -> str:
    value = shown_share(row.invisible, row.answered)
    return NOT_SHOWN if value is None else pct(value)


def reply_minutes(row: SourceFigures) -> str:
    """The median in whole minutes, or NOT_SHOWN over fewer than 5 replies."""
    median = row.reply_median
    if median is None or not enough(len(row.replies)):
        return NOT_SHOWN
    return num(round(median))


def reply_words(row: SourceFigures) -> str:
    median = row.reply_median
    if median is None or not enough(len(row.replies)):
        return NOT_SHOWN
    return minutes_label(median)


def sources_table(figures: Indicators) -> Table:
    rows = [[row.label] for row in figures.sources]
    for indicator in INDICATORS:
        counts = [row.counts[indicator] for row in figures.sources]
        cells = masked_column(counts, figures.total.counts[indicator])
        for row, cell in zip(rows, cells, strict=True):
            row.append(cell)
    for row, figures_row in zip(rows, figures.sources, strict=True):
        row += [invisible_share(figures_row), reply_minutes(figures_row)]
    total = figures.total
    rows.append(
        [
            total.label,
            *(masked(total.counts[i]) for i in INDICATORS),
            invisible_share(total),
            reply_minutes(total),
        ]
    )
    columns = [
        "Source",
        *(INDICATOR_LABELS[i] for i in INDICATORS),
        INVISIBLE_LABEL,
        REPLY_LABEL,
    ]
    return Table(
        "indicateurs",
        f"Indicateurs par source, {figures.period.label}",
        columns,
        rows,
        frozenset(range(1, len(columns))),
        total_rows=1,
    )


def outcomes_table(figures: Indicators) -> Table:
    total = sum(r.count for r in figures.positive_outcomes)
    cells = masked_column([r.count for r in figures.positive_outcomes], total)
    rows = [[r.label, cell] for r, cell in zip(figures.positive_outcomes, cells, strict=True)]
    rows.append(["Toutes les sorties positives", masked(total)])
    return Table(
        "sorties",
        "Sorties positives par solution (demandes clôturées pendant la période)",
        ["Orientation ou solution", "Demandes clôturées"],
        rows,
        frozenset({1}),
        total_rows=1,
    )


def definitions(services: Services) -> list[tuple[str, str]]:
    handoff = services.settings.handoff
    positive = ", ".join(handoff.outcomes[code] for code in handoff.positive_outcomes)
    return [(term, text.format(positive=positive)) for term, text in DEFINITIONS]


def scope_label(choice: Choice, options: Options) -> str:
    teams = dict(options.teams)
    parts = []
    if choice.team:
        parts.append(f"équipe {teams.get(choice.team, choice.team)}")
    if choice.territory:
        parts.append("sans territoire" if choice.territory == NO_TERRITORY else choice.territory)
    return ", ".join(parts) or "toutes équipes, tous territoires"


def dates_label(period: Period) -> str:
    return f"du {period.start:%d/%m/%Y} au {period.end:%d/%m/%Y}"


def query_of(choice: Choice) -> str:
    values = {
        "annee": str(choice.period.year),
        "trimestre": WHOLE_YEAR if choice.period.quarter is None else f"T{choice.period.quarter}",
    }
    if choice.team:
        values["equipe"] = choice.team
    if choice.territory:
        values["territoire"] = choice.territory
    return urlencode(values)


def indicators_csv(figures: Indicators, services: Services, scope: str, generated: str) -> bytes:
    """One file a funder can read alone: who, which period, the figures, their meaning."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    period = figures.period
    writer.writerow(["Structure", services.settings.organisation.name])
    writer.writerow(["Programme", "Repérer et mobiliser les publics invisibles"])
    writer.writerow(["Période", f"{period.label} ({dates_label(period)})"])
    writer.writerow(["Périmètre", scope])
    writer.writerow(["Édité le", generated])
    for table in (sources_table(figures), outcomes_table(figures)):
        writer.writerow([])
        writer.writerow([table.title])
        writer.writerow(table.columns)
        writer.writerows(table.rows)
    writer.writerow([])
    writer.writerow(["Définitions"])
    writer.writerows(definitions(services))
    writer.writerows([[note] for note in NOTES])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


# Routes ------------------------------------------------------------------------------------
def _service(services: Services) -> IndicatorsService:
    return IndicatorsService(services.db, services.settings, services.clock)


async def _choice(
    request: Request, services: Services
) -> tuple[IndicatorsService, Options, Choice]:
    service = _service(services)
    options = await asyncio.to_thread(service.options)
    return service, options, parse_choice(dict(request.query_params), options, service.today())


async def _figures(service: IndicatorsService, choice: Choice) -> Indicators:
    return await asyncio.to_thread(service.indicators, choice.period, choice.team, choice.territory)


@router.get("/indicateurs")
async def indicators_page(request: Request, services: ServicesDep, me: Manager) -> Response:
    service, options, choice = await _choice(request, services)
    figures = await _figures(service, choice)
    total = figures.total
    this_year = service.today().year
    return render(
        request,
        services,
        "dashboard_indicators.html",
        {
            "figures": figures,
            "period": figures.period,
            "choice": choice,
            "options": options,
            "no_territory": NO_TERRITORY,
            "quarters": QUARTERS,
            "whole_year": WHOLE_YEAR,
            "years": list(range(this_year + 1, FIRST_YEAR - 1, -1))[:8],
            "scope": scope_label(choice, options),
            "dates": dates_label(figures.period),
            "generated": LocalTime.of(services.settings).show(figures.generated_at),
            "error": choice.message,
            "cards": [
                *(
                    {"key": i, "label": INDICATOR_LABELS[i], "value": masked(total.counts[i])}
                    for i in INDICATORS
                ),
                {
                    "key": "invisibles",
                    "label": "Jeunes non accompagnés par une structure (invisibles)",
                    "value": _percent(invisible_share(total)),
                },
                {
                    "key": "reply",
                    "label": "Délai médian de première réponse humaine",
                    "value": reply_words(total),
                },
            ],
            "sources": sources_table(figures),
            "outcomes": outcomes_table(figures),
            "definitions": definitions(services),
            "notes": NOTES,
            "team_note": TEAM_NOTE if choice.team or choice.territory else "",
            "csv_url": f"{QUEUE_PATH}/indicateurs.csv?{query_of(choice)}",
        },
    )


@router.get("/indicateurs.csv")
async def indicators_export(request: Request, services: ServicesDep, me: Manager) -> Response:
    service, options, choice = await _choice(request, services)
    if choice.problems:  # a file names its period: no silent fallback
        wrong = ", ".join(w for w, _ in choice.problems)
        return error(request, f"Export impossible : {wrong}.", 400, json=False)
    figures = await _figures(service, choice)
    generated = LocalTime.of(services.settings).show(figures.generated_at)
    body = indicators_csv(figures, services, scope_label(choice, options), generated)
    name = f"indicateurs-{figures.period.slug}.csv"
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _percent(value: str) -> str:
    return value if value == NOT_SHOWN else f"{value} %"
