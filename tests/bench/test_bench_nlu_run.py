"""bench/nlu/run.py: the figures and the target lines, on hand-made predictions (no training)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bench.nlu import report, run, tiers

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
    spread = report.spread(runs)
    assert spread["runs"] == 3
    assert spread["macro_f1"] == [r["macro_f1"] for r in runs]
    assert spread["mean"] == pytest.approx(sum(spread["macro_f1"]) / 3)
    assert spread["min"] == runs[2]["macro_f1"] < spread["max"] == runs[0]["macro_f1"] == 1.0


def _lines(capsys: pytest.CaptureFixture[str], results: dict) -> list[str]:
    report.report(results, cases())
    return capsys.readouterr().out.splitlines()


def test_the_margin_is_read_between_the_means_not_in_one_run(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A lucky project seed against a low stock draw passes in one run; the means decide."""
    lucky, usual = run.metrics(cases(), preds(0)), run.metrics(cases(), preds(3))
    stock_runs = [run.metrics(cases(), preds(w)) for w in (2, 0, 0)]
    project = {**lucky, "repeats": report.spread([lucky, usual, usual])}
    stock = {**stock_runs[0], "repeats": report.spread(stock_runs)}
    assert lucky["macro_f1"] - stock_runs[0]["macro_f1"] >= report.TARGET_MARGIN
    assert project["repeats"]["mean"] - stock["repeats"]["mean"] < report.TARGET_MARGIN
    lines = _lines(capsys, {"project": project, "stock": stock})
    means = next(line for line in lines if "project mean (3 seeds) >= stock mean (3 seeds)" in line)
    assert "[FAIL]" in means and f"mean {stock['repeats']['mean']:.3f}" in means
    level = next(line for line in lines if "project mean macro-F1 (3 seeds) >= 0.94" in line)
    assert "[FAIL]" in level and f"mean {project['repeats']['mean']:.3f}" in level
    assert any("first seeds only" in line and "one training is one draw" in line for line in lines)


def test_the_margin_passes_between_good_means(capsys: pytest.CaptureFixture[str]) -> None:
    best = run.metrics(cases(), preds(0))
    low = [run.metrics(cases(), preds(w)) for w in (2, 3)]
    project = {**best, "repeats": report.spread([best, best])}
    stock = {**low[0], "repeats": report.spread(low)}
    lines = _lines(capsys, {"project": project, "stock": stock})
    assert "[PASS]" in next(line for line in lines if "stock mean (2 seeds) + 3.5" in line)
    assert "[PASS]" in next(line for line in lines if "macro-F1 (2 seeds) >= 0.94" in line)


def _tiers(missed: int, alarms: int, asked: int) -> dict:
    crisis = [("c", tiers.HIGH)] * (10 - missed) + [("c", None)] * missed
    other = [("o", tiers.HIGH)] * alarms + [("o", tiers.MEDIUM)] * asked
    other += [("o", None)] * (100 - alarms - asked)
    items = [(t, True, tier) for t, tier in crisis] + [(t, False, tier) for t, tier in other]
    return tiers.figures(items).as_dict()


@pytest.mark.parametrize(
    ("missed", "alarms", "asked", "failing"),
    [
        (0, 1, 3, []),
        (1, 0, 0, ["crisis recall, high + medium = 1.0"]),
        (0, 2, 0, ["high-risk false alarms <= 1%"]),
        (0, 0, 4, ["safety question on <= 3% of non-crisis"]),
    ],
)
def test_tier_targets(
    capsys: pytest.CaptureFixture[str], missed: int, alarms: int, asked: int, failing: list[str]
) -> None:
    project = {**run.metrics(cases(), preds(0))}
    figures = _tiers(missed, alarms, asked)
    project["tier_runs"] = {"testset": [figures, _tiers(0, 0, 0)], "phrasings": [figures]}
    lines = _lines(capsys, {"project": project})
    checks = [line for line in lines if line.startswith("  [")]
    failed = [line for line in checks if "[FAIL]" in line and "macro-F1" not in line]
    assert len(failed) == len(failing)
    for label, line in zip(failing, failed, strict=True):
        assert label in line
    recall = next(line for line in lines if "crisis recall, high + medium (%)" in line)
    assert f"({100 * (10 - missed) / 10:.1f}-100.0)" in recall or missed == 0  # the seed range


def test_phrasing_files_load_as_cases() -> None:
    loaded = tiers.phrasing_cases(run.PHRASINGS)
    kinds = {c["intent"] for c in loaded}
    assert {"crisis_suicide", "crisis_violence", "crisis_shelter"} <= kinds
    assert {tiers.LOOKALIKE, tiers.AMBIGUOUS} <= kinds
    assert sum(c["intent"].startswith("crisis_") for c in loaded) >= 150
    assert sum(c["intent"] == tiers.LOOKALIKE for c in loaded) >= 150


def test_ambiguous_phrasings_are_measured_apart() -> None:
    cases_ = [
        {"text": "a", "intent": tiers.AMBIGUOUS},
        {"text": "b", "intent": tiers.AMBIGUOUS},
        {"text": "c", "intent": tiers.LOOKALIKE},
    ]
    preds_ = [{"risk": {"tier": "medium"}}, {"risk": None}, {"risk": {"tier": "medium"}}]
    assert tiers.ambiguous_share(cases_, preds_) == 0.5
    figures = tiers.engine_tiers(cases_, preds_)
    assert (figures.other, figures.medium_rate) == (1, 1.0)


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
