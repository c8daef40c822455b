"""The tables of the results pages (French), each shown on the page and exported as CSV
exactly as shown (the same `Table` feeds both).

CSV: UTF-8 with a byte-order mark and `;` as separator, decimals with a comma: what a French
Excel opens without an import wizard (LibreOffice too).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass

from core.intents import intent_label
from core.turns import LOW_CONFIDENCE
from core.vocabulary import (
    CAMPAIGN_CHANNELS,
    UNKNOWN_SOURCE,
    UNKNOWN_SOURCE_LABEL,
)
from studio.analytics import (
    IMPACT_LABELS,
    IMPACT_STAGES,
    RESPONSE_WINDOW,
    SOURCE_STAGES,
    STAGE_LABELS,
    STAGES,
    DelayRow,
    Impact,
    Results,
    SourceRow,
    Sources,
    share,
)
from studio.analytics.masking import NOT_SHOWN, enough, masked_column, shown_share
from web.results.numbers import num, pct

URGENCY_LABELS = {"crisis": "Urgence", "normal": "Normale", "all": "Toutes"}
NUDGE_LABELS = {
    "triage_nudge": "Questionnaire abandonné",
    "handoff_pending": "Demande en attente",
    "youth_silent": "Jeune silencieux après une réponse",
    "youth_followup": "Message programmé par un·e conseiller·e",
    "outcome_checkin": "Nouvelles après une sortie positive",
}
WINDOW_HOURS = int(RESPONSE_WINDOW.total_seconds() // 3600)
LOW_CONFIDENCE_PCT = round(LOW_CONFIDENCE * 100)  # the one label of the inbox's threshold


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


# By source (studio/analytics/sources.py): every figure masked (masking.py), on the page and in
# the CSV alike: counts of 1-4 as "< 5"; a median, a share or a cost over fewer than 5 people
# as NOT_SHOWN, and the smallest shown count of a column with one hidden count; "" when there
# is nothing to show (no reply, no answer, no cost entered). The chart shows the same cells.
SOURCE_LABELS = {**STAGE_LABELS, "started": IMPACT_LABELS["started"]}
NO_CAMPAIGN_LABEL = UNKNOWN_SOURCE_LABEL
UNKNOWN_CHANNEL_LABEL = "Inconnu (ni campagne ni réponse)"


def channel_label(channel: str) -> str:
    if channel == UNKNOWN_SOURCE:
        return UNKNOWN_CHANNEL_LABEL
    return CAMPAIGN_CHANNELS.get(channel, channel)


def euros(cents: float) -> str:
    return f"{cents / 100:.2f}".replace(".", ",")


def source_cells(rows: list[SourceRow]) -> list[list[str]]:
    """The rows' figures as shown. A stage column with one hidden count (the funnel's total
    of the same cohort is on the page) withholds its smallest shown count too, as the
    funders' indicators do (web/results/indicators.py), so the hidden one cannot be found
    back by subtraction."""
    columns = []
    for stage in SOURCE_STAGES:
        columns.append(masked_column([r.counts[stage] for r in rows]))
    return [
        [*(column[index] for column in columns), *_source_figures(row)]
        for index, row in enumerate(rows)
    ]


def _source_figures(row: SourceRow) -> list[str]:
    """Median reply, invisible share, cost per reached: NOT_SHOWN over too few people, ""
    when there is nothing to compute."""
    median = row.reply_median if enough(row.replied) else None
    invisible = shown_share(row.followed_no, row.followed_known)
    cost = row.cost_per_reached if enough(row.costed_reached) else None
    return [
        "" if not row.replied else NOT_SHOWN if median is None else num(median),
        "" if not row.followed_known else NOT_SHOWN if invisible is None else pct(invisible),
        "" if row.cost_per_reached is None else NOT_SHOWN if cost is None else euros(cost),
    ]


def _source_columns(first: list[str]) -> list[str]:
    return [
        *first,
        *(SOURCE_LABELS[s] for s in SOURCE_STAGES),
        "Première réponse humaine : médiane (min)",
        "Pas encore suivis par une structure (%)",
        "Coût par jeune touché (€)",
    ]


def sources_campaigns_table(sources: Sources) -> Table:
    rows = [
        [r.name or NO_CAMPAIGN_LABEL, channel_label(r.channel) if r.channel else "", *cells]
        for r, cells in zip(sources.campaigns, source_cells(sources.campaigns), strict=True)
    ]
    columns = _source_columns(["Campagne", "Canal"])
    return Table(
        "sources_campaigns",
        "Par campagne (premier contact)",
        columns,
        rows,
        frozenset(range(2, len(columns))),
    )


def sources_channels_table(sources: Sources, title: str = "Par canal") -> Table:
    rows = [
        [channel_label(r.channel), *cells]
        for r, cells in zip(sources.channels, source_cells(sources.channels), strict=True)
    ]
    columns = _source_columns(["Canal"])
    return Table("sources_channels", title, columns, rows, frozenset(range(1, len(columns))))


RESULT_TABLES: dict[str, Callable[[Results], Table]] = {
    "entonnoir": funnel_table,
    "delais": delays_table,
    "issues": outcomes_table,
    "relances": nudges_table,
    "intentions": intents_table,
    "variantes": variants_table,
    "sources_campaigns": lambda results: sources_campaigns_table(results.sources),
    "sources_channels": lambda results: sources_channels_table(results.sources),
}
