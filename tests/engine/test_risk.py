"""Risk tiers (engine/risk.py) on a small patterns file of the test's own, so that the tier
logic is tested apart from the shipped patterns (tests/engine/test_patterns.py)."""

from __future__ import annotations

import unittest

from engine.crisis import CrisisPatterns
from engine.risk import HIGH, MEDIUM, Thresholds, assess, crisis_score, resume_intent

PATTERNS = CrisisPatterns.parse(
    """
[crisis_suicide]
\\bje veux mourir\\b
[crisis_violence]
\\bil me frappe\\b
[crisis_shelter]
\\bje dors dehors\\b
[exceptions]
\\bmort de rire\\b
[danger crisis_suicide]
\\bje me sens vide\\b
[danger crisis_violence]
\\bj'ai peur de lui\\b
"""
)
T = Thresholds(high=0.5, medium=0.1, medium_sum=0.25, top=3)


def _assess(text: str, predicted: tuple, ranking: list) -> object:
    return assess(text, predicted, ranking, PATTERNS, T, already_normalised=True)


class AssessTest(unittest.TestCase):
    def test_a_pattern_is_high_whatever_the_classifiers_say(self) -> None:
        risk = _assess("bon je veux mourir", ("greet", 0.9), [("greet", 0.9)])
        self.assertEqual((risk.tier, risk.reason, risk.kind), (HIGH, "pattern", "crisis_suicide"))
        self.assertEqual(risk.detail, "je veux mourir")

    def test_a_pattern_never_downgrades_a_higher_priority_classifier_intent(self) -> None:
        risk = _assess("je dors dehors", ("crisis_suicide", 0.4), [("crisis_suicide", 0.4)])
        self.assertEqual(risk.kind, "crisis_suicide")
        risk = _assess("il me frappe", ("crisis_shelter", 0.6), [("crisis_shelter", 0.6)])
        self.assertEqual(risk.kind, "crisis_violence")

    def test_a_confident_crisis_intent_is_high(self) -> None:
        risk = _assess("bla", ("crisis_shelter", 0.5), [("crisis_shelter", 0.5)])
        self.assertEqual((risk.tier, risk.reason, risk.kind), (HIGH, "intent", "crisis_shelter"))
        self.assertEqual(risk.detail, "crisis_shelter 0.50")

    def test_a_harmless_phrasing_leaves_only_the_danger_words(self) -> None:
        # the classifiers read "mort" as a crisis word: with "mort de rire" they do not count
        ranking = [("crisis_suicide", 0.9), ("crisis_violence", 0.05)]
        self.assertIsNone(_assess("ptdr mort de rire", ("crisis_suicide", 0.9), ranking))
        risk = _assess("mort de rire mais j'ai peur de lui", ("crisis_suicide", 0.9), ranking)
        self.assertEqual(
            (risk.tier, risk.reason, risk.kind), (MEDIUM, "danger_words", "crisis_violence")
        )
        # a crisis pattern still wins whatever else the message says
        risk = _assess("mort de rire... je veux mourir", ("greet", 0.9), [("greet", 0.9)])
        self.assertEqual(risk.tier, HIGH)

    def test_an_unsure_crisis_intent_is_medium(self) -> None:
        ranking = [("crisis_suicide", 0.31), ("need_job", 0.3)]
        risk = _assess("bah rien j'ai arrete les cours", ("crisis_suicide", 0.31), ranking)
        self.assertEqual((risk.tier, risk.reason, risk.kind), (MEDIUM, "intent", "crisis_suicide"))

    def test_danger_words_are_medium(self) -> None:
        risk = _assess("je me sens vide", ("need_morale", 0.8), [("need_morale", 0.8)])
        self.assertEqual(
            (risk.tier, risk.reason, risk.kind), (MEDIUM, "danger_words", "crisis_suicide")
        )

    def test_exceptions_are_masked_before_the_danger_words(self) -> None:
        self.assertIsNone(_assess("mort de rire", ("greet", 0.9), [("greet", 0.9)]))

    def test_a_crisis_intent_in_the_top_three_is_medium(self) -> None:
        ranking = [("need_morale", 0.5), ("need_health", 0.2), ("crisis_violence", 0.12)]
        risk = _assess("bof", ("need_morale", 0.5), ranking)
        self.assertEqual((risk.tier, risk.reason), (MEDIUM, "ranking"))
        # fourth place, or under the medium threshold: nothing
        ranking = [("a", 0.5), ("b", 0.2), ("c", 0.15), ("crisis_violence", 0.12)]
        self.assertIsNone(_assess("bof", ("a", 0.5), ranking))
        ranking = [("need_morale", 0.5), ("crisis_violence", 0.09)]
        self.assertIsNone(_assess("bof", ("need_morale", 0.5), ranking))

    def test_the_crisis_intents_summed_are_medium(self) -> None:
        ranking = [
            ("need_morale", 0.4),
            ("a", 0.2),
            ("b", 0.1),
            ("crisis_suicide", 0.09),
            ("crisis_violence", 0.09),
            ("crisis_shelter", 0.08),
        ]
        self.assertAlmostEqual(crisis_score(ranking), 0.26)
        risk = _assess("bof", ("need_morale", 0.4), ranking)
        self.assertEqual((risk.tier, risk.reason, risk.kind), (MEDIUM, "score", "crisis_suicide"))

    def test_the_fallback_entry_is_not_a_rank(self) -> None:
        # FallbackClassifier puts nlu_fallback on top: the classifiers' own third is still third
        ranking = [("nlu_fallback", 0.2), ("a", 0.19), ("b", 0.18), ("crisis_shelter", 0.11)]
        risk = _assess("hmm", ("nlu_fallback", 0.2), ranking)
        self.assertEqual((risk.tier, risk.kind), (MEDIUM, "crisis_shelter"))

    def test_nothing_worrying_is_no_risk(self) -> None:
        self.assertIsNone(_assess("je cherche un taf", ("need_job", 0.9), [("need_job", 0.9)]))
        self.assertIsNone(_assess("je cherche un taf", None, []))


class ResumeIntentTest(unittest.TestCase):
    def test_the_classifiers_intent_when_it_is_not_a_crisis(self) -> None:
        self.assertEqual(resume_intent(("need_morale", 0.8), [], 0.2), ("need_morale", 0.8))
        self.assertEqual(resume_intent(("nlu_fallback", 0.2), [], 0.2), ("nlu_fallback", 0.2))

    def test_the_best_other_intent_after_an_unsure_crisis(self) -> None:
        ranking = [("crisis_suicide", 0.31), ("crisis_shelter", 0.1), ("inform", 0.28)]
        self.assertEqual(resume_intent(("crisis_suicide", 0.31), ranking, 0.2), ("inform", 0.28))
        ranking = [("crisis_suicide", 0.31), ("inform", 0.15)]
        self.assertEqual(
            resume_intent(("crisis_suicide", 0.31), ranking, 0.2), ("nlu_fallback", 0.15)
        )
        self.assertEqual(resume_intent(("crisis_suicide", 0.31), [], 0.2), ("nlu_fallback", 0.0))


if __name__ == "__main__":
    unittest.main()
