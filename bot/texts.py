"""Texts the app says by itself (engine down, unknown commands…) and the crisis check."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.text import fold
from core.yamlfile import read_yaml
from engine.crisis import CrisisPatterns, default_patterns, guard_patterns
from engine.normalise import Lexicon, lexicon_paths

__all__ = ["AppTexts", "CrisisKind", "fold"]

DEFAULT_FILE = Path(__file__).with_name("texts.yml")
NORMALISER = "engine.components.Normaliser"
CRISIS_GUARD = "engine.components.CrisisGuard"


def engine_crisis_check(config: Path | None) -> tuple[CrisisPatterns, Lexicon | None]:
    """The crisis patterns and lexicon the engine's config.yml sets up, for the app's own check.

    The same files as the engine's `CrisisGuard` (`patterns`, `extra_patterns`, `priority`) and
    `Normaliser` (`lexicon`, `extra_lexicons`), relative to the project root (the engine's
    working directory, `config`'s folder). Without a config.yml, or without those keys in it,
    the shipped files, as in the engine. A `None` lexicon means the shipped one (cached by
    `engine.normalise`). A named file that is missing fails at start, as it fails the engine.
    """
    steps: list[Any] = []
    if config is not None and config.is_file():
        steps = (read_yaml(config) or {}).get("pipeline") or []
    by_name = {s.get("name"): s for s in steps if isinstance(s, dict)}
    root = config.parent if config is not None else None
    guard, words = by_name.get(CRISIS_GUARD) or {}, by_name.get(NORMALISER) or {}
    patterns = guard_patterns(guard, root)
    lexicon = None
    if words.get("lexicon") or words.get("extra_lexicons"):
        lexicon = Lexicon.from_files(lexicon_paths(words, root))
    return patterns, lexicon


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
    # The engine's crisis guard and lexicon (engine_crisis_check), for crisis_kinds.
    guard: CrisisPatterns = field(default_factory=default_patterns)
    lexicon: Lexicon | None = None
    slow_down: str = "Doucement, attends ma réponse."  # a flood (bot/flood.py)
    # Held messages (bot/held.py): over the cap (not kept), and before replayed answers.
    engine_down_full: str = "Toujours en panne, je n'ai pas pu garder ce message."
    replay_lead_in: str = "Me revoilà !"
    # /oubli handled by the app itself (engine down): confirm, accept, keep, done, cancelled,
    # failed.
    erasure: dict[str, str] = field(default_factory=dict)
    # Appointments (handoff/appointments/wording.py): proposal, answers, reminders...
    appointments: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path = DEFAULT_FILE, engine_config: Path | None = None) -> AppTexts:
        """texts.yml, with the crisis guard set up as `engine_config` (config.yml) sets it."""
        guard, lexicon = engine_crisis_check(engine_config)
        data = read_yaml(path)
        kinds = tuple(
            CrisisKind(
                name,
                tuple(re.compile(p) for p in spec.get("patterns") or ()),
                spec["text"].strip(),
            )
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
            guard=guard,
            lexicon=lexicon,
            slow_down=data["slow_down"].strip(),
            engine_down_full=data["engine_down_full"].strip(),
            replay_lead_in=data["replay_lead_in"].strip(),
            erasure={key: str(value).strip() for key, value in data["erasure"].items()},
            appointments={
                key: str(value).strip() for key, value in (data.get("appointments") or {}).items()
            },
        )

    def crisis_kinds(self, text: str) -> list[CrisisKind]:
        """The crisis kinds a message signals, for the paths that do not go through the engine.

        A message relayed to a counsellor, or typed while the engine is down, is checked with
        the engine's own crisis guard (engine/crisis_patterns.txt and config.yml's extra
        patterns, after the informal-French normaliser and its lexicon: the same recall as in a
        conversation with the bot) and with the extra patterns of texts.yml. Kinds come in the
        guard's priority order, as in the engine (config.yml's `priority`; by default suicide,
        violence, shelter), then the other kinds of texts.yml in their order: the first one is
        the kind of the urgent ticket.
        """
        folded = f" {fold(text)} "
        matches = self.guard.match(text, self.lexicon)
        guard = {m.intent.removeprefix("crisis_") for m in matches}
        found = [
            k for k in self.crisis if k.name in guard or any(p.search(folded) for p in k.patterns)
        ]
        rank = {intent.removeprefix("crisis_"): i for i, intent in enumerate(self.guard.priority)}
        return sorted(found, key=lambda k: rank.get(k.name, len(rank)))

    def without_engine(self, kinds: Sequence[CrisisKind]) -> list[str]:
        """What to say when the engine cannot: helplines for the crisis kinds the message
        signals (`crisis_kinds`), else a clear notice."""
        if kinds:
            return [k.text for k in kinds]
        return [self.engine_down]
