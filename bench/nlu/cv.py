"""Compare NLU configs on held-out splits of the training data (never on the bench test set).

`run.py` measures the pipelines on `testset.yml`, which must stay a final exam: choosing settings
by looking at its score would only fit the pipeline to 373 messages. This tool is the place to
choose them: it makes stratified 80/20 splits of `nlu_data/` (Rasa's own
`TrainingData.train_test_split`, one split per seed), trains every given config on the 80 % and
scores the 20 % with the same figures as `run.py` (macro-F1, accuracy, crisis recall, false
alarms; `nlu_fallback` counts as wrong). It also replays the FallbackClassifier at other
thresholds from the saved intent rankings, so thresholds need no retraining.

    .venv-rasa/bin/python bench/nlu/cv.py                         # config.yml vs stock, 2 splits
    .venv-rasa/bin/python bench/nlu/cv.py --config project=config.yml --config wide=/tmp/w.yml \
        --seeds 0 1 2 --keep /tmp/cv
    .venv-rasa/bin/python bench/nlu/cv.py --guard      # the crisis patterns alone, in seconds

`stock` names `stock_config.yml` aligned with config.yml, as in `run.py`. Each training takes
about 2-4 minutes on 2 cores, so a comparison of two configs on two splits takes ~10-15 minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import run  # noqa: E402  (bench/nlu/run.py: training, parsing and the metrics)

THRESHOLDS = (0.0, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4)
AMBIGUITY = 0.05  # config.yml's ambiguity_threshold: its replay keeps the plain "tX" names


def split(nlu_dir: Path, seed: int, dest: Path) -> list[dict[str, Any]]:
    """Write the 80 % training part under dest; return the 20 % as run.py test cases."""
    from rasa.shared.nlu.training_data.loading import load_data

    # nlu_data/ also holds rules and stories, which load_data cannot read: NLU folders only.
    parts = [load_data(str(nlu_dir / sub), language="fr") for sub in ("nlu", "lookups")]
    data = parts[0].merge(*parts[1:])
    train, test = data.train_test_split(train_frac=0.8, random_seed=seed)
    dest.mkdir(parents=True, exist_ok=True)
    train.persist_nlu(str(dest / "nlu.yml"))
    cases = []
    for msg in test.intent_examples:
        cases.append(
            {
                "text": msg.get("text"),
                "intent": run.base_intent(msg.get("intent")),
                "entities": [
                    {"entity": e["entity"], "value": str(e["value"])}
                    for e in msg.get("entities") or []
                ],
                "lookalike": False,
            }
        )
    return cases


def column(threshold: float, ambiguity: float) -> str:
    """The figure name of a replay: "t0.2" at the default ambiguity, "t0.2@a0.02" otherwise."""
    return f"t{threshold}" if ambiguity == AMBIGUITY else f"t{threshold}@a{ambiguity}"


def replay(preds: list[dict[str, Any]], threshold: float, ambiguity: float) -> list[dict[str, Any]]:
    """The predictions as FallbackClassifier(threshold, ambiguity) would have left them.

    A crisis_* verdict is kept whatever the thresholds: the crisis guard runs after the
    fallback and never downgrades. (A crisis_* from the classifier alone, under the threshold
    and missed by the guard, is kept too: an approximation, on a handful of messages.)"""
    replayed = []
    for p in preds:
        if p["intent"].startswith(run.CRISIS_PREFIX) or not p["ranking"]:
            replayed.append(p)
            continue
        top, conf = p["ranking"][0]
        second = p["ranking"][1][1] if len(p["ranking"]) > 1 else 0.0
        falls = conf < threshold or (conf - second) < ambiguity
        replayed.append({**p, "intent": run.FALLBACK if falls else top})
    return replayed


def guard_check(nlu_dir: Path, verbose: bool) -> int:
    """The crisis guard alone on every training example: recall on crisis_*, false alarms, and
    the danger words (the MEDIUM tier: the bot asks "es-tu en sécurité ?") on what no crisis
    pattern caught: how often they fire on ordinary messages (target <= 2 %), and which crisis
    examples they catch that the patterns missed."""
    from rasa.shared.nlu.training_data.loading import load_data

    from engine.crisis import default_patterns

    patterns = default_patterns()
    data = load_data(str(nlu_dir / "nlu"), language="fr")
    crisis, other = [], []
    for msg in data.intent_examples:
        text, intent = msg.get("text"), run.base_intent(msg.get("intent"))
        (crisis if intent.startswith(run.CRISIS_PREFIX) else other).append((text, intent))
    missed, alarms, asked = [], [], []
    for text, intent in crisis:
        if intent not in {m.intent for m in patterns.match(text)}:
            missed.append((text, intent, [m.intent for m in patterns.danger_match(text)]))
    for text, intent in other:
        found = patterns.match(text)
        if found:
            alarms.append((text, intent, found[0].intent))
            continue
        danger = patterns.danger_match(text)
        if danger:
            asked.append((text, intent, danger[0]))
    print(
        f"crisis guard alone on nlu_data/: recall {len(crisis) - len(missed)}/{len(crisis)} "
        f"(right crisis intent), false alarms {len(alarms)}/{len(other)}"
    )
    share = len(asked) / len(other) if other else 0.0
    print(
        f"danger words (no crisis match): {len(asked)}/{len(other)} ordinary messages "
        f"({share:.1%}, target <= 2 %); crisis examples missed but caught by danger words: "
        f"{sum(1 for *_, d in missed if d)}/{len(missed)}"
    )
    if verbose:
        for text, intent, danger in missed:
            caught = f" (danger words: {', '.join(danger)})" if danger else ""
            print(f"  missed {intent}: {text}{caught}")
        for text, intent, got in alarms:
            print(f"  false alarm {got} on {intent}: {text}")
        for text, intent, hit in asked:
            print(f"  danger {hit.intent} on {intent}: {text}  [{hit.matched_text}]")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--config",
        action="append",
        metavar="NAME=PATH",
        help="a config to compare (repeatable); 'stock' alone means the aligned stock config; "
        "default: project=config.yml and stock",
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--keep", type=Path, help="work dir to keep (splits, models, logs)")
    parser.add_argument("--json", type=Path, help="also write every figure here")
    parser.add_argument(
        "--ambiguity",
        type=float,
        nargs="+",
        default=[AMBIGUITY],
        help="ambiguity thresholds to replay the fallback with (one table each; default 0.05)",
    )
    parser.add_argument(
        "--guard",
        action="store_true",
        help="only check the crisis guard's patterns on every training example (seconds)",
    )
    args = parser.parse_args(argv)
    run.quiet_logs()
    if args.guard:
        return guard_check(run.ROOT / "nlu_data", verbose=True)

    specs = args.config or [f"project={run.PROJECT_CONFIG}", "stock"]
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        work, cleanup = args.keep.resolve(), None
    else:
        cleanup = tempfile.TemporaryDirectory(prefix="maraude-nlu-cv-")
        work = Path(cleanup.name)
    try:
        configs: dict[str, Path] = {}
        for spec in specs:
            if spec == "stock":
                configs["stock"] = work / "config-stock.yml"
                run.write_stock_config(configs["stock"])
                continue
            name, _, path = spec.partition("=")
            if not path:
                name, path = Path(spec).stem, spec
            configs[name] = work / f"config-{name}.yml"
            shutil.copy(path, configs[name])
        domain = run.ROOT / "domain"
        phrasings = run.tiers.phrasing_cases(run.PHRASINGS)
        results: dict[str, dict[int, dict[str, Any]]] = {name: {} for name in configs}
        for seed in args.seeds:
            cases = split(run.ROOT / "nlu_data", seed, work / f"split-{seed}")
            print(f"split seed {seed}: {len(cases)} held-out messages", flush=True)
            for name, config in configs.items():
                fold_work = work / f"{name}-{seed}"
                fold_work.mkdir(parents=True, exist_ok=True)
                trained = run.train(name, config, work / f"split-{seed}", domain, fold_work)
                if trained["model"] is None:
                    print(f"  {name}: training FAILED, see {trained['log']}")
                    continue
                preds = asyncio.run(run.parse_all(trained["model"], cases))
                # kept for later replays (other thresholds, risk tiers) without retraining; the
                # guard's phrasings too (tests/engine/phrasings/: lookalikes for tiers.py)
                extra = asyncio.run(run.parse_all(trained["model"], phrasings))
                for name_, kept, parsed in (
                    ("predictions.json", cases, preds),
                    ("phrasings.json", phrasings, extra),
                ):
                    (fold_work / name_).write_text(
                        json.dumps(
                            [
                                {"text": c["text"], "gold": c["intent"], **p}
                                for c, p in zip(kept, parsed, strict=True)
                            ]
                        ),
                        encoding="utf-8",
                    )
                m = run.metrics(cases, preds)
                figures = {"as_trained": m["macro_f1"]}
                for a in args.ambiguity:
                    for t in THRESHOLDS:
                        replayed = replay(preds, t, a)
                        figures[column(t, a)] = run.metrics(cases, replayed)["macro_f1"]
                        figures[f"fallbacks {column(t, a)}"] = sum(
                            p["intent"] == run.FALLBACK for p in replayed
                        )
                figures.update(
                    accuracy=m["accuracy"],
                    crisis_recall=m["crisis_recall"],
                    false_alarm_rate=m["false_alarm_rate"],
                    fallbacks=m["fallbacks"],
                    seconds=trained["seconds"],
                )
                results[name][seed] = figures
                print(
                    f"  {name}: macro-F1 {figures['as_trained']:.3f}, accuracy "
                    f"{m['accuracy']:.3f}, fallbacks {m['fallbacks']}, crisis recall "
                    f"{m['crisis_recall']:.3f}, trained in {trained['seconds']:.0f}s",
                    flush=True,
                )
        for a in args.ambiguity:
            print(f"\nmacro-F1 on held-out training data (mean over splits), ambiguity {a}")
            cols = ["as_trained"] + [column(t, a) for t in THRESHOLDS]
            print(f"{'config':<16}" + "".join(f"{c.split('@')[0]:>10}" for c in cols))
            for name, by_seed in results.items():
                if not by_seed:
                    continue
                row = [statistics.fmean(f[c] for f in by_seed.values()) for c in cols]
                print(f"{name:<16}" + "".join(f"{v:>10.3f}" for v in row))
                falls = [
                    statistics.fmean(f[f"fallbacks {c}"] for f in by_seed.values())
                    for c in cols[1:]
                ]
                print(f"{'  fallbacks':<16}{'':>10}" + "".join(f"{v:>10.1f}" for v in falls))
        print("(tX: the fallback replayed at threshold X; fallbacks: mean per split)")
        if args.json:
            args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
        return 0 if any(results.values()) else 1
    finally:
        if cleanup is not None:
            cleanup.cleanup()


if __name__ == "__main__":
    sys.exit(main())
