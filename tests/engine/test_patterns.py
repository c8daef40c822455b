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
        # recall pass on verb forms: SMS spellings, other tenses and persons, negations with "pu"
        "jvais me suisider",
        "g envi de mourir",
        "je souhaiterais crever",
        "jai voulu mourir toute la semaine",
        "jaimerai mourir ce soir",
        "je reve de mourir",
        "jveux disparaitre",
        "jai envie de disparaitre de ce monde",
        "jveux pu vivre",
        "jai pu envie de vivre",
        "jvais m'tuer",
        "ce soir je vais me tue",
        "jme tuerais si je pouvais",
        "je vais me tirer une balle",
        "jme laisse mourir",
        "jvais me jete sous le metro",
        "je me jette dans la seine ce soir",
        "je m'ouvre les veines",
        "jai refait des scarif",
        "je me suis coupee hier soir encore",
        "jme recoupe depuis lundi",
        "jarrive pas a arreter de me couper",
        "jme brule avec des clopes",
        "jai pris 30 cachets",
        "jvais prendre une trentaine de medocs",
        "jai avale une plaquette entiere",
        "jai achete des cachets pour mourir",
        "jvais mendormir pour toujours",
        "je voudrais ne jamais me reveiller",
        "bientot je serai plus la",
        "jveux quitter ce monde",
        "ma vie na plus de sens",
        "je sauterais bien du toit",
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
        # recall pass on verb forms: SMS spellings, "ma"/"ils mon" for m'a/m'ont, tenses, persons
        "il me frape quand il boit",
        "il ma frapé hier",
        "il me tappe",
        "mon beau pere ma tabasser",
        "ils mon frappe a la sortie",
        "il m'etranglait",
        "mon oncle m'agressait",
        "il m'enfermait dans la cave",
        "il m'a menacee",
        "mon ex me menacait",
        "il allait me tuer",
        "il a failli me tuer",
        "il va me casser la gueule",
        "ils veulent me faire la peau",
        "mon pere frappe ma mere",
        "il battait ma mere",
        "il a leve la main sur moi",
        "il ma mis une tarte",
        "il me fout des baffes",
        "il m'a pousse dans les escaliers",
        "il me tire par les cheveux",
        "il m'a tripotee",
        "il se touche devant moi",
        "il m'a fait des trucs",
        "ma soeur se fait frapper par son copain",
        "il a pointe un couteau sur moi",
        "je suis enfermee a cle",
        "il m'envoie des photos de sa bite",
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
        # recall pass on verb forms: tenses, persons, "pu"/"pas" negations, SMS spellings
        "je dor dehor",
        "je dormirais dehors",
        "on dormait dehors",
        "jai passe 3 nuits dehors",
        "jdors dans les escaliers",
        "je vis dehors",
        "je me suis retrouvee dehors",
        "je vais finir dehors",
        "jai nul part ou aller",
        "jai aucun endroit ou aller",
        "jai nulle part ou me poser",
        "jai plus nulle part",
        "jai pas de toit",
        "jai pu de toit",
        "jsuis sans-abri",
        "je me retrouve sans logement",
        "ma mere me jette dehors",
        "je me suis fait virer de chez moi",
        "ils vont me foutre dehors ce soir",
        "mes darons mont vire",
        "ma mere ma chassee",
        "jai ete expulsee de mon logement",
        "personne veut mheberger",
        "jsais pas ou je dors ce soir",
        "jpeux pu rentrer chez moi",
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
    # lookalikes of the forms added by the recall pass on verb forms
    "mon boss va me tuer",
    "ma prof va me tuer si je suis en retard",
    "mon frere me bat a fifa",
    "il va me defoncer a fifa",
    "jme defonce au sport",
    "il me file un coup de main pour le cv",
    "il me met un coup de pression pour le dossier",
    "il va me poignarder dans le dos",
    "il me casse la tete avec ses questions",
    "mon prof m'a menace d'exclusion",
    "il bat mon frere aux echecs",
    "mon pere tape ma soeur au ping pong",
    "il balance tout par terre quand il perd",
    "le prof m'a fait des trucs pour reviser",
    "ma mere m'attache les cheveux",
    "je m'enferme dans ma chambre",
    "je m'attache trop vite aux gens",
    "je me jette dans la mer cet ete",
    "jai avale une boite entiere de chocolats",
    "je serai plus la a partir de 18h",
    "je serai plus la-bas demain",
    "jveux disparaitre sous terre tellement jai honte",
    "jveux disparaitre de vos listes",
    "il a voulu crever mes pneus",
    "je me tue a te le dire",
    "je vais pas me tirer une balle dans le pied",
    "je veux jamais me reveiller avant midi le dimanche",
    "jai pris 10 kilos",
    "je me suis coupe le doigt en cuisinant",
    "je me suis coupee du monde",
    "jai envie de me couper de tout",
    "ma mere m'a vire 50 euros",
    "ma mere m'a jete mon tel",
    "mon patron m'a vire",
    "je me suis fait virer de la formation",
    "le prof m'a mis a la porte",
    "mon proprio va me mettre dehors en juin",
    "j'ai vu ca nulle part",
]
# Someone else's threat is violence, not suicide, though "me tuer" is in both sections.
THREATS = ["il allait me tuer", "il a failli me tuer", "il voulait me tuer"]


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

    def test_someone_elses_threat_routes_to_violence(self) -> None:
        patterns = default_patterns()
        for message in THREATS:
            with self.subTest(message=message):
                self.assertEqual(patterns.match(message)[0].intent, "crisis_violence")


if __name__ == "__main__":
    unittest.main()
