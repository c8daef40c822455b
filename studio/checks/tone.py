"""The tone of every response (domain responses and bot/texts.yml): no vouvoiement ("vous",
"votre", "vos": error) except on the parent path (`utter_parent_*` responses, `parent_*`
texts), and short messages (a line longer than TONE_MAX_LINE_CHARS or more than
TONE_MAX_LINES lines: warning).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from studio.checks.project import Project
from studio.checks.report import Problem, Report
from studio.checks.yamldoc import as_list, load_yaml

# Tone (../shared/CONVERSATION.md): the bot says "tu". Only the parent path (a parent writing
# for their child, answered as who they are) says "vous". "rendez-vous" is not vouvoiement.
TONE_EXEMPT_RESPONSES = ("utter_parent_",)
TONE_EXEMPT_TEXTS = ("parent_",)
VOUS_RE = re.compile(r"(?<![\w-])(vous|votre|vos)\b", re.IGNORECASE)
# Short messages: a line (between two \n) longer than this is several screens of a phone
# (about 40 characters a row); the guide asks for 1-3 lines, FAQ answers have up to 5.
TONE_MAX_LINE_CHARS = 200
TONE_MAX_LINES = 6
TEXTS_FILE = "bot/texts.yml"


def check_tone_of_responses(project: Project) -> Iterator[Problem]:
    for name, doc, path, variant in project.variants:
        if not isinstance(variant, dict) or name.startswith(TONE_EXEMPT_RESPONSES):
            continue
        text = variant.get("text")
        if isinstance(text, str):
            line = doc.line(*path, "text")
            yield from _tone_problems(doc.rel, line, f"la réponse « {name} »", text)
        for index, button in enumerate(as_list(variant.get("buttons"))):
            title = button.get("title") if isinstance(button, dict) else None
            if isinstance(title, str):
                where = doc.line(*path, "buttons", index, "title")
                yield from _vouvoiement(doc.rel, where, f"un bouton de « {name} »", title)


def check_texts_tone(root: Path, report: Report) -> None:
    """The tone of what the app says by itself (bot/texts.yml), when the file is there."""
    path = root / TEXTS_FILE
    if not path.is_file():
        return
    doc = load_yaml(path, TEXTS_FILE, report)
    if doc is None or not isinstance(doc.data, dict):
        return
    for keys, text in _strings(doc.data, ()):
        if str(keys[0]).startswith(TONE_EXEMPT_TEXTS) or "patterns" in keys:
            continue
        what = f"le texte « {'.'.join(str(k) for k in keys)} »"
        report.problems.extend(_tone_problems(doc.rel, doc.line(*keys), what, text))


def _strings(value: Any, keys: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], str]]:
    if isinstance(value, str) and keys:
        yield keys, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, (*keys, key))


def _tone_problems(file: str, line: int | None, what: str, text: str) -> Iterator[Problem]:
    yield from _vouvoiement(file, line, what, text)
    lines = text.strip().split("\n")
    for number, content in enumerate(lines, 1):
        if len(content) > TONE_MAX_LINE_CHARS:
            yield Problem(
                file,
                line,
                f"{what} a une ligne de {len(content)} caractères (la ligne {number} du "
                f"message, {TONE_MAX_LINE_CHARS} au plus) : sur un téléphone, c'est un pavé "
                f"(« {content[:40]}… »)",
                "coupe-la en phrases courtes, chacune sur sa ligne (\\n entre deux lignes), "
                "ou garde l'essentiel",
                error=False,
            )
    if len(lines) > TONE_MAX_LINES:
        yield Problem(
            file,
            line,
            f"{what} fait {len(lines)} lignes ({TONE_MAX_LINES} au plus) : trop long pour un "
            "message",
            "garde l'essentiel (1 à 3 lignes, c'est l'idéal), ou propose la suite en un "
            "second temps",
            error=False,
        )


def _vouvoiement(file: str, line: int | None, what: str, text: str) -> Iterator[Problem]:
    found = sorted({m.group(1) for m in VOUS_RE.finditer(text)}, key=str.lower)
    if found:
        words = ", ".join(f"« {w} »" for w in found)
        yield Problem(
            file,
            line,
            f"{what} vouvoie ({words}) : le robot tutoie les jeunes",
            "reformule en tutoyant (tu, ton, ta, tes), comme le dirait un·e éduc ; seul le "
            "parcours parent (réponses utter_parent_…, textes parent_…) vouvoie",
        )
