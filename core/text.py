"""Text helpers shared by the app packages (no dependencies beyond the standard library)."""

from __future__ import annotations

import re
import unicodedata
from typing import Any


def fold(text: str) -> str:
    """Lower-case, strip accents, keep letters/digits, collapse the rest to single spaces."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]+", " ", bare).strip()


def storable(text: str) -> str:
    """Text every database can store: NUL bytes dropped, lone surrogates replaced."""
    if "\x00" in text:
        text = text.replace("\x00", "")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


def storable_json(value: Any) -> Any:
    """Parsed JSON with every string (keys included) made `storable`, walked without recursion
    (a lone surrogate is valid in JSON text, not in UTF-8: it would fail later, as a 500)."""
    if isinstance(value, str):
        return storable(value)
    root: list[Any] = [value]
    stack: list[Any] = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key in list(node):
                item, clean = node[key], storable(key)
                if clean != key:
                    del node[key]
                node[clean] = storable(item) if isinstance(item, str) else item
                if isinstance(item, dict | list):
                    stack.append(item)
        else:
            for index, item in enumerate(node):
                if isinstance(item, str):
                    node[index] = storable(item)
                elif isinstance(item, dict | list):
                    stack.append(item)
    return root[0]


# French calendar words, for what counsellors and young people read.
DAYS_FR = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
MONTHS_FR = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)
