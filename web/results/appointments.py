"""The "Rendez-vous" tables of the results page and the key figures of the impact report
(French), from studio/analytics/appointments.py, every figure masked (studio/analytics/
masking.py), on the page and in the CSV alike.

The small-numbers rule is masking.py's: a count of 1-4 is "< 5"; a rate or a median over fewer
than 5 is NOT_SHOWN; and when a sum has exactly one count not shown, its smallest shown count
is withheld too (`masked_column`'s rule). Here the sums are the columns (each table's rows add
up to the total, shown on the page) and the rows (proposed = attended + missed + cancelled +
rescheduled + not yet marked + those still ahead, which nobody sees but which are 0 in a past
period), applied until no sum is left with a single hidden count. The attendance rate is only
shown when both its attended and missed counts are.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from studio.analytics import Results
from studio.analytics.appointments import COUNTS, AppointmentResults, AppointmentRow
from studio.analytics.masking import NOT_SHOWN, enough, is_small, masked, shown_share
from web.results.numbers import minutes_label, num, pct
from web.results.tables import NO_CAMPAIGN_LABEL, Table, channel_label

COUNT_LABELS = {
    "proposed": "Proposés",
    "confirmed": "Confirmés par le jeune",
    "attended": "Honorés",
    "missed": "Manqués",
    "cancelled_youth": "Annulés par le jeune",
    "cancelled_counsellor": "Annulés par l'équipe",
    "rescheduled": "Reportés",
    "unmarked": "Pas encore notés",
}
STATUSES = COUNTS[2:]  # attended .. unmarked: with those still ahead, they make `proposed`
AHEAD = "ahead"
RATE = "Taux de présence (%)"
DELAY = "Mise en relation → 1er rendez-vous : médiane (h)"
REMINDERS = {"with": "Avec au moins un rappel envoyé", "without": "Sans rappel"}
Cell = tuple[int, str]  # (row index, count), row -1: the total


# Masking ------------------------------------------------------------------------------------
def _ahead(row: AppointmentRow) -> int:
    return row.proposed - sum(row.counts[s] for s in STATUSES)


def _values(rows: Sequence[AppointmentRow], total: AppointmentRow) -> dict[Cell, int]:
    values: dict[Cell, int] = {}
    for index, row in [(-1, total), *enumerate(rows)]:
        values.update({(index, what): row.counts[what] for what in COUNTS})
        values[(index, AHEAD)] = _ahead(row)
    return values


def _withhold(
    values: dict[Cell, int],
    hidden: set[Cell],
    sums: list[tuple[list[Cell], Cell]],
    fixed: set[Cell],
) -> None:
    """masked_column's rule on every sum (parts, total) until none has a single hidden cell:
    the smallest shown part (else the total) not in `fixed` is withheld."""
    changed = True
    while changed:
        changed = False
        for parts, whole in sums:
            cells = [*parts, whole]
            if sum(c in hidden for c in cells) != 1 or is_small(values[whole]):
                continue
            shown = [c for c in cells if c not in hidden and c not in fixed and values[c] > 0]
            if shown:
                hidden.add(min(shown, key=lambda c: (c == whole, values[c])))
                changed = True


def _hidden_total(total: AppointmentRow) -> set[Cell]:
    values = _values([], total)
    hidden = {c for c, n in values.items() if is_small(n) or (c[1] == AHEAD and n > 0)}
    row = ([(-1, s) for s in (*STATUSES, AHEAD)], (-1, "proposed"))
    _withhold(values, hidden, [row], {(-1, AHEAD)})
    return hidden


def masked_rows(
    rows: Sequence[AppointmentRow], total: AppointmentRow, counts: Sequence[str] = COUNTS
) -> tuple[list[list[str]], list[str]]:
    """The rows' `counts` as shown, and the total's: the total masked on its own (the same on
    every table), then the rows against it."""
    values = _values(rows, total)
    total_hidden = _hidden_total(total)
    hidden = {c for c, n in values.items() if c[0] >= 0 and is_small(n)}
    hidden |= {(i, AHEAD) for i in range(len(rows)) if values[(i, AHEAD)] > 0}
    hidden |= total_hidden
    fixed = {c for c in values if c[0] == -1 or c[1] == AHEAD}
    sums = [([(i, what) for i in range(len(rows))], (-1, what)) for what in counts]
    if "proposed" in counts and set(STATUSES) <= set(counts):
        sums += [([(i, s) for s in (*STATUSES, AHEAD)], (i, "proposed")) for i in range(len(rows))]
    _withhold(values, hidden, sums, fixed)

    def shown(index: int) -> list[str]:
        return [
            NOT_SHOWN
            if (index, w) in hidden and not is_small(values[(index, w)])
            else masked(values[(index, w)])
            for w in counts
        ]

    return [shown(i) for i in range(len(rows))], shown(-1)


def _rate(row: AppointmentRow, cells: dict[str, str]) -> str:
    if not row.marked:
        return ""
    both = cells["attended"].isdigit() and cells["missed"].isdigit()
    rate = shown_share(row.counts["attended"], row.marked) if both else None
    return NOT_SHOWN if rate is None else pct(rate)


def _delay(row: AppointmentRow, words: bool = False) -> str:
    if not row.tickets:
        return ""
    if not enough(row.tickets) or row.first_median is None:
        return NOT_SHOWN
    return minutes_label(row.first_median) if words else num(row.first_median / 60)


def _figures(row: AppointmentRow, cells: list[str], counts: Sequence[str] = COUNTS) -> list[str]:
    return [*cells, _rate(row, dict(zip(counts, cells, strict=True))), _delay(row)]


# Tables -------------------------------------------------------------------------------------
def _table(
    name: str, title: str, first: str, labels: list[str], rows: list[AppointmentRow], total: Any
) -> Table:
    shown, total_cells = masked_rows(rows, total)
    body = [[label, *_figures(r, c)] for label, r, c in zip(labels, rows, shown, strict=True)]
    columns = [first, *(COUNT_LABELS[c] for c in COUNTS), RATE, DELAY]
    totals = 0
    if name == "rdv_equipes":
        body.append(["Toutes les équipes", *_figures(total, total_cells)])
        totals = 1
    return Table(name, title, columns, body, frozenset(range(1, len(columns))), totals)


def teams_table(found: AppointmentResults) -> Table:
    labels = [r.name for r in found.teams]
    return _table(
        "rdv_equipes", "Rendez-vous par équipe", "Équipe", labels, found.teams, found.total
    )


def campaigns_table(found: AppointmentResults) -> Table:
    labels = [r.name or NO_CAMPAIGN_LABEL for r in found.campaigns]
    return _table(
        "rdv_campagnes",
        "Rendez-vous par campagne (premier contact)",
        "Campagne",
        labels,
        found.campaigns,
        found.total,
    )


def channels_table(found: AppointmentResults) -> Table:
    labels = [channel_label(r.key) for r in found.channels]
    return _table(
        "rdv_canaux", "Rendez-vous par canal", "Canal", labels, found.channels, found.total
    )


def reminders_table(found: AppointmentResults) -> Table:
    counts = ("proposed", "attended", "missed")
    shown, _ = masked_rows(found.reminders, found.total, counts)
    body = [
        [REMINDERS[r.key], *cells, _rate(r, dict(zip(counts, cells, strict=True)))]
        for r, cells in zip(found.reminders, shown, strict=True)
    ]
    columns = ["Rappels", *(COUNT_LABELS[c] for c in counts), RATE]
    return Table(
        "rdv_rappels",
        "Présence avec et sans rappel",
        columns,
        body,
        frozenset(range(1, len(columns))),
    )


APPOINTMENT_TABLES: dict[str, Callable[[Results], Table]] = {
    "rdv_equipes": lambda results: teams_table(results.appointments),
    "rdv_campagnes": lambda results: campaigns_table(results.appointments),
    "rdv_canaux": lambda results: channels_table(results.appointments),
    "rdv_rappels": lambda results: reminders_table(results.appointments),
}


def key_figures(found: AppointmentResults) -> list[tuple[str, str, str]]:
    """(id, label, value) of the total, masked: the page's and the impact report's figures."""
    _, cells = masked_rows([], found.total)
    shown = dict(zip(COUNTS, cells, strict=True))
    rate = _rate(found.total, shown)
    return [
        ("proposed", "Rendez-vous proposés", shown["proposed"]),
        ("confirmed", "Confirmés par le jeune", shown["confirmed"]),
        ("attended", "Honorés", shown["attended"]),
        ("missed", "Manqués", shown["missed"]),
        ("rate", "Taux de présence", f"{rate} %" if rate and rate != NOT_SHOWN else rate or "—"),
        ("delay", "Délai médian avant le 1er rendez-vous", _delay(found.total, True) or "—"),
    ]
