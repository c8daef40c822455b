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
