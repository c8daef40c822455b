"""maraude.yml: the settings, validated by core.settings, each error mapped back to its line."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from studio.checks.report import Problem, Report
from studio.checks.yamldoc import Doc, load_yaml, rel_path

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
    rel = rel_path(config, root)
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
        settings = Settings(_env_file=config.resolve().parent / ".env", **data)  # type: ignore[call-arg]
    except ValidationError as exc:
        for error in exc.errors():
            loc = tuple(error["loc"])
            report.problems.append(_setting_problem(doc, loc, error, data))
    except Exception as exc:  # a validator that crashed: still a problem with the file
        report.problems.append(Problem(rel, None, f"réglages refusés : {exc}", "vérifie-les"))
    else:
        from studio.checks.places import site_warnings
        from studio.checks.privacy import privacy_warnings
        from studio.checks.webchat import webchat_warnings

        report.problems.extend(privacy_warnings(doc, settings))
        report.problems.extend(site_warnings(doc, settings))
        report.problems.extend(webchat_warnings(doc, settings))


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
