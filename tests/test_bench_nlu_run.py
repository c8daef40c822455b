"""bench/nlu/run.py: the figures and the target lines, on hand-made predictions (no training)."""

from __future__ import annotations

import pytest

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


def test_stock_spread_is_the_mean_and_range_of_the_runs() -> None:
    runs = [run.metrics(cases(), preds(w)) for w in (0, 1, 3)]
    spread = run.stock_spread(runs)
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
    stock = {**lucky, "repeats": run.stock_spread([lucky, usual, usual])}  # mean margin 3.5
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
