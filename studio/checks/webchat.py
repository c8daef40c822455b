"""maraude.yml `webchat`: what the settings' validation cannot refuse but a manager should
know before the chat goes on the structure's site (warnings, not errors)."""

from __future__ import annotations

from core.settings import Settings
from studio.checks.report import Problem
from studio.checks.yamldoc import Doc

MIN_CONTRAST = 4.5  # WCAG 2.1 AA, normal text


def _luminance(colour: str) -> float:
    """Relative luminance of a #rrggbb colour (WCAG 2.1)."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_with_white(colour: str) -> float:
    return 1.05 / (_luminance(colour) + 0.05)


def webchat_warnings(doc: Doc, settings: Settings) -> list[Problem]:
    webchat = settings.webchat
    if not webchat.enabled:
        return []
    problems: list[Problem] = []
    ratio = contrast_with_white(webchat.colour)
    if ratio < MIN_CONTRAST:
        problems.append(
            Problem(
                doc.rel,
                doc.line("webchat", "colour"),
                f"la couleur du chat {webchat.colour} est trop claire pour du texte blanc "
                f"(contraste {ratio:.1f}:1, il faut au moins {MIN_CONTRAST}:1)",
                "choisis une couleur plus foncée (par ex. #1d4ed8)",
                error=False,
            )
        )
    for index, origin in enumerate(webchat.allowed_origins):
        if origin.startswith("http://") and not origin.startswith(
            ("http://localhost", "http://127.")
        ):
            problems.append(
                Problem(
                    doc.rel,
                    doc.line("webchat", "allowed_origins", index),
                    f"le site {origin} est en http:// : les messages des jeunes y passeraient "
                    "en clair",
                    "mets l'adresse en https:// du site",
                    error=False,
                )
            )
    email = webchat.email
    if email.smtp_host and not email.sender:
        problems.append(
            Problem(
                doc.rel,
                doc.line("webchat", "email", "sender"),
                "webchat.email a un serveur mais pas d'expéditeur : aucun mail ne partira",
                'ajoute « sender: » (par ex. "Mission Locale <ne-pas-repondre@…>")',
                error=False,
            )
        )
    if email.enabled and email.username and settings.smtp_password is None:
        problems.append(
            Problem(
                doc.rel,
                doc.line("webchat", "email", "username"),
                "webchat.email a un identifiant mais SMTP_PASSWORD n'est pas réglé",
                "mets le mot de passe du serveur de mail dans la variable SMTP_PASSWORD "
                "(fichier .env), jamais dans maraude.yml",
                error=False,
            )
        )
    return problems
