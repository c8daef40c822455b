"""High-recall crisis patterns (standard library only, no rasa import).

The patterns live in a data file (`engine/crisis_patterns.txt`, format described at its top)
and are searched in the *normalised* text (see `engine.normalise`). `CrisisPatterns.match`
returns the crisis intents whose patterns match, highest priority first, after blanking out
the harmless phrasings listed under `[exceptions]`.
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
_MASK = " | "


class CrisisPatternError(ValueError):
    """A crisis pattern file could not be read."""


@dataclasses.dataclass(frozen=True)
class CrisisMatch:
    intent: str
    pattern: str
    matched_text: str


@dataclasses.dataclass
class CrisisPatterns:
    patterns: Dict[str, List["re.Pattern[str]"]]
    exceptions: List["re.Pattern[str]"]
    priority: Tuple[str, ...] = DEFAULT_PRIORITY

    @classmethod
    def parse(
        cls,
        text: str,
        source: str = "<crisis patterns>",
        priority: Sequence[str] = DEFAULT_PRIORITY,
    ) -> "CrisisPatterns":
        patterns: Dict[str, List["re.Pattern[str]"]] = {}
        exceptions: List["re.Pattern[str]"] = []
        section: Optional[str] = None
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            where = f"{source}:{number}"
            if line.startswith("[") and line.endswith("]") and "\\" not in line:
                section = line[1:-1].strip()
                if section != EXCEPTIONS:
                    patterns.setdefault(section, [])
                continue
            if section is None:
                raise CrisisPatternError(f"{where}: pattern before any [intent] line")
            try:
                compiled = re.compile(line)
            except re.error as error:
                raise CrisisPatternError(f"{where}: invalid regex {line!r}: {error}") from None
            if section == EXCEPTIONS:
                exceptions.append(compiled)
            else:
                patterns[section].append(compiled)
        order = [p for p in priority if p in patterns] + [p for p in patterns if p not in priority]
        return cls(patterns=patterns, exceptions=exceptions, priority=tuple(order))

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
            merged.exceptions.extend(part.exceptions)
        merged.priority = tuple(
            [p for p in priority if p in merged.patterns]
            + [p for p in merged.patterns if p not in priority]
        )
        return merged

    def mask_exceptions(self, text: str) -> str:
        for regex in self.exceptions:
            text = regex.sub(_MASK, text)
        return text

    def match(
        self, text: str, lexicon: Optional[Lexicon] = None, already_normalised: bool = False
    ) -> List[CrisisMatch]:
        """Crisis intents matching `text`, highest priority first (one match per intent)."""
        if not already_normalised:
            text = normalise(text, lexicon)
        masked = self.mask_exceptions(text)
        found: List[CrisisMatch] = []
        for intent in self.priority:
            for regex in self.patterns.get(intent, []):
                hit = regex.search(masked)
                if hit:
                    found.append(CrisisMatch(intent, regex.pattern, hit.group()))
                    break
        return found


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
