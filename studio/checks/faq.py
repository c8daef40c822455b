"""The knowledge base (FAQ): each retrieval intent `faq/<name>` has examples and an answer
`utter_faq/<name>`, and the reverse; each answer carries `metadata: {source: "https://…",
checked_on: "AAAA-MM-JJ"}` (missing or malformed: error); an answer checked more than
FAQ_MAX_AGE_MONTHS ago is a warning, so that a manager re-reads it against its source.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from datetime import date
from typing import Any

from studio.checks.contract import CONTRACT_INTENTS
from studio.checks.project import Project
from studio.checks.report import Problem
from studio.checks.yamldoc import Doc

# The knowledge base: every FAQ answer says where its facts come from and when a person last
# checked them against that source; older than this, `maraude check` asks for a re-check.
FAQ_RESPONSE_PREFIX = "utter_faq/"
FAQ_MAX_AGE_MONTHS = 12
HTTPS_URL_RE = re.compile(r"^https://[^\s/]+\.[^\s/]+(/\S*)?$")
ISO_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def check_knowledge_base(project: Project, on: date) -> Iterator[Problem]:
    """Each retrieval intent has examples and answers; each FAQ answer has its source and the
    date it was checked, and is not older than FAQ_MAX_AGE_MONTHS."""
    contract = {name for name in CONTRACT_INTENTS if "/" in name}  # check_contract says it
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
    elif on > add_months(checked, FAQ_MAX_AGE_MONTHS):
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


def add_months(day: date, months: int) -> date:
    """The same day `months` later (the month's last day when that month is shorter)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
