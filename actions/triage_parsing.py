"""Turning a young person's answer into a triage value: pure functions, no Rasa, no database.

Each parser takes the latest message (text, intent, entities) and returns the value to store,
`SKIPPED` when they chose not to answer ("passer", "jsp"), or None when the message does not
answer the question (then the form lets the dialogue handle it as a digression). The facts
read from free text (an age, a place, a phone number) are in actions/triage_facts.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from actions.triage_facts import (
    age_in,
    departement_in,
    number_in_words,
    phone_in,
    postcode_in,
    town_in,
)
from core.intents import NEED_LABELS
from core.text import fold
from core.vocabulary import AGE_BANDS, AGE_MIN, SKIPPED, UNDER_15, band_of_age

MISSING = "\x00"  # a parse result meaning "said something, but not an answer to this"
# Intents that are never an answer to a triage question: the dialogue handles them.
DIGRESSIONS = frozenset(
    {
        "ask_why",
        "ask_where",
        "faq",
        "bot_challenge",
        "ask_human",
        "insult",
        "correct",
        "opt_out",
        "delete_data",
        "privacy",
        "start",
        "consent_accept",
        "consent_refuse",
        "goodbye",
        "crisis_suicide",
        "crisis_violence",
        "crisis_shelter",
        # a worrying message (medium risk): the safety question first, the answer after
        "crisis_check",
    }
)
# Words that reveal a need in free text, so that "du taf et un appart" gives both needs.
NEED_WORDS = {
    "emploi": r"\b(taf|travail|boulot|job|emploi|bosser|taff|cdi|cdd|interim)\b",
    "formation": r"\b(formation|diplome|cap|bac|apprentissage|alternance|etudes?|ecole)\b",
    "orientation": r"\b(orientation|metier|sais pas quoi faire|voie)\b",
    "logement": r"\b(logement|appart|appartement|loger|studio|foyer|hebergement|chambre)\b",
    "argent / aides": r"\b(argent|thune|tune|sous|fric|caf|aide|aides|rsa|dettes?|loyer)\b",
    "santé": r"\b(sante|medecin|docteur|malade|soins?|psy|dentiste|mutuelle)\b",
    "mobilité": r"\b(permis|voiture|scooter|transport|bus|mobilite|code)\b",
    "papiers / démarches": r"\b(papiers?|demarches?|carte vitale|titre de sejour|impots?|cni)\b",
    "moral / confiance": r"\b(moral|confiance|seul|seule|deprime|motivation|stress)\b",
    "garde d'enfant": r"\b(garde|creche|nounou|mon fils|ma fille|mon bebe|enfant)\b",
}
SITUATIONS = {
    "ecole": (
        r"\b(ecole|lycee|college|fac|cours|etudiant|etudiante|seconde|premiere|1ere"
        r"|terminale|bts)\b"
    ),
    "emploi": r"\b(taf|travail|boulot|bosse|job|interim|cdd|cdi|emploi|salarie)\b",
    "formation": r"\b(formation|stage|apprentissage|alternance|apprenti|service civique)\b",
    "rien": r"\b(rien|nothing|chomage|chomeur|sans emploi|glande|a la maison)\b",
}
SITUATION_LABELS = {
    "ecole": "à l'école / en études",
    "emploi": "en emploi",
    "formation": "en formation",
    "rien": "ni emploi, ni études, ni formation",
}
CONTACTS = {
    "telephone": r"\b(tel|tele|telephone|appel|appelle|appeler|phone|portable|numero)\b",
    "rencontre": r"\b(voir|rdv|rendez vous|en vrai|en face|sur place|rencontrer|passer)\b",
    "chat": r"\b(ici|message|messages|chat|ecrit|ecrire|telegram|texto)\b",
}
CONTACT_LABELS = {
    "chat": "ici, par message",
    "telephone": "par téléphone",
    "rencontre": "en vrai (rendez-vous)",
}
FOLLOWED_STRUCTURES = (
    r"\b(mission locale|ml|france travail|pole emploi|e2c|epide|educ|educateur"
    r"|assistante sociale|as|cej|pij)\b"
)


@dataclass(frozen=True)
class Answer:
    """The latest user message as the form sees it."""

    text: str
    intent: str | None
    entities: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_latest(cls, latest: dict[str, Any]) -> Answer:
        intent = (latest.get("intent") or {}).get("name")
        return cls(str(latest.get("text") or ""), intent, list(latest.get("entities") or []))

    @property
    def folded(self) -> str:
        return fold(self.text)

    @property
    def external(self) -> bool:
        """Triggered by the app (a nudge: `EXTERNAL_*` intents), not typed by the person."""
        return (self.intent or "").startswith("EXTERNAL_")

    @property
    def digression(self) -> bool:
        """Not an answer to the question asked: the form lets the rules handle it."""
        return self.intent in DIGRESSIONS or self.external

    @property
    def is_payload(self) -> bool:
        return self.text.startswith("/")

    @property
    def skips(self) -> bool:
        return self.intent == "dont_know"

    def entity(self, name: str) -> str | None:
        for item in self.entities:
            if item.get("entity") == name and item.get("value") not in (None, ""):
                return str(item["value"])
        return None


def _excerpt(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_needs(answer: Answer) -> list[str] | str | None:
    if answer.digression:
        return None
    found: list[str] = []
    if answer.intent in NEED_LABELS:
        found.append(NEED_LABELS[answer.intent])
    if not answer.is_payload:
        for label, pattern in NEED_WORDS.items():
            if re.search(pattern, answer.folded) and label not in found:
                found.append(label)
    if found:
        return found
    if answer.skips:
        return SKIPPED
    return None


def parse_age(answer: Answer) -> str | None:
    """The age, SKIPPED, None for a digression, or MISSING for anything else (never stored)."""
    if answer.digression:
        return None
    value = age_in(answer.text if not answer.is_payload else "", answer.entity("age"))
    if value is not None:
        return value
    if answer.skips:
        return SKIPPED
    if answer.is_payload:
        return None
    return MISSING


# An age band typed in words ("moins de 15", "entre 18 et 25"), on the folded text: checked
# before an age, so that "15-17" is not read as 15; "-15" and "+25" on the text as typed.
BAND_WORDS = {
    UNDER_15: r"\b(moins de (15|quinze)|pas encore (15|quinze))\b",
    "15_17": r"\b(15 (a |et )?17|entre 15 et 17)\b",
    "18_25": r"\b(18 (a |et )?25|entre 18 et 25)\b",
    "plus_25": r"\b(plus de (25|vingt cinq))\b",
}
BAND_SIGNS = {UNDER_15: r"(?<![\d-])- ?(de )?15\b", "plus_25": r"\+ ?(de )?25\b"}


@dataclass(frozen=True)
class AgeBand:
    """The answer to "t'as quel âge ?" asked before consent: a band, and the age if typed."""

    band: str
    age: str | None = None

    @property
    def label(self) -> str:
        """What the triage's `age` slot keeps: the age typed, else the band's words."""
        return self.age or AGE_BANDS[self.band]


def parse_age_band(answer: Answer) -> AgeBand | str | None:
    """The band (a button, band words, or an age 12-30 typed), SKIPPED, None for a
    digression, or MISSING for anything else, an age out of 12-30 included (never stored)."""
    if answer.digression:
        return None
    band = answer.entity("age_band")
    if band in AGE_BANDS:
        return AgeBand(band)
    if answer.skips:
        return SKIPPED
    if answer.is_payload:
        return None
    folded = answer.folded
    for key, pattern in BAND_WORDS.items():
        if re.search(pattern, folded):
            return AgeBand(key)
    for key, pattern in BAND_SIGNS.items():
        if re.search(pattern, answer.text.lower()):
            return AgeBand(key)
    age = age_in(answer.text, answer.entity("age"))
    if age is not None:
        return AgeBand(band_of_age(int(age)), age)
    return MISSING


def says_younger(answer: Answer) -> bool:
    """An age under 12 typed ("10", "onze ans"): not stored, but under 15 all the same."""
    if answer.is_payload:
        return False
    numbers = [int(n) for n in re.findall(r"(?<!\d)(\d{1,2})(?!\d)", answer.folded)]
    spelled = number_in_words(answer.folded)
    numbers += [spelled] if spelled is not None else []
    return any(3 <= n < AGE_MIN for n in numbers)


def parse_location(answer: Answer) -> str | None:
    """A postcode, a commune from the lookup, a département, or a short town name; SKIPPED;
    None for a digression; MISSING for anything else (a sentence is never stored as a place)."""
    if answer.digression:
        return None
    text = "" if answer.is_payload else answer.text
    postcode = postcode_in(text, answer.entity("postcode"))
    commune = answer.entity("commune")
    if commune and postcode:
        return f"{commune} ({postcode})"
    if commune or postcode:
        return commune or postcode
    if answer.skips:
        return SKIPPED
    if answer.is_payload:
        return None
    departement = departement_in(answer.folded)
    if departement:
        return departement
    return town_in(answer.text) or MISSING


# Answers that say nothing ("bof", "ok", "?"): never stored as a situation or a structure.
EMPTY_ANSWERS = frozenset(
    """bof ok oki okay ouais ouai mouais bah ben euh hmm mdr lol ptdr ah k jsp jsais pas
    quoi hein nan non oui rien ca va""".split()
)


def _says_nothing(answer: Answer) -> bool:
    folded = answer.folded
    return not folded or folded in EMPTY_ANSWERS or all(w in EMPTY_ANSWERS for w in folded.split())


def parse_situation(answer: Answer) -> str | None:
    if answer.digression:
        return None
    value = answer.entity("situation")
    if value in SITUATION_LABELS:
        return SITUATION_LABELS[value]
    if answer.skips:
        return SKIPPED
    if answer.is_payload:
        return None
    for key, pattern in SITUATIONS.items():
        if re.search(pattern, answer.folded):
            return SITUATION_LABELS[key]
    if _says_nothing(answer) or len(answer.folded.split()) > 12:
        return MISSING
    return _excerpt(answer.text, 80)  # "en arret maladie": their words, for the counsellor


def parse_followed(answer: Answer) -> str | None:
    if answer.digression:
        return None
    structure = re.search(FOLLOWED_STRUCTURES, answer.folded)
    if answer.intent == "affirm" or structure:
        return "oui" + (f" ({structure.group(1)})" if structure else "")
    if answer.intent == "deny" or answer.folded in ("non", "nan", "personne", "aucun"):
        return "non"
    if answer.skips:
        return "ne sait pas"
    if answer.is_payload or _says_nothing(answer) or len(answer.folded.split()) > 12:
        return None if answer.is_payload else MISSING
    return _excerpt(answer.text, 80)


def parse_contact(answer: Answer) -> tuple[str, str | None] | str | None:
    """(how, when): how from buttons or words, when from the free text if it says one."""
    if answer.digression:
        return None
    how = answer.entity("contact")
    if answer.skips:
        return SKIPPED
    if how not in CONTACT_LABELS:
        how = next((k for k, p in CONTACTS.items() if re.search(p, answer.folded)), None)
    when = None if answer.is_payload else when_in(answer.text)
    if how is None and when is None:
        return None if answer.is_payload else MISSING
    return (CONTACT_LABELS[how] if how else CONTACT_LABELS["chat"], when)


# Buttons of the "quand ?" question (payload entity `when`) and the words that say a moment.
WHEN_LABELS = {
    "matin": "le matin",
    "aprem": "l'après-midi",
    "soir": "le soir",
    "nimporte": "n'importe quand",
}
WHEN_WORDS = {
    "matin": r"\b(matin|matinee|avant midi)\b",
    "aprem": r"\b(aprem|laprem|aprems|apres midi|apresmidi|lapres midi)\b",
    "soir": r"\b(soir|soiree|le soir|apres (?:18|19|20) ?h)\b",
    "nimporte": (
        r"\b(nimporte|n importe|quand tu veux|quand vous voulez|tout le temps|peu importe"
        r"|toute la journee)\b"
    ),
}
DAY_WORDS = (
    r"\b(lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|semaine|weekend|week end|demain)\b"
)


def when_in(text: str) -> str | None:
    """A moment to be contacted ("laprem", "le matin", "mardi apres 14h"), as a short label."""
    folded = fold(text)
    parts = [WHEN_LABELS[k] for k, p in WHEN_WORDS.items() if re.search(p, folded)]
    days = re.findall(DAY_WORDS, folded)
    hours = re.findall(r"(?:apres|avant|vers|a partir de)?\s*\d{1,2}\s?h(?:\d{2})?", folded)
    if not parts and not days and not hours:
        return None
    if not parts or days or hours:
        return _excerpt(text, 60)  # "mardi apres 14h": their words say it best
    return " ou ".join(parts)


def parse_availability(answer: Answer) -> str | None:
    if answer.digression:
        return None
    value = answer.entity("when")
    if value in WHEN_LABELS:
        return WHEN_LABELS[value]
    if answer.skips:
        return SKIPPED
    if answer.is_payload:
        return None
    return when_in(answer.text) or MISSING


def parse_phone(answer: Answer) -> str | None:
    if answer.digression:
        return None
    value = None if answer.is_payload else phone_in(answer.text)
    if value:
        return value
    if answer.skips or answer.intent == "deny":
        return SKIPPED
    if answer.is_payload:
        return None
    return MISSING
