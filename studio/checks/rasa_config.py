"""config.yml: readable, a mapping with a language, a pipeline and policies; the custom
components of engine/ exist."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from studio.checks.report import Problem, Report
from studio.checks.yamldoc import load_yaml, rel_path


def check_config(root: Path, report: Report) -> None:
    path = root / "config.yml"
    rel = "config.yml"
    if not path.is_file():
        report.problems.append(
            Problem(
                rel,
                None,
                "config.yml est introuvable : le robot ne peut pas être entraîné",
                "remets le fichier config.yml du projet",
            )
        )
        return
    doc = load_yaml(path, rel, report)
    if doc is None:
        return
    data = doc.data
    if not isinstance(data, dict):
        report.problems.append(
            Problem(
                rel,
                1,
                "config.yml doit contenir des sections (language, pipeline, policies)",
                "reprends le fichier config.yml du projet",
            )
        )
        return
    if not data.get("language"):
        report.problems.append(
            Problem(rel, 1, "la langue (language) n'est pas indiquée", "ajoute « language: fr »")
        )
    for section in ("pipeline", "policies"):
        items = data.get(section)
        if not isinstance(items, list) or not items:
            report.problems.append(
                Problem(
                    rel,
                    doc.line(section),
                    f"la section « {section} » est absente ou vide",
                    "reprends-la depuis le fichier config.yml du projet",
                )
            )
            continue
        for index, item in enumerate(items):
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                report.problems.append(
                    Problem(
                        rel,
                        doc.line(section, index),
                        f"un élément de « {section} » n'a pas de nom (name)",
                        "chaque élément commence par « - name: … »",
                    )
                )
                continue
            name = item["name"]
            if "." in name:
                report.problems.extend(_custom_component(root, rel, doc.line(section, index), name))


def _custom_component(root: Path, rel: str, line: int | None, name: str) -> Iterator[Problem]:
    module, _, cls = name.rpartition(".")
    source = root / Path(*module.split("."))
    source = source.with_suffix(".py") if not source.is_dir() else source / "__init__.py"
    if not source.is_file():
        yield Problem(
            rel,
            line,
            f"le composant « {name} » est introuvable ({rel_path(source, root)})",
            "vérifie l'orthographe du nom du composant",
        )
        return
    try:
        tree = ast.parse(source.read_text(encoding="utf-8"))
    except (SyntaxError, UnicodeDecodeError, OSError):
        return  # a broken module is for the developers' own tests
    if not any(isinstance(n, ast.ClassDef) and n.name == cls for n in tree.body):
        yield Problem(
            rel,
            line,
            f"le composant « {cls} » n'existe pas dans {rel_path(source, root)}",
            "vérifie l'orthographe du nom du composant",
        )
