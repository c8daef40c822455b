"""IntentBlend on real rasa TrainingData / Message objects and a real spaCy model (no mocks).

Run in the engine env:
    .venv-rasa/bin/python -m unittest discover -s tests/engine -t .
"""

from __future__ import annotations

import unittest
import zipfile
from pathlib import Path
from typing import Any, List, Optional, Tuple

import numpy as np
import spacy
from rasa.engine.storage.resource import Resource
from rasa.nlu.constants import SPACY_DOCS
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from engine.components import Normaliser
from engine.intent_blend import IntentBlend
from tests.engine.support import ComponentTestCase

TRAINING_YAML = """
version: "3.1"
nlu:
  - intent: need_job
    examples: |
      - jcherche du taf
      - je cherche un travail
      - jveux bosser
      - il me faut un job vite
      - tu connais des boulots dans le coin
      - trouver un emploi
  - intent: need_housing
    examples: |
      - jcherche un appart
      - je cherche un logement
      - faut que je trouve ou habiter
      - un studio pas cher
      - je veux un foyer jeunes travailleurs
      - trouver une chambre
  - intent: greet
    examples: |
      - salut
      - wesh
      - bonjour
      - coucou
      - yo
      - bjr
  - intent: faq/cej
    examples: |
      - c quoi le contrat engagement jeune
      - le cej ca marche comment
      - jai droit au cej
  - intent: faq/civique
    examples: |
      - c quoi le service civique
      - le service civique ca paye combien
      - comment on fait un service civique
"""

_NLP: Optional[Any] = None


def _nlp() -> Any:
    global _NLP
    if _NLP is None:
        _NLP = spacy.load("fr_core_news_md")
    return _NLP


def _with_doc(message: Message) -> Message:
    message.set(SPACY_DOCS[TEXT], _nlp()(message.get(TEXT)))
    return message


def _diet(text: str, ranking: List[Tuple[str, float]]) -> Message:
    """A message as DIET leaves it: normalised text, spaCy doc, an intent ranking."""
    message = Message(data={TEXT: text})
    message.set(
        INTENT, {INTENT_NAME_KEY: ranking[0][0], PREDICTED_CONFIDENCE_KEY: ranking[0][1]}, True
    )
    message.set(
        INTENT_RANKING_KEY,
        [{INTENT_NAME_KEY: n, PREDICTED_CONFIDENCE_KEY: c} for n, c in ranking],
        True,
    )
    return _with_doc(message)


class IntentBlendTest(ComponentTestCase):
    def _training_data(self, yaml: str = TRAINING_YAML) -> TrainingData:
        data = RasaYAMLReader().reads(yaml)
        Normaliser.create(
            Normaliser.get_default_config(), self.storage, Resource("n"), self.context
        ).process_training_data(data)
        for message in data.training_examples:
            if message.get(TEXT):
                _with_doc(message)
        return data

    def _trained(
        self, name: str = "blend", yaml: str = TRAINING_YAML, **config: Any
    ) -> IntentBlend:
        full = {**IntentBlend.get_default_config(), **config}
        blend = IntentBlend.create(full, self.storage, Resource(name), self.context)
        blend.train(self._training_data(yaml))
        return blend

    def test_linear_model_alone_fixes_a_wrong_diet_guess(self) -> None:
        blend = self._trained(weight=1.0)
        message = _diet("je cherche un taf", [("greet", 0.9), ("need_job", 0.1)])
        blend.process([message])
        self.assertEqual(message.get(INTENT)[INTENT_NAME_KEY], "need_job")
        ranking = message.get(INTENT_RANKING_KEY)
        self.assertEqual(ranking[0], message.get(INTENT))
        self.assertAlmostEqual(sum(r[PREDICTED_CONFIDENCE_KEY] for r in ranking), 1.0, places=6)

    def test_weight_zero_keeps_diet_ranking(self) -> None:
        blend = self._trained(weight=0.0)
        diet = [("need_housing", 0.5), ("need_job", 0.3), ("greet", 0.2)]
        message = _diet("jcherche du taf", diet)
        blend.process([message])
        got = [
            (r[INTENT_NAME_KEY], r[PREDICTED_CONFIDENCE_KEY])
            for r in message.get(INTENT_RANKING_KEY)
        ]
        self.assertEqual(got[:3], diet)

    def test_blend_is_the_weighted_mean_of_both_rankings(self) -> None:
        blend = self._trained(weight=0.25)
        message = _diet("jcherche un logement", [("need_job", 0.6), ("need_housing", 0.4)])
        assert blend._model is not None
        linear = blend._model.probabilities([message.get(TEXT)], [blend._vector(message)])[0]
        p = dict(zip(blend._model.classes, linear, strict=True))
        blend.process([message])
        got = {
            r[INTENT_NAME_KEY]: r[PREDICTED_CONFIDENCE_KEY] for r in message.get(INTENT_RANKING_KEY)
        }
        self.assertAlmostEqual(got["need_job"], 0.75 * 0.6 + 0.25 * p["need_job"])
        self.assertAlmostEqual(got["need_housing"], 0.75 * 0.4 + 0.25 * p["need_housing"])
        self.assertAlmostEqual(got["greet"], 0.25 * p["greet"])
        confidences = [r[PREDICTED_CONFIDENCE_KEY] for r in message.get(INTENT_RANKING_KEY)]
        self.assertEqual(confidences, sorted(confidences, reverse=True))

    def test_retrieval_intents_are_learnt_by_their_base_name(self) -> None:
        blend = self._trained(weight=1.0)
        assert blend._model is not None
        self.assertIn("faq", blend._model.classes)
        self.assertFalse([c for c in blend._model.classes if "/" in c])
        message = _diet("cest quoi le service civique", [("greet", 1.0)])
        blend.process([message])
        self.assertEqual(message.get(INTENT)[INTENT_NAME_KEY], "faq")

    def test_persisted_without_pickle_and_loaded_identically(self) -> None:
        blend = self._trained(name="persisted", weight=0.5)
        config = {**IntentBlend.get_default_config(), "weight": 0.5}
        loaded = IntentBlend.load(config, self.storage, Resource("persisted"), self.context)
        texts = ["jsuis a la recherche dun taf", "bonjour", "le cej c quoi"]
        before = [_diet(t, [("greet", 0.7), ("need_job", 0.3)]) for t in texts]
        after = [_diet(t, [("greet", 0.7), ("need_job", 0.3)]) for t in texts]
        blend.process(before)
        loaded.process(after)
        for a, b in zip(before, after, strict=True):
            self.assertEqual(a.get(INTENT)[INTENT_NAME_KEY], b.get(INTENT)[INTENT_NAME_KEY])
            np.testing.assert_allclose(
                [r[PREDICTED_CONFIDENCE_KEY] for r in a.get(INTENT_RANKING_KEY)],
                [r[PREDICTED_CONFIDENCE_KEY] for r in b.get(INTENT_RANKING_KEY)],
            )
        # the stored arrays hold no Python objects
        with self.storage.read_from(Resource("persisted")) as directory:
            files = sorted(p.name for p in directory.iterdir())
            self.assertEqual(files, ["intent_blend.json", "intent_blend.npz"])
            with zipfile.ZipFile(directory / "intent_blend.npz") as arrays:
                self.assertTrue(arrays.namelist())
            with np.load(directory / "intent_blend.npz", allow_pickle=False) as arrays:
                self.assertEqual(arrays["coef"].shape[0], len(blend._model.classes))  # type: ignore[union-attr]

    def test_button_payloads_and_missing_docs(self) -> None:
        blend = self._trained(weight=1.0)
        payload = Message(data={TEXT: '/inform{"age": "19"}'})
        payload.set(INTENT, {INTENT_NAME_KEY: "inform", PREDICTED_CONFIDENCE_KEY: 1.0}, True)
        blend.process([payload])
        self.assertEqual(payload.get(INTENT)[INTENT_NAME_KEY], "inform")
        # no spaCy doc (SpacyNLP removed): the n-grams alone still classify
        bare = Message(data={TEXT: "jcherche un appart"})
        blend.process([bare])
        self.assertEqual(bare.get(INTENT)[INTENT_NAME_KEY], "need_housing")

    def test_untrainable_data_leaves_diet_alone(self) -> None:
        one_intent = (
            'version: "3.1"\nnlu:\n  - intent: greet\n    examples: |\n      - salut\n      - yo\n'
        )
        blend = self._trained("one", one_intent, weight=1.0)
        message = _diet("salut", [("greet", 0.8), ("affirm", 0.2)])
        blend.process([message])
        self.assertEqual(
            message.get(INTENT), {INTENT_NAME_KEY: "greet", PREDICTED_CONFIDENCE_KEY: 0.8}
        )
        loaded = IntentBlend.load(
            IntentBlend.get_default_config(), self.storage, Resource("one"), self.context
        )
        loaded.process([message])
        self.assertEqual(message.get(INTENT)[INTENT_NAME_KEY], "greet")

    def test_two_intents_give_a_proper_two_way_distribution(self) -> None:
        two = (
            'version: "3.1"\nnlu:\n  - intent: affirm\n    examples: |\n'
            "      - oui\n      - ouais grave\n      - ok vas y\n      - dac\n"
            "  - intent: deny\n    examples: |\n"
            "      - non\n      - nan laisse\n      - pas du tout\n      - jamais\n"
        )
        blend = self._trained("two", two, weight=1.0)
        for text, expected in (("ouais ok", "affirm"), ("nan jamais", "deny")):
            message = _diet(text, [("greet", 1.0)])
            blend.process([message])
            ranking = message.get(INTENT_RANKING_KEY)
            self.assertEqual(ranking[0][INTENT_NAME_KEY], expected)
            linear = {r[INTENT_NAME_KEY]: r[PREDICTED_CONFIDENCE_KEY] for r in ranking}
            self.assertAlmostEqual(linear["affirm"] + linear["deny"], 1.0, places=6)
            self.assertGreater(linear[expected], 0.5)

    def test_content_vector_is_the_mean_of_the_content_words(self) -> None:
        blend = self._trained()
        # stop words do not move it: the same two content words, other function words
        a = blend._vector(_with_doc(Message(data={TEXT: "je cherche du travail"})))
        b = blend._vector(_with_doc(Message(data={TEXT: "moi je cherche le travail"})))
        assert a is not None and b is not None
        np.testing.assert_allclose(a, b)
        doc = _nlp()("cherche travail")
        np.testing.assert_allclose(a, np.mean([t.vector for t in doc], axis=0), rtol=1e-5)
        # only stop words: the whole-message vector rather than nothing
        only_stop = _with_doc(Message(data={TEXT: "je suis la"}))
        np.testing.assert_allclose(
            blend._vector(only_stop),  # type: ignore[arg-type]
            only_stop.get(SPACY_DOCS[TEXT]).vector,
            rtol=1e-6,
        )
        # "sentence" keeps the doc vector, stop words included
        sentence = self._trained("sentence", spacy_vector="sentence")
        message = _with_doc(Message(data={TEXT: "je cherche du travail"}))
        np.testing.assert_allclose(
            sentence._vector(message),  # type: ignore[arg-type]
            message.get(SPACY_DOCS[TEXT]).vector,
            rtol=1e-6,
        )

    def test_without_spacy_vectors_the_ngrams_alone_classify(self) -> None:
        blend = self._trained("ngrams", spacy_vector="none", weight=1.0)
        self.assertEqual(blend._model.vector_size, 0)  # type: ignore[union-attr]
        loaded = IntentBlend.load(
            {**IntentBlend.get_default_config(), "spacy_vector": "none", "weight": 1.0},
            self.storage,
            Resource("ngrams"),
            self.context,
        )
        for model in (blend, loaded):
            message = _diet("jcherche un boulot", [("greet", 0.9), ("need_job", 0.1)])
            model.process([message])
            self.assertEqual(message.get(INTENT)[INTENT_NAME_KEY], "need_job")

    def test_unknown_vector_mode_fails_fast(self) -> None:
        with self.assertRaises(ValueError):
            IntentBlend.create(
                {**IntentBlend.get_default_config(), "spacy_vector": "average"},
                self.storage,
                Resource("bad"),
                self.context,
            )

    def test_training_cache_is_keyed_on_the_module_source(self) -> None:
        import hashlib

        import engine.intent_blend as module

        source = hashlib.sha256(Path(module.__file__).read_bytes()).hexdigest()
        self.assertEqual(IntentBlend.fingerprint_addon({}), source)

    def test_weight_out_of_range_fails_fast(self) -> None:
        with self.assertRaises(ValueError):
            IntentBlend.create(
                {**IntentBlend.get_default_config(), "weight": 1.5},
                self.storage,
                Resource("bad"),
                self.context,
            )


if __name__ == "__main__":
    unittest.main()
