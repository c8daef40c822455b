"""What the crisis actions decide, as pure functions (no Rasa, no database).

- `crisis_kind`: the crisis kind (suicide, violence, shelter) of an intent;
- `is_minor`: whether the young person said, or the triage recorded, that they are under 18;
- `followup_topic`: what a message written after the helplines is about ("le 115 répond pas",
  "jveux juste parler à quelqu'un", "il regarde mon tel"...), to answer it and not repeat the
  first block;
- `presence_fr`: when the team is there, in plain words, from maraude.yml's opening hours.

Texts are matched flattened (lower case, no accents, apostrophes kept), on the engine's
normalised text when there is one ("jveux" -> "je veux", "jai" -> "j'ai").
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, time, timedelta
from typing import Any

from core.calendar import OpeningHours
from core.text import DAYS_FR, MONTHS_FR
from core.vocabulary import CRISIS_KIND_LABELS, age_is_minor

# The crisis intents and their kind ("crisis_suicide" -> "suicide").
CRISIS_KINDS = {f"crisis_{kind}": kind for kind in CRISIS_KIND_LABELS}

# "je suis mineure", "j'ai 16 ans", "16 ans et ils m'ont mis dehors" (not "ma soeur a 14 ans": the
# 119 is in the violence answer for a child in danger anyway).
_MINOR = re.compile(
    r"\b(?:suis|encore|etre) mineure?\b|\bmoins de (?:18|dix[- ]huit) ans\b"
    r"|\bj'?ai (?:que |seulement |juste )?(?:1[0-7]|quinze|seize|dix[- ]sept) ?(?:ans|piges)\b"
    r"|^(?:1[0-7]) ?ans\b|\btrop jeune\b|\b(?:prennent|prend|accepte\w*) pas (?:les )?mineur"
)

# Follow-up topics, first match wins (the order matters: "je veux pas appeler" is a wish to talk,
# not a call about to be made). Each is a list of alternatives.
_TOPIC_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("minor", (_MINOR.pattern,)),
    (
        "discreet",
        (
            r"\b(?:regarde|lit|lis|fouille|surveille|check|controle|prend|prendre)\w*"
            r" (?:mon|mes|sur mon)"
            r" (?:tel|telephone|portable|phone|messages|sms|snap|conversations?)\b",
            r"\b(?:il|elle|ils) (?:est|sont|peut|peuvent) (?:a cote|juste a cote|derriere moi"
            r"|dans la piece|entendre|voir|lire)\b",
            r"\bpeux pas (?:parler|appeler|telephoner) (?:la|ici|maintenant|fort)\b",
            r"\bpas (?:seule?|tranquille) pour (?:parler|appeler)\b",
        ),
    ),
    (
        "busy",
        (
            r"\b(?:repond|repondent|decroche|decrochent|repondu)\b[^.!?]{0,12}?"
            r"\b(?:pas|plus|jamais|personne)\b",
            r"\b(?:pas|personne|jamais) (?:ne )?(?:repond|decroche)",
            r"\bsature|\bca sonne (?:dans le vide|occupe)|\boccupe\b|\braccroche",
            r"\b(?:pas de|plus de|aucune) place\b|\bcomplet\b|\bfile d'attente\b|\bmessagerie\b",
        ),
    ),
    (
        "talk",
        (
            r"\bparler (?:a|avec) (?:quelqu'un|qqn|qq1|un humain|une vraie personne|une personne"
            r"|un vrai)",
            r"\b(?:veux|peux|ose|arrive) pas (?:a )?(?:appeler|telephoner)\b",
            r"\bpar (?:ecrit|message|messages|sms|tchat|chat|texto)\b|\bun humain\b",
            r"\bparler maintenant\b|\bquelqu'un (?:maintenant|tout de suite|la|ce soir)\b",
            r"\bj'?ai besoin de parler\b",
        ),
    ),
    (
        "calling",
        (
            r"\b(?:vais|va|vas|allons|on va) (?:les |l'|le |la )?(?:appeler|rappeler|telephoner)\b",
            r"\bj'?(?:appelle|les appelle|l'appelle)\b|\bje (?:les |l')?(?:appelle|rappelle)\b",
            r"\bappeler avec\b|\bon (?:les )?appelle\b",
        ),
    ),
    ("numbers", (r"\bnumeros?\b|\bredonne|\brappelle[- ]moi (?:le|les)\b|\bquel (?:num|tel)\b",)),
    ("thanks", (r"\bmerci\b|\bmrc\b|\bthx\b|\bmercii+\b",)),
)
_TOPICS = tuple((name, re.compile("|".join(words))) for name, words in _TOPIC_WORDS)
# Intents that say the same without the words.
_TOPIC_INTENTS = {"thanks": "thanks", "goodbye": "goodbye", "ask_human": "talk"}
# What a plain "oui" / "non" answers: the offer the last follow-up made.
OFFER_NUMBERS = "numbers"
DEFAULT_REPLIES = 4  # utter_crisis_followup_1..4, in turn


def flat(text: str) -> str:
    """Lower case, no accents, apostrophes kept (’ -> '), other punctuation -> spaces."""
    decomposed = unicodedata.normalize("NFKD", text.lower().replace("’", "'"))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9'/]+", " ", bare).strip()


def crisis_kind(intent: str | None) -> str | None:
    return CRISIS_KINDS.get(str(intent)) if intent else None


def is_minor(
    text: str | None, age: Any = None, entities: list[dict[str, Any]] | None = None
) -> bool:
    """Under 18: the age given in the triage or in the message, or said in words."""
    candidates = [age] + [
        e.get("value") for e in entities or [] if isinstance(e, dict) and e.get("entity") == "age"
    ]
    for value in candidates:
        if age_is_minor(value):  # digits, or a band said before consent ("15-17 ans")
            return True
    return bool(text) and bool(_MINOR.search(flat(str(text))))


def followup_topic(text: str | None, intent: str | None, offer: str | None) -> str:
    """What a message written during a crisis is about (a key of the follow-up answers):
    minor, discreet, busy, talk, calling, numbers, thanks, goodbye, numbers_yes, numbers_no,
    or "other"."""
    flattened = flat(text or "")
    if not flattened.startswith("/"):
        for name, pattern in _TOPICS:
            if pattern.search(flattened):
                return name
    if offer == OFFER_NUMBERS and intent in ("affirm", "deny"):
        return "numbers_yes" if intent == "affirm" else "numbers_no"
    return _TOPIC_INTENTS.get(str(intent), "other")


def default_reply(turns: int) -> int:
    """Which of the DEFAULT_REPLIES (1-based) the `turns`-th follow-up gets: each in turn."""
    return turns % DEFAULT_REPLIES + 1


# --- when the team is there ---------------------------------------------------------------


def clock_fr(moment: time) -> str:
    """9:00 -> "9h", 17:30 -> "17h30", 0:00 -> "minuit"."""
    if moment == time(0, 0):
        return "minuit"
    return f"{moment.hour}h{moment.minute:02d}" if moment.minute else f"{moment.hour}h"


def hours_fr(hours: OpeningHours) -> str:
    """The weekly hours in plain words: "du lundi au vendredi, de 9h à 17h30" (a day's first
    opening to its last closing; days with the same span grouped)."""
    spans = [(day[0][0], day[-1][1]) if day else None for day in hours.weekly]
    groups: list[tuple[int, int, tuple[time, time]]] = []
    for index, span in enumerate(spans):
        if span is None:
            continue
        if groups and groups[-1][1] == index - 1 and groups[-1][2] == span:
            groups[-1] = (groups[-1][0], index, span)
        else:
            groups.append((index, index, span))
    parts = []
    for first, last, (opening, closing) in groups:
        days = (
            f"le {DAYS_FR[first]}" if first == last else f"du {DAYS_FR[first]} au {DAYS_FR[last]}"
        )
        parts.append(f"{days}, de {clock_fr(opening)} à {clock_fr(closing)}")
    return " et ".join(parts)


def _day_fr(day: date, today: date) -> str:
    if day == today:
        return "aujourd'hui"
    if day == today + timedelta(days=1):
        return "demain"
    if day < today + timedelta(days=7):
        return DAYS_FR[day.weekday()]
    return f"le {day.day} {MONTHS_FR[day.month - 1]}"


def presence_fr(hours: OpeningHours, now: datetime) -> str:
    """When the team is there: now (until when), or when it comes back (never a delay in days
    without the day)."""
    opening, closing = hours.presence(now)
    local_now = now.astimezone(hours.tz)
    if opening <= now:
        until = closing.astimezone(hours.tz)
        return f"L'équipe est là en ce moment, jusqu'à {clock_fr(until.time())}."
    back = opening.astimezone(hours.tz)
    when = f"{_day_fr(back.date(), local_now.date())} à {clock_fr(back.time())}"
    return (
        f"L'équipe est là {hours_fr(hours)} : elle revient {when}. "
        "D'ici là, ce sont ces numéros qui répondent."
    )
