"""Rasa 3 graph components: informal-French Normaliser and CrisisGuard.

config.yml:
    pipeline:
      - name: engine.components.Normaliser      # first, before SpacyNLP
        # lexicon: engine/lexicon.txt           # default: the file next to this module
        # extra_lexicons: [my_words.txt]        # merged on top, later files win
      ...
      - name: FallbackClassifier
      - name: engine.components.CrisisGuard     # last
        # patterns: engine/crisis_patterns.txt
        # extra_patterns: []
        # confidence: 0.95
        # priority: [crisis_suicide, crisis_violence, crisis_shelter]
        # high_threshold: 0.5      # risk tiers: see engine/risk.py
        # medium_threshold: 0.1
        # medium_sum: 0.25
        # medium_top: 3
        # check_intent: crisis_check
        # resume_threshold: 0.2    # = FallbackClassifier's threshold

The text logic is in `engine.normalise`, `engine.crisis` and `engine.risk` (standard library
only).
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_VALUE,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from engine.crisis import DEFAULT_PRIORITY, guard_patterns
from engine.normalise import Lexicon, lexicon_paths, normalise, normalise_with_alignment
from engine.risk import MEDIUM, Thresholds, assess, resume_intent

logger = logging.getLogger(__name__)

# Extra keys put on the message and returned by /model/parse.
TEXT_ORIGINAL = "text_original"
TEXT_NORMALISED = "text_normalised"
CRISIS_GUARD = "crisis_guard"  # a crisis pattern set the intent: which, and what it matched
CRISIS_RISK = "crisis_risk"  # the message's risk tier and why (engine/risk.py)
# The intent the guard sets on a MEDIUM-risk message: the bot asks whether the person is safe.
CHECK_INTENT = "crisis_check"

# Button payloads ("/consent_accept", '/inform{"age": "19"}') are handled by Rasa's
# RegexMessageHandler after the pipeline: never touch them.
INTENT_PAYLOAD_PREFIX = "/"

_LEXICON_FILE = "lexicon.txt"


def _digest(paths: List[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(str(path).encode())
        digest.update(path.read_bytes() if path.is_file() else b"<missing>")
    return digest.hexdigest()


def is_payload(text: Optional[Text]) -> bool:
    """No text, or a button payload ("/intent{...}"): the components leave it alone."""
    return not text or text.lstrip().startswith(INTENT_PAYLOAD_PREFIX)


@DefaultV1Recipe.register(
    # A message "featurizer" in the recipe's sense: it runs in order, before the
    # tokenizer, on the training data (process_training_data) and on every message
    # (process). It is trainable only to copy the lexicon into the model, so that a
    # model always normalises with the lexicon it was trained with.
    [DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER],
    is_trainable=True,
)
class Normaliser(GraphComponent):
    """Rewrites the message text into plain lower-case French, before tokenisation."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"lexicon": None, "extra_lexicons": []}

    def __init__(
        self,
        config: Dict[Text, Any],
        lexicon_text: Text,
        model_storage: ModelStorage,
        resource: Resource,
    ) -> None:
        self._config = config
        self._lexicon_text = lexicon_text
        self._lexicon = Lexicon.parse(lexicon_text, "lexicon")
        self._model_storage = model_storage
        self._resource = resource

    @staticmethod
    def _read_lexicon_text(config: Dict[Text, Any]) -> Text:
        parts = []
        for path in lexicon_paths(config):
            text = path.read_text(encoding="utf-8")
            Lexicon.parse(text, str(path))  # report errors with the right file and line
            parts.append(f"# ---- from {path}\n{text}\n")
        return "\n".join(parts)

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "Normaliser":
        return cls(config, cls._read_lexicon_text(config), model_storage, resource)

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> "Normaliser":
        try:
            with model_storage.read_from(resource) as directory:
                text = (directory / _LEXICON_FILE).read_text(encoding="utf-8")
        except (ValueError, FileNotFoundError):
            logger.warning("Normaliser: no lexicon in the model, reading the lexicon files.")
            text = cls._read_lexicon_text(config)
        return cls(config, text, model_storage, resource)

    @classmethod
    def fingerprint_addon(cls, config: Dict[Text, Any]) -> Optional[str]:
        # Retrain (do not reuse the cache) when a lexicon file changes.
        return _digest(lexicon_paths(config))

    def train(self, training_data: TrainingData) -> Resource:
        with self._model_storage.write_to(self._resource) as directory:
            (directory / _LEXICON_FILE).write_text(self._lexicon_text, encoding="utf-8")
        return self._resource

    # -- training data -------------------------------------------------------------------

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for example in training_data.training_examples:
            self._normalise_example(example)
        self._extend_synonyms(training_data)
        self._extend_lookup_tables(training_data)
        return training_data

    def _normalise_example(self, message: Message) -> None:
        text = message.get(TEXT)
        if is_payload(text):
            return
        result = normalise_with_alignment(text, self._lexicon)
        if result.text == text:
            return
        entities = message.get(ENTITIES)
        if entities:
            moved = []
            for entity in entities:
                start, end = entity[ENTITY_ATTRIBUTE_START], entity[ENTITY_ATTRIBUTE_END]
                span = result.map_span(start, end)
                if span is None:
                    logger.warning("Normaliser: entity %s lost in %r", entity, text)
                    continue
                new = dict(entity)
                new[ENTITY_ATTRIBUTE_START], new[ENTITY_ATTRIBUTE_END] = span
                # a plain annotation takes the normalised words; a synonym keeps its value
                if entity.get(ENTITY_ATTRIBUTE_VALUE) == text[start:end]:
                    new[ENTITY_ATTRIBUTE_VALUE] = result.text[span[0] : span[1]]
                moved.append(new)
            message.set(ENTITIES, moved)
        message.set(TEXT, result.text)

    def _extend_synonyms(self, training_data: TrainingData) -> None:
        # EntitySynonymMapper compares the extracted (normalised) text with these keys.
        for key, value in list(training_data.entity_synonyms.items()):
            training_data.entity_synonyms.setdefault(normalise(key, self._lexicon), value)

    def _extend_lookup_tables(self, training_data: TrainingData) -> None:
        # RegexFeaturizer matches lookup entries against the normalised text.
        for table in training_data.lookup_tables:
            elements = table.get("elements")
            if not isinstance(elements, list):
                continue
            known = set(elements)
            for element in list(elements):
                folded = normalise(str(element), self._lexicon)
                if folded and folded not in known:
                    known.add(folded)
                    elements.append(folded)

    # -- inference -----------------------------------------------------------------------

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT)
            if is_payload(text):
                continue
            normalised = normalise(text, self._lexicon)
            message.set(TEXT_ORIGINAL, text, add_to_output=True)
            message.set(TEXT_NORMALISED, normalised, add_to_output=True)
            message.set(TEXT, normalised)
        return messages


@DefaultV1Recipe.register(
    # Placed like FallbackClassifier: a non-trainable intent classifier, run after the
    # other classifiers in pipeline order, at inference only.
    [DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER],
    is_trainable=False,
)
class CrisisGuard(GraphComponent):
    """Sorts each message into a risk tier (engine/risk.py) and sets the intent to match.

    HIGH: a crisis_* intent (a pattern's, or the classifiers' own when confident enough).
    MEDIUM: the `check_intent` (the bot asks whether the young person is safe), with the intent
    to go on with if they are (`crisis_risk.resume`). Both add `crisis_risk` to the parse data.
    """

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            "patterns": None,
            "extra_patterns": [],
            "confidence": 0.95,
            "priority": list(DEFAULT_PRIORITY),
            "high_threshold": Thresholds.high,
            "medium_threshold": Thresholds.medium,
            "medium_sum": Thresholds.medium_sum,
            "medium_top": Thresholds.top,
            "check_intent": CHECK_INTENT,
            # the FallbackClassifier's threshold: under it, the intent to go on with is
            # nlu_fallback
            "resume_threshold": 0.2,
        }

    def __init__(self, config: Dict[Text, Any]) -> None:
        self._config = {**self.get_default_config(), **config}
        self._patterns = guard_patterns(self._config)
        self._confidence = float(self._config["confidence"])
        self._thresholds = Thresholds.from_config(self._config)
        self._check_intent = str(self._config["check_intent"])
        self._resume_threshold = float(self._config["resume_threshold"])

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "CrisisGuard":
        return cls(config)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            self._guard(message)
        return messages

    def _guard(self, message: Message) -> None:
        text = message.get(TEXT)
        if is_payload(text):
            return
        intent = message.get(INTENT) or {}
        predicted = intent.get(INTENT_NAME_KEY)
        confidence = float(intent.get(PREDICTED_CONFIDENCE_KEY) or 0.0)
        ranking = [dict(r) for r in message.get(INTENT_RANKING_KEY) or []]
        ranked = [
            (str(r.get(INTENT_NAME_KEY)), float(r.get(PREDICTED_CONFIDENCE_KEY) or 0.0))
            for r in ranking
        ]
        top = (str(predicted), confidence) if predicted else None
        # The Normaliser has already rewritten TEXT; normalising again is a no-op for it
        # and keeps the guard working if the Normaliser is removed from the pipeline.
        risk = assess(text, top, ranked, self._patterns, self._thresholds)
        if risk is None:
            return
        trace = risk.as_dict()
        if risk.tier == MEDIUM:
            name, conf = resume_intent(top, ranked, self._resume_threshold)
            trace["resume"] = {INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: conf}
            self._set_intent(message, ranking, self._check_intent, min(1.0, risk.score))
        elif risk.reason == "pattern":
            previous = next(
                (
                    r.get(PREDICTED_CONFIDENCE_KEY, 0.0)
                    for r in ranking
                    if r.get(INTENT_NAME_KEY) == risk.kind
                ),
                0.0,
            )
            if predicted == risk.kind:
                previous = max(previous, confidence)
            self._set_intent(message, ranking, risk.kind, max(float(previous), self._confidence))
            message.set(
                CRISIS_GUARD,
                {
                    "intent": risk.kind,
                    "classifier_intent": predicted,
                    "matches": trace["matches"],
                },
                add_to_output=True,
            )
        message.set(CRISIS_RISK, trace, add_to_output=True)

    @staticmethod
    def _set_intent(
        message: Message, ranking: List[Dict[str, Any]], name: str, confidence: float
    ) -> None:
        top = {INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: confidence}
        ranking = [top] + [r for r in ranking if r.get(INTENT_NAME_KEY) != name]
        message.set(INTENT, dict(top), add_to_output=True)
        message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)


@DefaultV1Recipe.register(
    # Like CrisisGuard: a non-trainable intent classifier run after the others, at inference.
    [DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER],
    is_trainable=False,
)
class WordlessFallback(GraphComponent):
    """A message with no word at all ("?", "...", an emoji) is not understood: its intent
    becomes nlu_fallback, so that "?" never gets an FAQ answer the classifiers guessed. The
    app then answers what it is (an easy choice, a feeling for an emoji of distress). A message
    the crisis guard flagged is left alone."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"intent": "nlu_fallback"}

    def __init__(self, config: Dict[Text, Any]) -> None:
        self._intent = str({**self.get_default_config(), **config}["intent"])

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "WordlessFallback":
        return cls(config)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT_ORIGINAL) or message.get(TEXT) or ""
            if is_payload(text) or message.get(CRISIS_RISK) or any(c.isalnum() for c in text):
                continue
            CrisisGuard._set_intent(
                message, [dict(r) for r in message.get(INTENT_RANKING_KEY) or []], self._intent, 1.0
            )
        return messages
