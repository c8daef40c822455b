"""maraude.yml: the privacy settings a young person reads in the notice and in their data
export (the controller and its DPO contact), warned about while empty or still the example
once the bot is live (a Telegram token is set: the demo without one keeps its examples)."""

from __future__ import annotations

from core.settings import Settings
from studio.checks.report import Problem
from studio.checks.yamldoc import Doc


def privacy_warnings(doc: Doc, settings: Settings) -> list[Problem]:
    """One warning per privacy setting left empty or as the shipped example, in production."""
    problems: list[Problem] = []
    if settings.telegram_bot_token is None:
        return problems
    for name in settings.organisation.privacy_placeholders():
        problems.append(
            Problem(
                doc.rel,
                doc.line(*name.split(".")),
                f"réglage « {name} » : vide ou encore la valeur d'exemple ; la notice de "
                "confidentialité et les exports /mesdonnees l'affichent aux jeunes",
                "avant la mise en production, mets le nom et l'adresse de ta structure "
                "(controller) et le contact de son ou sa délégué·e à la protection des "
                "données (dpo_contact)",
                error=False,
            )
        )
    return problems
