"""The shipped crisis patterns on informal phrasings: recall first, with known figures of speech."""

from __future__ import annotations

import unittest

from engine.crisis import default_patterns

CRISIS = {
    "crisis_suicide": [
        "jai envie de me supprimer",
        "jveux mourir",
        "jai prepare la corde",
        "jveux plus etre la",
    ],
    "crisis_violence": [
        "jsuis harcelee et menacee sur snap",
        "mon beau pere me tape",
        "mon copain me frappe",
    ],
    "crisis_shelter": [
        "jdors dans une cage descalier ce soir",
        "jsais pas ou dormir ce soir",
        "mes darons mont mis dehors",
    ],
}
NOT_CRISIS = [
    "jveux en finir avec les petits boulots",
    "jen ai marre de vivre chez mes parents",
    "mon frere ma frappe a fifa 5-0 mdr",
    "jsuis dehors la avec les potes",
    "jsuis a la rue de la gare a Carvin",
    "jsuis mort de rire",
    "je dors chez ma tante ce soir",
]


class ShippedPatternsTest(unittest.TestCase):
    def test_crisis_phrasings_match_their_intent(self) -> None:
        patterns = default_patterns()
        for intent, messages in CRISIS.items():
            for message in messages:
                with self.subTest(message=message):
                    found = [m.intent for m in patterns.match(message)]
                    self.assertIn(intent, found)

    def test_figures_of_speech_do_not_match(self) -> None:
        patterns = default_patterns()
        for message in NOT_CRISIS:
            with self.subTest(message=message):
                self.assertEqual(patterns.match(message), [])


if __name__ == "__main__":
    unittest.main()
