"""NLU benchmark: the project pipeline against Rasa's stock French pipeline, on informal French.

Trains, in the same run and on the same snapshot of `nlu_data/`, (1) the project pipeline
(`config.yml`) and (2) the stock pipeline (`bench/nlu/stock_config.yml`: whitespace tokens,
word + char_wb count vectors, DIET, no spaCy, no normaliser), NLU only, into a temporary
directory, each once per seed (`--seeds`, default 42 1 2: DIET and ResponseSelector seeds, one
training is one draw). Then parses every message of `bench/nlu/testset.yml` with every model and
prints intent accuracy, macro-F1, per-intent F1, entity recall and parse latency side by side,
the project's risk tiers (bench/nlu/tiers.py) on the test set and on the crisis and lookalike
phrasings of tests/engine/phrasings/, and the targets (bench/nlu/report.py).

Runs with the engine's Python (it needs rasa):

    .venv-rasa/bin/python bench/nlu/run.py [--json out.json] [--keep DIR] [--only project|stock]

It is a benchmark, not a test: the exit code is 0 even when targets are missed (1 only when no
pipeline could be trained or evaluated at all).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
TESTSET = HERE / "testset.yml"
STOCK_CONFIG = HERE / "stock_config.yml"
PROJECT_CONFIG = ROOT / "config.yml"
RASA_BIN = ROOT / ".venv-rasa" / "bin" / "rasa"

CRISIS_PREFIX = "crisis_"
FALLBACK = "nlu_fallback"
ENTITY_TYPES = ("age", "postcode", "commune")
RANKING_KEPT = 10  # Rasa's own intent ranking length

PHRASINGS = ROOT / "tests" / "engine" / "phrasings"  # crisis, lookalikes, ambiguous
DEFAULT_SEEDS = (42, 1, 2)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
if str(ROOT) not in sys.path:  # custom components live in engine/
    sys.path.insert(0, str(ROOT))

try:  # as a module of the bench package (the app's tests), or as a script next to them
    from bench.nlu import report as reporting
    from bench.nlu import tiers
except ImportError:  # pragma: no cover
    import report as reporting  # type: ignore[no-redef]
    import tiers  # type: ignore[no-redef]


# ---------------------------------------------------------------------------------------------
# test set


def load_testset(path: Path) -> list[dict[str, Any]]:
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

    data = RasaYAMLReader().read(str(path))
    cases = []
    for msg in data.intent_examples:
        meta = (msg.get("metadata") or {}).get("intent") or {}
        cases.append(
            {
                "text": msg.get("text"),
                "intent": base_intent(msg.get("intent")),
                "entities": [
                    {"entity": e["entity"], "value": str(e["value"])}
                    for e in msg.get("entities") or []
                ],
                "lookalike": bool(meta.get("lookalike")),
            }
        )
    return cases


def base_intent(name: str | None) -> str:
    if not name:
        return FALLBACK
    return name.split("/", 1)[0]


def fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", str(text))
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    for ch in "-'’_":
        text = text.replace(ch, " ")
    return " ".join(text.split())


def entity_key(entity: str, value: Any) -> tuple[str, str]:
    value = str(value).strip()
    if entity in ("age", "postcode"):
        return entity, value
    return entity, fold(value)


def training_overlap(cases: list[dict[str, Any]], nlu_dir: Path) -> list[str]:
    """Test messages that also appear (after folding) in the training data."""
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

    train: set[str] = set()
    for path in sorted(nlu_dir.rglob("*.yml")) + sorted(nlu_dir.rglob("*.yaml")):
        try:
            data = RasaYAMLReader().read(str(path))
        except Exception:  # noqa: BLE001 - files may be mid-edit; they are reported by training
            continue
        train.update(fold(m.get("text")) for m in data.intent_examples)
    return [c["text"] for c in cases if fold(c["text"]) in train]


# ---------------------------------------------------------------------------------------------
# configs and training


def _component(pipeline: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    return next((c for c in pipeline if c.get("name") == name), None)


def write_stock_config(dest: Path) -> dict[str, Any]:
    """Copy the stock config, aligning epochs and fallback thresholds with config.yml."""
    from rasa.shared.utils.io import read_yaml_file, write_yaml

    stock = read_yaml_file(str(STOCK_CONFIG))
    synced: dict[str, Any] = {}
    try:
        project = read_yaml_file(str(PROJECT_CONFIG)) or {}
        ppipe = project.get("pipeline") or []
    except Exception:  # noqa: BLE001
        ppipe = []
    spipe = stock["pipeline"]
    pdiet, sdiet = _component(ppipe, "DIETClassifier"), _component(spipe, "DIETClassifier")
    if pdiet and sdiet and "epochs" in pdiet:
        sdiet["epochs"] = synced["DIETClassifier.epochs"] = pdiet["epochs"]
    prs, srs = _component(ppipe, "ResponseSelector"), _component(spipe, "ResponseSelector")
    if srs is not None:
        epochs = (prs or {}).get("epochs", (pdiet or {}).get("epochs"))
        if epochs is not None:
            srs["epochs"] = synced["ResponseSelector.epochs"] = epochs
    pfb, sfb = _component(ppipe, "FallbackClassifier"), _component(spipe, "FallbackClassifier")
    if pfb and sfb:
        for key in ("threshold", "ambiguity_threshold"):
            if key in pfb:
                sfb[key] = synced[f"FallbackClassifier.{key}"] = pfb[key]
    write_yaml(stock, dest)
    return synced


def write_reseeded_config(source: Path, dest: Path, seed: int) -> list[str]:
    """Copy `source` with `random_seed: seed` on every pipeline step that sets a random seed
    (DIET, ResponseSelector): the same pipeline, another draw. Returns the steps changed."""
    import yaml  # PyYAML: in both environments, so the app's tests check this too

    config = yaml.safe_load(source.read_text(encoding="utf-8"))
    changed = []
    for step in config.get("pipeline") or []:
        if isinstance(step, dict) and "random_seed" in step:
            step["random_seed"] = seed
            changed.append(str(step.get("name")))
    dest.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return changed


def rasa_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env["RASA_TELEMETRY_ENABLED"] = "false"
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    env["PYTHONWARNINGS"] = "ignore"
    return env


def train(name: str, config: Path, data: Path, domain: Path | None, work: Path) -> dict[str, Any]:
    """Train an NLU-only model with the rasa CLI: {'model': path or None, 'seconds', 'log'}."""
    out = work / "models"
    log_path = work / f"train-{name}.log"
    env = rasa_env()
    # A private cache: no clash with a `maraude train` running at the same time.
    env["RASA_CACHE_DIRECTORY"] = str(work / f"cache-{name}")
    base = [
        str(RASA_BIN),
        "train",
        "nlu",
        "--config",
        str(config),
        "--nlu",
        str(data),
        "--out",
        str(out),
        "--fixed-model-name",
        name,
    ]
    attempts = [base + ["--domain", str(domain)]] if domain is not None else []
    attempts.append(base)  # without a domain if the domain does not load right now
    start = time.perf_counter()
    rc = -1
    for cmd in attempts:
        with open(log_path, "a", encoding="utf-8") as log:
            log.write(f"$ {' '.join(cmd)}\n")
            log.flush()
            rc = subprocess.call(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        model = out / f"{name}.tar.gz"
        if rc == 0 and model.exists():
            return {"model": model, "seconds": time.perf_counter() - start, "log": log_path}
    return {"model": None, "seconds": time.perf_counter() - start, "log": log_path, "rc": rc}


# ---------------------------------------------------------------------------------------------
# evaluation


async def parse_all(model: Path, cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Parse every case: the final intent, the entities, the latency, the classifiers' own
    ranking before the fallback (`ranking`, which `cv.py` replays at other thresholds and risk
    tiers), and the crisis guard's risk tier (`risk`, engine/risk.py) with the normalised text.

    A MEDIUM-risk message (the bot asks whether the young person is safe) counts with the
    intent the conversation goes on with if they are: its tier is measured apart (tiers.py)."""
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))
    await agent.parse_message("bonjour")  # warm-up: first call builds the TF graph
    results = []
    for case in cases:
        t0 = time.perf_counter()
        parsed = await agent.parse_message(case["text"])
        ms = (time.perf_counter() - t0) * 1000
        intent = parsed.get("intent") or {}
        risk = parsed.get("crisis_risk") or {}
        if risk.get("tier") == tiers.MEDIUM and risk.get("resume"):
            # the safety question: scored with the intent the conversation goes on with
            intent = risk["resume"]
        ranking = [
            (base_intent(r.get("name")), float(r.get("confidence") or 0.0))
            for r in parsed.get("intent_ranking") or []
            if r.get("name") != FALLBACK
        ]
        results.append(
            {
                "intent": base_intent(intent.get("name")),
                "confidence": float(intent.get("confidence") or 0.0),
                "ranking": ranking[:RANKING_KEPT],
                "risk": parsed.get("crisis_risk"),
                "normalised": parsed.get("text_normalised"),
                "entities": [
                    {"entity": e.get("entity"), "value": e.get("value")}
                    for e in parsed.get("entities") or []
                ],
                "ms": ms,
            }
        )
    return results


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def metrics(cases: list[dict[str, Any]], preds: list[dict[str, Any]]) -> dict[str, Any]:
    labels = sorted({c["intent"] for c in cases})
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    confusions: Counter[tuple[str, str]] = Counter()
    for case, pred in zip(cases, preds, strict=True):
        gold, got = case["intent"], pred["intent"]
        if got == gold:  # nlu_fallback is never a gold label, so it is always wrong
            tp[gold] += 1
        else:
            fn[gold] += 1
            fp[got] += 1
            confusions[(gold, got)] += 1
    per_intent = {}
    for label in labels:
        p = tp[label] / (tp[label] + fp[label]) if tp[label] + fp[label] else 0.0
        r = tp[label] / (tp[label] + fn[label]) if tp[label] + fn[label] else 0.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        per_intent[label] = {
            "precision": p,
            "recall": r,
            "f1": f1,
            "support": tp[label] + fn[label],
        }

    crisis = [
        (c, p) for c, p in zip(cases, preds, strict=True) if c["intent"].startswith(CRISIS_PREFIX)
    ]
    other = [
        (c, p)
        for c, p in zip(cases, preds, strict=True)
        if not c["intent"].startswith(CRISIS_PREFIX)
    ]
    missed = [
        {
            "text": c["text"],
            "gold": c["intent"],
            "predicted": p["intent"],
            "confidence": round(p["confidence"], 3),
        }
        for c, p in crisis
        if not p["intent"].startswith(CRISIS_PREFIX)
    ]
    alarms = [
        {
            "text": c["text"],
            "gold": c["intent"],
            "predicted": p["intent"],
            "confidence": round(p["confidence"], 3),
            "lookalike": c["lookalike"],
        }
        for c, p in other
        if p["intent"].startswith(CRISIS_PREFIX)
    ]
    lookalikes = [c for c, _ in other if c["lookalike"]]

    found: Counter[str] = Counter()
    total: Counter[str] = Counter()
    missed_entities = []
    for case, pred in zip(cases, preds, strict=True):
        predicted = {entity_key(e["entity"], e["value"]) for e in pred["entities"]}
        for gold in case["entities"]:
            total[gold["entity"]] += 1
            if entity_key(gold["entity"], gold["value"]) in predicted:
                found[gold["entity"]] += 1
            else:
                missed_entities.append(
                    {"text": case["text"], "gold": gold, "predicted": pred["entities"]}
                )
    entity_recall = {t: (found[t] / total[t] if total[t] else None) for t in ENTITY_TYPES}
    all_total = sum(total.values())
    latencies = [p["ms"] for p in preds]
    return {
        "messages": len(cases),
        "accuracy": sum(tp.values()) / len(cases),
        "macro_f1": statistics.fmean(v["f1"] for v in per_intent.values()),
        "per_intent": per_intent,
        "crisis_recall": (len(crisis) - len(missed)) / len(crisis) if crisis else None,
        "crisis_messages": len(crisis),
        "false_alarm_rate": len(alarms) / len(other) if other else None,
        "false_alarms_on_lookalikes": sum(1 for a in alarms if a["lookalike"]),
        "lookalikes": len(lookalikes),
        "non_crisis_messages": len(other),
        "entity_recall": sum(found.values()) / all_total if all_total else None,
        "entity_recall_by_type": entity_recall,
        "entity_support": dict(total),
        "fallbacks": sum(1 for p in preds if p["intent"] == FALLBACK),
        "latency_p50_ms": percentile(latencies, 50),
        "latency_p95_ms": percentile(latencies, 95),
        "missed_crisis": missed,
        "false_alarms": alarms,
        "missed_entities": missed_entities,
        "confusions": [
            {"gold": g, "predicted": p, "count": n} for (g, p), n in confusions.most_common()
        ],
    }


# ---------------------------------------------------------------------------------------------


def quiet_logs() -> None:
    logging.basicConfig(level=logging.ERROR)
    try:  # rasa logs every parsed message through structlog at debug level otherwise
        from rasa.utils.log_utils import configure_structlog

        configure_structlog(logging.WARNING)
    except Exception:  # noqa: BLE001
        pass
    for noisy in ("rasa", "tensorflow", "absl", "spacy"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, help="also write the full results as JSON here")
    parser.add_argument(
        "--keep",
        type=Path,
        help="work dir to keep (models, logs, data snapshot); default: a temp dir",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="with --keep: evaluate the models already in DIR/models, no training",
    )
    parser.add_argument("--only", choices=("project", "stock"), help="train one pipeline only")
    parser.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=list(DEFAULT_SEEDS),
        metavar="SEED",
        help="train each pipeline once per seed (DIET and ResponseSelector random_seed; the "
        "targets read the means); the first seed's models give the detailed figures "
        "(default: 42 1 2, about 4 minutes per training)",
    )
    parser.add_argument("--testset", type=Path, default=TESTSET)
    args = parser.parse_args(argv)

    quiet_logs()

    started = time.perf_counter()
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        work = args.keep.resolve()
        cleanup = None
    else:
        cleanup = tempfile.TemporaryDirectory(prefix="maraude-bench-nlu-")
        work = Path(cleanup.name)
    try:
        cases = load_testset(args.testset)
        by_intent = Counter(c["intent"] for c in cases)
        print(
            f"Test set: {len(cases)} messages, {len(by_intent)} intents, "
            f"{sum(len(c['entities']) for c in cases)} gold entities, "
            f"{sum(c['lookalike'] for c in cases)} crisis lookalikes"
        )
        print("  " + ", ".join(f"{k} {v}" for k, v in sorted(by_intent.items())))

        # Snapshot the training data and domain: both pipelines see exactly the same files even
        # if someone edits nlu_data/ while the benchmark runs.
        data = work / "data"
        if data.exists():
            shutil.rmtree(data)
        shutil.copytree(
            ROOT / "nlu_data",
            data / "nlu_data",
            ignore=shutil.ignore_patterns("rules", "stories", "*.pyc"),
        )
        domain = None
        for candidate in (ROOT / "domain", ROOT / "domain.yml"):
            if candidate.exists():
                domain = data / candidate.name
                if candidate.is_dir():
                    shutil.copytree(candidate, domain)
                else:
                    shutil.copy(candidate, domain)
                break
        overlap = training_overlap(cases, data / "nlu_data")
        if overlap:
            shown = " | ".join(overlap[:25]) + (" | …" if len(overlap) > 25 else "")
            print(
                f"WARNING: {len(overlap)} test message(s) also appear in nlu_data/ (the test set "
                f"must stay independent; figures on the rest are shown too): {shown}"
            )
        else:
            print("No test message appears verbatim in the training data.")

        configs = {}
        if args.only in (None, "project"):
            configs["project"] = work / "config-project.yml"
            shutil.copy(PROJECT_CONFIG, configs["project"])
        if args.only in (None, "stock"):
            configs["stock"] = work / "config-stock.yml"
            synced = write_stock_config(configs["stock"])
            print(
                "Stock pipeline aligned with config.yml: "
                + (", ".join(f"{k}={v}" for k, v in synced.items()) or "nothing to align")
            )
        phrasings = tiers.phrasing_cases(PHRASINGS)

        results: dict[str, dict[str, Any]] = {}
        failures: dict[str, str] = {}

        def model_for(name: str, config: Path, what: str) -> dict[str, Any]:
            """The kept model with --reuse, else a fresh training (see train())."""
            existing = work / "models" / f"{name}.tar.gz"
            if args.reuse and args.keep and existing.exists():
                print(f"Reusing {existing} (no training)", flush=True)
                return {"model": existing, "seconds": None, "log": None}
            print(f"Training {what}…", flush=True)
            return train(name, config, data / "nlu_data", domain, work)

        def evaluate(pipeline: str, seed: int) -> dict[str, Any] | None:
            """One seeded training of a pipeline, its figures (and the project's tiers)."""
            name = f"{pipeline}-seed-{seed}"
            config = work / f"config-{name}.yml"
            write_reseeded_config(configs[pipeline], config, seed)
            trained = model_for(name, config, f"the {pipeline} pipeline, seed {seed} (NLU only)")
            if trained["model"] is None:
                log = trained["log"].read_text(encoding="utf-8", errors="replace")[-3000:]
                print(f"  FAILED (exit {trained.get('rc')}); end of {trained['log'].name}:\n{log}")
                failures[name] = f"training failed (exit {trained.get('rc')})"
                return None
            try:
                preds = asyncio.run(parse_all(trained["model"], cases))
                extra = asyncio.run(parse_all(trained["model"], phrasings))
            except Exception as exc:  # noqa: BLE001 - report and go on with the other runs
                print(f"  FAILED to load or parse with {name}: {exc!r}")
                failures[name] = f"evaluation failed: {exc!r}"
                return None
            figures = metrics(cases, preds)
            figures["train_seconds"] = trained["seconds"]
            figures["predictions"] = [
                {"text": c["text"], "gold": c["intent"], **p}
                for c, p in zip(cases, preds, strict=True)
            ]
            if overlap:  # the same figures on the messages the model has not seen in training
                seen = {fold(t) for t in overlap}
                keep = [i for i, c in enumerate(cases) if fold(c["text"]) not in seen]
                sub = metrics([cases[i] for i in keep], [preds[i] for i in keep])
                figures["independent"] = {
                    k: sub[k]
                    for k in (
                        "messages",
                        "accuracy",
                        "macro_f1",
                        "crisis_recall",
                        "false_alarm_rate",
                        "entity_recall",
                    )
                }
            if pipeline == "project":
                figures["tiers"] = {
                    "testset": tiers.engine_tiers(cases, preds).as_dict(),
                    "phrasings": tiers.engine_tiers(phrasings, extra).as_dict(),
                    "ambiguous": tiers.ambiguous_share(phrasings, extra),
                }
            print(f"  {name}: macro-F1 {figures['macro_f1']:.3f}", flush=True)
            return figures

        for pipeline in configs:
            runs = [r for seed in args.seeds if (r := evaluate(pipeline, seed)) is not None]
            if not runs:
                continue
            results[pipeline] = {**runs[0], "repeats": reporting.spread(runs)}
            if pipeline == "project":
                results[pipeline]["tier_runs"] = {
                    key: [r["tiers"][key] for r in runs] for key in ("testset", "phrasings")
                }
                results[pipeline]["ambiguous_runs"] = [r["tiers"]["ambiguous"] for r in runs]
            for extra_run in runs[1:]:
                extra_run.pop("predictions", None)

        if results:
            reporting.report(results, cases)
        for name, why in failures.items():
            print(f"{name} pipeline: {why}")
        total = time.perf_counter() - started
        print(f"Total run time: {total:.0f}s")

        if args.json:
            payload = {
                "testset": str(args.testset),
                "messages_per_intent": dict(sorted(by_intent.items())),
                "overlap_with_training": overlap,
                "results": results,
                "failures": failures,
                "run_seconds": total,
                "seeds": args.seeds,
                "targets": {
                    "mean_macro_f1": reporting.TARGET_MEAN_F1,
                    "margin_between_means": reporting.TARGET_MARGIN,
                    "recall_high_and_medium": tiers.TARGET_RECALL,
                    "safety_question_rate": tiers.TARGET_MEDIUM_RATE,
                    "high_false_alarms": tiers.TARGET_HIGH_FALSE_ALARMS,
                    "entity_recall": reporting.TARGET_ENTITY_RECALL,
                },
            }
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(
                json.dumps(payload, indent=2, ensure_ascii=False, default=str), encoding="utf-8"
            )
            print(f"Results written to {args.json}")
        return 0 if results else 1
    finally:
        if cleanup is not None:
            cleanup.cleanup()


if __name__ == "__main__":
    sys.exit(main())
