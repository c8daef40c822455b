"""What the simulated young people write: a realistic mix of conversations, in informal French.

A script is a list of steps: ("say", text), ("press", button title; "*" = the first button,
skipped when the bot's last message has no keyboard) and ("burst", (text, marker), (text,
marker)): two messages sent 150 ms apart whose answers must come in that order (each answer is
recognised by the marker it starts with).
"""

from __future__ import annotations

import random
from typing import Any

Step = tuple[Any, ...]

WELCOME: list[Step] = [("say", "/start"), ("press", "Passer"), ("press", "OK pour moi")]
NEEDS = ["jcherche du taf", "jcherche une formation", "jsais pas koi faire jveux bosser"]
AGES = ["j'ai 19 ans", "19", "22 ans", "jai 20ans"]
PLACES = ["59100", "j'habite à Liévin", "62300", "Roubaix"]
CONTACTS = ["ici dans le chat le soir", "appelle moi plutot le matin", "par message ici"]
FAQ_FIRST = ["c quoi le cej", "c koi le contrat d'engagement jeune", "le cej c quoi"]
BURST = (
    ("et le service civique c koi", "Le Service civique"),
    ("c quoi la mission locale", "La Mission Locale"),
)
CRISIS = ["jen peux plus jveux mourir", "jveux en finir", "j'ai envie de me tuer"]
THANKS = ["merci bcp", "ok merci", "top merci"]
HUMAN = ["jveux parler a qqn de vrai", "je peux parler à un conseiller ?", "/conseiller"]

# Persona -> weight in the mix.
MIX = {"triage": 4, "faq": 3, "crisis": 1, "handoff": 2}


def script(persona: str, rng: random.Random) -> list[Step]:
    if persona == "triage":
        return [
            *WELCOME,
            ("say", rng.choice(NEEDS)),
            ("say", rng.choice(AGES)),
            ("say", rng.choice(PLACES)),
            ("press", "Rien pour l'instant"),
            ("press", "Non"),
            ("say", rng.choice(CONTACTS)),
            ("press", "C'est bon"),
            ("press", "Oui"),
        ]
    if persona == "faq":
        return [
            *WELCOME,
            ("say", rng.choice(FAQ_FIRST)),
            ("burst", *BURST),
            ("say", rng.choice(THANKS)),
        ]
    if persona == "crisis":
        return [*WELCOME, ("say", "jcherche un appart"), ("say", rng.choice(CRISIS))]
    if persona == "handoff":
        return [
            *WELCOME,
            ("say", rng.choice(HUMAN)),
            ("press", "*"),
            ("say", "ici dans le chat le soir"),
            ("press", "*"),
        ]
    raise ValueError(persona)


def personas(rng: random.Random) -> list[str]:
    """An endless-enough draw of personas following MIX (seeded: every run the same mix)."""
    names, weights = list(MIX), list(MIX.values())
    return rng.choices(names, weights, k=100_000)
