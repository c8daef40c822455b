"""YAML files read with their positions (PyYAML only), so that each problem names its line.

Also the small helpers every family of checks uses to walk what managers wrote.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from studio.checks.report import Problem, Report


class Doc:
    """A YAML document: its Python value and its node tree (to find the line of a value)."""

    def __init__(self, rel: str, data: Any, node: yaml.Node | None) -> None:
        self.rel = rel
        self.data = data
        self.node = node

    def line(self, *path: Any) -> int | None:
        """1-based line of the value at `path` (keys and list indexes), or of the deepest
        part of the path that exists."""
        node = self.node
        if node is None:
            return None
        best = node.start_mark.line + 1
        for step in path:
            found = _child(node, step)
            if found is None:
                break
            key_line, node = found
            best = key_line
        return best


def _child(node: yaml.Node, step: Any) -> tuple[int, yaml.Node] | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == str(step):
                return key.start_mark.line + 1, value
    elif isinstance(node, yaml.SequenceNode) and isinstance(step, int):
        if 0 <= step < len(node.value):
            item = node.value[step]
            return item.start_mark.line + 1, item
    return None


def block_lines(doc: Doc, *path: Any) -> list[tuple[int, str]]:
    """The lines of a block scalar (`examples: |`) with their 1-based file line numbers."""
    node: yaml.Node | None = doc.node
    for step in path:
        found = _child(node, step) if node is not None else None
        if found is None:
            return []
        node = found[1]
    if not isinstance(node, yaml.ScalarNode) or not isinstance(node.value, str):
        return []
    first = node.start_mark.line + 1  # 0-based line of the first content line
    if node.style not in ("|", ">"):
        first = node.start_mark.line
    return [(first + index + 1, text) for index, text in enumerate(node.value.splitlines())]


def _duplicate_keys(node: yaml.Node | None, rel: str) -> Iterator[Problem]:
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                line = key.start_mark.line + 1
                if key.value in seen:
                    yield Problem(
                        rel,
                        line,
                        f"« {key.value} » apparaît deux fois (déjà ligne {seen[key.value]}) : "
                        "seule la dernière compterait",
                        "garde une seule fois cette clé, en regroupant ce qu'il faut garder",
                    )
                else:
                    seen[key.value] = line
            yield from _duplicate_keys(value, rel)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _duplicate_keys(item, rel)


def load_yaml(path: Path, rel: str, report: Report) -> Doc | None:
    """The document, or None after reporting why it cannot be read."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        report.problems.append(
            Problem(
                rel,
                None,
                "le fichier n'est pas en UTF-8",
                "enregistre-le en UTF-8 dans ton éditeur (Enregistrer sous… > Encodage UTF-8)",
            )
        )
        return None
    except OSError as exc:
        report.problems.append(
            Problem(rel, None, f"le fichier ne peut pas être lu ({exc.strerror})", "vérifie-le")
        )
        return None
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        column = f", colonne {mark.column + 1}" if mark is not None else ""
        report.problems.append(
            Problem(
                rel,
                line,
                f"le fichier YAML est mal formé{column} ({_yaml_problem(exc)})",
                "vérifie l'indentation (des espaces, pas de tabulation, alignés sur la ligne "
                "d'au-dessus), les deux-points après chaque nom et les guillemets fermés, "
                "sur cette ligne ou juste au-dessus",
            )
        )
        return None
    except yaml.YAMLError as exc:
        report.problems.append(
            Problem(rel, None, f"le fichier YAML est illisible ({exc})", "vérifie sa syntaxe")
        )
        return None
    finally:
        loader.dispose()
    report.problems.extend(_duplicate_keys(node, rel))
    return Doc(rel, data, node)


YAML_PROBLEMS = {
    "found character '\\t' that cannot start any token": "tabulation au lieu d'espaces",
    "mapping values are not allowed here": "deux-points inattendu",
    "could not find expected ':'": "il manque un deux-points",
    "found unexpected end of stream": "guillemet ou crochet jamais fermé",
    "did not find expected key": "indentation incohérente",
    "did not find expected '-' indicator": "élément de liste mal aligné",
    "expected <block end>": "texte en trop après des guillemets, ou indentation incohérente",
    "found undefined alias": "un « * » en début de texte (mets le texte entre guillemets)",
}


def _yaml_problem(exc: yaml.MarkedYAMLError) -> str:
    problem = str(exc.problem or exc.context or "").strip()
    for english, french in YAML_PROBLEMS.items():
        if problem.startswith(english):
            return french
    return problem or "syntaxe"


def yaml_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        return []
    return sorted(p for p in path.rglob("*") if p.suffix in (".yml", ".yaml") and p.is_file())


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def as_dict(value: Any) -> dict[Any, Any]:
    return value if isinstance(value, dict) else {}


def rel_path(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)
