"""The training data: intents and slots used by rules and stories are declared; declared
intents have examples, and examples a declared intent; no example under two intents; annotated
entities are declared.
"""

from __future__ import annotations

from collections.abc import Iterator

from studio.checks.project import DEFAULT_INTENTS, DEFAULT_SLOTS, Project, Where
from studio.checks.report import Problem


def check_training_data(project: Project) -> list[Problem]:
    out: list[Problem] = []
    intents = set(project.intents) | DEFAULT_INTENTS
    base_intent = {name.split("/")[0] for name in project.intents}

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
    return out


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
