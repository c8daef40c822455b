"""Pure normalisation and crisis patterns (standard library only).

Run in the engine env:
    .venv-rasa/bin/python -m unittest discover -s tests/engine -t .
"""

from __future__ import annotations

import tempfile
import unittest
from pathlib import Path

from engine.crisis import CrisisPatternError, CrisisPatterns, default_patterns
from engine.normalise import (
    DEFAULT_LEXICON_PATH,
    Lexicon,
    LexiconError,
    default_lexicon,
    fold,
    normalise,
    normalise_with_alignment,
)

EXPECTED = {
    "jsuis a la rue": "je suis a la rue",
    "Chui à la rue ce soir!!!": "je suis a la rue ce soir!",
    "g pa le permis": "j'ai pas le permis",
    "jsp": "je sais pas",
    "jsp trop": "je sais pas trop",
    "tkt c bon": "t'inquiete c'est bon",
    "pk tu demandes ça ?": "pourquoi tu demandes ca ?",
    "pq": "pourquoi",
    "bcp de stress": "beaucoup de stress",
    "qqn peut m'aider stp": "quelqu'un peut m'aider s'il te plait",
    "qlq chose": "quelque chose",
    "slt": "salut",
    "ouiiii": "oui",
    "nonnnn": "non",
    "OUIIIII": "oui",
    "merciiii bcp": "merci beaucoup",
    "trooop bien": "trop bien",
    "mdrrrr": "mdr",
    "jai 19ans": "j'ai 19 ans",
    "jhabite au 59100": "j'habite au 59100",
    "le93": "le 93",
    "t ou ?": "t'es ou ?",
    "c koi le cej": "c'est quoi le cej",
    "j ai 20 ans": "j'ai 20 ans",
    "c est nul": "c'est nul",
    "jveux mourir": "je veux mourir",
    "jen peux plus": "j'en peux plus",
    "jvais me foutre en lair": "je vais me foutre en l'air",
    "mes darons mont mis dehors": "mes darons parents m'ont mis dehors",
    "jcherche du taf": "je cherche du taf travail",
    "jai pas de thune": "j'ai pas de thune argent",
    "il est chelou": "il est louche",
    "c relou": "c'est lourd",
    "c ouf": "c'est fou",
    "Je suis VÉNÈRE": "je suis enerve",
    "une teuf": "une fete",
    "c zarbi": "c'est bizarre",
    "je vis dans la tess": "je vis dans la tess cite",
    "22 piges": "22 piges ans",
    "J’ai préparé": "j'ai prepare",
    "jme sens seul": "je me sens seul",
    "j'veux un taf": "je veux un taf travail",
    "😭😭😭": "triste",
    "jsuis triste 😭": "je suis triste",
    "❤️ merci 👍🏽": "coeur merci ok",
    "🔪": "couteau",
    "😢": "triste",
    "bonjour 🙂 ça va": "bonjour ca va",
    "salut🙂ca va": "salut ca va",
    "je suis mort 😂": "je suis mort mdr",
}


class NormaliseTest(unittest.TestCase):
    def test_real_phrasings(self) -> None:
        for raw, expected in EXPECTED.items():
            with self.subTest(raw=raw):
                self.assertEqual(normalise(raw), expected)

    def test_idempotent(self) -> None:
        samples = list(EXPECTED) + list(EXPECTED.values())
        samples += [" ".join(key) for key in default_lexicon().words]
        samples += [" ".join(key) for key in default_lexicon().start]
        for text in samples:
            with self.subTest(text=text):
                once = normalise(text)
                self.assertEqual(normalise(once), once)

    def test_accented_and_plain_inputs_are_identical(self) -> None:
        pairs = [
            ("Ça va, j'suis à Hénin-Beaumont", "ca va, jsuis a henin-beaumont"),
            ("J'ai été viré, je suis énervé", "jai ete vire, je suis enerve"),
            ("Mon cœur", "mon coeur"),
            ("PÔLE EMPLOI", "pole emploi"),
        ]
        for accented, plain in pairs:
            with self.subTest(accented=accented):
                self.assertEqual(normalise(accented), normalise(plain))
        self.assertEqual(fold("Évry Œuvre"), "evry oeuvre")

    def test_more_sms_slang_and_insults(self) -> None:
        cases = {
            "jveux taffer": "je veux taffer travailler",
            "jcherche du taff": "je cherche du taff travail",
            "jsuis dans la hess": "je suis dans la hess galere",
            "jai plus de moula": "j'ai plus de moula argent",
            "jai la dalle": "j'ai la dalle faim",
            "tu comprends que dalle": "tu comprends que dalle",  # "que dalle" is "nothing"
            "ftg le bot": "ferme ta gueule le bot",
            "tes guez frr": "t'es nul frere",
            "tjs pas de rep": "toujours pas de reponse",
            "un ptit pb avec la caf": "un petit probleme avec la caf",
            "jsuis dispo ajrd": "je suis disponible aujourd'hui",
            "mon poto": "mon poto ami",
            "koman jfais": "comment je fais",
            "pkoi tu demandes": "pourquoi tu demandes",
            "jveu le permi": "je veux le permis",
            "enfaite jsuis deg": "en fait je suis degoute",
            "jai pas dordo pour la pharma": "j'ai pas dordo pour la pharmacie",
            "plus dordo": "plus dordo",  # glued "d'" words are not split
            "ma bagnole": "ma bagnole voiture",
            "ct tro bien": "c'etait trop bien",
        }
        for raw, expected in cases.items():
            with self.subTest(raw=raw):
                self.assertEqual(normalise(raw), expected)

    def test_listed_glued_elisions_are_split_and_ambiguous_ones_left(self) -> None:
        cases = {
            "jcherche de lemploi": "je cherche de l'emploi",
            "qqn pour maider a lecole": "quelqu'un pour m'aider a l'ecole",
            "personne pour mheberger": "personne pour m'heberger",
            "jveux que ca sarrete": "je veux que ca s'arrete",
            "elle est laide": "elle est laide",  # ugly, or "l'aide": left as written
            "quelle formation": "quelle formation",  # "quelle", not "qu'elle"
        }
        for raw, expected in cases.items():
            with self.subTest(raw=raw):
                self.assertEqual(normalise(raw), expected)

    def test_slang_never_breaks_crisis_wording(self) -> None:
        # "sous" (under), "caisse" (till), "doc" (document) are deliberately not expanded:
        # the crisis patterns read "sous un train", "dans ma caisse" as they are.
        self.assertEqual(normalise("jme jette sous un train"), "je me jette sous un train")
        self.assertEqual(normalise("jdors dans ma caisse"), "je dors dans ma caisse")
        self.assertEqual(normalise("il me manque un doc"), "il me manque un doc")

    def test_digits_are_preserved(self) -> None:
        cases = {
            "59100": "59100",
            "mon cp c 59100": "mon cp c'est 59100",
            "jai 19ans jhabite 62300": "j'ai 19 ans j'habite 62300",
            "06 12 34 56 78": "06 12 34 56 78",
            "1er etage, 2eme fois": "1er etage, 2eme fois",
            "g 18 ans": "j'ai 18 ans",
            "19a": "19 a",
            "dans le 93": "dans le 93",
            "1111 euros": "1111 euros",
        }
        for raw, expected in cases.items():
            with self.subTest(raw=raw):
                self.assertEqual(normalise(raw), expected)

    def test_elongations_keep_real_double_letters(self) -> None:
        self.assertEqual(normalise("belle"), "belle")
        self.assertEqual(normalise("belllle"), "belle")
        self.assertEqual(normalise("cool"), "cool")
        self.assertEqual(normalise("d'accord"), "d'accord")
        self.assertEqual(normalise("salutttt"), "salut")
        self.assertEqual(normalise("je sais paaaas"), "je sais pas")

    def test_standalone_only(self) -> None:
        # "g", "c", "pa" only as whole words; "t" only at the start.
        self.assertEqual(normalise("gros"), "gros")
        self.assertEqual(normalise("pays"), "pays")
        self.assertEqual(normalise("t ki"), "t'es qui")
        self.assertEqual(normalise("moi t pas"), "moi t pas")
        self.assertEqual(normalise("jamais"), "jamais")
        self.assertEqual(normalise("jeune"), "jeune")

    def test_button_payload_like_text_is_not_broken(self) -> None:
        self.assertEqual(normalise("ok"), "ok")
        self.assertEqual(normalise(""), "")
        self.assertEqual(normalise("   "), "")

    def test_alignment_moves_entity_spans(self) -> None:
        raw = "jai 19ans et jhabite au 59100"
        result = normalise_with_alignment(raw)
        start = raw.index("19")
        span = result.map_span(start, start + 2)
        self.assertIsNotNone(span)
        assert span is not None
        self.assertEqual(result.text[span[0] : span[1]], "19")
        start = raw.index("59100")
        span = result.map_span(start, start + 5)
        assert span is not None
        self.assertEqual(result.text[span[0] : span[1]], "59100")
        raw = "chui à Hénin-Beaumont"
        result = normalise_with_alignment(raw)
        start = raw.index("Hénin")
        span = result.map_span(start, len(raw))
        assert span is not None
        self.assertEqual(result.text[span[0] : span[1]], "henin-beaumont")

    def test_lexicon_extension_with_a_temporary_file(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            extra = Path(tmp) / "extra.txt"
            extra.write_text(
                "# manager additions\n"
                "[words]\n"
                "wesh = salut\n"
                "la hess = la galere\n"
                "pa = pa\n"
                "[start]\n"
                "yo = salut\n"
                "[emoji]\n"
                "🙂 = content\n",
                encoding="utf-8",
            )
            lexicon = Lexicon.from_files([DEFAULT_LEXICON_PATH, extra])
        self.assertEqual(normalise("wesh c la hess", lexicon), "salut c'est la galere")
        self.assertEqual(normalise("g pa", lexicon), "j'ai pa")  # rule cancelled
        self.assertEqual(normalise("yo 🙂", lexicon), "salut content")
        self.assertEqual(normalise("wesh"), "wesh")  # default lexicon unchanged

    def test_lexicon_errors_name_the_line(self) -> None:
        with self.assertRaisesRegex(LexiconError, "f.txt:2"):
            Lexicon.parse("[words]\nno equals sign\n", "f.txt")
        with self.assertRaisesRegex(LexiconError, "unknown section"):
            Lexicon.parse("[mots]\na = b\n", "f.txt")

    def test_fast(self) -> None:
        import time

        text = "jsuis a la rue ce soir g pa de thune jsp koi faire 😭😭 jai 19ans 59100 " * 3
        started = time.perf_counter()
        for _ in range(200):
            normalise(text)
        self.assertLess((time.perf_counter() - started) / 200, 0.005)


CRISIS = {
    "crisis_suicide": [
        "jveux mourir",
        "jen peux plus de vivre",
        "jvais me foutre en l'air",
        "jai prepare la corde",
        "jveux plus etre la",
        "me tailler les veines",
        "Je pense au suicide",
        "envie de crever",
        "jai envie de me tuer",
        "jme suis ouvert les veines",
        "jai pris toute ma boite de doliprane",
        "jvais sauter du pont ce soir",
        "tout le monde serait mieux sans moi",
        "jai plus envie detre la",
        "jveux en finir",
        "jsuis fatigué de vivre",
        "jai des idees noires",
        "JVEUX MOURIIIIR 😭",
    ],
    "crisis_violence": [
        "mon copain me frappe",
        "mon beau pere me tape",
        "il me force",
        "je me fais taper",
        "jai peur il va me tuer",
        "ma meuf me frappe",
        "il ma etranglee",
        "on ma force a coucher",
        "mon ex me menace de mort",
        "ils mont tabasse en bas de chez moi",
        "mon oncle abuse de moi",
        "jme suis fait violer",
        "mes darons me cognent quand ils ont bu",
    ],
    "crisis_shelter": [
        "jdors dehors ce soir",
        "mes darons mont mis dehors",
        "jsais pas ou dormir",
        "à la rue",
        "chui a la rue ce soir",
        "g nul part ou dormir ce soir",
        "ma mere ma mise dehors",
        "je dors dans ma voiture",
        "je suis sdf",
        "je dors chez ma tante ce soir mais demain je suis a la rue",
    ],
}

NOT_CRISIS = [
    "mort de rire",
    "je suis mort mdr",
    "mdr je suis mort",
    "je suis mort 😂",
    "ce taf me tue",
    "tuer le temps",
    "je dors chez ma tante ce soir",
    "jcherche du taf",
    "g pa le permis",
    "la mission locale me suit deja",
    "ca me touche",
    "je vais mourir de faim",
    "jme tape une barre",
    "je me bats pour trouver un taf",
    "jai 19 ans",
    "je suis dehors avec mes potes",
    "jveux un appart",
    "je cherche un logement",
    "bonjour",
    "jsp",
    "jai la dalle jveux manger",
    "wlh jsuis dans la hess niveau taf",
    "ftg sale bot",
]


class CrisisPatternsTest(unittest.TestCase):
    def test_high_recall_on_informal_phrasings(self) -> None:
        patterns = default_patterns()
        for intent, messages in CRISIS.items():
            for message in messages:
                with self.subTest(message=message):
                    matches = patterns.match(message)
                    self.assertTrue(matches, normalise(message))
                    self.assertEqual(matches[0].intent, intent)

    def test_exceptions(self) -> None:
        patterns = default_patterns()
        for message in NOT_CRISIS:
            with self.subTest(message=message):
                self.assertEqual(patterns.match(message), [])

    def test_priority_suicide_violence_shelter(self) -> None:
        matches = default_patterns().match("il me frappe, jsuis a la rue et jveux mourir")
        self.assertEqual(
            [m.intent for m in matches], ["crisis_suicide", "crisis_violence", "crisis_shelter"]
        )
        custom = CrisisPatterns.parse("[a]\nfoo\n[b]\nbar\n", priority=["b", "a"]).match(
            "foo bar", already_normalised=True
        )
        self.assertEqual([m.intent for m in custom], ["b", "a"])

    def test_bad_regex_names_the_line(self) -> None:
        with self.assertRaisesRegex(CrisisPatternError, "p.txt:3"):
            CrisisPatterns.parse("[crisis_suicide]\nok\n(unclosed\n", "p.txt")


if __name__ == "__main__":
    unittest.main()
