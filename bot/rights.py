"""The young person's data rights in the chat, for every channel, engine up or down.

- `/mesdonnees` (access and portability, RGPD art. 15 and 20): a short message and two files,
  the readable copy and the JSON copy of everything kept about them (core/export.py). Telegram
  sends them as documents, the simulator offers them as downloads.
- `/corriger` (rectification, art. 16): shows the summary of their open hand-off and sends
  what they write next as a correction for the counsellor (handoff/corrections.py, plugged in
  by the composition root: the bot layer only declares the `Corrections` protocol).
  `/corriger <texte>` does it in one message. The next typed message is taken as the
  correction for PENDING_TTL, unless it is a crisis message (it goes the usual way and gets
  the helplines) or another command. The wait is kept in this process's memory: with several
  app workers, the one-message form is the one that never misses.

The pipeline (bot/pipeline.py) asks this module first; its texts are the `rights:` section of
bot/texts.yml.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from bot.messages import Button, Document, Reply
from core.clock import Clock, SystemClock
from core.export import ExportService
from core.people import PersonRef
from core.yamlfile import read_yaml

log = logging.getLogger(__name__)

DEFAULT_FILE = Path(__file__).with_name("texts.yml")
EXPORT = "mesdonnees"
CORRECT = "corriger"
KEEP = "corriger_annuler"  # the "Laisser comme ça" button
NAMES = frozenset({EXPORT, CORRECT, KEEP})
PENDING_TTL = timedelta(minutes=30)
MAX_PENDING = 10_000  # waits kept at most (expired ones are dropped first)


class Corrections(Protocol):
    """What /corriger needs of the counsellors' side (handoff/corrections.py)."""

    async def open_summary(self, pseudo_id: str) -> str | None:
        """The summary of the person's open hand-off, None without one."""

    async def correct(self, pseudo_id: str, text: str) -> bool:
        """Put the correction on the open hand-off; False without one."""


@dataclass(frozen=True)
class RightsTexts:
    export_intro: str
    export_failed: str
    correct_none: str
    correct_ask: str
    correct_keep: str
    correct_done: str
    correct_kept: str
    correct_failed: str

    @classmethod
    def load(cls, path: Path = DEFAULT_FILE) -> RightsTexts:
        data = (read_yaml(path) or {})["rights"]
        return cls(**{name: str(data[name]).strip() for name in cls.__dataclass_fields__})


class DataRights:
    def __init__(
        self,
        exporter: ExportService,
        corrections: Corrections | None,
        texts: RightsTexts,
        clock: Clock | None = None,
    ) -> None:
        self.exporter = exporter
        self.corrections = corrections
        self.texts = texts
        self._clock = clock or SystemClock()
        self._pending: dict[str, datetime] = {}

    def handles(self, command: str) -> bool:
        return command.lower() in NAMES

    # Commands ------------------------------------------------------------------------------
    async def command(self, key: str, person: PersonRef, name: str, rest: str) -> list[Reply]:
        """`/mesdonnees`, `/corriger [texte]`, or the "Laisser comme ça" button; `key` says
        which conversation (channel and address) a correction is awaited in."""
        name = name.lower()
        self._pending.pop(key, None)
        if name == EXPORT:
            return await self.export(person)
        if name == KEEP:
            return [Reply(self.texts.correct_kept)]
        if rest.strip():
            return await self._correct(person, rest)
        summary = await self._summary(person)
        if summary is None:
            return [Reply(self.texts.correct_none)]
        self._wait(key)
        return [
            Reply(
                self.texts.correct_ask.format(summary=summary or "•"),
                (Button(self.texts.correct_keep, f"/{KEEP}"),),
            )
        ]

    async def export(self, person: PersonRef) -> list[Reply]:
        try:
            data = await asyncio.to_thread(self.exporter.export, person.pseudo_id)
        except Exception:
            log.exception("data export of %s failed", person.pseudo_id)
            data = None
        if data is None:
            return [Reply(self.texts.export_failed)]
        documents = (
            Document(data.filename("txt"), data.as_text(), "text/plain"),
            Document(data.filename("json"), data.as_json(), "application/json"),
        )
        return [Reply(self.texts.export_intro, documents=documents)]

    # A correction typed after /corriger ----------------------------------------------------
    def awaiting(self, key: str) -> bool:
        until = self._pending.get(key)
        if until is None:
            return False
        if until <= self._clock.now():
            del self._pending[key]
            return False
        return True

    def cancel(self, key: str) -> None:
        self._pending.pop(key, None)

    async def take_correction(self, key: str, person: PersonRef, text: str) -> list[Reply]:
        self._pending.pop(key, None)
        return await self._correct(person, text)

    # Internals -----------------------------------------------------------------------------
    async def _correct(self, person: PersonRef, text: str) -> list[Reply]:
        if self.corrections is None:
            return [Reply(self.texts.correct_none)]
        try:
            stored = await self.corrections.correct(person.pseudo_id, text)
        except Exception:
            log.exception("correction of %s not stored", person.pseudo_id)
            return [Reply(self.texts.correct_failed)]
        return [Reply(self.texts.correct_done if stored else self.texts.correct_none)]

    async def _summary(self, person: PersonRef) -> str | None:
        if self.corrections is None:
            return None
        try:
            return await self.corrections.open_summary(person.pseudo_id)
        except Exception:
            log.exception("summary of %s not read", person.pseudo_id)
            return None

    def _wait(self, key: str) -> None:
        now = self._clock.now()
        if len(self._pending) >= MAX_PENDING:
            self._prune(lambda until: until <= now)
            if len(self._pending) >= MAX_PENDING:
                self._pending.pop(next(iter(self._pending)))
        self._pending[key] = now + PENDING_TTL

    def _prune(self, expired: Callable[[datetime], bool]) -> None:
        for key in [k for k, until in self._pending.items() if expired(until)]:
            del self._pending[key]
