"""Small numbers hidden: no young person can be recognised from a figure about a campaign, a
channel or a funders' indicator. A count of 1 to SMALL_NUMBER - 1 people is shown as "< 5"
(0 is shown: it names nobody); a share, a median or a cost computed over fewer than
SMALL_NUMBER people is not shown at all, nor is a share whose part is a hidden count (it would
give the count back). Every page and CSV about sources and indicators goes through here."""

from __future__ import annotations

from collections.abc import Sequence

from core.vocabulary import SMALL_NUMBER

HIDDEN = f"< {SMALL_NUMBER}"
NOT_SHOWN = "—"  # a rate, median or cost over too few people


def is_small(count: int) -> bool:
    """A count that names too few people to be shown (0 names nobody)."""
    return 0 < count < SMALL_NUMBER


def masked(count: int) -> str:
    """The count as shown: "< 5" for 1-4, else the number."""
    return HIDDEN if is_small(count) else str(count)


def shown_share(part: int, whole: int) -> float | None:
    """part / whole, or None when it would let someone count few people back."""
    if whole < SMALL_NUMBER or is_small(part):
        return None
    return part / whole


def enough(people: int) -> bool:
    """Enough people for a median or an average over them to be shown."""
    return people >= SMALL_NUMBER


def masked_column(counts: Sequence[int], total: int | None = None) -> list[str]:
    """One column's counts as shown, so that no hidden count can be found back by taking the
    shown ones from a shown total (`total`, default their sum: a page shows the funnel's or
    the period's total beside the breakdown): when exactly one count is hidden, the smallest
    shown one is withheld too (NOT_SHOWN)."""
    total = sum(counts) if total is None else total
    cells = [masked(n) for n in counts]
    hidden = [i for i, n in enumerate(counts) if is_small(n)]
    shown = [i for i, n in enumerate(counts) if n >= SMALL_NUMBER]
    if len(hidden) == 1 and not is_small(total) and shown:
        cells[min(shown, key=lambda i: counts[i])] = NOT_SHOWN
    return cells
