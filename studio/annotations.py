"""`maraude annotate export`: the manager's annotations of misunderstood messages, as Rasa NLU
training data (nlu_data/nlu/annotations.yml by default).

Each annotated message becomes an example of its intent (`out_of_scope` included), after:
- masking personal data: phone numbers (French formats) keep their shape with zeroed digits
  ("06 12 34 56 78" -> "06 00 00 00 00"), e-mail addresses become "alex@example.com", and the
  person names spaCy finds (fr_core_news_md, PER entities, run in the engine env by
  studio/mask_names.py) become a stand-in first name. The stand-ins are real, epicene French
  first names (Alex, Sam, Camille, Charlie, Lou, Noa): the example stays natural text for the
  tokenizer and spaCy features, agreement around the name stays right whatever the gender, and
  several names (picked by a hash of the original, so one name always gets the same stand-in)
  keep any single name from becoming a cue for an intent. A span spaCy calls a person but
  whose words all occur in the training examples ("jsp", "tkt") is not a name, and stays;
  an example that is nothing but masked data once masked (a name alone, or nonsense spaCy
  took whole for a name) is dropped. spaCy misses many names in SMS-style French ("Salut
  Karim ca va"): the file is for a manager to read before training, not a guarantee;
- de-duplication: an example whose folded form (case, accents, punctuation, spaces) is already
  in nlu_data/ (any intent; under another intent it is reported as a conflict), in the
  annotations file, or earlier in the same export is skipped.
The file is merged with what it already holds and rewritten whole; the exported rows (written
or skipped) are marked exported so they are not exported twice.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import unicodedata
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from core.text import fold
from core.yamlfile import read_yaml
from studio.insights import InsightsService

DEFAULT_OUT = Path("nlu_data") / "nlu" / "annotations.yml"
NAME_STAND_INS = ("Alex", "Sam", "Camille", "Charlie", "Lou", "Noa")
EMAIL_STAND_IN = "alex@example.com"
SPACY_MODEL = "fr_core_news_md"
MASK_SCRIPT = Path(__file__).resolve().with_name("mask_names.py")
STAND_IN_WORDS = {fold(name) for name in NAME_STAND_INS} | set(fold(EMAIL_STAND_IN).split())
HEADER = (
    "# Messages the bot did not understand, annotated by managers in the dashboard\n"
    "# (« Messages incompris ») and exported by `maraude annotate export`. Phone numbers,\n"
    "# e-mails and first names are masked. You may edit, move or delete examples by hand.\n"
)

PHONE_RE = re.compile(
    r"(?<![\d+])(?P<prefix>(?:\+|00)\s?33[\s.\-]?(?:\(0\)[\s.\-]?)?|0)(?P<first>[1-9])"
    r"(?P<rest>(?:[\s.\-]?\d{2}){4})(?!\d)"
)
EMAIL_RE = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+", re.UNICODE)
ENTITY_MARKUP_RE = re.compile(r"\[([^\]]+?)\](?:\([^)]*\)|\{[^}]*\}|\[[^\]]*\])")

Span = tuple[int, int]
NameFinder = Callable[[Sequence[str]], list[list[Span]]]


class AnnotationExportError(Exception):
    """The export could not run (engine env missing, spaCy failed); the message says why."""


# Masking -----------------------------------------------------------------------------------
def mask_contacts(text: str) -> tuple[str, int]:
    """Phone numbers and e-mail addresses masked; returns the text and how many were masked."""
    count = 0

    def phone(match: re.Match[str]) -> str:
        nonlocal count
        count += 1
        return match["prefix"] + match["first"] + re.sub(r"\d", "0", match["rest"])

    def email(_match: re.Match[str]) -> str:
        nonlocal count
        count += 1
        return EMAIL_STAND_IN

    text = EMAIL_RE.sub(email, text)  # first: an address may hold digits
    return PHONE_RE.sub(phone, text), count


def stand_in(name: str) -> str:
    return NAME_STAND_INS[zlib.crc32(fold(name).encode()) % len(NAME_STAND_INS)]


def mask_names(text: str, spans: Sequence[Span], vocabulary: set[str]) -> tuple[str, int]:
    """Replace the name spans (right to left) by stand-ins, except spans made of known words."""
    count = 0
    for start, end in sorted(spans, reverse=True):
        if not (0 <= start < end <= len(text)):
            continue
        name = text[start:end]
        words = fold(name).split()
        if not words or all(word in vocabulary for word in words):
            continue
        if EMAIL_STAND_IN in name or any(c.isdigit() for c in name):
            continue  # already masked contact details, not a name
        text = text[:start] + stand_in(name) + text[end:]
        count += 1
    return text, count


def spacy_names(root: Path, model: str = SPACY_MODEL) -> NameFinder:
    """Person-name spans found by spaCy in the engine env (`.venv-rasa`), in a subprocess."""
    python = root / ".venv-rasa" / "bin" / "python"

    def find(texts: Sequence[str]) -> list[list[Span]]:
        if not texts:
            return []
        if not python.exists():
            raise AnnotationExportError(
                f"Environnement du moteur introuvable ({python.parent.parent}) : il faut spaCy "
                "pour masquer les prénoms. Lance `make install`, puis recommence."
            )
        env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONHOME")}
        env["PYTHONWARNINGS"] = "ignore"
        try:
            done = subprocess.run(
                [str(python), "-I", str(MASK_SCRIPT)],
                input=json.dumps({"texts": list(texts), "model": model}),
                capture_output=True,
                text=True,
                timeout=900,
                env=env,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise AnnotationExportError(
                f"Le masquage des prénoms (spaCy) a échoué : {exc}"
            ) from exc
        if done.returncode != 0:
            tail = "\n".join(done.stderr.strip().splitlines()[-8:])
            raise AnnotationExportError(
                f"Le masquage des prénoms (spaCy, {model}) a échoué (code {done.returncode}) :\n"
                + tail
            )
        spans = json.loads(done.stdout)["spans"]
        if len(spans) != len(texts):
            raise AnnotationExportError("Le masquage des prénoms a rendu un résultat incomplet.")
        return [[(int(a), int(b)) for a, b in item] for item in spans]

    return find


# Training data -----------------------------------------------------------------------------
def clean_example(text: str) -> str:
    """One line of valid training text: no control characters, no entity markup brackets."""
    text = "".join(" " if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c for c in text)
    text = text.replace("[", "(").replace("]", ")")
    return re.sub(r"\s+", " ", text).strip()


def strip_markup(example: str) -> str:
    """`[19](age)` -> `19`: the text of a Rasa training example."""
    return ENTITY_MARKUP_RE.sub(r"\1", example)


def read_examples(path: Path) -> dict[str, list[str]]:
    """The examples per intent of one Rasa NLU YAML file (markup kept), in file order."""
    data = read_yaml(path) or {}
    result: dict[str, list[str]] = {}
    if not isinstance(data, dict):
        return result
    for item in data.get("nlu") or []:
        if not isinstance(item, dict) or not isinstance(item.get("intent"), str):
            continue
        examples = item.get("examples") or ""
        lines = examples.splitlines() if isinstance(examples, str) else []
        bucket = result.setdefault(item["intent"], [])
        for line in lines:
            line = line.strip()
            if line.startswith("- "):
                bucket.append(line[2:].strip())
            elif line == "-":
                continue
    return result


def known_examples(nlu_dir: Path, exclude: Path | None = None) -> dict[str, str]:
    """Folded example text -> intent, over every NLU file under nlu_dir (but `exclude`)."""
    known: dict[str, str] = {}
    for path in sorted(nlu_dir.rglob("*.yml")) + sorted(nlu_dir.rglob("*.yaml")):
        if exclude is not None and path.resolve() == exclude.resolve():
            continue
        for intent, examples in read_examples(path).items():
            for example in examples:
                known.setdefault(fold(strip_markup(example)), intent)
    return known


def vocabulary(known: dict[str, str]) -> set[str]:
    return {word for text in known for word in text.split()}


def render_nlu(examples: dict[str, list[str]]) -> str:
    parts = [HEADER, 'version: "3.1"\n', "\nnlu:\n"]
    for intent in sorted(examples):
        lines = examples[intent]
        if not lines:
            continue
        parts.append(f"  - intent: {intent}\n    examples: |\n")
        parts.extend(f"      - {line}\n" for line in lines)
        parts.append("\n")
    if not any(examples.values()):
        parts[-1] = "\nnlu: []\n"
    return "".join(parts).rstrip("\n") + "\n"


# Export ------------------------------------------------------------------------------------
@dataclass
class ExportReport:
    path: Path
    selected: int = 0  # annotated rows that were waiting
    written: int = 0
    duplicates: int = 0  # already there (same intent), or twice in this export
    conflicts: list[tuple[str, str, str]] = field(default_factory=list)  # text, new, existing
    masked_contacts: int = 0
    masked_names: int = 0
    only_personal: int = 0  # nothing left once masked (just a name): not worth learning

    @property
    def skipped(self) -> int:
        return self.duplicates + len(self.conflicts) + self.only_personal


def export_annotations(
    insights: InsightsService,
    root: Path,
    out: Path | None = None,
    *,
    names: NameFinder | None = None,
) -> ExportReport:
    """Write the waiting annotations into `out` (merged, de-duplicated, masked) and mark
    them exported. Nothing is marked if masking or writing fails."""
    out = out if out is not None else root / DEFAULT_OUT
    if not out.is_absolute():
        out = root / out
    report = ExportReport(out)
    rows = insights.export_selection()
    report.selected = len(rows)
    if not rows:
        return report
    existing = read_examples(out) if out.exists() else {}
    known = known_examples(root / "nlu_data", exclude=out)
    for intent, lines in existing.items():
        for line in lines:
            known.setdefault(fold(strip_markup(line)), intent)
    masked: list[str] = []
    contacts: list[int] = []
    for row in rows:
        text, count = mask_contacts(clean_example(row.text))
        report.masked_contacts += count
        masked.append(text)
        contacts.append(count)
    finder = names or spacy_names(root)
    spans = finder(masked)
    words = vocabulary(known)
    merged = {intent: list(lines) for intent, lines in existing.items()}
    for row, text, found, contact_count in zip(rows, masked, spans, contacts, strict=True):
        text, count = mask_names(text, found, words)
        report.masked_names += count
        text = clean_example(text)
        key = fold(text)
        if not key:
            report.duplicates += 1  # nothing left to learn from (emoji, punctuation)
            continue
        if (count or contact_count) and set(key.split()) <= STAND_IN_WORDS:
            # e.g. a message spaCy took whole for a name: a stand-in alone teaches nothing
            report.only_personal += 1
            continue
        if key in known:
            if known[key] == row.intent:
                report.duplicates += 1
            else:
                report.conflicts.append((text, row.intent, known[key]))
            continue
        known[key] = row.intent
        merged.setdefault(row.intent, []).append(text)
        report.written += 1
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = out.with_name(f".{out.name}.tmp")
    temporary.write_text(render_nlu(merged), encoding="utf-8")
    os.replace(temporary, out)
    insights.mark_exported(row.id for row in rows)
    return report
