"""Risk tiers (engine/risk.py) measured on parsed messages, and their thresholds chosen on
held-out splits of the training data (never on the bench test set).

`run.py` counts the tiers the engine decided (the `crisis_risk` of each parse): crisis recall
for high risk alone and high + medium, false alarms for each, the share of non-crisis messages
that would get the safety question. This module also replays the tiers from saved predictions
(`cv.py --keep` writes each split's `predictions.json`, parsed WITHOUT the crisis guard) at
other thresholds, which is how config.yml's CrisisGuard thresholds are chosen:

    .venv-rasa/bin/python bench/nlu/cv.py --config noguard=/tmp/noguard.yml --seeds 0 1 2 3 \
        --keep /tmp/cv                      # a config.yml without the CrisisGuard step
    .venv-rasa/bin/python bench/nlu/tiers.py /tmp/cv/noguard-*/predictions.json

On held-out training data the patterns catch every crisis example (they were written from that
data), so the classifiers' thresholds are chosen on what they add when the patterns are left out:
`classifier recall` is the crisis recall of the classifiers' tiers alone. The guard's harmless
lookalikes (tests/engine/phrasings/lookalikes.yml, which `cv.py` also parses with each split's
model) break near-ties: fewer high-risk alarms on them first.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from engine.crisis import CrisisPatterns, default_patterns  # noqa: E402
from engine.risk import HIGH, MEDIUM, Thresholds, assess  # noqa: E402

CRISIS_PREFIX = "crisis_"
LOOKALIKE = "lookalike"  # labels of the phrasing files (tests/engine/phrasings/)
AMBIGUOUS = "ambiguous"
# What a tier may cost (issue: crisis tiers): the safety question on at most 3 % of non-crisis
# messages, high-risk false alarms on at most 1 %, every crisis message at least medium.
TARGET_MEDIUM_RATE = 0.03
TARGET_HIGH_FALSE_ALARMS = 0.01
TARGET_RECALL = 1.0
GRID = {
    "high": (0.3, 0.4, 0.5, 0.6, 0.7, 0.8),
    "medium": (0.05, 0.1, 0.15, 0.2, 0.25, 0.3),
    "medium_sum": (0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6),
}


@dataclass(frozen=True)
class TierFigures:
    crisis: int
    other: int
    high_recall: float  # crisis messages at high risk
    any_recall: float  # crisis messages at high or medium risk
    high_false_alarms: float  # non-crisis messages at high risk
    medium_rate: float  # non-crisis messages that get the safety question
    missed: tuple[str, ...] = ()
    high_alarms: tuple[str, ...] = ()
    questioned: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "crisis": self.crisis,
            "other": self.other,
            "high_recall": self.high_recall,
            "any_recall": self.any_recall,
            "high_false_alarms": self.high_false_alarms,
            "medium_rate": self.medium_rate,
            "missed": list(self.missed),
            "high_alarms": list(self.high_alarms),
            "questioned": list(self.questioned),
        }

    def passes(self) -> dict[str, bool]:
        return {
            "recall (high + medium)": self.any_recall >= TARGET_RECALL,
            "safety question on non-crisis": self.medium_rate <= TARGET_MEDIUM_RATE,
            "high-risk false alarms": self.high_false_alarms <= TARGET_HIGH_FALSE_ALARMS,
        }


def figures(items: Iterable[tuple[str, bool, str | None]]) -> TierFigures:
    """From (text, is a crisis message, tier or None) triples."""
    items = list(items)
    crisis = [(t, tier) for t, is_crisis, tier in items if is_crisis]
    other = [(t, tier) for t, is_crisis, tier in items if not is_crisis]

    def share(part: list[Any], whole: list[Any]) -> float:
        return len(part) / len(whole) if whole else float("nan")

    high = [t for t, tier in crisis if tier == HIGH]
    anyt = [t for t, tier in crisis if tier in (HIGH, MEDIUM)]
    alarms = [t for t, tier in other if tier == HIGH]
    asked = [t for t, tier in other if tier == MEDIUM]
    return TierFigures(
        crisis=len(crisis),
        other=len(other),
        high_recall=share(high, crisis),
        any_recall=share(anyt, crisis),
        high_false_alarms=share(alarms, other),
        medium_rate=share(asked, other),
        missed=tuple(t for t, tier in crisis if tier is None),
        high_alarms=tuple(alarms),
        questioned=tuple(asked),
    )


def engine_tiers(cases: list[dict[str, Any]], preds: list[dict[str, Any]]) -> TierFigures:
    """The tiers the engine decided (each parse's `crisis_risk`), against the gold intents;
    the AMBIGUOUS phrasings are left out (see `ambiguous_share`)."""
    return figures(
        [
            (c["text"], c["intent"].startswith(CRISIS_PREFIX), (p.get("risk") or {}).get("tier"))
            for c, p in zip(cases, preds, strict=True)
            if c["intent"] != AMBIGUOUS
        ]
    )


def ambiguous_share(cases: list[dict[str, Any]], preds: list[dict[str, Any]]) -> float:
    """The worrying-but-unclear phrasings that got at least the safety question."""
    tiers = [
        (p.get("risk") or {}).get("tier")
        for c, p in zip(cases, preds, strict=True)
        if c["intent"] == AMBIGUOUS
    ]
    return sum(t in (HIGH, MEDIUM) for t in tiers) / len(tiers) if tiers else float("nan")


def phrasing_cases(folder: Path) -> list[dict[str, Any]]:
    """tests/engine/phrasings/ as test cases: crisis.yml (intent -> messages), lookalikes.yml
    (harmless: intent LOOKALIKE) and ambiguous.yml (worrying but unclear: AMBIGUOUS)."""
    import yaml

    def load(name: str) -> Any:
        path = folder / name
        return yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else None

    cases = []
    for intent, texts in (load("crisis.yml") or {}).items():
        cases += [_case(t, intent) for t in texts]
    cases += [_case(t, LOOKALIKE) for t in load("lookalikes.yml") or []]
    cases += [_case(t, AMBIGUOUS) for t in load("ambiguous.yml") or []]
    return cases


def _case(text: Any, intent: str) -> dict[str, Any]:
    return {"text": str(text), "intent": intent, "entities": [], "lookalike": intent == LOOKALIKE}


def replay(
    preds: list[dict[str, Any]],
    thresholds: Thresholds,
    patterns: CrisisPatterns | None,
) -> list[str | None]:
    """The tier of each saved prediction (parsed without the guard) at other thresholds;
    `patterns` None leaves the patterns and danger words out (the classifiers alone)."""
    empty = CrisisPatterns(patterns={}, exceptions=[], danger={})
    tiers = []
    for p in preds:
        ranking = [(str(n), float(c)) for n, c in p.get("ranking") or []]
        predicted = (str(p["intent"]), float(p.get("confidence") or 0.0))
        text = str(p.get("normalised") or p.get("text") or "")
        risk = assess(
            text, predicted, ranking, patterns or empty, thresholds, already_normalised=True
        )
        tiers.append(risk.tier if risk else None)
    return tiers


def grid_search(
    splits: list[list[dict[str, Any]]],
    patterns: CrisisPatterns,
    lookalikes: list[list[dict[str, Any]]] | None = None,
) -> list[dict[str, Any]]:
    """Every grid point: mean figures over the splits, with and without the patterns, and on
    the guard's harmless lookalikes parsed by each split's model (`lookalikes`, if given)."""
    rows = []
    for high, medium, medium_sum in itertools.product(*GRID.values()):
        if medium > high:
            continue
        thresholds = Thresholds(high=high, medium=medium, medium_sum=medium_sum)
        look: list[TierFigures] = []
        for preds in lookalikes or []:
            harmless = [p for p in preds if p["gold"] == LOOKALIKE]
            tiers_ = replay(harmless, thresholds, patterns)
            items = [(str(p["text"]), False, t) for p, t in zip(harmless, tiers_, strict=True)]
            look.append(figures(items))
        full, alone = [], []
        for preds in splits:
            gold = [str(p["gold"]).startswith(CRISIS_PREFIX) for p in preds]
            texts = [str(p["text"]) for p in preds]
            with_patterns = replay(preds, thresholds, patterns)
            full.append(figures(list(zip(texts, gold, with_patterns, strict=True))))
            classifiers = replay(preds, thresholds, None)
            alone.append(figures(list(zip(texts, gold, classifiers, strict=True))))

        def mean(values: list[float]) -> float:
            return sum(values) / len(values)

        rows.append(
            {
                "high": high,
                "medium": medium,
                "medium_sum": medium_sum,
                "recall": mean([f.any_recall for f in full]),
                "high_recall": mean([f.high_recall for f in full]),
                "high_false_alarms": mean([f.high_false_alarms for f in full]),
                "medium_rate": mean([f.medium_rate for f in full]),
                "classifier_high_recall": mean([f.high_recall for f in alone]),
                "classifier_recall": mean([f.any_recall for f in alone]),
                "lookalike_high": mean([f.high_false_alarms for f in look]) if look else 0.0,
                "lookalike_medium": mean([f.medium_rate for f in look]) if look else 0.0,
            }
        )
    return rows


def choose(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The grid point that keeps the costs within the targets and lets the classifiers catch
    the most crisis messages on their own (at least medium, then high), asking the fewest."""
    fit = [
        r
        for r in rows
        if r["medium_rate"] <= TARGET_MEDIUM_RATE
        and r["high_false_alarms"] <= TARGET_HIGH_FALSE_ALARMS
    ]
    if not fit:
        return None
    return max(
        fit,
        key=lambda r: (
            round(r["classifier_recall"], 2),
            -round(r["lookalike_high"], 2),
            round(r["classifier_high_recall"], 2),
            -r["medium_rate"],
            -r["high_false_alarms"],
        ),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("predictions", type=Path, nargs="+", help="cv.py predictions.json files")
    parser.add_argument("--top", type=int, default=12, help="grid rows to print")
    args = parser.parse_args(argv)
    splits = [json.loads(path.read_text(encoding="utf-8")) for path in args.predictions]
    extra = [path.with_name("phrasings.json") for path in args.predictions]
    lookalikes = [json.loads(p.read_text(encoding="utf-8")) for p in extra if p.is_file()]
    rows = grid_search(splits, default_patterns(), lookalikes)
    best = choose(rows)
    ranked = sorted(
        rows,
        key=lambda r: (-r["classifier_recall"], -r["classifier_high_recall"], r["medium_rate"]),
    )
    columns = [
        "high",
        "medium",
        "medium_sum",
        "recall",
        "high_recall",
        "high_false_alarms",
        "medium_rate",
        "classifier_recall",
        "classifier_high_recall",
        "lookalike_high",
        "lookalike_medium",
    ]
    print(f"{len(splits)} held-out splits, {sum(len(s) for s in splits)} messages")
    print("".join(f"{c[:17]:>18}" for c in columns))
    for row in ranked[: args.top]:
        print("".join(f"{row[c]:>18.3f}" for c in columns))
    if best is None:
        print("no grid point keeps the safety question and false alarms within the targets")
        return 1
    print("chosen:", {c: round(best[c], 4) for c in columns})
    return 0


if __name__ == "__main__":
    sys.exit(main())
