"""The charts of the results and impact pages (French): which figures each one shows, in
what words (web/results/charts.py computes their geometry)."""

from __future__ import annotations

from typing import Any

from core.intents import intent_label
from core.vocabulary import UNKNOWN_SOURCE
from studio.analytics import (
    IMPACT_LABELS,
    IMPACT_STAGES,
    SOURCE_STAGES,
    STAGE_LABELS,
    STAGES,
    Impact,
    Results,
    Sources,
)
from web.results.charts import BarChart, BarItem, LineChart, bar_chart, line_chart
from web.results.numbers import pct
from web.results.tables import (
    NUDGE_LABELS,
    WINDOW_HOURS,
    channel_label,
    sla_text,
    source_cells,
)

KPI_LABELS = {"crisis": "urgences", "normal": "demandes normales", "all": "toutes"}
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


def results_charts(results: Results) -> dict[str, Any]:
    """The charts of /tableau/resultats, by the name the template gives them."""
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
        "sources_chart": sources_chart(results.sources),
    }


def sources_chart(sources: Sources) -> BarChart:
    """Young people reached and positive outcomes by channel, as the channel table shows them
    (masked): a count not shown ("< 5", "—") gets no bar (its length would give it back)."""
    items = []
    shown = source_cells(sources.channels)
    for row, cells in zip(sources.channels, shown, strict=True):
        label = "Inconnu" if row.channel == UNKNOWN_SOURCE else channel_label(row.channel)
        for stage, what, css in (
            ("started", "touchés", "bar stage-started"),
            ("positive", "sorties positives", "bar stage-positive"),
        ):
            text = cells[SOURCE_STAGES.index(stage)]
            value = int(text) if text.isdigit() else 0
            items.append(BarItem(f"{label} · {what}", value, text, css))
    return bar_chart(
        "chart-sources",
        "Par canal",
        "Jeunes touchés et sorties positives par canal (premier contact dans la période) ; "
        "moins de 5 jeunes : « < 5 », sans barre.",
        items,
    )


def impact_charts(impact: Impact, grain: str) -> tuple[BarChart, LineChart]:
    """The year's journey at each stage, and the same by quarter or month (`grain` in words)."""
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
    return chart, by_period
