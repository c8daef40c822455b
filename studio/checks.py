"""Static checks of what managers edit, run by `maraude check` before `rasa data validate`.

Reads maraude.yml, config.yml, the domain and the training data with PyYAML only (no Rasa,
no network: well under a second), and reports each problem as one line a manager can act
on, in French: `file:line: problem. Pour corriger : advice.` Errors make `maraude check`
fail; warnings are printed and do not.

What is checked:
- every YAML file parses (file, line and column of a syntax error), no key twice in a mapping;
- maraude.yml: the settings (pydantic errors mapped back to the line of the setting);
- config.yml: readable, a mapping with a language, a pipeline and policies; custom
  components of engine/ exist;
- the domain: responses used by rules, stories, forms and custom actions exist; no response
  without text; button payloads name declared intents and entities; `{name}` placeholders
  name a slot (or a value the custom action passes);
- the training data: intents of rules and stories are declared; declared intents have
  examples; no example under two intents; annotated entities are declared; the contract
  intents of DESIGN.md are all there; actions and slots used in rules are declared;
- the knowledge base (FAQ): each retrieval intent `faq/<name>` has examples and an answer
  `utter_faq/<name>`, and the reverse; each answer carries `metadata: {source: "https://…",
  checked_on: "AAAA-MM-JJ"}` (missing or malformed: error); an answer checked more than
  FAQ_MAX_AGE_MONTHS ago is a warning, so that a manager re-reads it against its source
  (`today` is a parameter of `run_checks`, for tests);
- the tone of every response (domain responses and bot/texts.yml): no vouvoiement
  ("vous", "votre", "vos": error) except on the parent path (`utter_parent_*` responses,
  `parent_*` texts), and short messages (a line longer than TONE_MAX_LINE_CHARS or more than
  TONE_MAX_LINES lines: warning).
"""

from __future__ import annotations

import ast
import calendar
import json
import os
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from studio.experiments.catalog import VARIANT_ID_RE

# The intent names tests and evaluations rely on (DESIGN.md, "Contract: intents").
CONTRACT_INTENTS = (
    "greet",
    "goodbye",
    "affirm",
    "deny",
    "thanks",
    "bot_challenge",
    "ask_human",
    "opt_out",
    "delete_data",
    "dont_know",
    "out_of_scope",
    "inform",
    "need_job",
    "need_training",
    "need_orientation",
    "need_housing",
    "need_money",
    "need_health",
    "need_mobility",
    "need_admin",
    "need_morale",
    "need_childcare",
    "crisis_suicide",
    "crisis_violence",
    "crisis_shelter",
    "faq/cej",
    "faq/service_civique",
    "faq/mission_locale",
    "faq/apprentissage",
    "faq/aides",
)
CONTRACT_ENTITIES = ("age", "postcode", "commune")
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
PLACEHOLDER_RE = re.compile(r"(?<!\{)\{([^{}\n]+?)\}(?!\})")
PAYLOAD_RE = re.compile(r"^/(?P<intent>[^{}\s]+)(?P<entities>\{.*\})?\s*$", re.DOTALL)

# The knowledge base: every FAQ answer says where its facts come from and when a person last
# checked them against that source; older than this, `maraude check` asks for a re-check.
FAQ_RESPONSE_PREFIX = "utter_faq/"
FAQ_MAX_AGE_MONTHS = 12
HTTPS_URL_RE = re.compile(r"^https://[^\s/]+\.[^\s/]+(/\S*)?$")
ISO_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

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


def today() -> date:
    """The date the FAQ ages are measured from (replaced in tests, or pass `today=`)."""
    return date.today()


# Problems ----------------------------------------------------------------------------------
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


# YAML with positions -----------------------------------------------------------------------
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


# Settings ----------------------------------------------------------------------------------
SETTING_MESSAGES = {
    "missing": "ce réglage est obligatoire et il manque",
    "extra_forbidden": "réglage inconnu (faute de frappe ?)",
    "int_parsing": "il faut un nombre entier",
    "int_type": "il faut un nombre entier",
    "float_parsing": "il faut un nombre",
    "bool_parsing": "il faut true ou false",
    "string_type": "il faut un texte",
    "list_type": "il faut une liste",
    "dict_type": "il faut une liste de « nom: valeur »",
    "model_type": "il faut une section (des « nom: valeur » indentés dessous)",
    "string_pattern_mismatch": "la valeur n'a pas la forme attendue",
    "string_too_short": "le texte est trop court",
    "string_too_long": "le texte est trop long",
    "greater_than": "la valeur est trop petite",
    "greater_than_equal": "la valeur est trop petite",
    "less_than": "la valeur est trop grande",
    "less_than_equal": "la valeur est trop grande",
    "too_short": "la liste ne peut pas être vide",
}


def check_settings(root: Path, config: Path, report: Report) -> None:
    rel = _rel(config, root)
    if not config.is_file():
        report.problems.append(
            Problem(
                rel,
                None,
                "le fichier de réglages est introuvable",
                "lance la commande "
                "depuis le dossier du projet, ou indique le fichier avec --config",
            )
        )
        return
    doc = load_yaml(config, rel, report)
    if doc is None:
        return
    data = doc.data if doc.data is not None else {}
    if not isinstance(data, dict):
        report.problems.append(
            Problem(
                rel,
                doc.line(),
                "le fichier doit être une liste de « réglage: valeur »",
                "reprends le modèle du fichier maraude.yml d'origine",
            )
        )
        return
    from pydantic import ValidationError

    from core.settings import Settings

    data = dict(data)
    data.setdefault("project_root", str(config.resolve().parent))
    try:
        Settings(_env_file=config.resolve().parent / ".env", **data)  # type: ignore[call-arg]
    except ValidationError as exc:
        for error in exc.errors():
            loc = tuple(error["loc"])
            report.problems.append(_setting_problem(doc, loc, error, data))
    except Exception as exc:  # a validator that crashed: still a problem with the file
        report.problems.append(Problem(rel, None, f"réglages refusés : {exc}", "vérifie-les"))


def _setting_problem(doc: Doc, loc: tuple[Any, ...], error: Any, data: dict[str, Any]) -> Problem:
    name = ".".join(str(part) for part in loc)
    message = str(error.get("msg", "")).removeprefix("Value error, ")
    kind = str(error.get("type", ""))
    french = SETTING_MESSAGES.get(kind)
    line = doc.line(*loc)
    in_file = bool(loc) and _present(data, loc)
    if not loc:
        # A check across sections: its message starts with the setting it is about.
        match = re.match(r"([a-z_]+(?:\.[a-z_]+)*)", message)
        if match:
            name = match.group(1)
            line = doc.line(*name.split("."))
    env = "__".join(str(part) for part in loc).upper()
    text = f"réglage « {name} » : {french or 'valeur refusée'}"
    if not french or kind in ("string_pattern_mismatch", "greater_than_equal", "less_than_equal"):
        text += f" ({message})"
    if loc and not in_file and kind != "missing":
        text += f" — valeur venant de la variable d'environnement {env} ou du fichier .env"
    if kind == "extra_forbidden":
        fix = (
            "vérifie l'orthographe du nom (voir les commentaires de maraude.yml) "
            "ou supprime la ligne"
        )
    elif kind == "missing":
        fix = f"ajoute « {loc[-1]}: … » dans la section indiquée"
    else:
        fix = (
            "remets une valeur du type indiqué "
            "(les commentaires de maraude.yml donnent des exemples)"
        )
    return Problem(doc.rel, line, text, fix)


def _present(data: Any, loc: tuple[Any, ...]) -> bool:
    for part in loc:
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            return False
    return True


# Rasa config -------------------------------------------------------------------------------
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
            f"le composant « {name} » est introuvable ({_rel(source, root)})",
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
            f"le composant « {cls} » n'existe pas dans {_rel(source, root)}",
            "vérifie l'orthographe du nom du composant",
        )


# Domain and training data ------------------------------------------------------------------
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


def _name_of(item: Any) -> str | None:
    if isinstance(item, str):
        return item
    if isinstance(item, dict) and len(item) == 1:
        key = next(iter(item))
        return str(key)
    return None


def _yaml_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        return []
    return sorted(p for p in path.rglob("*") if p.suffix in (".yml", ".yaml") and p.is_file())


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
        rel = _rel(path, root)
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
    files = _yaml_files(root / "domain") or _yaml_files(root / "domain.yml")
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
            for index, item in enumerate(_list(data.get(section))):
                name = _name_of(item)
                if name:
                    target[name] = Where(rel, doc.line(section, index))
        for name in _dict(data.get("slots")):
            project.slots[str(name)] = Where(rel, doc.line("slots", name))
        for name, form in _dict(data.get("forms")).items():
            required = _dict(form).get("required_slots")
            slots = (
                [str(s) for s in _list(required)]
                if not isinstance(required, dict)
                else [str(s) for s in required]
            )
            project.forms[str(name)] = (Where(rel, doc.line("forms", name)), slots)
        for name, variants in _dict(data.get("responses")).items():
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
        _yaml_files(root / "nlu_data"),
        "nlu_data",
        "les données d'entraînement (dossier nlu_data/) sont introuvables",
        "un fichier de données doit contenir des sections (nlu, rules, stories)",
        report,
    ):
        for index, item in enumerate(_list(doc.data.get("nlu"))):
            if isinstance(item, dict) and "intent" in item:
                _read_examples(doc, index, item, project)
        for section in ("rules", "stories"):
            for index, item in enumerate(_list(doc.data.get(section))):
                if not isinstance(item, dict):
                    continue
                for part in ("condition", "steps"):
                    for step_index, step in enumerate(_list(item.get(part))):
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
    for index, item in enumerate(_list(slots)):
        name = _name_of(item)
        if name:
            project.used_slots.append(
                (name, Where(doc.rel, doc.line(*path, "slot_was_set", index)))
            )
    if isinstance(step.get("active_loop"), str):
        project.used_actions.append((step["active_loop"], where))


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _dict(value: Any) -> dict[Any, Any]:
    return value if isinstance(value, dict) else {}


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


# The checks --------------------------------------------------------------------------------
def check_domain_and_data(root: Path, report: Report, on: date | None = None) -> None:
    """The domain and the training data; `on`: the day FAQ ages are measured from."""
    project = Project()
    before = len(report.errors)
    read_domain(root, project, report)
    read_training_data(root, project, report)
    if len(report.errors) > before:
        # A file that cannot be read would make everything it declares look missing: the
        # manager fixes it first, the cross-checks run on the next `maraude check`.
        return
    code = responses_in_code(root)
    out = report.problems

    def response_exists(name: str) -> bool:
        if name in project.responses:
            return True
        # a retrieval action (utter_faq) answers with one of utter_faq/<name>
        return any(r.startswith(name + "/") for r in project.responses)

    intents = set(project.intents) | DEFAULT_INTENTS
    base_intent = {name.split("/")[0] for name in project.intents}

    # Responses used by rules, stories, forms and the custom actions exist.
    for name, where in project.used_actions:
        if name.startswith("utter_"):
            if not response_exists(name):
                out.append(_missing_response(name, where))
        elif (
            name not in project.actions
            and name not in project.forms
            and name not in DEFAULT_ACTIONS
        ):
            out.append(
                Problem(
                    where.file,
                    where.line,
                    f"l'action « {name} » n'est déclarée nulle part dans le domaine",
                    f"vérifie l'orthographe, ou ajoute « - {name} » à la liste actions: "
                    "d'un fichier de domain/ "
                    "(une action programmée doit aussi exister dans actions/)",
                )
            )
    for form, (where, slots) in project.forms.items():
        for slot in slots:
            asks = (f"utter_ask_{form}_{slot}", f"utter_ask_{slot}")
            actions = (f"action_ask_{form}_{slot}", f"action_ask_{slot}")
            if not any(response_exists(a) for a in asks) and not any(
                a in project.actions for a in actions
            ):
                out.append(
                    Problem(
                        where.file,
                        where.line,
                        f"le formulaire « {form} » demande « {slot} » mais aucune réponse "
                        f"« utter_ask_{slot} » ne pose la question",
                        f"ajoute une réponse « utter_ask_{slot}: » avec la question dans "
                        "responses:",
                    )
                )
            if slot not in project.slots:
                out.append(
                    Problem(
                        where.file,
                        where.line,
                        f"le formulaire « {form} » demande « {slot} », qui n'est pas déclaré "
                        "dans slots:",
                        f"ajoute « {slot}: » dans la section slots: du domaine",
                    )
                )
    action_files = _rel(root / "actions", root)
    for name in sorted(code):
        if name.startswith("utter_") and not response_exists(name):
            out.append(
                Problem(
                    action_files,
                    None,
                    f"le code des actions utilise la réponse « {name} », qui n'existe pas "
                    "dans le domaine",
                    f"ajoute « {name}: » dans responses: (ou rends-lui son ancien nom)",
                )
            )

    # Each variant of a response: text, buttons, placeholders.
    for name, doc, path, variant in project.variants:
        line = doc.line(*path)
        if not isinstance(variant, dict):
            out.append(
                Problem(
                    doc.rel,
                    line,
                    f"la réponse « {name} » n'a aucun texte",
                    'écris le message sous la forme « - text: "…" »',
                )
            )
            continue
        text = variant.get("text")
        has_other = any(variant.get(k) for k in ("custom", "image", "attachment"))
        if (not isinstance(text, str) or not text.strip()) and not has_other:
            out.append(
                Problem(
                    doc.rel,
                    doc.line(*path, "text") or line,
                    f"la réponse « {name} » a un message vide",
                    "écris le message entre les guillemets après « text: », ou supprime "
                    "cette variante",
                )
            )
        for index, button in enumerate(_list(variant.get("buttons"))):
            out.extend(_check_button(doc, (*path, "buttons", index), name, button, project))
        if isinstance(text, str):
            out.extend(_check_placeholders(doc, (*path, "text"), name, text, project, code))

    # Intents of rules and stories are declared.
    for intent, where in project.used_intents:
        if intent not in intents and intent.split("/")[0] not in base_intent:
            out.append(
                Problem(
                    where.file,
                    where.line,
                    f"l'intention « {intent} » n'est pas déclarée dans le domaine",
                    f"vérifie l'orthographe, ou ajoute « - {intent} » à la liste intents: "
                    "d'un fichier de domain/",
                )
            )
    for slot, where in project.used_slots:
        if slot not in project.slots and slot not in DEFAULT_SLOTS:
            out.append(
                Problem(
                    where.file,
                    where.line,
                    f"le slot « {slot} » n'est pas déclaré",
                    f"vérifie l'orthographe, ou ajoute « {slot}: » dans slots: du domaine",
                )
            )

    # Training examples: declared intents, examples for each, no example under two intents.
    with_examples = {name.split("/")[0] for name, items in project.examples.items() if items}
    for intent, items in project.examples.items():
        if intent.split("/")[0] not in base_intent and intent not in DEFAULT_INTENTS and items:
            where = project.example_blocks[intent]
            out.append(
                Problem(
                    where.file,
                    where.line,
                    f"les exemples de l'intention « {intent} » ne servent à rien : elle n'est "
                    "pas déclarée dans le domaine",
                    f"ajoute « - {intent.split('/')[0]} » à la liste intents: d'un fichier "
                    "de domain/, ou corrige le nom",
                )
            )
    for intent, where in project.intents.items():
        if intent not in with_examples and intent not in DEFAULT_INTENTS:
            out.append(
                Problem(
                    where.file,
                    where.line,
                    f"l'intention « {intent} » n'a aucun exemple dans nlu_data/ : le robot ne "
                    "saura jamais la reconnaître",
                    f"ajoute dans un fichier de nlu_data/nlu/ « - intent: {intent} » et "
                    "quelques exemples de messages, ou retire-la du domaine",
                )
            )
    out.extend(_duplicated_examples(project))

    # Annotated entities are declared.
    for entity, where in project.annotated:
        if entity not in project.entities:
            out.append(
                Problem(
                    where.file,
                    where.line,
                    f"l'entité « {entity} » est annotée dans un exemple mais n'est pas "
                    "déclarée dans le domaine",
                    f"vérifie l'orthographe entre parenthèses, ou ajoute « - {entity} » à "
                    "la liste entities: du domaine",
                )
            )

    # The contract of DESIGN.md.
    first_domain = next(iter(project.intents.values()), Where("domain", None))
    for name in CONTRACT_INTENTS:
        base = name.split("/")[0]
        if base not in project.intents:
            out.append(
                Problem(
                    first_domain.file,
                    None,
                    f"l'intention « {base} » a disparu du domaine ; d'autres parties du "
                    "projet (tests, évaluations, application) comptent dessus",
                    f"remets « - {base} » dans la liste intents: (on peut ajouter des "
                    "intentions, pas renommer ni supprimer celles-ci)",
                )
            )
        elif "/" in name and not project.examples.get(name):
            out.append(
                Problem(
                    "nlu_data",
                    None,
                    f"la question fréquente « {name} » n'a plus d'exemples",
                    f"remets « - intent: {name} » et ses exemples dans nlu_data/nlu/faq.yml",
                )
            )
        if "/" in name and not response_exists(f"utter_{name}"):
            out.append(
                Problem(
                    first_domain.file,
                    None,
                    f"la réponse « utter_{name} » de la question fréquente « {name} » manque",
                    f"remets « utter_{name}: » dans responses: (domain/faq.yml)",
                )
            )
    for entity in CONTRACT_ENTITIES:
        if project.intents and entity not in project.entities:
            out.append(
                Problem(
                    first_domain.file,
                    None,
                    f"l'entité « {entity} » a disparu du domaine ; le questionnaire compte dessus",
                    f"remets « - {entity} » dans la liste entities:",
                )
            )
    out.extend(_check_experiments(project))
    out.extend(_check_knowledge_base(project, on or today()))
    out.extend(_check_tone_of_responses(project))


def _check_experiments(project: Project) -> Iterator[Problem]:
    """Wording experiments: a response whose variations carry ids (studio/experiments/)."""
    by_response: dict[str, list[tuple[Doc, tuple[Any, ...], dict[Any, Any]]]] = defaultdict(list)
    for name, doc, path, variant in project.variants:
        if isinstance(variant, dict):
            by_response[name].append((doc, path, variant))
    for name, variations in by_response.items():
        ids = [v.get("id") for _, _, v in variations]
        if all(i is None for i in ids):
            continue
        doc, path, _ = variations[0]
        line = doc.line(*path[:2])
        if any(i is None for i in ids):
            yield Problem(
                doc.rel,
                line,
                f"dans l'essai de formulation « {name} », certaines variantes ont un id et "
                "d'autres non",
                "donne un id (ex. « id: courte ») à chaque variante, ou à aucune",
            )
        seen: dict[str, int | None] = {}
        texts: dict[str, str] = {}
        for vdoc, vpath, variant in variations:
            raw = variant.get("id")
            if raw is None:
                continue
            vid, vline = str(raw), vdoc.line(*vpath)
            if not VARIANT_ID_RE.match(vid):
                yield Problem(
                    vdoc.rel,
                    vline,
                    f"l'id de variante « {vid} » de « {name} » n'est pas valable",
                    "utilise 1 à 32 lettres sans accent, chiffres, - ou _ (ex. « courte »)",
                )
            if vid in seen:
                yield Problem(
                    vdoc.rel,
                    vline,
                    f"l'id de variante « {vid} » est déjà pris dans « {name} » (ligne {seen[vid]})",
                    "donne à chaque variante de la réponse un id différent",
                )
            seen.setdefault(vid, vline)
            text = " ".join(str(variant.get("text") or "").split())
            if text and text in texts:
                yield Problem(
                    vdoc.rel,
                    vline,
                    f"les variantes « {texts[text]} » et « {vid} » de « {name} » ont le même "
                    "texte : on ne pourra pas savoir laquelle a été lue",
                    "change le texte de l'une des deux",
                )
            texts.setdefault(text, vid)


# The knowledge base (FAQ) ----------------------------------------------------------------
def _check_knowledge_base(project: Project, on: date) -> Iterator[Problem]:
    """Each retrieval intent has examples and answers; each FAQ answer has its source and the
    date it was checked, and is not older than FAQ_MAX_AGE_MONTHS."""
    contract = {name for name in CONTRACT_INTENTS if "/" in name}  # reported above
    declared = set(project.intents)
    answers = {
        name.removeprefix("utter_"): where
        for name, where in project.responses.items()
        if "/" in name and name.split("/")[0].removeprefix("utter_") in declared
    }
    for intent, items in sorted(project.examples.items()):
        base = intent.split("/")[0]
        if "/" not in intent or base not in declared or not items or intent in contract:
            continue
        if intent not in answers:
            where = project.example_blocks[intent]
            yield Problem(
                where.file,
                where.line,
                f"la question « {intent} » a des exemples mais aucune réponse « utter_{intent} » "
                "dans le domaine : le robot ne saurait pas quoi répondre",
                f"ajoute « utter_{intent}: » avec sa réponse dans responses: de "
                f"domain/{base}.yml (ou corrige le nom après « - intent: »)",
            )
    for intent, where in sorted(answers.items()):
        if intent in contract or project.examples.get(intent):
            continue
        yield Problem(
            where.file,
            where.line,
            f"la réponse « utter_{intent} » n'a aucun exemple « {intent} » dans nlu_data/ : le "
            "robot ne la donnera jamais",
            f"ajoute « - intent: {intent} » et une dizaine d'exemples de questions dans "
            f"nlu_data/nlu/{intent.split('/')[0]}.yml, ou retire la réponse",
        )
    for name, doc, path, variant in project.variants:
        if name.startswith(FAQ_RESPONSE_PREFIX) and isinstance(variant, dict):
            yield from _check_faq_metadata(name, doc, path, variant, on)


FAQ_METADATA_FIX = (
    'ajoute sous le texte « metadata: {source: "https://…", checked_on: "AAAA-MM-JJ"} » : '
    "la page officielle où tu as vérifié la réponse, et la date de ce jour-là"
)


def _check_faq_metadata(
    name: str, doc: Doc, path: tuple[Any, ...], variant: dict[Any, Any], on: date
) -> Iterator[Problem]:
    metadata = variant.get("metadata")
    line = doc.line(*path, "metadata") or doc.line(*path)
    if not isinstance(metadata, dict):
        yield Problem(
            doc.rel,
            line,
            f"la réponse « {name} » ne dit pas d'où viennent ses informations ni quand elles "
            "ont été vérifiées (metadata: source et checked_on)",
            FAQ_METADATA_FIX,
        )
        return
    source = metadata.get("source")
    source_line = doc.line(*path, "metadata", "source")
    if not isinstance(source, str) or not source.strip():
        yield Problem(
            doc.rel,
            source_line,
            f"la réponse « {name} » n'a pas de source (metadata: source)",
            FAQ_METADATA_FIX,
        )
    elif not HTTPS_URL_RE.match(source.strip()):
        yield Problem(
            doc.rel,
            source_line,
            f"la source de « {name} » (« {source} ») n'est pas une adresse web en https://",
            "mets l'adresse complète de la page officielle, qui commence par https:// "
            "(copie-la depuis la barre d'adresse du navigateur)",
        )
    raw = metadata.get("checked_on")
    date_line = doc.line(*path, "metadata", "checked_on")
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        yield Problem(
            doc.rel,
            date_line,
            f"la réponse « {name} » n'a pas de date de vérification (metadata: checked_on)",
            FAQ_METADATA_FIX,
        )
        return
    if isinstance(raw, date):
        yield Problem(
            doc.rel,
            date_line,
            f"la date checked_on de « {name} » n'est pas entre guillemets : le moteur la lirait "
            "comme une date et ne pourrait plus enregistrer les conversations où cette "
            "réponse est donnée",
            f'écris-la entre guillemets : checked_on: "{raw.isoformat()}"',
        )
        return
    checked = _iso_date(raw)
    if checked is None:
        yield Problem(
            doc.rel,
            date_line,
            f"la date checked_on de « {name} » (« {raw} ») n'est pas une date AAAA-MM-JJ",
            "écris le jour de la vérification sous la forme année-mois-jour, entre "
            'guillemets : "2026-12-06"',
        )
        return
    if checked > on:
        yield Problem(
            doc.rel,
            date_line,
            f"la date checked_on de « {name} » ({checked.isoformat()}) est dans le futur",
            "mets la date du jour où tu as vérifié la réponse",
        )
    elif on > _add_months(checked, FAQ_MAX_AGE_MONTHS):
        where = f" ({source.strip()})" if isinstance(source, str) and source.strip() else ""
        yield Problem(
            doc.rel,
            date_line,
            f"la réponse « {name} » a été vérifiée le {checked.isoformat()}, il y a plus de "
            f"{FAQ_MAX_AGE_MONTHS} mois : montants, âges ou conditions ont pu changer",
            f"relis-la avec sa source{where}, corrige ce qui a changé, puis mets la date du "
            "jour dans checked_on",
            error=False,
        )


def _iso_date(value: Any) -> date | None:
    if not isinstance(value, str) or not ISO_DATE_RE.match(value.strip()):
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        return None


def _add_months(day: date, months: int) -> date:
    """The same day `months` later (the month's last day when that month is shorter)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


# Tone --------------------------------------------------------------------------------------
def _check_tone_of_responses(project: Project) -> Iterator[Problem]:
    for name, doc, path, variant in project.variants:
        if not isinstance(variant, dict) or name.startswith(TONE_EXEMPT_RESPONSES):
            continue
        text = variant.get("text")
        if isinstance(text, str):
            line = doc.line(*path, "text")
            yield from _tone_problems(doc.rel, line, f"la réponse « {name} »", text)
        for index, button in enumerate(_list(variant.get("buttons"))):
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


def _missing_response(name: str, where: Where) -> Problem:
    return Problem(
        where.file,
        where.line,
        f"la réponse « {name} » n'existe pas dans le domaine",
        f'vérifie l\'orthographe, ou ajoute « {name}: » avec au moins un « - text: "…" » dans '
        "responses: d'un fichier de domain/",
    )


def _check_button(
    doc: Doc, path: tuple[Any, ...], response: str, button: Any, project: Project
) -> Iterator[Problem]:
    line = doc.line(*path, "payload") or doc.line(*path)
    if not isinstance(button, dict) or not isinstance(button.get("title"), str):
        yield Problem(
            doc.rel,
            line,
            f"un bouton de « {response} » n'a pas de titre",
            'écris « - title: "…" » puis « payload: "/intention" »',
        )
        return
    payload = button.get("payload")
    if not isinstance(payload, str) or not payload.startswith("/"):
        return  # free text: the engine reads it as a typed message
    match = PAYLOAD_RE.match(payload)
    if match is None:
        yield Problem(
            doc.rel,
            line,
            f"le bouton « {button['title']} » a un payload mal formé",
            'écris-le « /intention » ou « /intention{"entité": "valeur"} »',
        )
        return
    intent = match.group("intent")
    if intent not in project.intents and intent not in DEFAULT_INTENTS:
        yield Problem(
            doc.rel,
            line,
            f"le bouton « {button['title']} » envoie l'intention « {intent} », qui n'est pas "
            "déclarée dans le domaine",
            f"corrige le payload avec une intention de la liste intents: (par exemple "
            f"« /{_closest(intent, project.intents) or 'affirm'} »)",
        )
    if match.group("entities"):
        try:
            entities = json.loads(match.group("entities"))
        except ValueError:
            yield Problem(
                doc.rel,
                line,
                f"le bouton « {button['title']} » a des valeurs illisibles après « /{intent} »",
                'écris-les comme {"entité": "valeur"}, avec des guillemets droits',
            )
            return
        for entity in _dict(entities):
            if entity not in project.entities:
                yield Problem(
                    doc.rel,
                    line,
                    f"le bouton « {button['title']} » donne l'entité « {entity} », qui "
                    "n'est pas déclarée",
                    f"ajoute « - {entity} » à entities: du domaine",
                )


def _check_placeholders(
    doc: Doc,
    path: tuple[Any, ...],
    response: str,
    text: str,
    project: Project,
    code: dict[str, ActionUse],
) -> Iterator[Problem]:
    use = code.get(response)
    for match in PLACEHOLDER_RE.finditer(text):
        name = match.group(1).strip()
        if name in project.slots:
            continue
        if use is not None and (use.any_kwargs or name in use.kwargs):
            continue  # the custom action that says it fills it in
        yield Problem(
            doc.rel,
            doc.line(*path),
            f"la réponse « {response} » contient « {{{name}}} », mais aucun slot ne s'appelle "
            f"« {name} » : le jeune verrait « {{{name}}} » tel quel",
            f"utilise le nom d'un slot déclaré (slots: du domaine), par exemple "
            f"« {{{_closest(name, project.slots) or 'age'}}} », ou retire les accolades",
        )


def _duplicated_examples(project: Project) -> Iterator[Problem]:
    seen: dict[str, tuple[str, Where]] = {}
    reported: set[tuple[str, str]] = set()
    for intent, items in project.examples.items():
        for text, where in items:
            key = " ".join(text.casefold().split())
            first = seen.setdefault(key, (intent, where))
            if first[0] != intent and (key, intent) not in reported:
                reported.add((key, intent))
                yield Problem(
                    where.file,
                    where.line,
                    f"l'exemple « {text} » est rangé sous « {intent} » et aussi sous "
                    f"« {first[0]} » ({first[1].file}:{first[1].line}) : le robot ne peut pas "
                    "apprendre les deux",
                    "garde-le sous une seule intention, celle qui correspond au sens du message",
                )


def _closest(name: str, candidates: Iterable[str]) -> str | None:
    import difflib

    found = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return found[0] if found else None


def _rel(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


# Entry point -------------------------------------------------------------------------------
OTHER_YAML = ("endpoints.yml", "credentials.yml")


def run_checks(
    config: str | os.PathLike[str] | None = None, *, today: date | None = None
) -> Report:
    """Every static check of the project whose settings file is `config` (its folder is the
    project root, as for `load_settings`). `today`: the day the FAQ answers' ages are
    measured from (by default the real one, `checks.today()`)."""
    path = Path(config or os.environ.get("MARAUDE_CONFIG") or "maraude.yml")
    root = path.resolve().parent
    report = Report()
    check_settings(root, path, report)
    check_config(root, report)
    for name in OTHER_YAML:
        if (root / name).is_file():
            load_yaml(root / name, name, report)
    check_domain_and_data(root, report, on=today)
    check_texts_tone(root, report)
    return report
