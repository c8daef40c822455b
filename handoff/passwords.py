"""The password policy of counsellor accounts, checked offline: long enough (12 characters,
a passphrase of a few words is the easy way), not a common or breached-style password, not
built on the account's e-mail or first name.

`common_passwords.txt.gz` (shipped with the package) holds the 10,000 most common passwords
of the list bundled by the `zxcvbn` package (MIT; from leaked password dumps), lowercased,
plus common French ones (azerty, motdepasse, soleil, prénoms, villes…). A password is refused
when it, or what is left of it once lowercased, stripped of digits and symbols at its ends
and of leet substitutions (4→a, 3→e, 0→o, @→a…), is in that list: "Azerty2024!" and
"P@ssw0rd123456" are refused like "azerty" and "password".
"""

from __future__ import annotations

import gzip
import re
from functools import cache
from importlib import resources

MIN_LENGTH = 12
MAX_LENGTH = 1024  # the login form takes no more
MIN_DISTINCT = 5  # "aaaaaaaaaaaa", "abababababab", "123123123123" are refused
LIST_FILE = "common_passwords.txt.gz"
_LEET = str.maketrans(
    {
        "4": "a",
        "@": "a",
        "3": "e",
        "1": "i",
        "!": "i",
        "0": "o",
        "$": "s",
        "5": "s",
        "7": "t",
        "+": "t",
    }
)
_EDGES = re.compile(r"^[\W\d_]+|[\W\d_]+$")
_SEPARATORS = re.compile(r"[\W_]+")
_REPEATED = re.compile(r"(.+?)\1+")


@cache
def common_passwords() -> frozenset[str]:
    data = resources.files("handoff").joinpath(LIST_FILE).read_bytes()
    return frozenset(gzip.decompress(data).decode().split())


def _variants(password: str) -> set[str]:
    lowered = password.strip().lower()
    variants = {lowered, _SEPARATORS.sub("", lowered)}
    for text in list(variants):
        variants.add(_EDGES.sub("", text))
        variants.add(text.translate(_LEET))
        variants.add(_EDGES.sub("", text.translate(_LEET)))
    for text in list(variants):  # "soleilsoleil" is "soleil" twice
        repeated = _REPEATED.fullmatch(text)
        if repeated:
            variants.add(repeated.group(1))
    return {variant for variant in variants if variant}


def _personal_words(email: str, first_name: str) -> set[str]:
    """The first name's words and the e-mail's local part ("anna.martin" → "annamartin")."""
    words = {word for word in _SEPARATORS.split(first_name.lower()) if len(word) >= 3}
    local = _SEPARATORS.sub("", email.strip().lower().split("@", 1)[0])
    if len(local) >= 3:
        words.add(local)
    return words


def weakness(password: str, *, email: str = "", first_name: str = "") -> str | None:
    """Why this password is refused (French, for the person choosing it), or None."""
    if len(password) < MIN_LENGTH:
        return (
            f"mot de passe trop court ({MIN_LENGTH} caractères minimum ; une phrase de "
            "quelques mots est plus facile à retenir)"
        )
    if len(password) > MAX_LENGTH:
        return f"mot de passe trop long ({MAX_LENGTH} caractères maximum)"
    if len(set(password.lower())) < MIN_DISTINCT:
        return "mot de passe trop répétitif"
    if not _EDGES.sub("", password):
        return "mot de passe fait seulement de chiffres et de symboles : ajoute des mots"
    if _variants(password) & common_passwords():
        return "mot de passe trop courant (il figure dans les listes de mots de passe piratés)"
    squashed = _SEPARATORS.sub("", password.lower())
    if any(word in squashed for word in _personal_words(email, first_name)):
        return "le mot de passe ne doit contenir ni le prénom ni l'adresse e-mail"
    return None
