"""Figures of a load-bench phase, one line per phase and the final `load:` line."""

from __future__ import annotations

from dataclasses import dataclass

from bench.load.driver import PhaseResult


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = pct / 100 * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass
class Figures:
    name: str
    rate: float  # young people arriving per second
    turns: int
    p50: float  # ms
    p95: float
    p99: float
    throughput: float  # answered turns per second
    errors: int
    lost: int
    duplicated: int
    out_of_order: int
    bursts_checked: int
    held: int  # turns first answered with the engine-down text
    redelivered: int
    counsellor: str
    kinds: str = ""  # p50 by kind of turn

    @property
    def clean(self) -> bool:
        return not (self.lost or self.duplicated or self.out_of_order or self.errors)

    def line(self) -> str:
        return (
            f"{self.name:<22} {self.rate:4.2f}/s turns={self.turns:>4} p50={self.p50:7.0f}ms "
            f"p95={self.p95:7.0f}ms p99={self.p99:7.0f}ms tput={self.throughput:5.2f}/s "
            f"err={self.errors} lost={self.lost} dup={self.duplicated} "
            f"ooo={self.out_of_order}/{self.bursts_checked} held={self.held} "
            f"redelivered={self.redelivered} p50 by kind: {self.kinds}{self.counsellor}"
        )

    def short(self) -> str:
        return (
            f"p50={self.p50:.0f}ms p95={self.p95:.0f}ms p99={self.p99:.0f}ms "
            f"tput={self.throughput:.2f}/s err={self.errors} lost={self.lost} "
            f"dup={self.duplicated} ooo={self.out_of_order}"
        )


def figures(result: PhaseResult, rate: float) -> Figures:
    turns = result.turns
    latencies = [t.latency * 1000 for t in turns if t.latency is not None]
    # Throughput in the steady state: turns answered between a quarter of the arrivals and
    # their end (no ramp-up, no tail), per second.
    low, high = result.window
    done = [t.replies[-1][0] for t in turns if t.latency is not None]
    steady = sum(1 for at in done if low <= at <= high)
    counsellor = ""
    if result.counsellor:
        records = result.counsellor
        failed = sum(1 for r in records if r.get("error"))
        delivered = [r["delivered"] - r["posted"] for r in records if r.get("delivered")]
        missing = sum(1 for r in records if "posted" in r and not r.get("delivered"))
        api = [r["api"] * 1000 for r in records if "api" in r]
        counsellor = (
            f" | counsellor replies={len(records)} api_p50={percentile(api, 50):.0f}ms "
            f"delivered_p50={percentile([d * 1000 for d in delivered], 50):.0f}ms "
            f"undelivered={missing} api_errors={failed}"
        )
    return Figures(
        name=result.name,
        rate=rate,
        turns=len(turns),
        p50=percentile(latencies, 50),
        p95=percentile(latencies, 95),
        p99=percentile(latencies, 99),
        throughput=steady / max(high - low, 1e-9),
        errors=sum(1 for t in turns if t.error),
        lost=sum(1 for t in turns if t.lost),
        duplicated=sum(t.duplicates for t in turns) + result.late_duplicates,
        out_of_order=sum(1 for t in turns if t.out_of_order),
        bursts_checked=sum(1 for t in turns if t.order_checked),
        held=sum(1 for t in turns if t.held),
        redelivered=sum(1 for t in turns if t.redelivered),
        counsellor=counsellor,
        kinds=" ".join(
            f"{kind}={percentile(values, 50):.0f}ms"
            for kind in ("say", "press", "burst")
            if (values := [t.latency * 1000 for t in turns if t.kind == kind and t.latency])
        ),
    )


def at_p95(runs: list[Figures], target: float) -> float:
    """Throughput at p95 = `target` ms: the best run within it, or, between the last run
    (by arrival rate) within it and the next one over it, the straight line between them."""
    ordered = sorted(runs, key=lambda f: f.rate)
    within = [f.throughput for f in ordered if f.p95 <= target]
    best = max(within, default=ordered[0].throughput)
    for low, high in zip(ordered, ordered[1:], strict=False):
        if low.p95 <= target < high.p95:
            share = (target - low.p95) / (high.p95 - low.p95)
            best = max(best, low.throughput + share * (high.throughput - low.throughput))
    return best


def equal_p95(one: list[Figures], two: list[Figures], budget: float) -> tuple[float, float, float]:
    """(p95, throughput of one, of two) at the highest p95 both configurations reached (at most
    `budget` ms): the 2-vs-1 comparison at equal p95."""
    target = min(max(f.p95 for f in one), max(f.p95 for f in two), budget)
    return target, at_p95(one, target), at_p95(two, target)


def problems(result: PhaseResult) -> list[str]:
    """One line per lost, failed, duplicated or reordered turn (the bench's own texts only)."""
    lines = []
    for t in result.turns:
        if t.lost or t.error or t.duplicates or t.out_of_order:
            what = "lost" if t.lost else t.error or ("dup" if t.duplicates else "out of order")
            lines.append(
                f"    {what}: {t.persona} step {t.step} {t.kind} {t.sent!r} posted at "
                f"+{t.posted - result.started:.1f}s, {len(t.replies)} replies "
                f"{[text[:30] for _, text in t.replies]}"
            )
    return lines
