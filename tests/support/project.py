"""A copy of the project files in a temp folder, to break one way in `maraude check` tests,
and finding or replacing text in them by line."""

from __future__ import annotations

import re
import shutil
from datetime import date
from pathlib import Path

from studio import checks
from tests.support import ROOT

PROJECT_FILES = ("config.yml", "endpoints.yml", "credentials.yml")
PROJECT_DIRS = ("domain", "nlu_data", "actions", "engine")


def last_checked(domain: Path) -> date:
    """The newest `checked_on` of the FAQ answers: the checks' "today" in these tests, so that
    they never depend on the real date (an answer re-checked later moves it along)."""
    text = (domain / "faq.yml").read_text(encoding="utf-8")
    return max(date.fromisoformat(d) for d in re.findall(r'checked_on: "([0-9-]+)"', text))


def copy_project(folder: Path) -> Path:
    """A copy of what managers edit (and what the checks read), settings included."""
    folder.mkdir()
    for name in PROJECT_FILES:
        shutil.copy(ROOT / name, folder / name)
    for name in PROJECT_DIRS:
        shutil.copytree(ROOT / name, folder / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "maraude.yml", folder / "maraude.yml")
    (folder / "bot").mkdir()
    shutil.copy(ROOT / checks.TEXTS_FILE, folder / checks.TEXTS_FILE)
    return folder


def replace(path: Path, old: str, new: str, count: int = 1) -> int:
    """Replace `old` (which must be there) and return the 1-based line where it was."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    line = text[: text.index(old)].count("\n") + 1
    path.write_text(text.replace(old, new, count), encoding="utf-8")
    return line


def line_of(path: Path, needle: str) -> int:
    """The 1-based line where `needle` (which must be there) first is."""
    text = path.read_text(encoding="utf-8")
    assert needle in text, f"{needle!r} not in {path}"
    return text[: text.index(needle)].count("\n") + 1
