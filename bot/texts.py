"""Texts the app says by itself (engine down, unknown commands…) and the crisis check."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from engine.crisis import default_patterns
from maraude.text import fold

__all__ = ["AppTexts", "CrisisKind", "fold"]

DEFAULT_FILE = Path(__file__).with_name("texts.yml")


@dataclass(frozen=True)
class CrisisKind:
    name: str
    patterns: tuple[re.Pattern[str], ...]
    text: str


@dataclass(frozen=True)
class AppTexts:
    engine_down: str
    unknown_command: str
    unsupported_content: str
    button_expired: str
    too_long: str
    handoff_claimed: str
    handoff_closed: str
    handoff_already: str
    crisis: tuple[CrisisKind, ...]

    @classmethod
    def load(cls, path: Path = DEFAULT_FILE) -> AppTexts:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        kinds = tuple(
            CrisisKind(name, tuple(re.compile(p) for p in spec["patterns"]), spec["text"].strip())
            for name, spec in data["crisis"].items()
        )
        return cls(
            engine_down=data["engine_down"].strip(),
            unknown_command=data["unknown_command"].strip(),
            unsupported_content=data["unsupported_content"].strip(),
            button_expired=data["button_expired"].strip(),
            too_long=data["too_long"].strip(),
            handoff_claimed=data["handoff_claimed"].strip(),
            handoff_closed=data["handoff_closed"].strip(),
            handoff_already=data["handoff_already"].strip(),
            crisis=kinds,
        )

    def crisis_kinds(self, text: str) -> list[CrisisKind]:
        """The crisis kinds a message signals, for the paths that do not go through the engine.

        A message relayed to a counsellor, or typed while the engine is down, is checked with
        the engine's own crisis guard (engine/crisis_patterns.txt, after the informal-French
        normaliser: the same recall as in a conversation with the bot) and with the extra
        patterns of texts.yml. Kinds come in the order of texts.yml (suicide first).
        """
        folded = f" {fold(text)} "
        guard = {m.intent.removeprefix("crisis_") for m in default_patterns().match(text)}
        return [
            k for k in self.crisis if k.name in guard or any(p.search(folded) for p in k.patterns)
        ]

    def without_engine(self, kinds: Sequence[CrisisKind]) -> list[str]:
        """What to say when the engine cannot: helplines for the crisis kinds the message
        signals (`crisis_kinds`), else a clear notice."""
        if kinds:
            return [k.text for k in kinds]
        return [self.engine_down]
