"""Turning a young person's answer into a triage value: pure functions, no Rasa, no database.

Each parser takes the latest message (text, intent, entities) and returns the value to store,
`SKIPPED` when they chose not to answer ("passer", "jsp"), or None when the message does not
answer the question (then the form lets the dialogue handle it as a digression).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bot.texts import fold

SKIPPED = "passé"
# Intents that are never an answer to a triage question: the dialogue handles them.
DIGRESSIONS = frozenset(
    {
        "ask_why",
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
NEEDS = {
    "need_job": "emploi",
    "need_training": "formation",
    "need_orientation": "orientation",
    "need_housing": "logement",
    "need_money": "argent / aides",
    "need_health": "santé",
    "need_mobility": "mobilité",
    "need_admin": "papiers / démarches",
    "need_morale": "moral / confiance",
    "need_childcare": "garde d'enfant",
}
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
TIME_WORDS = (
    r"\b(matin|midi|aprem|apres midi|soir|soiree|lundi|mardi|mercredi|jeudi|vendredi|samedi"
    r"|dimanche|semaine|weekend|week end|\d{1,2} ?h|heures?|demain|quand tu veux|nimporte)\b"
)
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
    if answer.intent in NEEDS:
        found.append(NEEDS[answer.intent])
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
    if answer.digression:
        return None
    value = answer.entity("age")
    if value is None:
        match = re.search(r"\b(\d{1,2})\b", answer.folded)
        value = match.group(1) if match else None
    if value is not None and value.isdigit() and 10 <= int(value) <= 99:
        return str(int(value))
    if answer.skips:
        return SKIPPED
    if answer.is_payload or not answer.folded:
        return None
    return _excerpt(answer.text, 16)  # "bientot vingt": kept as said, for the counsellor


def parse_location(answer: Answer) -> str | None:
    if answer.digression:
        return None
    postcode = answer.entity("postcode")
    commune = answer.entity("commune")
    if postcode is None:
        match = re.search(r"\b(\d{5}|\d{2}|2[ab])\b", answer.folded)
        postcode = match.group(1).upper() if match else None
    if commune and postcode:
        return f"{commune} ({postcode})"
    if commune or postcode:
        return commune or postcode
    if answer.skips:
        return SKIPPED
    if answer.is_payload or not answer.folded:
        return None
    return _excerpt(answer.text, 60)  # a commune we don't know: keep what they wrote


def parse_situation(answer: Answer) -> str | None:
    if answer.digression:
        return None
    value = answer.entity("situation")
    if value in SITUATION_LABELS:
        return SITUATION_LABELS[value]
    if answer.skips:
        return SKIPPED
    if answer.is_payload or not answer.folded:
        return None
    for key, pattern in SITUATIONS.items():
        if re.search(pattern, answer.folded):
            return SITUATION_LABELS[key]
    return _excerpt(answer.text, 80)


def parse_followed(answer: Answer) -> str | None:
    if answer.digression:
        return None
    structure = re.search(FOLLOWED_STRUCTURES, answer.folded)
    if answer.intent == "affirm" or structure:
        return "oui" + (f" ({structure.group(1)})" if structure else "")
    if answer.intent == "deny":
        return "non"
    if answer.skips:
        return "ne sait pas"
    if answer.is_payload or not answer.folded:
        return None
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
    when = None
    if not answer.is_payload and re.search(TIME_WORDS, answer.folded):
        when = _excerpt(answer.text, 80)
    if how is None and when is None:
        return None
    return (CONTACT_LABELS[how] if how else CONTACT_LABELS["chat"], when)
