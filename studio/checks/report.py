"""What `maraude check` reports: problems (file, line, message, fix) and their list."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Problem:
    file: str  # relative to the project root, with forward slashes
    line: int | None  # 1-based; None when the file as a whole is concerned
    message: str  # what is wrong, in plain French
    fix: str  # what to do about it
    error: bool = True  # False: a warning (printed, does not fail the check)

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        kind = "" if self.error else "attention : "
        return f"{where}: {kind}{_sentence(self.message)} Pour corriger : {_sentence(self.fix)}"


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "?", "!")) else text + "."


@dataclass
class Report:
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.error]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if not p.error]

    @property
    def ok(self) -> bool:
        return not self.errors

    def lines(self) -> list[str]:
        return [str(p) for p in sorted(self.problems, key=_order)]

    def summary(self) -> str:
        if not self.problems:
            return "Vérification des fichiers : aucun problème."
        return (
            f"Vérification des fichiers : {len(self.errors)} erreur(s), "
            f"{len(self.warnings)} avertissement(s)."
        )


def _order(problem: Problem) -> tuple[str, int]:
    return problem.file, problem.line or 0
