"""Inline SVG charts of the results pages, drawn on the server (no script, no network): the
geometry is computed here (`BarChart`, `LineChart`), the templates (`_charts.html`) only draw
it. Each chart has a title and description for screen readers, and the page puts the table
with the same figures right under it."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from web.results.numbers import num


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
