"""The Rasa components on real rasa Message / TrainingData objects (no mocks).

Run in the engine env:
    .venv-rasa/bin/python -m unittest discover -s tests/engine -t .
"""

from __future__ import annotations

import tempfile
import unittest
from pathlib import Path
from typing import Any, Dict, List, Optional

from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import (
    ENTITIES,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader
from rasa.shared.nlu.training_data.message import Message

from engine.components import (
    CHECK_INTENT,
    CRISIS_GUARD,
    CRISIS_RISK,
    TEXT_NORMALISED,
    TEXT_ORIGINAL,
    CrisisGuard,
    Normaliser,
    WordlessFallback,
)
from tests.engine.support import ComponentTestCase

TRAINING_YAML = """
version: "3.1"
nlu:
  - intent: inform
    examples: |
      - jai [19](age)ans
      - chui à [Hénin-Beaumont](commune) jhabite au [62110](postcode)
      - g [22](age) piges
      - jsuis a [paname](commune:Paris)
  - intent: crisis_shelter
    examples: |
      - chui a la rue ce soir
  - synonym: Paris
    examples: |
      - Pâris city
  - lookup: commune
    examples: |
      - Liévin
      - Hénin-Beaumont
"""


class NormaliserTest(ComponentTestCase):
    def _create(self, config: Optional[Dict[str, Any]] = None) -> Normaliser:
        full = {**Normaliser.get_default_config(), **(config or {})}
        return Normaliser.create(full, self.storage, Resource("normaliser"), self.context)

    def test_process_rewrites_text_and_keeps_the_original(self) -> None:
        message = Message(data={TEXT: "Chui à la rue, g pa de thune 😭 jai 19ans"})
        self._create().process([message])
        expected = "je suis a la rue, j'ai pas de thune argent triste j'ai 19 ans"
        self.assertEqual(message.get(TEXT), expected)
        self.assertEqual(message.get(TEXT_NORMALISED), expected)
        self.assertEqual(message.get(TEXT_ORIGINAL), "Chui à la rue, g pa de thune 😭 jai 19ans")
        output = message.as_dict(only_output_properties=True)
        self.assertEqual(output[TEXT_NORMALISED], expected)
        self.assertIn(TEXT_ORIGINAL, output)

    def test_button_payloads_are_left_alone(self) -> None:
        payloads = ["/consent_accept", '/inform{"age": "19"}']
        messages = [Message(data={TEXT: p}) for p in payloads]
        self._create().process(messages)
        self.assertEqual([m.get(TEXT) for m in messages], payloads)

    def test_process_training_data_moves_entities_synonyms_and_lookups(self) -> None:
        data = RasaYAMLReader().reads(TRAINING_YAML)
        self._create().process_training_data(data)
        by_text = {m.get(TEXT): m for m in data.training_examples if m.get(TEXT)}
        self.assertIn("je suis a la rue ce soir", by_text)

        def entities(text: str) -> List[tuple]:
            message = by_text[text]
            return [
                (e["entity"], text[e["start"] : e["end"]], e["value"])
                for e in message.get(ENTITIES)
            ]

        self.assertEqual(entities("j'ai 19 ans"), [("age", "19", "19")])
        self.assertEqual(
            entities("je suis a henin-beaumont j'habite au 62110"),
            [("commune", "henin-beaumont", "henin-beaumont"), ("postcode", "62110", "62110")],
        )
        self.assertEqual(entities("j'ai 22 piges ans"), [("age", "22", "22")])
        # a synonym keeps its value
        self.assertEqual(entities("je suis a paname"), [("commune", "paname", "Paris")])
        self.assertEqual(data.entity_synonyms.get("paris city"), "Paris")
        elements = data.lookup_tables[0]["elements"]
        self.assertIn("Liévin", elements)
        self.assertIn("lievin", elements)
        self.assertIn("henin-beaumont", elements)

    def test_training_and_inference_see_the_same_text(self) -> None:
        normaliser = self._create()
        data = RasaYAMLReader().reads(TRAINING_YAML)
        normaliser.process_training_data(data)
        trained = {m.get(TEXT) for m in data.training_examples if m.get(TEXT)}
        message = Message(data={TEXT: "chui a la rue ce soir"})
        normaliser.process([message])
        self.assertIn(message.get(TEXT), trained)

    def test_train_persists_the_lexicon_in_the_model(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            extra = Path(tmp) / "extra.txt"
            extra.write_text("[words]\nwesh = salut\n", encoding="utf-8")
            config = {**Normaliser.get_default_config(), "extra_lexicons": [str(extra)]}
            normaliser = Normaliser.create(config, self.storage, Resource("n"), self.context)
            resource = normaliser.train(RasaYAMLReader().reads(TRAINING_YAML))
            fingerprint = Normaliser.fingerprint_addon(config)
            extra.write_text("[words]\nwesh = coucou\n", encoding="utf-8")
            self.assertNotEqual(Normaliser.fingerprint_addon(config), fingerprint)
        # the extra file is gone: the loaded component uses the copy in the model
        loaded = Normaliser.load(config, self.storage, resource, self.context)
        message = Message(data={TEXT: "wesh jsuis la"})
        loaded.process([message])
        self.assertEqual(message.get(TEXT), "salut je suis la")


def _classified(text: str, intent: str, confidence: float, ranking: List[tuple]) -> Message:
    message = Message(data={TEXT: text})
    message.set(INTENT, {INTENT_NAME_KEY: intent, PREDICTED_CONFIDENCE_KEY: confidence}, True)
    message.set(
        INTENT_RANKING_KEY,
        [{INTENT_NAME_KEY: n, PREDICTED_CONFIDENCE_KEY: c} for n, c in ranking],
        True,
    )
    return message


class CrisisGuardTest(ComponentTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.guard = self._create()

    def _create(self, **config: Any) -> CrisisGuard:
        full = {**CrisisGuard.get_default_config(), **config}
        return CrisisGuard.create(full, self.storage, Resource("guard"), self.context)

    def _run(self, message: Message, normalise_first: bool = True) -> Message:
        if normalise_first:
            normaliser = Normaliser.create(
                Normaliser.get_default_config(), self.storage, Resource("n"), self.context
            )
            normaliser.process([message])
        self.guard.process([message])
        return message

    def test_overrides_nlu_fallback(self) -> None:
        message = self._run(
            _classified(
                "jsais pas ou dormir",
                "nlu_fallback",
                0.5,
                [("nlu_fallback", 0.5), ("need_housing", 0.41), ("crisis_shelter", 0.3)],
            )
        )
        self.assertEqual(message.get(INTENT)[INTENT_NAME_KEY], "crisis_shelter")
        self.assertEqual(message.get(INTENT)[PREDICTED_CONFIDENCE_KEY], 0.95)
        ranking = message.get(INTENT_RANKING_KEY)
        self.assertEqual(ranking[0][INTENT_NAME_KEY], "crisis_shelter")
        self.assertEqual([r[INTENT_NAME_KEY] for r in ranking].count("crisis_shelter"), 1)
        self.assertEqual(len(ranking), 3)
        output = message.as_dict(only_output_properties=True)
        self.assertEqual(output[CRISIS_GUARD]["classifier_intent"], "nlu_fallback")

    def test_overrides_a_low_confidence_wrong_intent(self) -> None:
        message = self._run(
            _classified("jveux mourir", "need_morale", 0.62, [("need_morale", 0.62)])
        )
        self.assertEqual(message.get(INTENT)[INTENT_NAME_KEY], "crisis_suicide")
        ranking = message.get(INTENT_RANKING_KEY)
        self.assertEqual([r[INTENT_NAME_KEY] for r in ranking], ["crisis_suicide", "need_morale"])

    def test_keeps_a_higher_classifier_confidence(self) -> None:
        message = self._run(
            _classified(
                "mon copain me frappe", "crisis_violence", 0.99, [("crisis_violence", 0.99)]
            )
        )
        self.assertEqual(
            message.get(INTENT),
            {INTENT_NAME_KEY: "crisis_violence", PREDICTED_CONFIDENCE_KEY: 0.99},
        )

    def test_never_downgrades_a_crisis_prediction(self) -> None:
        # the classifier said suicide; the patterns only see shelter: suicide stays
        message = self._run(
            _classified(
                "chui a la rue jen peux plus de tout",
                "crisis_suicide",
                0.7,
                [("crisis_suicide", 0.7), ("crisis_shelter", 0.2)],
            )
        )
        self.assertEqual(message.get(INTENT)[INTENT_NAME_KEY], "crisis_suicide")
        self.assertGreaterEqual(message.get(INTENT)[PREDICTED_CONFIDENCE_KEY], 0.95)
        # nothing matches: a confident crisis prediction is untouched (high risk by intent)
        message = self._run(_classified("ptdr", "crisis_suicide", 0.6, [("crisis_suicide", 0.6)]))
        self.assertEqual(
            message.get(INTENT), {INTENT_NAME_KEY: "crisis_suicide", PREDICTED_CONFIDENCE_KEY: 0.6}
        )
        self.assertEqual(message.get(CRISIS_RISK)["tier"], "high")
        self.assertEqual(message.get(CRISIS_RISK)["reason"], "intent")

    def test_priority_suicide_violence_shelter(self) -> None:
        message = self._run(
            _classified(
                "mes darons mont mis dehors et mon beau pere me tape jveux mourir",
                "crisis_shelter",
                0.8,
                [("crisis_shelter", 0.8), ("crisis_violence", 0.1)],
            )
        )
        self.assertEqual(message.get(INTENT)[INTENT_NAME_KEY], "crisis_suicide")
        matched = [m["intent"] for m in message.get(CRISIS_GUARD)["matches"]]
        self.assertEqual(matched, ["crisis_suicide", "crisis_violence", "crisis_shelter"])
        message = self._run(
            _classified("il me frappe et je dors dehors", "greet", 0.3, [("greet", 0.3)])
        )
        self.assertEqual(message.get(INTENT)[INTENT_NAME_KEY], "crisis_violence")

    def test_exceptions_prevent_a_match(self) -> None:
        for text in [
            "je suis mort mdr",
            "ce taf me tue",
            "tuer le temps",
            "je dors chez ma tante ce soir",
        ]:
            with self.subTest(text=text):
                message = self._run(_classified(text, "nlu_fallback", 0.5, [("nlu_fallback", 0.5)]))
                self.assertEqual(message.get(INTENT)[INTENT_NAME_KEY], "nlu_fallback")
                self.assertIsNone(message.get(CRISIS_GUARD))

    def test_works_without_the_normaliser(self) -> None:
        message = self._run(
            _classified("jveux plus etre là", "nlu_fallback", 0.5, []), normalise_first=False
        )
        self.assertEqual(message.get(INTENT)[INTENT_NAME_KEY], "crisis_suicide")

    def test_button_payload_is_ignored(self) -> None:
        message = self._run(_classified("/deny", "deny", 1.0, [("deny", 1.0)]))
        self.assertEqual(message.get(INTENT)[INTENT_NAME_KEY], "deny")

    def test_a_pattern_is_high_risk_in_the_output(self) -> None:
        message = self._run(_classified("jveux mourir", "need_morale", 0.62, []))
        risk = message.as_dict(only_output_properties=True)[CRISIS_RISK]
        self.assertEqual(
            (risk["tier"], risk["reason"], risk["kind"]), ("high", "pattern", "crisis_suicide")
        )
        self.assertIn("veux mourir", risk["detail"])

    def test_an_unsure_crisis_intent_becomes_the_safety_question(self) -> None:
        # "bah rien jai arrete les cours" flagged suicide at 0.31: not an alarm, one question
        ranking = [("crisis_suicide", 0.31), ("inform", 0.29), ("need_training", 0.2)]
        message = self._run(
            _classified("bah rien jai arrete les cours", "crisis_suicide", 0.31, ranking)
        )
        self.assertEqual(message.get(INTENT)[INTENT_NAME_KEY], CHECK_INTENT)
        names = [r[INTENT_NAME_KEY] for r in message.get(INTENT_RANKING_KEY)]
        self.assertEqual(names, [CHECK_INTENT, "crisis_suicide", "inform", "need_training"])
        risk = message.as_dict(only_output_properties=True)[CRISIS_RISK]
        self.assertEqual(
            (risk["tier"], risk["reason"], risk["kind"]), ("medium", "intent", "crisis_suicide")
        )
        # what the conversation goes on with if they are safe: the best other intent
        self.assertEqual(
            risk["resume"], {INTENT_NAME_KEY: "inform", PREDICTED_CONFIDENCE_KEY: 0.29}
        )
        self.assertIsNone(message.get(CRISIS_GUARD))

    def test_a_crisis_intent_low_in_the_ranking_is_medium(self) -> None:
        ranking = [("need_morale", 0.5), ("crisis_suicide", 0.2)]
        message = self._run(_classified("bof", "need_morale", 0.5, ranking))
        self.assertEqual(message.get(INTENT)[INTENT_NAME_KEY], CHECK_INTENT)
        self.assertEqual(message.get(CRISIS_RISK)["resume"][INTENT_NAME_KEY], "need_morale")

    def test_thresholds_come_from_the_config(self) -> None:
        self.guard = self._create(high_threshold=0.3, medium_threshold=0.5, medium_sum=0.9)
        message = self._run(
            _classified("bof", "crisis_violence", 0.31, [("crisis_violence", 0.31)])
        )
        self.assertEqual(message.get(INTENT)[INTENT_NAME_KEY], "crisis_violence")
        message = self._run(
            _classified("bof", "need_job", 0.5, [("need_job", 0.5), ("crisis_violence", 0.4)])
        )
        self.assertEqual(message.get(INTENT)[INTENT_NAME_KEY], "need_job")
        self.assertIsNone(message.get(CRISIS_RISK))

    def test_nothing_worrying_is_left_alone(self) -> None:
        message = self._run(_classified("jcherche du taf", "need_job", 0.9, [("need_job", 0.9)]))
        self.assertEqual(message.get(INTENT)[INTENT_NAME_KEY], "need_job")
        self.assertIsNone(message.get(CRISIS_RISK))

    def test_extra_patterns_file_and_confidence(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            extra = Path(tmp) / "more.txt"
            extra.write_text("[crisis_shelter]\n\\bje squatte\\b\n", encoding="utf-8")
            self.guard = self._create(extra_patterns=[str(extra)], confidence=0.9)
        message = self._run(_classified("je squatte un hall", "need_housing", 0.6, []))
        self.assertEqual(
            message.get(INTENT), {INTENT_NAME_KEY: "crisis_shelter", PREDICTED_CONFIDENCE_KEY: 0.9}
        )


class WordlessFallbackTest(ComponentTestCase):
    def _run(self, message: Message) -> Message:
        component = WordlessFallback.create(
            WordlessFallback.get_default_config(), self.storage, Resource("w"), self.context
        )
        component.process([message])
        return message

    def test_a_message_without_a_word_is_not_understood(self) -> None:
        for text in ("?", "...", "😭 😔", "!!"):
            message = self._run(_classified(text, "faq", 0.8, [("faq", 0.8), ("greet", 0.1)]))
            self.assertEqual(
                message.get(INTENT),
                {INTENT_NAME_KEY: "nlu_fallback", PREDICTED_CONFIDENCE_KEY: 1.0},
            )
            ranking = message.get(INTENT_RANKING_KEY)
            self.assertEqual(
                [r[INTENT_NAME_KEY] for r in ranking], ["nlu_fallback", "faq", "greet"]
            )

    def test_words_payloads_and_crises_are_left_alone(self) -> None:
        for text in ("ok ?", "19", "/affirm"):
            message = self._run(_classified(text, "affirm", 0.7, [("affirm", 0.7)]))
            self.assertEqual(message.get(INTENT)[INTENT_NAME_KEY], "affirm")
        flagged = _classified("...", "crisis_check", 0.5, [])
        flagged.set(CRISIS_RISK, {"tier": "medium"})
        self.assertEqual(self._run(flagged).get(INTENT)[INTENT_NAME_KEY], "crisis_check")


if __name__ == "__main__":
    unittest.main()
