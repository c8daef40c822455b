"""The shipped crisis patterns on informal phrasings: recall first, with known figures of speech,
and the danger words of the MEDIUM tier.

The phrasings live in tests/engine/phrasings/ so that a benchmark can reuse them:
- crisis.yml: intent -> messages; each must match a crisis pattern of that intent;
- lookalikes.yml: harmless messages; no crisis pattern and no danger word may match;
- ambiguous.yml: worrying but unclear; no crisis pattern, but a danger word must match.
"""

from __future__ import annotations

import tempfile
import unittest
from pathlib import Path
from typing import Any, Dict, List

import yaml

from engine.crisis import DEFAULT_PRIORITY, CrisisPatternError, CrisisPatterns, default_patterns

PHRASINGS = Path(__file__).with_name("phrasings")


def load(name: str) -> Any:
    return yaml.safe_load((PHRASINGS / name).read_text(encoding="utf-8"))


CRISIS: Dict[str, List[str]] = load("crisis.yml")
LOOKALIKES: List[str] = load("lookalikes.yml")
AMBIGUOUS: List[str] = load("ambiguous.yml")
# Someone else's threat is violence, not suicide, though "me tuer" is in both sections.
THREATS = ["il allait me tuer", "il a failli me tuer", "il voulait me tuer"]


class PhrasingFilesTest(unittest.TestCase):
    def test_files_are_big_enough_and_cover_every_intent(self) -> None:
        self.assertEqual(set(CRISIS), set(DEFAULT_PRIORITY))
        self.assertGreaterEqual(sum(len(m) for m in CRISIS.values()), 160)
        for intent, messages in CRISIS.items():
            with self.subTest(intent=intent):
                self.assertGreaterEqual(len(messages), 40)
        self.assertGreaterEqual(len(LOOKALIKES), 160)
        self.assertGreaterEqual(len(AMBIGUOUS), 60)
        for messages in (*CRISIS.values(), LOOKALIKES, AMBIGUOUS):
            self.assertTrue(all(isinstance(m, str) and m.strip() for m in messages))

    def test_no_phrasing_is_in_two_files(self) -> None:
        crisis = {m for messages in CRISIS.values() for m in messages}
        self.assertFalse(crisis & set(LOOKALIKES))
        self.assertFalse(crisis & set(AMBIGUOUS))
        self.assertFalse(set(LOOKALIKES) & set(AMBIGUOUS))


class ShippedPatternsTest(unittest.TestCase):
    def test_crisis_phrasings_match_their_intent(self) -> None:
        patterns = default_patterns()
        for intent, messages in CRISIS.items():
            for message in messages:
                with self.subTest(message=message):
                    found = [m.intent for m in patterns.match(message)]
                    self.assertIn(intent, found)

    def test_lookalikes_match_no_pattern_and_no_danger_word(self) -> None:
        patterns = default_patterns()
        for message in LOOKALIKES:
            with self.subTest(message=message):
                self.assertEqual(patterns.match(message), [])
                self.assertEqual(patterns.danger_match(message), [])

    def test_ambiguous_phrasings_hit_danger_words_only(self) -> None:
        patterns = default_patterns()
        for message in AMBIGUOUS:
            with self.subTest(message=message):
                self.assertEqual(patterns.match(message), [])
                self.assertNotEqual(patterns.danger_match(message), [])

    def test_someone_elses_threat_routes_to_violence(self) -> None:
        patterns = default_patterns()
        for message in THREATS:
            with self.subTest(message=message):
                self.assertEqual(patterns.match(message)[0].intent, "crisis_violence")

    def test_every_intent_has_danger_words(self) -> None:
        patterns = default_patterns()
        self.assertEqual(set(patterns.danger), set(DEFAULT_PRIORITY))
        self.assertTrue(all(patterns.danger.values()))


class DangerSectionsTest(unittest.TestCase):
    TEXT = "\n".join(
        [
            "# a custom file",
            "[crisis_suicide]",
            "mourir",
            "[danger crisis_violence]",
            "peur",
            "[danger  crisis_suicide]",  # spaces inside the brackets do not matter
            "vide",
            "[exceptions]",
            "peur du noir",
            "[crisis_other]",
            "autre",
            "[danger crisis_violence]",
            "cri",
        ]
    )

    def test_danger_sections_are_parsed_apart_from_crisis_intents(self) -> None:
        parsed = CrisisPatterns.parse(self.TEXT, "custom.txt")
        self.assertEqual(set(parsed.patterns), {"crisis_suicide", "crisis_other"})
        self.assertEqual(
            {k: [r.pattern for r in v] for k, v in parsed.danger.items()},
            {"crisis_violence": ["peur", "cri"], "crisis_suicide": ["vide"]},
        )
        self.assertEqual([r.pattern for r in parsed.exceptions], ["peur du noir"])
        # an unknown header is still a crisis intent, after the known ones; the priority also
        # names the intents that only have danger words (crisis_violence here)
        self.assertEqual(parsed.priority, ("crisis_suicide", "crisis_violence", "crisis_other"))
        self.assertEqual(
            [m.intent for m in parsed.match("autre", already_normalised=True)], ["crisis_other"]
        )

    def test_match_ignores_danger_words_and_danger_match_ignores_patterns(self) -> None:
        parsed = CrisisPatterns.parse(self.TEXT, "custom.txt")
        self.assertEqual(parsed.match("je me sens vide j'ai peur", already_normalised=True), [])
        both = "je veux mourir je me sens vide"
        self.assertEqual([m.intent for m in parsed.match(both)], ["crisis_suicide"])
        self.assertEqual([m.intent for m in parsed.danger_match(both)], ["crisis_suicide"])

    def test_danger_match_in_priority_order_one_per_intent(self) -> None:
        parsed = CrisisPatterns.parse(self.TEXT, "custom.txt")
        found = parsed.danger_match("cri de peur, je me sens vide", already_normalised=True)
        self.assertEqual([m.intent for m in found], ["crisis_suicide", "crisis_violence"])
        self.assertEqual(found[1].pattern, "peur")
        self.assertEqual(found[1].matched_text, "peur")
        other = CrisisPatterns.parse(self.TEXT, priority=["crisis_violence", "crisis_suicide"])
        self.assertEqual(
            [m.intent for m in other.danger_match("vide et peur", already_normalised=True)],
            ["crisis_violence", "crisis_suicide"],
        )

    def test_exceptions_are_masked_before_danger_words(self) -> None:
        parsed = CrisisPatterns.parse(self.TEXT, "custom.txt")
        self.assertEqual(parsed.danger_match("j'ai peur du noir"), [])
        self.assertEqual(default_patterns().danger_match("mort de rire"), [])

    def test_danger_match_normalises_unless_told(self) -> None:
        parsed = CrisisPatterns.parse("[danger crisis_suicide]\nje me sens vide\n")
        self.assertEqual(
            [m.intent for m in parsed.danger_match("JME SENS VIDE")], ["crisis_suicide"]
        )
        self.assertEqual(parsed.danger_match("jme sens vide", already_normalised=True), [])
        # the same text asked again after a normalised check: the result is not mixed up
        self.assertEqual(len(parsed.danger_match("jme sens vide")), 1)

    def test_malformed_danger_header_names_the_line(self) -> None:
        for header in ("[danger]", "[danger crisis_suicide extra]"):
            with self.subTest(header=header):
                with self.assertRaisesRegex(CrisisPatternError, "d.txt:2"):
                    CrisisPatterns.parse(f"[crisis_suicide]\n{header}\nvide\n", "d.txt")

    def test_from_files_merges_danger_words(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            first, second = Path(tmp, "a.txt"), Path(tmp, "b.txt")
            first.write_text("[danger crisis_shelter]\nnulle part demain\n", encoding="utf-8")
            second.write_text(
                "[danger crisis_shelter]\na droite a gauche\n[danger crisis_violence]\npeur\n",
                encoding="utf-8",
            )
            merged = CrisisPatterns.from_files([first, second])
        self.assertEqual(
            {k: [r.pattern for r in v] for k, v in merged.danger.items()},
            {
                "crisis_shelter": ["nulle part demain", "a droite a gauche"],
                "crisis_violence": ["peur"],
            },
        )
        self.assertEqual(merged.patterns, {})
        self.assertEqual(
            [m.intent for m in merged.danger_match("peur, a droite a gauche")],
            ["crisis_violence", "crisis_shelter"],
        )


if __name__ == "__main__":
    unittest.main()
