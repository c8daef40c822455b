"""Facts said in free text, whatever the question: an age ("19ans", "vingt-deux"), a place (a
postcode, a département, a town), a French phone number. Pure functions over the text, and the
communes lookup they read places against.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import yaml

from core.text import fold
from core.vocabulary import AGE_MAX, AGE_MIN
from core.yamlfile import read_yaml

COMMUNES_LOOKUP = Path(__file__).resolve().parents[1] / "nlu_data" / "lookups" / "communes.yml"


@lru_cache(maxsize=1)
def known_communes() -> dict[str, str]:
    """Folded commune name -> its spelling, from the lookup `maraude train` writes from the
    territories of maraude.yml (the first spelling listed is the accented one)."""
    try:
        data = read_yaml(COMMUNES_LOOKUP) or {}
    except (OSError, yaml.YAMLError):
        return {}
    names: dict[str, str] = {}
    for block in data.get("nlu") or []:
        for line in str(block.get("examples") or "").splitlines():
            name = line.strip().removeprefix("- ").strip()
            if name:
                names.setdefault(fold(name.replace("-", " ")), name)
    return names


# Ages a young person of the service may give (16-25, with room for the ones just outside:
# a 14-year-old, a 27-year-old still get an answer): 12-30 (core/vocabulary.py); anything
# else is not stored as an age (asked again once).
AGE_RANGE = range(AGE_MIN, AGE_MAX + 1)
# A bare number that may be meant as an age: never read as a département.
LOOKS_LIKE_AGE = range(12, 36)
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


def number_in_words(folded: str) -> int | None:
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
    spelled = number_in_words(folded)
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
    "ans" (or "an") after it, so that other numbers are never taken for an age."""
    folded = fold(text)
    for match in re.finditer(r"(?<!\d)(\d{1,2}) ?ans?\b", folded):  # "19 an" too
        if int(match.group(1)) in AGE_RANGE:
            return str(int(match.group(1)))
    words = re.search(r"((?:[a-z]+ ){0,3}[a-z]+) ans\b", folded)
    if words:
        value = number_in_words(words.group(1))
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
    if value.isdigit() and (int(value) in LOOKS_LIKE_AGE or not 1 <= int(value) <= 95):
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


PHONE = re.compile(r"(?<![\d+])(?:\+33|0033|0)\s*[.\-/]?\s*([1-9](?:[\s.\-/]*\d){8})(?!\d)")


def phone_in(text: str) -> str | None:
    """A French phone number ("06 12 34 56 78", "+33 6 12 34 56 78"), as "0612345678"."""
    match = PHONE.search(text)
    if not match:
        return None
    return "0" + re.sub(r"\D", "", match.group(1))
