"""Risk tiers of one message (standard library only): what the crisis guard decides.

- HIGH: a crisis pattern matches (`engine/crisis_patterns.txt`), or the classifiers predict a
  crisis intent with at least `high` confidence. The bot gives the helplines and opens an
  urgent ticket at once.
- MEDIUM: no clear sign, but danger words (the `[danger ...]` sections of the patterns file), a
  crisis intent the classifiers predict under `high`, a crisis intent in their top `top` with at
  least `medium` confidence, or the crisis intents' confidences summed reaching `medium_sum`.
  The bot asks once "Est-ce que tu es en sécurité, là, maintenant ?" (Non / Je sais pas -> the
  high-risk path; Oui -> the conversation goes on and the message is flagged).
- Otherwise no risk (None).

A message with a harmless phrasing of the patterns' `[exceptions]` ("a la rue de la gare", "je
veux pas mourir", "mort de rire") and no crisis pattern is judged on its danger words alone: the
classifiers learnt crisis words, and these are those words used harmlessly.

Both the engine's `CrisisGuard` (engine/components.py) and the NLU benchmark (bench/nlu) call
`assess`, so the benchmark replays exactly what the engine decides.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, List, Optional, Sequence, Tuple

from engine.crisis import CrisisMatch, CrisisPatterns
from engine.normalise import Lexicon, normalise

HIGH = "high"
MEDIUM = "medium"
CRISIS_PREFIX = "crisis_"
FALLBACK_INTENT = "nlu_fallback"

Ranked = Tuple[str, float]  # (intent name, confidence)


def is_crisis(intent: Optional[str]) -> bool:
    return bool(intent) and str(intent).startswith(CRISIS_PREFIX)


@dataclasses.dataclass(frozen=True)
class Thresholds:
    """Where the tiers start (config.yml, CrisisGuard; chosen with bench/nlu/tiers.py)."""

    high: float = 0.5
    medium: float = 0.1
    medium_sum: float = 0.25
    top: int = 3

    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> "Thresholds":
        default = cls()
        return cls(
            high=float(config.get("high_threshold", default.high)),
            medium=float(config.get("medium_threshold", default.medium)),
            medium_sum=float(config.get("medium_sum", default.medium_sum)),
            top=int(config.get("medium_top", default.top)),
        )


@dataclasses.dataclass(frozen=True)
class Risk:
    tier: str  # HIGH or MEDIUM
    reason: str  # pattern | intent | danger_words | ranking | score
    kind: str  # the crisis_* intent the sign points to (the helplines to give)
    detail: str  # the matched words, or the intent and its confidence
    score: float  # the classifiers' crisis intents' confidences, summed
    matches: Tuple[CrisisMatch, ...] = ()

    def as_dict(self) -> Dict[str, Any]:
        return {
            "tier": self.tier,
            "reason": self.reason,
            "kind": self.kind,
            "detail": self.detail,
            "score": round(self.score, 4),
            "matches": [
                {"intent": m.intent, "pattern": m.pattern, "text": m.matched_text}
                for m in self.matches
            ],
        }


def classifier_ranking(ranking: Sequence[Ranked]) -> List[Ranked]:
    """The classifiers' own ranking: without the nlu_fallback entry the FallbackClassifier adds."""
    return [(name, conf) for name, conf in ranking if name != FALLBACK_INTENT]


def crisis_score(ranking: Sequence[Ranked]) -> float:
    return sum(conf for name, conf in ranking if is_crisis(name))


def _fmt(intent: str, confidence: float) -> str:
    return f"{intent} {confidence:.2f}"


def assess(
    text: str,
    predicted: Optional[Ranked],
    ranking: Sequence[Ranked],
    patterns: CrisisPatterns,
    thresholds: Thresholds = Thresholds(),
    *,
    lexicon: Optional[Lexicon] = None,
    already_normalised: bool = False,
) -> Optional[Risk]:
    """The risk tier of a message, from its text and what the classifiers said of it.

    `predicted` is the classifiers' intent (nlu_fallback if the FallbackClassifier fired) and
    `ranking` their intent ranking (an nlu_fallback entry in it is ignored).
    """
    ranked = classifier_ranking(ranking)
    score = crisis_score(ranked)
    name, confidence = predicted if predicted else (None, 0.0)
    matches = patterns.match(text, lexicon, already_normalised=already_normalised)
    if matches:
        rank = {intent: i for i, intent in enumerate(patterns.priority)}
        best = matches[0]
        # Never downgrade: a crisis intent from the classifiers stays unless a pattern found a
        # higher-priority one (suicide > violence > shelter).
        kind = name if name in rank and rank[name] <= rank[best.intent] else best.intent
        return Risk(HIGH, "pattern", str(kind), best.matched_text, score, tuple(matches))
    danger = patterns.danger_match(text, lexicon, already_normalised=already_normalised)
    normalised = text if already_normalised else normalise(text, lexicon)
    if patterns.mask_exceptions(normalised) != normalised:
        # A harmless phrasing of the [exceptions] ("a la rue de la gare", "je veux pas mourir",
        # "ce taf me tue") and no crisis pattern: the classifiers' crisis words are most likely
        # those words, so they do not count; danger words elsewhere in the message still do.
        ranked, score, name = [], 0.0, None
    if name is not None and is_crisis(name) and confidence >= thresholds.high:
        return Risk(HIGH, "intent", name, _fmt(name, confidence), score)
    if name is not None and is_crisis(name):
        return Risk(MEDIUM, "intent", name, _fmt(name, confidence), score)
    if danger:
        return Risk(MEDIUM, "danger_words", danger[0].intent, danger[0].matched_text, score)
    for intent, conf in ranked[: thresholds.top]:
        if is_crisis(intent) and conf >= thresholds.medium:
            return Risk(MEDIUM, "ranking", intent, _fmt(intent, conf), score)
    if score >= thresholds.medium_sum:
        intent, conf = max(((n, c) for n, c in ranked if is_crisis(n)), key=lambda r: r[1])
        return Risk(MEDIUM, "score", intent, f"{intent} {conf:.2f}, total {score:.2f}", score)
    return None


def resume_intent(predicted: Optional[Ranked], ranking: Sequence[Ranked], floor: float) -> Ranked:
    """The intent a MEDIUM message goes on with once the young person says they are safe: the
    classifiers' own unless it is a crisis intent, then the best other one if it reaches `floor`
    (the FallbackClassifier's threshold), else nlu_fallback."""
    if predicted and not is_crisis(predicted[0]):
        return predicted
    for intent, conf in classifier_ranking(ranking):
        if not is_crisis(intent):
            return (intent, conf) if conf >= floor else (FALLBACK_INTENT, conf)
    return (FALLBACK_INTENT, 0.0)
