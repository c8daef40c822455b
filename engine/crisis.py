"""High-recall crisis patterns (standard library only, no rasa import).

The patterns live in a data file (`engine/crisis_patterns.txt`, format described at its top)
and are searched in the *normalised* text (see `engine.normalise`). `CrisisPatterns.match`
returns the crisis intents whose patterns match, highest priority first, after blanking out
the harmless phrasings listed under `[exceptions]`.

`[danger <intent>]` sections list worrying words that are not a clear crisis ("je me sens vide",
"j'ai peur de lui"): `CrisisPatterns.danger_match` returns the intents they point to, for the
MEDIUM risk tier (the bot asks once whether the person is safe). `match` ignores them; a caller
checks `match` first and asks `danger_match` only when it found nothing.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

from engine.files import named_files
from engine.normalise import Lexicon, normalise

DEFAULT_PATTERNS_PATH = Path(__file__).with_name("crisis_patterns.txt")
DEFAULT_PRIORITY = ("crisis_suicide", "crisis_violence", "crisis_shelter")
EXCEPTIONS = "exceptions"
DANGER = "danger"
_MASK = " | "


class CrisisPatternError(ValueError):
    """A crisis pattern file could not be read."""


@dataclasses.dataclass(frozen=True)
class CrisisMatch:
    intent: str
    pattern: str
    matched_text: str


def _danger_intent(section: str, where: str) -> Optional[str]:
    """The intent of a `[danger <intent>]` header, None for any other header."""
    words = section.split()
    if not words or words[0] != DANGER:
        return None
    if len(words) != 2:
        raise CrisisPatternError(
            f"{where}: expected [{DANGER} <intent>] (e.g. [{DANGER} crisis_suicide]), "
            f"got [{section}]"
        )
    return words[1]


def _order(
    priority: Sequence[str], patterns: Dict[str, Any], danger: Dict[str, Any]
) -> Tuple[str, ...]:
    """Every intent the files name, crisis or danger words: `priority` first, then the others in
    the order they appear (crisis intents, then intents with danger words only)."""
    named = list(patterns) + [i for i in danger if i not in patterns]
    return tuple([p for p in priority if p in named] + [p for p in named if p not in priority])


@dataclasses.dataclass
class CrisisPatterns:
    patterns: Dict[str, List["re.Pattern[str]"]]
    exceptions: List["re.Pattern[str]"]
    priority: Tuple[str, ...] = DEFAULT_PRIORITY
    # `[danger <intent>]` sections: worrying words that are not a clear crisis (danger_match)
    danger: Dict[str, List["re.Pattern[str]"]] = dataclasses.field(default_factory=dict)
    # the last message masked (_masked): (text, lexicon, already_normalised, masked text)
    _last: Optional[Tuple[str, Optional[Lexicon], bool, str]] = dataclasses.field(
        default=None, init=False, repr=False, compare=False
    )

    @classmethod
    def parse(
        cls,
        text: str,
        source: str = "<crisis patterns>",
        priority: Sequence[str] = DEFAULT_PRIORITY,
    ) -> "CrisisPatterns":
        patterns: Dict[str, List["re.Pattern[str]"]] = {}
        exceptions: List["re.Pattern[str]"] = []
        danger: Dict[str, List["re.Pattern[str]"]] = {}
        target: Optional[List["re.Pattern[str]"]] = None
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            where = f"{source}:{number}"
            if line.startswith("[") and line.endswith("]") and "\\" not in line:
                section = " ".join(line[1:-1].split())
                danger_intent = _danger_intent(section, where)
                if section == EXCEPTIONS:
                    target = exceptions
                elif danger_intent is not None:
                    target = danger.setdefault(danger_intent, [])
                else:
                    target = patterns.setdefault(section, [])
                continue
            if target is None:
                raise CrisisPatternError(f"{where}: pattern before any [intent] line")
            try:
                compiled = re.compile(line)
            except re.error as error:
                raise CrisisPatternError(f"{where}: invalid regex {line!r}: {error}") from None
            target.append(compiled)
        return cls(
            patterns=patterns,
            exceptions=exceptions,
            priority=_order(priority, patterns, danger),
            danger=danger,
        )

    @classmethod
    def from_files(
        cls, paths: Iterable[Union[str, Path]], priority: Sequence[str] = DEFAULT_PRIORITY
    ) -> "CrisisPatterns":
        paths = list(paths)
        merged = cls(patterns={}, exceptions=[], priority=tuple(priority))
        for path in paths:
            part = cls.parse(Path(path).read_text(encoding="utf-8"), str(path), priority)
            for intent, regexes in part.patterns.items():
                merged.patterns.setdefault(intent, []).extend(regexes)
            for intent, regexes in part.danger.items():
                merged.danger.setdefault(intent, []).extend(regexes)
            merged.exceptions.extend(part.exceptions)
        merged.priority = _order(priority, merged.patterns, merged.danger)
        return merged

    def mask_exceptions(self, text: str) -> str:
        for regex in self.exceptions:
            text = regex.sub(_MASK, text)
        return text

    def _masked(self, text: str, lexicon: Optional[Lexicon], already_normalised: bool) -> str:
        """`text` normalised and with its exceptions blanked out. The last result is kept, so
        that `danger_match` right after `match` on the same message costs no second pass
        (the patterns are not meant to change once loaded)."""
        last = self._last
        if (
            last is not None
            and last[0] == text
            and last[1] is lexicon
            and last[2] == already_normalised
        ):
            return last[3]
        normalised = text if already_normalised else normalise(text, lexicon)
        masked = self.mask_exceptions(normalised)
        self._last = (text, lexicon, already_normalised, masked)
        return masked

    @staticmethod
    def _search(
        masked: str, sections: Dict[str, List["re.Pattern[str]"]], order: Iterable[str]
    ) -> List[CrisisMatch]:
        found: List[CrisisMatch] = []
        for intent in order:
            for regex in sections.get(intent, []):
                hit = regex.search(masked)
                if hit:
                    found.append(CrisisMatch(intent, regex.pattern, hit.group()))
                    break
        return found

    def match(
        self, text: str, lexicon: Optional[Lexicon] = None, already_normalised: bool = False
    ) -> List[CrisisMatch]:
        """Crisis intents matching `text`, highest priority first (one match per intent)."""
        masked = self._masked(text, lexicon, already_normalised)
        return self._search(masked, self.patterns, self.priority)

    def danger_match(
        self, text: str, lexicon: Optional[Lexicon] = None, already_normalised: bool = False
    ) -> List[CrisisMatch]:
        """Intents whose `[danger <intent>]` words appear in `text` (normalised, exceptions
        blanked out), in `priority` order (intents absent from it last), one match per intent.

        Worrying but not clear: the MEDIUM tier. It does not look at the crisis patterns: the
        caller checks `match` first (a crisis match wins)."""
        order = [i for i in self.priority if i in self.danger]
        order += [i for i in self.danger if i not in self.priority]
        masked = self._masked(text, lexicon, already_normalised)
        return self._search(masked, self.danger, order)


def pattern_paths(config: Dict[str, Any], root: Optional[Path] = None) -> List[Path]:
    """The pattern files a CrisisGuard config names: `patterns` (default: the shipped one), then
    `extra_patterns`, relative to `root` if given."""
    return named_files(config, "patterns", "extra_patterns", DEFAULT_PATTERNS_PATH, root)


def guard_patterns(config: Dict[str, Any], root: Optional[Path] = None) -> CrisisPatterns:
    """The patterns a CrisisGuard config sets up: its files (`pattern_paths`) and its
    `priority`. The engine's guard and the app's own crisis check both build them here."""
    return CrisisPatterns.from_files(
        pattern_paths(config, root), config.get("priority") or DEFAULT_PRIORITY
    )


@functools.lru_cache(maxsize=1)
def default_patterns() -> CrisisPatterns:
    """The patterns shipped in engine/crisis_patterns.txt (read once)."""
    return CrisisPatterns.from_files([DEFAULT_PATTERNS_PATH])
