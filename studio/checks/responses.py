"""The responses: those used by rules, stories, forms and the custom actions exist; each
variant has a text; buttons send declared intents and entities; `{name}` placeholders name a
slot (or a value the custom action passes).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from studio.checks.project import DEFAULT_ACTIONS, DEFAULT_INTENTS, ActionUse, Project, Where
from studio.checks.report import Problem
from studio.checks.yamldoc import Doc, as_dict, as_list, rel_path

PLACEHOLDER_RE = re.compile(r"(?<!\{)\{([^{}\n]+?)\}(?!\})")
PAYLOAD_RE = re.compile(r"^/(?P<intent>[^{}\s]+)(?P<entities>\{.*\})?\s*$", re.DOTALL)


def check_used_responses(root: Path, project: Project, code: dict[str, ActionUse]) -> list[Problem]:
    """Responses and actions used by rules, stories, forms and the custom actions' code exist."""
    out: list[Problem] = []
    for name, where in project.used_actions:
        if name.startswith("utter_"):
            if not project.has_response(name):
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
            if not any(project.has_response(a) for a in asks) and not any(
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
    action_files = rel_path(root / "actions", root)
    for name in sorted(code):
        if name.startswith("utter_") and not project.has_response(name):
            out.append(
                Problem(
                    action_files,
                    None,
                    f"le code des actions utilise la réponse « {name} », qui n'existe pas "
                    "dans le domaine",
                    f"ajoute « {name}: » dans responses: (ou rends-lui son ancien nom)",
                )
            )

    return out


def check_variants(project: Project, code: dict[str, ActionUse]) -> list[Problem]:
    """Each variant of a response: text, buttons, placeholders."""
    out: list[Problem] = []
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
        for index, button in enumerate(as_list(variant.get("buttons"))):
            out.extend(_check_button(doc, (*path, "buttons", index), name, button, project))
        if isinstance(text, str):
            out.extend(_check_placeholders(doc, (*path, "text"), name, text, project, code))

    return out


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
        for entity in as_dict(entities):
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


def _closest(name: str, candidates: Iterable[str]) -> str | None:
    import difflib

    found = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return found[0] if found else None
