"""Checks of the personas themselves and of the rules, without the engine (fast)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.personas.anchors import GROUPS
from tests.personas.harness import BotMessage, Run, Step
from tests.personas.matching import classify, fold, found, keyword_in
from tests.personas.rules import judge, junk
from tests.personas.spec import PersonaError, load_personas, persona_from
from tests.support import ROOT

PERSONAS = load_personas()
TRAINING = [ROOT / "nlu_data", ROOT / "tests" / "conversations"]


def normalised(line: str) -> str:
    line = re.sub(r"\[([^\]]*)\](\([^)]*\)|\{[^}]*\})", r"\1", line)  # entity annotations
    return " ".join(re.sub(r"[^\w ]+", " ", fold(line)).split())


def training_lines() -> set[str]:
    lines = set()
    for folder in TRAINING:
        for path in folder.rglob("*.yml"):
            for raw in path.read_text(encoding="utf-8").splitlines():
                text = re.sub(r"^\s*(-\s+)?(user:\s*\|?)?\s*", "", raw)
                if text:
                    lines.add(normalised(text))
    return lines


def test_enough_personas_with_a_goal() -> None:
    assert len(PERSONAS) >= 40
    assert all(p.who and p.goal and p.turns for p in PERSONAS)


def test_persona_lines_are_not_training_data() -> None:
    known = training_lines()
    copied = [
        (p.id, line)
        for p in PERSONAS
        for line in p.lines()
        if not line.startswith("/")
        and re.search(r"[^\W\d_]", line)  # words, not a phone number
        and len(line.split()) >= 3
        and normalised(line) in known
    ]
    assert copied == [], "persona lines found in nlu_data/ or tests/conversations/"


def test_brief_coverage() -> None:
    """The situations issue 17 asks for are all played by some persona."""
    lines = " | ".join(fold(line) for p in PERSONAS for line in p.lines())
    for needle in (
        "mon fils a 19 ans",
        "jsuis pas fort a lecrit",
        "vingt deux",
        "triste",
        "je suis au fond du trou la",
        "stop avec tes questions",
        "/stop",
        "06 12 34 56 78",
        "+33612345678",
        "laprem",
        "oui passe moi quelqu'un",
        "jai 27 ans, vous pouvez",
    ):
        assert needle in lines, needle
    said = [t.say for p in PERSONAS for t in p.turns if t.say]
    assert {"?", "jsp", "ok", "bof", "23", "/conseiller"} <= set(said)
    assert any(t.press == "Non merci" for p in PERSONAS for t in p.turns)
    assert any(t.close_ticket for p in PERSONAS for t in p.turns)
    assert sum(p.risk for p in PERSONAS) >= 1


def test_a_broken_persona_is_refused() -> None:
    with pytest.raises(PersonaError, match="unknown anchor group"):
        persona_from(
            {"id": "x", "who": "x", "goal": "x", "turns": [{"say": "a", "expect_any": ["@nope"]}]},
            "test",
        )
    with pytest.raises(PersonaError, match="one of say"):
        persona_from({"id": "x", "who": "x", "goal": "x", "turns": [{"gave": ["age"]}]}, "test")


# Matching -------------------------------------------------------------------------------------
def test_keywords() -> None:
    assert keyword_in("PASS", "Va à la PASS de l'hôpital")
    assert not keyword_in("PASS", "Pas de souci, on passe.")
    assert keyword_in("112", "Si tu es en danger : 112 ou 15.")
    assert not keyword_in("112", "au 1120 rue")
    assert keyword_in("0 800 08 11 11", "appelle le 0\u00a0800\u00a008\u00a011\u00a011")
    assert keyword_in("j'arrête les questions", "Ok, j\u2019arrête les questions.")
    assert found(["@ask_age"], ["Tu as quel âge ? (tu peux passer)"])
    assert not found(["@ask_age"], ["Je résume :\n• Âge : 22\nC'est bon ?"])
    assert found(["@vous"], ["Quel âge a votre fils ?"])
    assert not found(["@tutoiement"], ["Quel âge a votre fils ?"])
    assert found(["@tutoiement"], ["T'as quel âge ?"])
    assert not found(["@acknowledge"], ["Désolé, je comprends pas bien."])
    assert set(GROUPS["not_understood"]) >= {"pas compris", "comprends pas"}


def test_classify_questions() -> None:
    contact = "Dernière question : comment tu préfères qu'on te recontacte, et quand ?"
    assert classify(contact, ["Ici, par message", "Par téléphone"]) == "contact"
    assert classify(contact, []) == "contact"
    assert classify("Tu veux qu'un·e conseiller·e te recontacte ?", ["Oui", "Non merci"]) == (
        "offer"
    )
    assert classify("Je résume :\n• Âge : 19\nC'est bon ?", ["C'est bon", "Corriger"]) == (
        "summary"
    )
    assert classify("Tu habites où ? Ta ville ou ton code postal suffit.", ["Passer"]) == (
        "location"
    )
    assert classify("Merci, c'est noté.", []) is None
    faq = "Tu es payé·e selon ton âge.\nTu veux qu'on en parle ? Écris « conseiller »."
    assert classify(faq, []) is None
    menu = ["Je t'en dis plus", "Voir ce qui peut m'aider", "Parler à quelqu'un"]
    assert classify("Ça a l'air lourd. Tu veux m'en dire plus ?", menu) == "choice"
    assert classify("Et c'est quand le mieux pour toi ?", []) == "availability"
    assert classify("Un·e conseiller·e peut vous recontacter pour en parler.", []) is None
    assert classify("Un·e conseiller·e peut vous recontacter ?", []) == "offer"


# Rules ----------------------------------------------------------------------------------------
def test_junk_values() -> None:
    lines = ["je suis au fond du trou la", "jsuis dans le 59", "appelle moi plutot le matin"]
    assert junk("age", "22", lines) is None
    assert junk("age", "passé", lines) is None
    assert junk("age", "triste", lines)
    assert junk("age", "45", lines)
    assert junk("location", "Roubaix (59100)", lines) is None
    assert junk("location", "Villeneuve-d'Ascq", lines) is None
    assert junk("location", "59", lines) is None  # said as a département
    assert junk("location", "23", lines)
    assert junk("location", "je suis au fond du trou la", lines)
    assert junk("location", "bof", lines)
    assert junk("availability", "appelle moi plutot le matin", lines) is None
    assert junk("situation", "je suis au fond du trou la", lines)
    assert junk("phone", "0612345678", lines) is None
    assert junk("phone", "+33612345678", lines) is None
    assert junk("phone", "triste", lines)


def _run(yaml_persona: dict, steps: list[Step], **state: object) -> Run:
    run = Run(persona_from(yaml_persona, "test"), user=1, pseudo="p")
    run.steps = steps
    for key, value in state.items():
        setattr(run, key, value)
    return run


def test_rules_on_a_made_up_conversation() -> None:
    raw = {
        "id": "made_up",
        "who": "x",
        "goal": "x",
        "turns": [
            {"say": "jai 22 ans jcherche un taf", "gave": ["age", "needs"]},
            {"say": "c quoi le rsa ?", "question": True, "expect_any": ["@faq_rsa"]},
            {"say": "kdjf"},
            {"say": "qsdf"},
        ],
        "expect": {"ticket": True, "slots": {"age": "22"}},
    }
    turns = persona_from(raw, "test").turns
    ask_age = BotMessage("T'as quel âge ?", ("Passer",))
    noted = BotMessage("Je le note pour le conseiller. T'as quel âge ?")
    steps = [
        Step(
            0, "jai 22 ans jcherche un taf", [ask_age], turn=turns[0], gave=("age", "needs"), seq=2
        ),
        Step(1, "c quoi le rsa ?", [noted], turn=turns[1], seq=3),
        Step(
            2,
            "kdjf",
            [BotMessage("J'ai pas compris.")],
            turn=turns[2],
            slots={"location": "jsais pas moi"},
        ),
        Step(3, "qsdf", [BotMessage("Toujours pas compris. Au besoin : 112.")], turn=turns[3]),
    ]
    verdict = judge(_run(raw, steps, requests=[{"id": 1, "age": "22", "questions": []}]))
    assert verdict.results["no_repeat"] and "given at" in verdict.results["no_repeat"][0]
    assert verdict.results["answered"] == [
        "#3 «c quoi le rsa ?»: noted, but not in the ticket's questions"
    ]
    assert verdict.results["no_junk"]  # a sentence as a location
    assert verdict.results["one_misunderstanding"]
    assert verdict.results["no_112"]
    assert verdict.results["handoff"] == [
        "no ticket in the database, the persona asked for a human / accepted"
    ]
    assert verdict.results["persona"] == []
    assert not verdict.passed


def test_persona_file_is_where_the_loader_looks() -> None:
    assert Path(__file__).with_name("personas.yml").exists()


def test_a_persona_can_repeat_what_it_gave() -> None:
    """Asked again for a fact it gave, a person answers again (the rules record the repeat):
    a persona with auto turns has an answer for each fact it gives."""
    lacking = [
        (p.id, sorted(gave - set(p.answers)))
        for p in PERSONAS
        if any(t.auto for t in p.turns)
        and (gave := {fact for t in p.turns for fact in t.gave}) - set(p.answers)
    ]
    assert lacking == []
