"""What a manager types to create or change a campaign (web form or command line), read
into a CampaignDraft: a channel among CAMPAIGN_CHANNELS, a team and a territory among the
settings', dates as YYYY-MM-DD, a cost in euros ("1 200,50", "80", "12.5"). Anything else is a
CampaignError with a French message saying what to fix."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from core.campaigns import MAX_COST_CENTS, CampaignDraft, CampaignError
from core.models import CampaignChannel
from core.settings import Settings
from core.vocabulary import CAMPAIGN_CHANNELS

MAX_FIELD = 2_000  # beyond this a field is not a typing mistake: refused before any parsing
EUROS_RE = re.compile(r"^[0-9]{1,9}(?:[.,][0-9]{1,2})?$")


@dataclass(frozen=True)
class CampaignFields:
    """The fields of the form, as typed (every one optional but the name and channel)."""

    name: str = ""
    channel: str = ""
    territory: str = ""
    team: str = ""
    starts_on: str = ""
    ends_on: str = ""
    note: str = ""
    cost: str = ""


def parse_euros(text: str) -> int | None:
    """A cost in euros as typed, in cents; None when empty."""
    cleaned = text.strip().replace("\u202f", "").replace("\xa0", "").replace(" ", "")
    cleaned = cleaned.removesuffix("€").removesuffix("EUR").removesuffix("eur")
    if not cleaned:
        return None
    if not EUROS_RE.fullmatch(cleaned):
        raise CampaignError("Coût invalide : un montant en euros, par exemple 150 ou 89,90.")
    try:
        cents = int(Decimal(cleaned.replace(",", ".")) * 100)
    except InvalidOperation as exc:  # pragma: no cover - the pattern above allows none
        raise CampaignError("Coût invalide : un montant en euros.") from exc
    if cents > MAX_COST_CENTS:
        raise CampaignError("Coût trop élevé : vérifie le montant (en euros).")
    return cents


def euros(cents: int | None) -> str:
    """A cost as managers read it: "1 200,50 €" ("" when not entered)."""
    if cents is None:
        return ""
    whole, rest = divmod(cents, 100)
    text = f"{whole:,}".replace(",", "\u202f")
    return f"{text},{rest:02d} €" if rest else f"{text} €"


def parse_day(text: str, what: str) -> date | None:
    """A date typed as YYYY-MM-DD (what a date field sends); None when empty."""
    text = text.strip()
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError as exc:
        raise CampaignError(f"Date {what} invalide : au format AAAA-MM-JJ.") from exc
    if not 2000 <= day.year <= 2100:
        raise CampaignError(f"Date {what} invalide : l'année doit être entre 2000 et 2100.")
    return day


def read_draft(fields: CampaignFields, settings: Settings) -> CampaignDraft:
    """The draft the fields describe, checked against the settings' teams and territories
    (the name, note and dates are checked again by CampaignService.create)."""
    values = (fields.name, fields.channel, fields.territory, fields.team, fields.note)
    if any(len(value) > MAX_FIELD for value in values):
        raise CampaignError("Un des champs est beaucoup trop long.")
    if fields.channel not in CAMPAIGN_CHANNELS:
        raise CampaignError("Choisis le canal de la campagne dans la liste.")
    territory = fields.territory.strip()
    if territory and territory not in {t.name for t in settings.territories}:
        raise CampaignError("Territoire inconnu : choisis-le dans la liste.")
    team = fields.team.strip()
    if team and team not in {t.id for t in settings.teams}:
        raise CampaignError("Équipe inconnue : choisis-la dans la liste.")
    return CampaignDraft(
        name=fields.name,
        channel=CampaignChannel(fields.channel),
        territory=territory or None,
        team=team or None,
        starts_on=parse_day(fields.starts_on, "de début"),
        ends_on=parse_day(fields.ends_on, "de fin"),
        note=fields.note or None,
        cost_cents=parse_euros(fields.cost),
    )
