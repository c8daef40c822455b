"""What `run.py` prints: the figures of both pipelines side by side, the risk tiers, and the
target lines (issue "Crisis: a net under the classifier"):

- the project's mean macro-F1 over its seeded trainings at least TARGET_MEAN_F1, and at least
  TARGET_MARGIN above the mean of the stock's seeded trainings (one training is one draw: the
  same run's margin is shown, not judged);
- risk tiers on the test set: every crisis message at least medium risk, the safety question on
  at most 3 % of the other messages, high-risk false alarms on at most 1 % (bench/nlu/tiers.py);
- entity recall.
"""

from __future__ import annotations

import statistics
from typing import Any

try:  # as a module of the bench package (the app's tests), or next to run.py (the bench)
    from bench.nlu import tiers
except ImportError:  # pragma: no cover - run as a script from bench/nlu
    import tiers  # type: ignore[no-redef]

ENTITY_TYPES = ("age", "postcode", "commune")
TARGET_MEAN_F1 = 0.94
TARGET_MARGIN = 0.035
TARGET_ENTITY_RECALL = 0.90


def _fmt(value: Any, pct: bool = True) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float) and value != value:  # NaN
        return "n/a"
    return f"{100 * value:6.1f}" if pct else f"{value:6.1f}"


def _delta(a: Any, b: Any, pct: bool = True) -> str:
    if a is None or b is None:
        return ""
    d = (a - b) * (100 if pct else 1)
    return f"{d:+6.1f}"


def spread(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """A pipeline's macro-F1 over its trainings on the same data, one per seed (`--seeds`)."""
    scores = [float(r["macro_f1"]) for r in runs]
    return {
        "runs": len(scores),
        "macro_f1": scores,
        "accuracy": [float(r["accuracy"]) for r in runs],
        "mean": statistics.fmean(scores),
        "min": min(scores),
        "max": max(scores),
    }


def _runs(result: dict[str, Any]) -> dict[str, Any]:
    return result.get("repeats") or spread([result])


def _range(r: dict[str, Any]) -> str:
    return f"{r['min']:.3f}-{r['max']:.3f}, mean {r['mean']:.3f}"


def mean_checks(proj: dict[str, Any], stock: dict[str, Any] | None) -> list[tuple[str, Any, str]]:
    """The macro-F1 target lines, read on the means of the seeded trainings."""
    p = _runs(proj)
    checks: list[tuple[str, Any, str]] = [
        (
            f"project mean macro-F1 ({p['runs']} seeds) >= {TARGET_MEAN_F1:.2f}",
            p["mean"] >= TARGET_MEAN_F1,
            _range(p),
        )
    ]
    if stock is None:
        checks.append((f"project mean >= stock mean + {TARGET_MARGIN * 100:.1f}", None, "no stock"))
        return checks
    s = _runs(stock)
    margin = p["mean"] - s["mean"]
    checks.append(
        (
            f"project mean ({p['runs']} seeds) >= stock mean ({s['runs']} seeds) "
            f"+ {TARGET_MARGIN * 100:.1f}",
            margin >= TARGET_MARGIN,
            f"{margin * 100:+.1f} points (stock {_range(s)})",
        )
    )
    return checks


def tier_lines(name: str, figures: list[dict[str, Any]]) -> list[str]:
    """One line per tier figure: the first training's value, and the range over the seeds."""
    rows = [
        ("crisis recall, high risk alone (%)", "high_recall"),
        ("crisis recall, high + medium (%)", "any_recall"),
        ("high-risk false alarms (%)", "high_false_alarms"),
        ("safety question on non-crisis (%)", "medium_rate"),
    ]
    lines = []
    for label, key in rows:
        values = [f[key] for f in figures]
        span = f"  ({100 * min(values):.1f}-{100 * max(values):.1f})" if len(values) > 1 else ""
        lines.append(f"  {label:40s}{_fmt(values[0]):>8s}{span}")
    first = figures[0]
    lines.append(f"  ({name}: {first['crisis']} crisis messages, {first['other']} others)")
    return lines


def tier_checks(figures: dict[str, Any]) -> list[tuple[str, Any, str]]:
    return [
        (
            "crisis recall, high + medium = 1.0",
            figures["any_recall"] >= tiers.TARGET_RECALL,
            f"{figures['any_recall']:.3f} ({len(figures['missed'])} missed of {figures['crisis']})",
        ),
        (
            f"safety question on <= {tiers.TARGET_MEDIUM_RATE:.0%} of non-crisis",
            figures["medium_rate"] <= tiers.TARGET_MEDIUM_RATE,
            f"{figures['medium_rate']:.3f} ({len(figures['questioned'])} of {figures['other']})",
        ),
        (
            f"high-risk false alarms <= {tiers.TARGET_HIGH_FALSE_ALARMS:.0%}",
            figures["high_false_alarms"] <= tiers.TARGET_HIGH_FALSE_ALARMS,
            f"{figures['high_false_alarms']:.3f} ({len(figures['high_alarms'])} of "
            f"{figures['other']})",
        ),
    ]


def _table(results: dict[str, dict[str, Any]], cols: list[str]) -> list[tuple[str, str, bool]]:
    proj, stock = results.get("project"), results.get("stock")
    header = f"{'metric':34s}" + "".join(f"{c:>10s}" for c in cols)
    print(header + (f"{'delta':>9s}" if len(cols) == 2 else ""))
    rows = [
        ("intent accuracy (%)", "accuracy", True),
        ("macro-F1 (%)", "macro_f1", True),
        ("crisis intent recall (%)", "crisis_recall", True),
        ("crisis intent false alarms (%)", "false_alarm_rate", True),
        ("entity recall, all (%)", "entity_recall", True),
    ]
    for label, key, pct in rows:
        line = f"{label:34s}" + "".join(f"{_fmt(results[c][key], pct):>10s}" for c in cols)
        if proj is not None and stock is not None:
            line += f"{_delta(proj[key], stock[key], pct):>9s}"
        print(line)
    for t in ENTITY_TYPES:
        support = (proj or stock or {})["entity_support"].get(t, 0)
        line = f"{'  ' + t + f' (n={support})':34s}"
        line += "".join(f"{_fmt(results[c]['entity_recall_by_type'][t]):>10s}" for c in cols)
        if proj is not None and stock is not None:
            pe, se = proj["entity_recall_by_type"][t], stock["entity_recall_by_type"][t]
            line += f"{_delta(pe, se):>9s}"
        print(line)
    for label, key in (
        ("nlu_fallback predictions", "fallbacks"),
        ("crisis intents on lookalikes", "false_alarms_on_lookalikes"),
    ):
        print(f"{label:34s}" + "".join(f"{results[c][key]:>10d}" for c in cols))
    for label, key in (
        ("parse latency p50 (ms)", "latency_p50_ms"),
        ("parse latency p95 (ms)", "latency_p95_ms"),
    ):
        line = f"{label:34s}" + "".join(f"{_fmt(results[c][key], False):>10s}" for c in cols)
        if proj is not None and stock is not None:
            line += f"{_delta(proj[key], stock[key], False):>9s}"
        print(line)
    print(
        f"{'training time (s)':34s}"
        + "".join(f"{_fmt(results[c].get('train_seconds'), False):>10s}" for c in cols)
    )
    for c in cols:
        r = _runs(results[c])
        if r["runs"] > 1:
            shown = " / ".join(f"{v:.3f}" for v in r["macro_f1"])
            print(f"{c} macro-F1 over {r['runs']} seeds: {shown} ({_range(r)})")
    return rows


def report(results: dict[str, dict[str, Any]], cases: list[dict[str, Any]]) -> None:
    proj, stock = results.get("project"), results.get("stock")
    cols = [n for n in ("project", "stock") if n in results]
    print()
    print("=" * 78)
    print(
        f"NLU benchmark — {len(cases)} test messages, "
        f"{len({c['intent'] for c in cases})} intents (bench/nlu/testset.yml)"
    )
    print("=" * 78)
    rows = _table(results, cols)
    indep = [results[c].get("independent") for c in cols]
    if all(indep):
        print(f"only the {indep[0]['messages']} test messages NOT found in nlu_data/:")
        for label, key, _ in rows:
            line = f"{'  ' + label:34s}" + "".join(f"{_fmt(i[key]):>10s}" for i in indep)
            if len(cols) == 2:
                line += f"{_delta(indep[0][key], indep[1][key]):>9s}"
            print(line)

    print()
    print(
        "Per-intent F1 (%)"
        + " " * 17
        + "".join(f"{c:>10s}" for c in cols)
        + (f"{'delta':>9s}" if len(cols) == 2 else "")
        + f"{'n':>5s}"
    )
    for label in sorted({c["intent"] for c in cases}):
        f1s = [results[c]["per_intent"][label]["f1"] for c in cols]
        line = f"  {label:32s}" + "".join(f"{_fmt(v):>10s}" for v in f1s)
        if len(cols) == 2:
            line += f"{_delta(f1s[0], f1s[1]):>9s}"
        line += f"{results[cols[0]]['per_intent'][label]['support']:>5d}"
        print(line)

    tier_runs = (proj or {}).get("tier_runs") or {}
    if tier_runs:
        print()
        print("Risk tiers of the project pipeline (first seed; the range over the seeds)")
        for name, figures in tier_runs.items():
            for line in tier_lines(name, figures):
                print(line)

    if proj is not None:
        print()
        print("Targets (project pipeline)")
        checks = mean_checks(proj, stock)
        if tier_runs.get("testset"):
            checks += tier_checks(tier_runs["testset"][0])
        checks.append(
            (
                f"entity recall >= {TARGET_ENTITY_RECALL:.2f}",
                None
                if proj["entity_recall"] is None
                else proj["entity_recall"] >= TARGET_ENTITY_RECALL,
                "n/a" if proj["entity_recall"] is None else f"{proj['entity_recall']:.3f}",
            )
        )
        for label, ok, value in checks:
            status = "PASS" if ok else ("n/a " if ok is None else "FAIL")
            print(f"  [{status}] {label:52s} {value}")
        if stock is not None:
            margin = proj["macro_f1"] - stock["macro_f1"]
            print(f"  (first seeds only: {margin * 100:+.1f} points; one training is one draw)")

    for name in cols:
        _details(name, results[name])
    print()
    print("(* = lookalike message: non-crisis wording that sounds dangerous)")


def _details(name: str, r: dict[str, Any]) -> None:
    for key, title in (("testset", "test set"), ("phrasings", "crisis and lookalike files")):
        figures = ((r.get("tier_runs") or {}).get(key) or [None])[0]
        if not figures:
            continue
        print()
        print(f"--- {name}, {title}: crisis messages under medium risk ({len(figures['missed'])})")
        for text in figures["missed"]:
            print(f"  {text}")
        print(f"--- {name}, {title}: high-risk false alarms ({len(figures['high_alarms'])})")
        for text in figures["high_alarms"]:
            print(f"  {text}")
        print(f"--- {name}, {title}: safety questions on non-crisis ({len(figures['questioned'])})")
        for text in figures["questioned"]:
            print(f"  {text}")
    print()
    print(f"--- {name}: crisis intents missed ({len(r['missed_crisis'])})")
    for m in r["missed_crisis"]:
        print(f"  {m['gold']:16s} -> {m['predicted']:16s} {m['confidence']:.2f}  {m['text']}")
    print(f"--- {name}: crisis intents on non-crisis messages ({len(r['false_alarms'])})")
    for m in r["false_alarms"]:
        mark = "*" if m["lookalike"] else " "
        print(f" {mark}{m['gold']:16s} -> {m['predicted']:16s} {m['confidence']:.2f}", m["text"])
    print(f"--- {name}: most frequent confusions (gold -> predicted)")
    for c in r["confusions"][:10]:
        print(f"  {c['count']:3d}  {c['gold']} -> {c['predicted']}")
    print(f"--- {name}: missed entities ({len(r['missed_entities'])})")
    for m in r["missed_entities"][:15]:
        got = ", ".join(f"{e['entity']}={e['value']}" for e in m["predicted"]) or "-"
        print(f"  {m['gold']['entity']}={m['gold']['value']:14s} got [{got}]  {m['text']}")
    if len(r["missed_entities"]) > 15:
        print(f"  ... and {len(r['missed_entities']) - 15} more (see --json)")
