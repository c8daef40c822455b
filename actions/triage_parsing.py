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
from core.intents import NEED_LABELS

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
NEEDS = NEED_LABELS  # intent -> the word stored for that need (one table: core/intents.py)
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


# Ages a young person of the service may give (16-25, with room for the ones just outside:
# a 14-year-old, a 27-year-old still get an answer); anything else is not stored as an age.
AGE_RANGE = range(12, 36)
UNITS = {
    "un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "six": 6, "sept": 7,
    "huit": 8, "neuf": 9, "dix": 10, "onze": 11, "douze": 12, "treize": 13, "quatorze": 14,
    "quinze": 15, "seize": 16,
}  # fmt: skip
TENS = {"vingt": 20, "trente": 30}
# What is said before a place ("jsuis sur roubaix", "a cote de lens") and is not the place.
PLACE_LEAD_WORDS = frozenset(
    """je j jsuis chui suis jhabite habite jvis vis jreste reste moi bah ben euh ouais oui en
    fait vers sur a au aux dans de du d l la le les pres cote pas loin region ville secteur
    quartier commune perso""".split()
)
# Words that are never part of a town name: a sentence, a feeling or an answer is no place.
NOT_PLACE_WORDS = frozenset(
    """je j jsuis suis tu il elle on nous vous ils me te se moi toi ma ta sa mon ton son mes
    tes ses pas ne n plus rien jamais sais sait savoir jsp jsais bof ok oui non ouais nan
    mouais bah ben euh hmm quoi qui quand comment pourquoi ou est c ca cest ce cette sais
    veux peux dois fais fait faire dire dis dit reponds repond repondre dabord d abord
    question questions triste mal bien fond trou nul nulle seul seule perdu perdue galere
    vie mort rue dehors chez maison parents pere mere frere soeur appart foyer taf travail
    boulot ecole lycee fac aide aides argent merci stp svp jsp lol mdr ptdr et avec pour
    par sans mais donc car si tout toute tous rien trop tres aussi encore deja ans an age
    habite habites vis reste viens oublie sais connais aucune aucun idee partout nulle part
    france bonjour salut slt wesh coucou hello bout rouleau chomage lycee college stage rsa
    hopital mission locale centre point truc coup projet dossier affaire place pied bord
    attente liste ecoute route recherche""".split()
)
MISSING = "\x00"  # a parse result meaning "said something, but not an answer to this"


def _number_in_words(folded: str) -> int | None:
    words = folded.replace("-", " ").split()
    for i, word in enumerate(words):
        if word in TENS:
            value = TENS[word]
            rest = words[i + 1 : i + 3]
            if rest[:1] == ["et"] and rest[1:2] == ["un"]:
                return value + 1
            if rest[:1] and rest[0] in UNITS and UNITS[rest[0]] < 10:
                return value + UNITS[rest[0]]
            return value
        if word == "dix" and i + 1 < len(words) and words[i + 1] in ("sept", "huit", "neuf"):
            return 10 + UNITS[words[i + 1]]
        if word in UNITS and UNITS[word] >= 11:
            return UNITS[word]
    return None


def age_in(text: str, entity: str | None = None) -> str | None:
    """An age in the plausible range from the text (digits, "19ans", "vingt-deux") or else the
    entity, else None. The text comes first: the entity extractor reads "vingt deux" as 20.
    A phone number is never read as an age ("06 12 34 56 78" is not 12)."""
    if phone_in(text):
        return None
    folded = fold(text)
    candidates = [int(m) for m in re.findall(r"(?<!\d)(\d{1,2})(?!\d)", folded)]
    spelled = _number_in_words(folded)
    if spelled is not None:
        candidates.append(spelled)
    if entity and entity.isdigit():
        candidates.append(int(entity))
    for value in candidates:
        if value in AGE_RANGE:
            return str(value)
    return None


def age_stated(text: str) -> str | None:
    """An age said in passing in a longer message ("jai 19 ans jhabite a lens..."): only with
    "ans" after it, so that other numbers are never taken for an age."""
    folded = fold(text)
    for match in re.finditer(r"(?<!\d)(\d{1,2}) ?ans\b", folded):
        if int(match.group(1)) in AGE_RANGE:
            return str(int(match.group(1)))
    words = re.search(r"((?:[a-z]+ ){0,3}[a-z]+) ans\b", folded)
    if words:
        value = _number_in_words(words.group(1))
        if value is not None and value in AGE_RANGE:
            return str(value)
    return None


# "jhabite a lens", "jsuis sur roubaix", "pres de montbeliard": a place said in passing.
PLACE_IN_SENTENCE = re.compile(
    r"\b(?:(?:j habite|jhabite|habite|je vis|jvis|je suis|jsuis|chui|suis|je reste|jreste)"
    r"\s+(?:a|sur|vers|a cote de|pres de)|vers|pres de|a cote de|du cote de|originaire de"
    r"|viens de)\s+([a-z]+(?: [a-z]+){0,2})"
)
PLACE_CUT_WORDS = frozenset(
    """et mais ou donc car pour avec depuis jai j je jsuis jcherche jaimerais jveux jvoudrais
    un une des en ce cette il elle on y ya""".split()
)


def place_stated(text: str, known: frozenset[str] = frozenset()) -> str | None:
    """A town said in passing: a commune of the lookup named anywhere (`known`: folded names),
    or a short town name after "j'habite à", "jsuis sur"... Never a sentence."""
    folded = fold(text.replace("-", " "))
    padded = f" {folded} "
    for name in sorted(known, key=len, reverse=True):
        if f" {name} " in padded:
            return " ".join(w.capitalize() for w in name.split())
    for match in PLACE_IN_SENTENCE.finditer(folded):
        words = []
        for word in match.group(1).split():
            if word in PLACE_CUT_WORDS:
                break
            words.append(word)
        town = town_in(" ".join(words)) if words else None
        if town:
            return town
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


def postcode_in(text: str, entity: str | None = None) -> str | None:
    """A French postcode (5 digits, 01000-98999)."""
    for candidate in [entity or "", *re.findall(r"(?<!\d)(\d{5})(?!\d)", text)]:
        if re.fullmatch(r"\d{5}", candidate) and "01000" <= candidate <= "98999":
            return candidate
    return None


def departement_in(folded: str) -> str | None:
    """A département given on its own or with a marker ("le 93", "dans le 59", "dep 62").

    A bare two-digit number that could be an age is not taken: "23" typed at the place
    question is most often an age (the bot asks again for a town or a postcode)."""
    marked = re.search(
        r"\b(?:le|dans le|departement|dep|dept|dpt|du)\s+(\d{2}|2a|2b|97[1-6])\b", folded
    )
    if marked:
        return marked.group(1).upper()
    bare = re.fullmatch(r"(\d{2}|2a|2b|97[1-6])", folded)
    if not bare:
        return None
    value = bare.group(1).upper()
    if value.isdigit() and (int(value) in AGE_RANGE or not 1 <= int(value) <= 95):
        return None
    return value


def town_in(text: str) -> str | None:
    """A short town name not in the lookup ("saint-omer", "a maubeuge"), never a sentence."""
    words = fold(text).split()
    while words and words[0] in PLACE_LEAD_WORDS:
        words = words[1:]
    if not 1 <= len(words) <= 4 or len(" ".join(words)) < 3:
        return None
    if any(not w.isalpha() or w in NOT_PLACE_WORDS for w in words):
        return None
    if len(words[0]) < 3 or len(words[-1]) < 3:
        return None  # "fort a", "la b": pieces of a sentence
    return " ".join(w.capitalize() for w in words)


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


PHONE = re.compile(r"(?<![\d+])(?:\+33|0033|0)\s*[.\-/]?\s*([1-9](?:[\s.\-/]*\d){8})(?!\d)")


def phone_in(text: str) -> str | None:
    """A French phone number ("06 12 34 56 78", "+33 6 12 34 56 78"), as "0612345678"."""
    match = PHONE.search(text)
    if not match:
        return None
    return "0" + re.sub(r"\D", "", match.group(1))


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
