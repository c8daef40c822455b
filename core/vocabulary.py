"""Shared words of the app, defined once: what the triage stores, the labels counsellors and
managers read, limits every side relies on, the default time zone, durations in French.

Standard library only. The intents' own names are in core/intents.py.
"""

from __future__ import annotations

from datetime import timedelta

from core.intents import NEED_LABELS

# The default time zone of the service (`nudges.timezone` in maraude.yml overrides it; code that
# shows or schedules local times takes the setting, never this constant directly).
DEFAULT_TIMEZONE = "Europe/Paris"

# What the triage stores for a question the young person skipped.
SKIPPED = "passé"
# The needs a young person can name, in the words the triage stores (skipped excluded).
NEEDS = tuple(NEED_LABELS.values())

# Ticket ids are INTEGER columns on every backend: a larger id in a URL or a command is refused
# before it reaches the database.
MAX_TICKET_ID = 2**31 - 1

# Crisis kinds as stored on tickets and signals ("suicide"), and as intents ("crisis_suicide").
CRISIS_KIND_LABELS = {
    "suicide": "idées suicidaires",
    "violence": "violences",
    "shelter": "sans endroit où dormir",
}


def crisis_label(kind: str | None) -> str:
    """The French label of a crisis kind, whether given as a kind or as its intent."""
    if not kind:
        return ""
    kind = kind.removeprefix("crisis_")
    return CRISIS_KIND_LABELS.get(kind, kind)


# Where a hand-off request came from.
SOURCE_LABELS = {
    "triage": "après le questionnaire",
    "ask_human": "demande directe",
    "crisis": "message de crise",
    "fallback": "le robot n'a pas su répondre",
}
# Through what a counsellor acted on a ticket: as a noun (event lists) and as a phrase
# ("pris en charge sur Telegram").
VIA_LABELS = {
    "web": "tableau de bord",
    "api": "API",
    "telegram": "Telegram",
    "bot": "robot",
    "system": "système",
}
VIA_PHRASES = {"telegram": "sur Telegram", "web": "sur le tableau de bord", "api": "par l'API"}
# Who wrote, when it was not the young person themselves.
WRITER_LABELS = {"parent": "un parent", "proche": "un proche"}


def duration_fr(delta: timedelta) -> str:
    """12 min, 3 h 05, 2 j 4 h (French, for counsellors and managers)."""
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} min"
    hours, mins = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {mins:02d}" if mins else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} j {hours} h" if hours else f"{days} j"


# The custom message the erasure action sends (actions/privacy.py) and the conversation
# pipeline acts on (bot/pipeline.py): erase the person once the engine has saved the turn.
ERASE_SIGNAL = {"maraude": "erase"}


# Age bands asked before consent (actions/welcome.py), kept on the person (`age_band`):
# button payload value -> the words the triage stores in the `age` slot and counsellors read.
UNDER_15 = "moins_15"
AGE_BANDS = {
    UNDER_15: "moins de 15 ans",
    "15_17": "15-17 ans",
    "18_25": "18-25 ans",
    "plus_25": "plus de 25 ans",
}
MINOR_BANDS = frozenset({UNDER_15, "15_17"})
# The ages a young person may type (12-30): others are asked again once, never stored.
AGE_MIN, AGE_MAX = 12, 30
ADULT_AGE = 18


def band_of_age(age: int) -> str:
    """The band of an age in years (any age: the caller checks the range)."""
    if age < 15:
        return UNDER_15
    if age < ADULT_AGE:
        return "15_17"
    return "18_25" if age <= 25 else "plus_25"


def age_is_minor(value: object) -> bool:
    """An `age` slot value (digits, or a band's words) says under 18."""
    text = str(value or "").strip()
    if text.isdigit():
        return int(text) < ADULT_AGE
    return text in (AGE_BANDS[band] for band in MINOR_BANDS)


# Where a young person talks with the bot (core/models/people.py Channel), as counsellors
# and managers read it: the queue, the ticket page, the API's readers, the counsellors'
# bridge and the results split by channel.
CHANNEL_LABELS = {
    "telegram": "Telegram",
    "web": "Chat web",
    "simulator": "Simulateur",
    "terminal": "Terminal",
}


def channel_label(channel: object) -> str:
    """The French label of a young person's channel (the value itself when unknown)."""
    return CHANNEL_LABELS.get(str(channel), str(channel))


# Where an outreach campaign reaches young people (core/models/campaigns.py CampaignChannel),
# as managers and funders read it; "unknown": no campaign link and nothing said.
CAMPAIGN_CHANNELS = {
    "instagram": "Instagram",
    "snapchat": "Snapchat",
    "tiktok": "TikTok",
    "discord": "Discord",
    "flyer": "Flyer, affiche",
    "partner": "Partenaire",
    "event": "Événement",
    "other": "Autre",
}
UNKNOWN_SOURCE = "unknown"
UNKNOWN_SOURCE_LABEL = "Sans campagne connue"
# Figures about fewer people than this are shown as "< 5" on every page and CSV about
# campaigns and funders' indicators, so that no young person can be recognised.
SMALL_NUMBER = 5
