"""Finding keywords in the bot's messages, the way tests/personas/anchors.py describes."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Protocol

from tests.personas.anchors import BUTTON_KINDS, GROUPS, KIND_TEXT, QUESTION_GROUPS

_SPACES = re.compile(r"[\s\u00a0\u202f]+")
_DIGITS = re.compile(r"[\d ]+")


def plain(text: str) -> str:
    """Typographic apostrophes and spaces made plain, "·" dropped, spaces collapsed."""
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("·", "")
    return _SPACES.sub(" ", text).strip()


def fold(text: str) -> str:
    """Lower case, no accents, plain punctuation: how keywords are compared."""
    decomposed = unicodedata.normalize("NFKD", plain(text).lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _unaccent(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", plain(text))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def keyword_in(keyword: str, text: str) -> bool:
    """One keyword (not a group) in `text`."""
    if keyword.startswith("re:"):
        return re.search(keyword[3:], fold(text)) is not None
    if _DIGITS.fullmatch(keyword):  # a phone number: never a part of a longer number
        number = r"\s?".join(re.escape(d) for d in keyword.replace(" ", ""))
        return re.search(rf"(?<!\d){number}(?!\d)", plain(text)) is not None
    if keyword.isupper():  # an acronym, in capitals, as a word
        return re.search(rf"\b{re.escape(_unaccent(keyword))}\b", _unaccent(text)) is not None
    return fold(keyword) in fold(text)


def question_sentences(text: str, buttons: Sequence[str] = ()) -> list[str]:
    """The parts of a message that ask something: its sentences with a "?" ("Tu as quel âge ?
    (tu peux passer)" gives "Tu as quel âge ?"), or all of it when it offers buttons ("Juste
    ta ville ou ton code postal. Tu peux aussi passer. [Passer]" asks too)."""
    if buttons:
        return [text]
    parts = re.split(r"(?<=[?!.\n])", text)
    return [p.strip() for p in parts if "?" in p]


class Said(Protocol):
    """A bot message: its text and the titles of its buttons (harness.BotMessage)."""

    @property
    def text(self) -> str: ...

    @property
    def buttons(self) -> tuple[str, ...]: ...


Message = str | Said


def _parts(message: Message) -> tuple[str, tuple[str, ...]]:
    if isinstance(message, str):
        return message, ()
    return message.text, tuple(message.buttons)


def expand(keywords: Iterable[str]) -> list[tuple[str, bool]]:
    """(keyword, only in questions) for each keyword, "@group" names expanded."""
    out: list[tuple[str, bool]] = []
    for keyword in keywords:
        if keyword.startswith("@"):
            name = keyword[1:]
            if name not in GROUPS:
                raise KeyError(f"unknown anchor group {keyword!r} (tests/personas/anchors.py)")
            out.extend((word, name in QUESTION_GROUPS) for word in GROUPS[name])
        else:
            out.append((keyword, False))
    return out


def found(keywords: Iterable[str], messages: Sequence[Message]) -> list[str]:
    """The keywords (groups expanded) that occur in any of `messages` (texts, or bot
    messages whose buttons make them questions)."""
    hits: list[str] = []
    for keyword, in_questions in expand(keywords):
        if any(fold(keyword) == fold(hit) for hit in hits):
            continue
        for message in messages:
            text, buttons = _parts(message)
            places = question_sentences(text, buttons) if in_questions else [text]
            if any(keyword_in(keyword, place) for place in places):
                hits.append(keyword)
                break
    return hits


def asked(kind: str, message: Message) -> bool:
    """The message asks the triage question `kind` (anchors.ASK)."""
    return bool(found([f"@ask_{kind}"], [message]))


def classify(text: str, buttons: Sequence[str]) -> str | None:
    """Which question a bot message asks, for the auto-answering persona; None if none."""
    for title in buttons:
        kind = BUTTON_KINDS.get(title)
        if kind is None:
            kind = next((k for t, k in BUTTON_KINDS.items() if fold(t) == fold(title)), None)
        if kind:
            return kind
    places = question_sentences(text, buttons)  # "selon ton âge" in an answer asks nothing
    for kind, words in KIND_TEXT.items():
        if any(keyword_in(word, place) for word in words for place in places):
            return kind
    return None


def digits_of_phone(value: str | None) -> str | None:
    """A French phone number as 10 digits ("+33 6 12…" → "0612…"), or None."""
    if not value:
        return None
    digits = re.sub(r"\D", "", value)
    if digits.startswith("33") and len(digits) == 11:
        digits = "0" + digits[2:]
    return digits
