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
        # families added after the held-out check of the training data (bench/nlu/cv.py)
        "jpense a la mort h24",
        "ya plus que la mort comme solution",
        "ma soeur menace de se suicider",
        "jme taillade les cuisses",
        "jai garde des cachets dans mon tiroir",
        "jvais avaler toute la boite ce soir",
        "jai fait une ts lannee derniere",
        "jveux mourrire",
        "a quoi bon vivre franchement",
        "jsuis un fardeau pour ma famille",
        "jai deja tente de me tuer lan dernier",
        "jme coupe au cutter",
        # "me faire du mal" conjugated, and hurting oneself on purpose
        "jme fais du mal le soir",
        "jme suis encore fait du mal hier",
        "je me suis faite du mal",
        "jme refais du mal depuis la rupture",
        "jme blesse expres quand ca va pas",
        "je me suis brulee volontairement",
        # conjugated forms of means listed in the infinitive
        "jme jette sous un train demain",
        "jme fous en lair ce soir",
        "jme pends si ca continue",
        "jsaute du pont apres les cours",
        "je saute par la fenetre jen peux plus",
    ],
    "crisis_violence": [
        "jsuis harcelee et menacee sur snap",
        "mon beau pere me tape",
        "mon copain me frappe",
        "il ma pete le nez hier soir",
        "jsuis battue par mon mari",
        "mon ex a balance mes nudes sur insta",
        "il me fait du chantage avec des photos",
        "on ma mis un truc dans mon verre",
        "il menferme dans la chambre",
    ],
    "crisis_shelter": [
        "jdors dans une cage descalier ce soir",
        "jsais pas ou dormir ce soir",
        "mes darons mont mis dehors",
        "jai plus de toit depuis hier",
        "on ma jete du foyer",
        "jsais pas ou je vais dormir ce soir",
        "jvais dormir sur un banc",
        "je peux plus rentrer chez mes darons",
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
    # triage answers and everyday phrasings that the 2026-11-27 patterns must leave alone
    "jsuis deja suivi par la mission locale",
    "jsuis suivie par une assistante sociale",
    "on ma tape mon tel dans le bus",
    "je me coupe les cheveux ce soir",
    "on sest fait battus au foot 3-0",
    "je cherche un appart jai pas de logement a moi",
    "mon patron me menace de me virer",
    "je dis au revoir a tout le monde pour aujourdhui, merci",
    "je me suis fait mal au genou au foot",
    "ca me fait du mal de le voir avec une autre",
    "je me jette sous la couette direct",
    "je saute du lit a 6h pour le taf",
    "je saute dans le bus de 8h",
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
