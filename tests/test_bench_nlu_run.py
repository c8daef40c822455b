"""bench/nlu/run.py: the figures and the target lines, on hand-made predictions (no training)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bench.nlu import run

INTENTS = ["need_job", "need_housing", "greet", "crisis_suicide"]


def cases() -> list[dict]:
    return [
        {"text": f"message {i}", "intent": intent, "entities": [], "lookalike": False}
        for i, intent in enumerate(INTENTS * 5)
    ]


def preds(wrong: int) -> list[dict]:
    """Right answers, except the first `wrong` need_job messages taken for need_housing."""
    out, left = [], wrong
    for case in cases():
        intent = case["intent"]
        if intent == "need_job" and left:
            intent, left = "need_housing", left - 1
        out.append({"intent": intent, "confidence": 0.9, "ranking": [], "entities": [], "ms": 5.0})
    return out


def test_spread_is_the_mean_and_range_of_the_runs() -> None:
    runs = [run.metrics(cases(), preds(w)) for w in (0, 1, 3)]
    spread = run.spread(runs)
    assert spread["runs"] == 3
    assert spread["macro_f1"] == [r["macro_f1"] for r in runs]
    assert spread["mean"] == pytest.approx(sum(spread["macro_f1"]) / 3)
    assert spread["min"] == runs[2]["macro_f1"] < spread["max"] == runs[0]["macro_f1"] == 1.0


def test_margin_is_checked_against_the_same_run_and_the_stock_mean(
    capsys: pytest.CaptureFixture[str],
) -> None:
    project = run.metrics(cases(), preds(0))  # macro-F1 1.0
    lucky = run.metrics(cases(), preds(2))  # a low stock draw: margin above 5 points (10.4)
    usual = run.metrics(cases(), preds(0))  # two high ones: no margin at all
    stock = {**lucky, "repeats": run.spread([lucky, usual, usual])}  # mean margin 3.5
    assert project["macro_f1"] - lucky["macro_f1"] >= run.TARGET_MARGIN
    assert project["macro_f1"] - stock["repeats"]["mean"] < run.TARGET_MARGIN

    run.report({"project": project, "stock": stock}, cases())
    lines = capsys.readouterr().out.splitlines()
    same_run = next(line for line in lines if "macro-F1 >= stock + 5 points" in line)
    mean = next(line for line in lines if "macro-F1 >= stock mean (3 runs) + 5" in line)
    assert "[PASS]" in same_run
    assert "[FAIL]" in mean
    assert f"mean {stock['repeats']['mean']:.3f}" in mean


def test_one_stock_run_prints_no_mean_line(capsys: pytest.CaptureFixture[str]) -> None:
    run.report(
        {"project": run.metrics(cases(), preds(0)), "stock": run.metrics(cases(), preds(1))},
        cases(),
    )
    out = capsys.readouterr().out
    assert "macro-F1 >= stock + 5 points" in out
    assert "stock mean" not in out


def test_project_seeds_compare_the_two_means(capsys: pytest.CaptureFixture[str]) -> None:
    """A lucky project seed passes against the stock mean, the project's mean does not."""
    lucky = run.metrics(cases(), preds(0))  # 1.0
    usual = run.metrics(cases(), preds(3))  # lower
    stock_runs = [run.metrics(cases(), preds(w)) for w in (1, 2)]
    project = {**lucky, "repeats": run.spread([lucky, usual, usual])}
    stock = {**stock_runs[0], "repeats": run.spread(stock_runs)}
    assert lucky["macro_f1"] - stock["repeats"]["mean"] >= run.TARGET_MARGIN
    assert project["repeats"]["mean"] - stock["repeats"]["mean"] < run.TARGET_MARGIN

    run.report({"project": project, "stock": stock}, cases())
    lines = capsys.readouterr().out.splitlines()
    against_mean = next(line for line in lines if "macro-F1 >= stock mean (2 runs) + 5" in line)
    both_means = next(
        line for line in lines if "project mean (3 seeds) >= stock mean (2 runs) + 5" in line
    )
    assert "[PASS]" in against_mean
    assert "[FAIL]" in both_means
    assert f"mean {project['repeats']['mean']:.3f}" in both_means


def test_reseeded_config_changes_only_the_seeds(tmp_path: Path) -> None:
    dest = tmp_path / "config.yml"
    changed = run.write_reseeded_config(run.PROJECT_CONFIG, dest, 7)
    assert changed == ["DIETClassifier", "ResponseSelector"]
    before = yaml.safe_load(run.PROJECT_CONFIG.read_text(encoding="utf-8"))
    after = yaml.safe_load(dest.read_text(encoding="utf-8"))
    for old, new in zip(before["pipeline"], after["pipeline"], strict=True):
        assert {k: v for k, v in new.items() if k != "random_seed"} == {
            k: v for k, v in old.items() if k != "random_seed"
        }
        assert new.get("random_seed") == (7 if "random_seed" in old else None)
