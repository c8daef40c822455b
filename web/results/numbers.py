"""French number formatting of the results pages and their CSV: decimal comma, no useless
",0", durations in words (core/vocabulary.py)."""

from __future__ import annotations

from datetime import timedelta

from core.vocabulary import duration_fr


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
    return "—" if value is None else duration_fr(timedelta(minutes=round(value)))
