"""Informal-French text normalisation (standard library only, no rasa import).

`normalise(text, lexicon)` turns what young people type ("jsuis a la rue", "g pa le
permis", "ouiiii 😭", "j'ai 19ans") into a cleaner lower-case French without accents
("je suis a la rue", "j'ai pas le permis", "oui triste", "j'ai 19 ans"), deterministically.
The word lists live in a data file (`engine/lexicon.txt`, format described at its top).

The result keeps an alignment between the original and the normalised text, so that entity
annotations of the training data ("j'ai [19](age)ans") can be moved onto the normalised text
(`Normalised.map_span`). Digits are never altered: "59100" stays "59100".

The transformation is idempotent: normalise(normalise(t)) == normalise(t).
"""

from __future__ import annotations

import dataclasses
import functools
import re
import unicodedata
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

from engine.files import named_files

DEFAULT_LEXICON_PATH = Path(__file__).with_name("lexicon.txt")

SECTIONS = ("words", "start", "emoji")

# Apostrophe look-alikes typed by phones and keyboards, replaced one for one.
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'", "´": "'", "ʼ": "'", "′": "'"})
# Letters that NFKD does not decompose.
_LIGATURES = {"œ": "oe", "æ": "ae", "ß": "ss", "ø": "o", "ł": "l", "đ": "d"}

# A word: letters/digits, with inner apostrophes or hyphens ("aujourd'hui", "beau-pere").
_WORD_RE = re.compile(r"[^\W_]+(?:['\-][^\W_]+)*")
_ELONGATION_RE = re.compile(r"([^\W\d_])\1{2,}")
_DIGIT_SPLIT_RE = re.compile(r"\d+|[^\W\d_]+")
# Ordinals stay glued to their number: 1er, 1ere, 2e, 2eme, 2nd, 3ieme.
_ORDINAL_RE = re.compile(r"^\d+(?:er|ere|e|eme|ieme|nd|nde)$")
# "j" + consonant at the start of a word is "je" in SMS French: jveux, jme, jsais, j'veux.
_J_CONSONANT_RE = re.compile(r"^j'?([bcdfgjklmnpqrstvwxz][a-z'\-]+)$")
_VOWELS = set("aeiouy")

# Zero-width joiner, variation selectors and skin tones: parts of emoji sequences.
_EMOJI_JOINERS = {"\u200d", "\ufe0e", "\ufe0f", "\u20e3"}


class LexiconError(ValueError):
    """A lexicon file line could not be read."""


def fold(text: str) -> str:
    """Lower-case `text` and remove accents ("Évry" -> "evry", "cœur" -> "coeur")."""
    out = []
    for char in text.lower():
        if char in _LIGATURES:
            out.append(_LIGATURES[char])
            continue
        decomposed = unicodedata.normalize("NFKD", char)
        out.append("".join(c for c in decomposed if not unicodedata.combining(c)))
    return "".join(out)


def collapse_elongations(word: str) -> str:
    """Collapse 3+ repeated letters: to one at the end of a word or for vowels ("ouiiii" ->
    "oui", "nonnnn" -> "non", "trooop" -> "trop"), to two for an inner consonant
    ("belllle" -> "belle"). Real double letters ("belle", "cool") are untouched."""

    def repl(match: "re.Match[str]") -> str:
        letter = match.group(1)
        at_end = match.end() == len(word)
        if at_end or letter in _VOWELS:
            return letter
        return letter * 2

    return _ELONGATION_RE.sub(repl, word)


def _is_emoji(char: str) -> bool:
    if char in _EMOJI_JOINERS:
        return True
    category = unicodedata.category(char)
    return category in ("So", "Sk", "Co", "Cs") or 0x1F000 <= ord(char) <= 0x1FAFF


def _emoji_key(text: str) -> str:
    return "".join(c for c in text if c not in _EMOJI_JOINERS and not 0x1F3FB <= ord(c) <= 0x1F3FF)


@dataclasses.dataclass
class Lexicon:
    """Rules of the normaliser. Keys are folded word tuples (or emoji strings)."""

    words: Dict[Tuple[str, ...], str] = dataclasses.field(default_factory=dict)
    start: Dict[Tuple[str, ...], str] = dataclasses.field(default_factory=dict)
    emoji: Dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def max_phrase(self) -> int:
        return max((len(k) for k in (*self.words, *self.start)), default=1)

    def merged(self, other: "Lexicon") -> "Lexicon":
        """A new lexicon with the rules of `other` added, `other` winning on conflicts."""
        return Lexicon(
            words={**self.words, **other.words},
            start={**self.start, **other.start},
            emoji={**self.emoji, **other.emoji},
        )

    @classmethod
    def parse(cls, text: str, source: str = "<lexicon>") -> "Lexicon":
        """Parse the lexicon file format (see engine/lexicon.txt)."""
        lexicon = cls()
        section: Optional[str] = None
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            where = f"{source}:{number}"
            if line.startswith("[") and line.endswith("]"):
                section = line[1:-1].strip().lower()
                if section not in SECTIONS:
                    raise LexiconError(
                        f"{where}: unknown section [{section}], expected one of "
                        + ", ".join(f"[{s}]" for s in SECTIONS)
                    )
                continue
            if section is None:
                raise LexiconError(f"{where}: rule before any [section] line: {line!r}")
            if "=" not in line:
                raise LexiconError(f"{where}: expected 'informal = plain', got {line!r}")
            key, _, value = line.partition("=")
            key, value = key.strip(), " ".join(fold(value).split())
            if not key:
                raise LexiconError(f"{where}: nothing before '=' in {line!r}")
            if section == "emoji":
                lexicon.emoji[_emoji_key(key)] = value
                continue
            words = tuple(fold(key).translate(_APOSTROPHES).split())
            target = lexicon.words if section == "words" else lexicon.start
            target[words] = value
        return lexicon

    @classmethod
    def from_files(cls, paths: Iterable[Union[str, Path]]) -> "Lexicon":
        lexicon = cls()
        for path in paths:
            text = Path(path).read_text(encoding="utf-8")
            lexicon = lexicon.merged(cls.parse(text, str(path)))
        return lexicon


def lexicon_paths(config: Dict[str, Any], root: Optional[Path] = None) -> List[Path]:
    """The lexicon files a Normaliser config names: `lexicon` (default: the shipped one), then
    `extra_lexicons`, later files winning; relative to `root` if given."""
    return named_files(config, "lexicon", "extra_lexicons", DEFAULT_LEXICON_PATH, root)


@functools.lru_cache(maxsize=1)
def default_lexicon() -> Lexicon:
    """The lexicon shipped in engine/lexicon.txt (read once)."""
    return Lexicon.from_files([DEFAULT_LEXICON_PATH])


@dataclasses.dataclass(frozen=True)
class Segment:
    """One piece of output and the span of original text it comes from."""

    orig_start: int
    orig_end: int
    out_start: int
    out_end: int


@dataclasses.dataclass
class Normalised:
    original: str
    text: str
    segments: List[Segment]

    def map_span(self, start: int, end: int) -> Optional[Tuple[int, int]]:
        """Map an original character span onto the normalised text (None if it vanished)."""
        covered = [s for s in self.segments if s.orig_end > start and s.orig_start < end]
        covered = [s for s in covered if s.out_end > s.out_start]
        if not covered:
            return None
        return covered[0].out_start, covered[-1].out_end


@dataclasses.dataclass
class _Token:
    kind: str  # "word", "emoji", "punct"
    start: int
    end: int
    text: str
    space_before: bool
    key: str = ""  # folded, elongation-collapsed form of a word


def _tokenise(text: str) -> List[_Token]:
    tokens: List[_Token] = []
    i, n = 0, len(text)
    space = False
    while i < n:
        char = text[i]
        if char.isspace():
            space = True
            i += 1
            continue
        match = _WORD_RE.match(text, i)
        if match:
            word = match.group()
            tokens.append(
                _Token("word", i, match.end(), word, space, collapse_elongations(fold(word)))
            )
            i = match.end()
        elif _is_emoji(char):
            j = i + 1
            # keep an emoji together with its joiners / modifiers / a joined emoji
            while j < n and (
                text[j] in _EMOJI_JOINERS
                or 0x1F3FB <= ord(text[j]) <= 0x1F3FF
                or (text[j - 1] == "\u200d" and _is_emoji(text[j]))
            ):
                j += 1
            tokens.append(_Token("emoji", i, j, text[i:j], space))
            i = j
        else:
            j = i + 1
            while j < n and text[j] == char:
                j += 1
            run = text[i:j]
            out = "..." if char == "." and len(run) >= 3 else char
            tokens.append(_Token("punct", i, j, out, space))
            i = j
        space = False
    return tokens


class _Builder:
    def __init__(self) -> None:
        self.parts: List[str] = []
        self.length = 0
        self.segments: List[Segment] = []
        self.last_kind = ""
        self.last_word = ""

    def emit(self, text: str, orig_start: int, orig_end: int, kind: str, space: bool) -> None:
        if not text:
            self.segments.append(Segment(orig_start, orig_end, self.length, self.length))
            return
        if self.parts and (space or (kind == "word" and self.last_kind == "word")):
            self.parts.append(" ")
            self.length += 1
        start = self.length
        self.parts.append(text)
        self.length += len(text)
        self.segments.append(Segment(orig_start, orig_end, start, self.length))
        self.last_kind = kind
        self.last_word = text if kind == "word" else ""


def _expand_word(key: str, lexicon: Lexicon) -> Optional[str]:
    """Replacement for a single word from the lexicon or the "j + consonant" rule."""
    if (key,) in lexicon.words:
        return lexicon.words[(key,)]
    match = _J_CONSONANT_RE.match(key)
    if match:
        rest = match.group(1)
        return "je " + lexicon.words.get((rest,), rest)
    return None


def normalise_with_alignment(text: str, lexicon: Optional[Lexicon] = None) -> Normalised:
    """Normalise `text` and keep track of where each output piece comes from."""
    lexicon = lexicon or default_lexicon()
    source = text.translate(_APOSTROPHES)
    tokens = _tokenise(source)
    out = _Builder()
    max_phrase = lexicon.max_phrase
    pending_space = False
    i = 0
    first_word = True
    while i < len(tokens):
        token = tokens[i]
        space = token.space_before or pending_space
        pending_space = False
        if token.kind == "emoji":
            word = lexicon.emoji.get(_emoji_key(token.text), "")
            if word and word != out.last_word:
                out.emit(word, token.start, token.end, "word", True)
            else:
                out.emit("", token.start, token.end, "emoji", False)
                pending_space = True
            i += 1
            continue
        if token.kind == "punct":
            out.emit(token.text, token.start, token.end, "punct", space)
            i += 1
            continue

        # Longest lexicon phrase starting here (words separated by spaces only).
        replaced = False
        for size in range(min(max_phrase, len(tokens) - i), 0, -1):
            window = tokens[i : i + size]
            if any(t.kind != "word" for t in window) or any(not t.space_before for t in window[1:]):
                continue
            key = tuple(t.key for t in window)
            value = None
            if first_word and key in lexicon.start:
                value = lexicon.start[key]
            elif key in lexicon.words:
                value = lexicon.words[key]
            if value is None:
                continue
            value = _keep_and_add(key, value, tokens[i + size :])
            out.emit(value, window[0].start, window[-1].end, "word", space)
            if not value:
                pending_space = True
            i += size
            replaced = True
            break
        if replaced:
            first_word = False
            continue

        # Words mixing letters and digits: "19ans" -> "19 ans"; "1er" and "59100" stay.
        if any(c.isdigit() for c in token.key) and not _ORDINAL_RE.match(token.key):
            offset = token.start
            for piece in _DIGIT_SPLIT_RE.finditer(token.text):
                piece_key = collapse_elongations(fold(piece.group()))
                if not piece.group()[0].isdigit():
                    piece_key = _expand_word(piece_key, lexicon) or piece_key
                out.emit(
                    piece_key,
                    offset + piece.start(),
                    offset + piece.end(),
                    "word",
                    space if piece.start() == 0 else True,
                )
            # inner apostrophes/hyphens between digit pieces are dropped on purpose
        else:
            value = _expand_word(token.key, lexicon)
            out.emit(
                value if value is not None else token.key, token.start, token.end, "word", space
            )
        first_word = False
        i += 1

    result = "".join(out.parts)
    return Normalised(original=text, text=result, segments=out.segments)


def _keep_and_add(key: Tuple[str, ...], value: str, following: Sequence[_Token]) -> str:
    """For "taf = taf travail": do not add "travail" again when it already follows."""
    kept = " ".join(key)
    if not value.startswith(kept + " "):
        return value
    added = value[len(kept) + 1 :].split()
    nxt = [t.key for t in following[: len(added)] if t.kind == "word"]
    if nxt == added:
        return kept
    return value


def normalise(text: str, lexicon: Optional[Lexicon] = None) -> str:
    """Normalised form of `text` (see module docstring)."""
    return normalise_with_alignment(text, lexicon).text
