"""Wording experiments: which variant of a domain response a bot message is.

A response becomes an experiment when its variations carry an `id` (a key Rasa 3.6's domain
schema accepts on every response variation, and ignores when it picks one at random):

    utter_offer_counsellor:
      - id: question_directe
        text: "Tu veux qu'un·e conseiller·e te recontacte ?"
      - id: sans_pression
        text: "Si tu veux, un·e conseiller·e peut te recontacter. Ça te va ?"

The engine's REST output does not say which variation it picked, so the app recognises it from
the text: each template becomes a regular expression (`{slot}` placeholders match anything,
runs of whitespace match any whitespace). Every variation of the domain is compiled, with and
without an id, so that a message of another response is never taken for a variant; a message
is attributed to the most specific template it matches (the one with the most fixed words).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from core.clock import Clock, SystemClock
from core.yamlfile import read_yaml

log = logging.getLogger(__name__)

# The placeholder syntax of Rasa's interpolator (rasa/core/nlg/interpolator.py).
PLACEHOLDER_RE = re.compile(r"\{([^\n{}]+?)\}")
# Variant ids are stored in response_exposure.variant (String(32)), response names in String(64).
VARIANT_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
MAX_RESPONSE_NAME = 64


@dataclass(frozen=True)
class Variant:
    """One variation of a response that carries an id."""

    response: str  # e.g. utter_offer_counsellor
    variant: str  # the variation's id, e.g. question_directe
    text: str  # the template, placeholders included


@dataclass(frozen=True)
class _Template:
    response: str
    variant: str | None  # None: a variation that is not part of an experiment
    text: str
    fixed: int  # how many non-space characters are not placeholders (specificity)


def template_pattern(template: str) -> str:
    """A regular expression (without anchors) for the texts a template can produce."""
    parts: list[str] = []
    for index, piece in enumerate(PLACEHOLDER_RE.split(template.strip())):
        if index % 2:  # a placeholder: any text, possibly empty or on several lines
            parts.append(r"(?:.*?)")
        else:
            words = piece.split()
            literal = r"\s+".join(re.escape(word) for word in words)
            if piece[:1].isspace() and index > 0:
                literal = r"\s*" + literal if words else r"\s*"
            if piece[-1:].isspace() and words:
                literal += r"\s*"
            parts.append(literal)
    return "".join(parts)


def _fixed_chars(template: str) -> int:
    return sum(len(piece) for piece in PLACEHOLDER_RE.sub(" ", template).split())


class VariantCatalog:
    """The responses with variant ids, and a fast matcher from bot message to variant."""

    def __init__(
        self,
        responses: Mapping[str, Iterable[Mapping[str, Any]]],
        *,
        source: str = "domain",
    ) -> None:
        problems: list[str] = []
        templates: list[_Template] = []
        variants: list[Variant] = []
        for name, variations in responses.items():
            found, errors = _read_response(name, list(variations or []))
            if errors:  # the response is still compiled, as a guard, but not as an experiment
                problems.extend(f"{source}: {name}: {error}" for error in errors)
                found = [_Template(t.response, None, t.text, t.fixed) for t in found]
            templates.extend(found)
            variants.extend(Variant(t.response, t.variant, t.text) for t in found if t.variant)
        self.variants: tuple[Variant, ...] = tuple(variants)
        self.problems: tuple[str, ...] = tuple(problems)
        # Most specific first: a regex alternation takes the first alternative that matches.
        templates.sort(key=lambda t: -t.fixed)
        self._targets: list[Variant | None] = []
        alternatives: list[str] = []
        if variants:  # nothing to recognise: match() answers None at once
            for index, template in enumerate(templates):
                alternatives.append(f"(?P<t{index}>{template_pattern(template.text)})")
                self._targets.append(
                    Variant(template.response, template.variant, template.text)
                    if template.variant
                    else None
                )
        self._regex = re.compile("|".join(alternatives), re.DOTALL) if alternatives else None

    @classmethod
    def load(cls, domain: Path | str) -> VariantCatalog:
        """Read the responses of a domain: a directory of YAML files (domain/) or one file."""
        responses: dict[str, list[Mapping[str, Any]]] = {}
        problems: list[str] = []
        for path in domain_files(Path(domain)):
            data = read_yaml(path) or {}
            section = data.get("responses") if isinstance(data, dict) else None
            if not isinstance(section, dict):
                continue
            for name, variations in section.items():
                if name in responses:
                    problems.append(f"{path.name}: {name}: response defined twice")
                responses[str(name)] = variations if isinstance(variations, list) else []
        catalog = cls(responses, source=str(domain))
        if problems:
            catalog.problems = (*catalog.problems, *problems)
        return catalog

    def current(self) -> VariantCatalog:
        """The catalog itself (a `DomainVariants` answers its latest one)."""
        return self

    def __len__(self) -> int:
        return len(self.variants)

    def __bool__(self) -> bool:
        return bool(self.variants)

    @property
    def experiments(self) -> dict[str, list[str]]:
        """Response name -> its variant ids, in domain order."""
        found: dict[str, list[str]] = {}
        for variant in self.variants:
            found.setdefault(variant.response, []).append(variant.variant)
        return found

    def match(self, text: str) -> Variant | None:
        """The variant a bot message is, or None (not an experiment, or not recognised)."""
        if self._regex is None or not text:
            return None
        found = self._regex.fullmatch(text.strip())
        if found is None or found.lastgroup is None:
            return None
        return self._targets[int(found.lastgroup[1:])]


def _read_response(name: str, variations: list[Any]) -> tuple[list[_Template], list[str]]:
    """The templates of one response, and what is wrong with its ids (if any)."""
    templates: list[_Template] = []
    errors: list[str] = []
    ids: list[str] = []
    for position, variation in enumerate(variations, start=1):
        if not isinstance(variation, Mapping):
            continue
        text = variation.get("text")
        raw_id = variation.get("id")
        variant = None if raw_id is None else str(raw_id)
        if variant is not None:
            ids.append(variant)
            if not VARIANT_ID_RE.match(variant):
                errors.append(
                    f"variation {position}: id {variant!r} must be 1-32 letters, digits, - or _"
                )
        if not isinstance(text, str) or not text.strip():
            if variant is not None:
                errors.append(f"variation {position} (id {variant}) has no text to recognise")
            continue
        fixed = _fixed_chars(text)
        if variant is not None and fixed == 0:
            errors.append(f"variation {position} (id {variant}) is only placeholders")
        templates.append(_Template(name, variant, text, fixed))
    if ids:
        if len(name) > MAX_RESPONSE_NAME:
            errors.append(f"response name longer than {MAX_RESPONSE_NAME} characters")
        duplicates = sorted({v for v in ids if ids.count(v) > 1})
        if duplicates:
            errors.append(f"duplicate variant ids: {', '.join(duplicates)}")
        patterns = [template_pattern(t.text) for t in templates]
        if len(set(patterns)) < len(patterns):
            errors.append("two variations have the same text: they cannot be told apart")
        if len(ids) < len(variations):
            errors.append("some variations have an id and others not: give each one an id")
    return templates, errors


def domain_files(domain: Path) -> list[Path]:
    """The YAML files of a domain, as Rasa reads them (a directory is read recursively)."""
    if domain.is_file():
        return [domain]
    if not domain.is_dir():
        raise FileNotFoundError(f"no domain at {domain}")
    return sorted(p for p in domain.rglob("*") if p.suffix in (".yml", ".yaml") and p.is_file())


class DomainVariants:
    """The catalog of a domain on disk, reloaded when its files change (checked at most every
    `every` seconds), so that a manager's new experiment is seen without restarting the app."""

    def __init__(
        self, domain: Path | str, *, clock: Clock | None = None, every: float = 30.0
    ) -> None:
        self.domain = Path(domain)
        self._clock = clock or SystemClock()
        self._every = every
        self._checked_at: float | None = None
        self._stamp: tuple[tuple[str, int, int], ...] = ()
        self._catalog = VariantCatalog({})
        self.current()

    def _files_stamp(self) -> tuple[tuple[str, int, int], ...]:
        stamps = []
        for path in domain_files(self.domain):
            stat = path.stat()
            stamps.append((str(path), stat.st_mtime_ns, stat.st_size))
        return tuple(stamps)

    def current(self) -> VariantCatalog:
        now = self._clock.now().timestamp()
        if self._checked_at is not None and now - self._checked_at < self._every:
            return self._catalog
        self._checked_at = now
        try:
            stamp = self._files_stamp()
            if stamp != self._stamp:
                catalog = VariantCatalog.load(self.domain)
                for problem in catalog.problems:
                    log.warning("wording experiments: %s", problem)
                self._catalog, self._stamp = catalog, stamp
        except (OSError, yaml.YAMLError) as exc:  # keep the last good catalog
            log.warning("wording experiments: cannot read %s: %s", self.domain, exc)
        return self._catalog
