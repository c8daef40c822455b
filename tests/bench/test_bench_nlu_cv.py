"""bench/nlu/cv.py replays the FallbackClassifier from saved rankings: check the replay."""

from __future__ import annotations

from bench.nlu import cv


def pred(intent: str, ranking: list[tuple[str, float]]) -> dict:
    return {"intent": intent, "confidence": ranking[0][1] if ranking else 0.0, "ranking": ranking}


def test_low_confidence_falls_back_and_high_confidence_keeps_the_top_intent() -> None:
    preds = [
        pred("nlu_fallback", [("need_job", 0.28), ("need_housing", 0.10)]),
        pred("need_job", [("need_job", 0.62), ("need_housing", 0.10)]),
    ]
    assert [p["intent"] for p in cv.replay(preds, 0.3, 0.05)] == ["nlu_fallback", "need_job"]
    # At a lower threshold the first message is answered with the classifier's own top intent.
    assert [p["intent"] for p in cv.replay(preds, 0.2, 0.05)] == ["need_job", "need_job"]


def test_ambiguous_top_two_fall_back() -> None:
    preds = [pred("need_job", [("need_job", 0.41), ("need_training", 0.38)])]
    assert cv.replay(preds, 0.3, 0.05)[0]["intent"] == "nlu_fallback"
    assert cv.replay(preds, 0.3, 0.02)[0]["intent"] == "need_job"


def test_crisis_guard_verdicts_are_never_replayed_away() -> None:
    preds = [pred("crisis_suicide", [("greet", 0.12), ("need_job", 0.11)])]
    assert cv.replay(preds, 0.4, 0.1)[0]["intent"] == "crisis_suicide"


def _saved(text: str, gold: str, ranking: list[tuple[str, float]]) -> dict:
    return {
        "text": text,
        "normalised": text,
        "gold": gold,
        "intent": ranking[0][0],
        "confidence": ranking[0][1],
        "ranking": ranking,
    }


def test_tiers_are_replayed_at_other_thresholds_with_and_without_the_patterns() -> None:
    from bench.nlu import tiers
    from engine.risk import Thresholds

    preds = [
        _saved("je veux mourir", "crisis_suicide", [("need_morale", 0.9)]),
        _saved("bof", "need_morale", [("need_morale", 0.6), ("crisis_suicide", 0.3)]),
        _saved("salut", "greet", [("crisis_violence", 0.45), ("greet", 0.4)]),
    ]
    patterns = tiers.default_patterns()
    low = Thresholds(high=0.4, medium=0.25, medium_sum=0.25)
    assert tiers.replay(preds, low, patterns) == ["high", "medium", "high"]
    assert tiers.replay(preds, low, None) == [None, "medium", "high"]  # classifiers alone
    strict = Thresholds(high=0.5, medium=0.35, medium_sum=0.5)
    assert tiers.replay(preds, strict, patterns) == ["high", None, "medium"]


def test_the_chosen_thresholds_keep_the_costs_within_the_targets() -> None:
    from bench.nlu import tiers

    base = {"classifier_high_recall": 0.5, "lookalike_high": 0.0, "high_false_alarms": 0.0}
    rows = [
        {**base, "high": 0.3, "classifier_recall": 0.95, "medium_rate": 0.08},  # asks too often
        {**base, "high": 0.4, "classifier_recall": 0.8, "medium_rate": 0.02},
        {**base, "high": 0.5, "classifier_recall": 0.7, "medium_rate": 0.01},
    ]
    assert tiers.choose(rows)["high"] == 0.4
    assert tiers.choose(rows[:1]) is None
