"""What the engine understood of a message, as the app's packages read it (channel, services,
web): standard library only, so a service does not depend on the channel package."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Below this intent confidence a turn counts as misunderstood (manager studio inbox, results
# page, simulator). The confidence is the blend of DIET and the linear model (config.yml,
# engine/intent_blend.py), lower than DIET's alone: on four held-out splits of nlu_data/
# (bench/nlu/cv.py) 0.45 flags 24 % of turns, as 0.6 did with DIET alone (25 %), and catches 56 %
# of the wrong intents (DIET at 0.6: 49 %); 0.6 with the blend would flag 38 %.
LOW_CONFIDENCE = 0.45


@dataclass(frozen=True)
class TurnInfo:
    """What the engine understood of the last user message and what it did about it."""

    text: str | None
    normalised: str | None
    intent: str | None
    confidence: float | None
    entities: list[dict[str, Any]] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)  # actions run after the message, in order
    model: str | None = None
    crisis_guard: bool = False  # the crisis guard set the intent

    @property
    def action(self) -> str | None:
        return self.actions[0] if self.actions else None

    @property
    def fallback(self) -> bool:
        return self.intent == "nlu_fallback"

    @property
    def misunderstood(self) -> bool:
        return self.fallback or (self.confidence is not None and self.confidence < LOW_CONFIDENCE)

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "normalised": self.normalised,
            "intent": self.intent,
            "confidence": self.confidence,
            "entities": self.entities,
            "actions": self.actions,
            "model": self.model,
            "crisis_guard": self.crisis_guard,
            "fallback": self.fallback,
            "misunderstood": self.misunderstood,
        }
