"""What the project declares and uses, read from the domain, the training data and the custom
actions' code: the model every family of checks works on.
"""

from __future__ import annotations

import ast
import json
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio.checks.report import Problem, Report
from studio.checks.yamldoc import (
    Doc,
    as_dict,
    as_list,
    block_lines,
    load_yaml,
    rel_path,
    yaml_files,
)

# Rasa's own intents, actions and slots: always there, never declared.
DEFAULT_INTENTS = {"restart", "back", "out_of_scope", "session_start", "nlu_fallback"}
DEFAULT_ACTIONS = {
    "action_listen",
    "action_restart",
    "action_session_start",
    "action_default_fallback",
    "action_deactivate_loop",
    "action_revert_fallback_events",
    "action_default_ask_affirmation",
    "action_default_ask_rephrase",
    "action_two_stage_fallback",
    "action_unlikely_intent",
    "action_back",
    "...",
    "action_extract_slots",
}
DEFAULT_SLOTS = {"requested_slot", "session_started_metadata"}

# `[text](entity)`, `[text](entity:value)`, `[text]{"entity": ...}` (Rasa's markup).
ENTITY_RE = re.compile(
    r"\[(?P<text>[^\]]+?)\](?:\((?P<entity>[^:)]+?)(?::(?P<value>[^)]+))?\)|\{(?P<json>[^}]+?)\})"
)


@dataclass
class Where:
    file: str
    line: int | None


@dataclass
class Project:
    intents: dict[str, Where] = field(default_factory=dict)
    entities: dict[str, Where] = field(default_factory=dict)
    slots: dict[str, Where] = field(default_factory=dict)
    actions: dict[str, Where] = field(default_factory=dict)
    forms: dict[str, tuple[Where, list[str]]] = field(default_factory=dict)
    # response name -> where, and its variants (doc, path of the variant)
    responses: dict[str, Where] = field(default_factory=dict)
    variants: list[tuple[str, Doc, tuple[Any, ...], Any]] = field(default_factory=list)
    # training data
    examples: dict[str, list[tuple[str, Where]]] = field(default_factory=lambda: defaultdict(list))
    example_blocks: dict[str, Where] = field(default_factory=dict)  # first `- intent:` line
    annotated: list[tuple[str, Where]] = field(default_factory=list)
    used_intents: list[tuple[str, Where]] = field(default_factory=list)
    used_actions: list[tuple[str, Where]] = field(default_factory=list)
    used_slots: list[tuple[str, Where]] = field(default_factory=list)
    uttered_directly: set[str] = field(default_factory=set)

    def has_response(self, name: str) -> bool:
        if name in self.responses:
            return True
        # a retrieval action (utter_faq) answers with one of utter_faq/<name>
        return any(r.startswith(name + "/") for r in self.responses)


def _name_of(item: Any) -> str | None:
    if isinstance(item, str):
        return item
    if isinstance(item, dict) and len(item) == 1:
        key = next(iter(item))
        return str(key)
    return None


def _section_files(
    root: Path, files: list[Path], folder: str, missing: str, shape: str, report: Report
) -> Iterator[Doc]:
    """The readable YAML documents of a project folder; what is wrong goes to the report."""
    if not files:
        report.problems.append(
            Problem(folder, None, missing, f"remets le dossier {folder}/ du projet")
        )
        return
    for path in files:
        rel = rel_path(path, root)
        doc = load_yaml(path, rel, report)
        if doc is None or doc.data is None:
            continue
        if not isinstance(doc.data, dict):
            report.problems.append(
                Problem(rel, 1, shape, f"reprends la forme des autres fichiers de {folder}/")
            )
            continue
        yield doc


def read_domain(root: Path, project: Project, report: Report) -> None:
    files = yaml_files(root / "domain") or yaml_files(root / "domain.yml")
    for doc in _section_files(
        root,
        files,
        "domain",
        "le domaine (dossier domain/) est introuvable",
        "un fichier du domaine doit contenir des sections (intents, responses…)",
        report,
    ):
        rel = doc.rel
        data = doc.data
        for section, target in (
            ("intents", project.intents),
            ("entities", project.entities),
            ("actions", project.actions),
        ):
            for index, item in enumerate(as_list(data.get(section))):
                name = _name_of(item)
                if name:
                    target[name] = Where(rel, doc.line(section, index))
        for name in as_dict(data.get("slots")):
            project.slots[str(name)] = Where(rel, doc.line("slots", name))
        for name, form in as_dict(data.get("forms")).items():
            required = as_dict(form).get("required_slots")
            slots = (
                [str(s) for s in as_list(required)]
                if not isinstance(required, dict)
                else [str(s) for s in required]
            )
            project.forms[str(name)] = (Where(rel, doc.line("forms", name)), slots)
        for name, variants in as_dict(data.get("responses")).items():
            name = str(name)
            project.responses[name] = Where(rel, doc.line("responses", name))
            if not isinstance(variants, list) or not variants:
                project.variants.append((name, doc, ("responses", name), None))
                continue
            for index, variant in enumerate(variants):
                project.variants.append((name, doc, ("responses", name, index), variant))


def read_training_data(root: Path, project: Project, report: Report) -> None:
    for doc in _section_files(
        root,
        yaml_files(root / "nlu_data"),
        "nlu_data",
        "les données d'entraînement (dossier nlu_data/) sont introuvables",
        "un fichier de données doit contenir des sections (nlu, rules, stories)",
        report,
    ):
        for index, item in enumerate(as_list(doc.data.get("nlu"))):
            if isinstance(item, dict) and "intent" in item:
                _read_examples(doc, index, item, project)
        for section in ("rules", "stories"):
            for index, item in enumerate(as_list(doc.data.get(section))):
                if not isinstance(item, dict):
                    continue
                for part in ("condition", "steps"):
                    for step_index, step in enumerate(as_list(item.get(part))):
                        _read_step(doc, (section, index, part, step_index), step, project)


def _read_examples(doc: Doc, index: int, item: dict[str, Any], project: Project) -> None:
    intent = str(item["intent"])
    project.example_blocks.setdefault(intent, Where(doc.rel, doc.line("nlu", index)))
    examples = item.get("examples")
    if isinstance(examples, str):
        lines = block_lines(doc, "nlu", index, "examples")
        for line, raw in lines:
            text = raw.strip()
            if not text.startswith("-"):
                continue
            _add_example(intent, text[1:].strip(), Where(doc.rel, line), project)
    elif isinstance(examples, list):
        for number, example in enumerate(examples):
            value = example.get("text") if isinstance(example, dict) else example
            if isinstance(value, str):
                where = Where(doc.rel, doc.line("nlu", index, "examples", number))
                _add_example(intent, value.strip().removeprefix("- "), where, project)


def _add_example(intent: str, text: str, where: Where, project: Project) -> None:
    if not text:
        return
    for match in ENTITY_RE.finditer(text):
        entity = match.group("entity")
        if match.group("json"):
            try:
                parsed = json.loads("{" + match.group("json") + "}")
            except ValueError:
                parsed = None
            entity = parsed.get("entity") if isinstance(parsed, dict) else None
            if entity is None:
                continue
        if entity:
            project.annotated.append((str(entity).strip(), where))
    plain = ENTITY_RE.sub(lambda m: m.group("text"), text)
    project.examples[intent].append((plain, where))


def _read_step(doc: Doc, path: tuple[Any, ...], step: Any, project: Project) -> None:
    if not isinstance(step, dict):
        return
    where = Where(doc.rel, doc.line(*path))
    if "intent" in step and step["intent"] is not None:
        project.used_intents.append((str(step["intent"]), where))
    if isinstance(step.get("action"), str):
        name = step["action"]
        project.used_actions.append((name, where))
        if name.startswith("utter_"):
            project.uttered_directly.add(name)
    if isinstance(step.get("or"), list):
        for index, alternative in enumerate(step["or"]):
            _read_step(doc, (*path, "or", index), alternative, project)
    slots = step.get("slot_was_set")
    for index, item in enumerate(as_list(slots)):
        name = _name_of(item)
        if name:
            project.used_slots.append(
                (name, Where(doc.rel, doc.line(*path, "slot_was_set", index)))
            )
    if isinstance(step.get("active_loop"), str):
        project.used_actions.append((step["active_loop"], where))


# Responses used by the custom actions ------------------------------------------------------
@dataclass
class ActionUse:
    kwargs: set[str] = field(default_factory=set)
    any_kwargs: bool = False  # a call passes **values: any placeholder may be filled


def responses_in_code(root: Path) -> dict[str, ActionUse]:
    """`dispatcher.utter_message(response="utter_x", name=...)` calls in actions/*.py."""
    uses: dict[str, ActionUse] = defaultdict(ActionUse)
    folder = root / "actions"
    for path in sorted(folder.rglob("*.py")) if folder.is_dir() else []:
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, OSError):
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            keywords = {k.arg: k.value for k in node.keywords}
            target = keywords.get("response") or keywords.get("template")
            if not (isinstance(target, ast.Constant) and isinstance(target.value, str)):
                continue
            use = uses[target.value]
            for keyword in node.keywords:
                if keyword.arg is None:
                    use.any_kwargs = True
                elif keyword.arg not in ("response", "template"):
                    use.kwargs.add(keyword.arg)
    return dict(uses)
