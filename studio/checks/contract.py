"""The contract of DESIGN.md: the intents and entities that tests, evaluations and the app
rely on are all there (with examples and an answer for the FAQ ones)."""

from __future__ import annotations

from studio.checks.project import Project, Where
from studio.checks.report import Problem

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


def check_contract(project: Project) -> list[Problem]:
    out: list[Problem] = []
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
        if "/" in name and not project.has_response(f"utter_{name}"):
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
    return out
