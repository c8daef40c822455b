"""Outreach campaigns: their codes (the Telegram deep-link payload `/start <code>`), managing
them, and first-touch attribution of the young people they bring.

A code is a short readable slug of the campaign's name and a random part
(`tiktok-rentree-k3x9q2mz`): readable on a flyer, not guessable from another campaign's code.
An unknown or malformed code is harmless: the caller treats it as a plain /start.

Attribution: the first campaign that brought a person is kept on the person
(`young_person.campaign_id`, never changed afterwards); every campaign that reached them is a
`campaign_touch` (once per campaign). Both go with the person when they are erased; their part
of the statistics is folded into anonymous counts first (studio/analytics/archive.py).
"""

from __future__ import annotations

import builtins  # `list` in the class below is CampaignService.list
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.clock import Clock, SystemClock
from core.db import Database
from core.models import Campaign, CampaignChannel, CampaignTouch, YoungPerson
from core.people import person_by_pseudo
from core.text import storable

CODE_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # what Telegram accepts as a start parameter
RANDOM_CHARS = "abcdefghijkmnpqrstuvwxyz23456789"  # no 0/o, 1/l: read off a poster
RANDOM_LENGTH = 8  # 32**8 ≈ 10**12 codes per slug
SLUG_LENGTH = 24
MAX_NAME = 120
MAX_NOTE = 500
MAX_COST_CENTS = 100_000_000  # one million euros: beyond, a typing mistake


class CampaignError(ValueError):
    """A campaign that cannot be created or changed as asked (French message for managers)."""


@dataclass(frozen=True)
class CampaignDraft:
    """What a manager enters to create a campaign."""

    name: str
    channel: CampaignChannel
    territory: str | None = None
    team: str | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    note: str | None = None
    cost_cents: int | None = None


@dataclass(frozen=True)
class CampaignView:
    id: int
    code: str
    name: str
    channel: CampaignChannel
    territory: str | None
    team: str | None
    starts_on: date | None
    ends_on: date | None
    note: str | None
    cost_cents: int | None
    created_at: datetime
    archived_at: datetime | None

    @property
    def archived(self) -> bool:
        return self.archived_at is not None


def _view(row: Campaign) -> CampaignView:
    return CampaignView(
        row.id,
        row.code,
        row.name,
        CampaignChannel(row.channel),
        row.territory,
        row.team,
        row.starts_on,
        row.ends_on,
        row.note,
        row.cost_cents,
        row.created_at,
        row.archived_at,
    )


def slug(name: str) -> str:
    """Lower-case ASCII words joined by dashes: "Rentrée TikTok #2" -> "rentree-tiktok-2"."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_name.lower())
    return "-".join(words)[:SLUG_LENGTH].strip("-")


def new_code(name: str) -> str:
    """A fresh code for a campaign called `name` (uniqueness is checked when it is stored)."""
    random_part = "".join(secrets.choice(RANDOM_CHARS) for _ in range(RANDOM_LENGTH))
    prefix = slug(name)
    return f"{prefix}-{random_part}" if prefix else random_part


def is_code(text: str) -> bool:
    """Could `text` be a campaign code (the shape Telegram allows), before any look-up."""
    return bool(CODE_RE.fullmatch(text))  # not `match`: "$" would let a final "\n" through


def deep_link(bot_username: str, code: str) -> str:
    """The link that opens the bot with `/start <code>`."""
    return f"https://t.me/{bot_username}?start={code}"


def check_draft(draft: CampaignDraft) -> CampaignDraft:
    """The draft, cleaned, or CampaignError saying what is wrong."""
    name = storable(draft.name).strip()
    if not name:
        raise CampaignError("Le nom de la campagne est obligatoire.")
    if len(name) > MAX_NAME:
        raise CampaignError(f"Le nom de la campagne dépasse {MAX_NAME} caractères.")
    note = storable(draft.note).strip() if draft.note else None
    if note and len(note) > MAX_NOTE:
        raise CampaignError(f"La note dépasse {MAX_NOTE} caractères.")
    if draft.starts_on and draft.ends_on and draft.ends_on < draft.starts_on:
        raise CampaignError("La campagne se termine avant de commencer.")
    if draft.cost_cents is not None and not 0 <= draft.cost_cents <= MAX_COST_CENTS:
        raise CampaignError("Le coût doit être un montant positif (en euros).")
    return CampaignDraft(
        name,
        CampaignChannel(draft.channel),
        (draft.territory or "").strip() or None,
        (draft.team or "").strip() or None,
        draft.starts_on,
        draft.ends_on,
        note or None,
        draft.cost_cents,
    )


class CampaignService:
    """Campaigns (managers) and attribution (the channels, at `/start <code>`)."""

    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self._db = db
        self._clock = clock or SystemClock()

    # Managing -----------------------------------------------------------------------------
    def create(self, draft: CampaignDraft) -> CampaignView:
        draft = check_draft(draft)
        with self._db.transaction() as session:
            code = new_code(draft.name)
            while session.scalar(select(Campaign.id).where(Campaign.code == code)) is not None:
                code = new_code(draft.name)  # ~never: 32**8 random parts per slug
            row = Campaign(
                code=code,
                name=draft.name,
                channel=draft.channel,
                territory=draft.territory,
                team=draft.team,
                starts_on=draft.starts_on,
                ends_on=draft.ends_on,
                note=draft.note,
                cost_cents=draft.cost_cents,
                created_at=self._clock.now(),
            )
            session.add(row)
            session.flush()
            return _view(row)

    def list(self, *, include_archived: bool = False) -> list[CampaignView]:
        query = select(Campaign).order_by(Campaign.created_at.desc(), Campaign.id.desc())
        if not include_archived:
            query = query.where(Campaign.archived_at.is_(None))
        with self._db.transaction() as session:
            return [_view(row) for row in session.scalars(query)]

    def get(self, campaign_id: int) -> CampaignView | None:
        with self._db.transaction() as session:
            row = session.get(Campaign, campaign_id)
            return _view(row) if row else None

    def by_code(self, code: str) -> CampaignView | None:
        if not is_code(code):
            return None
        with self._db.transaction() as session:
            row = session.scalar(select(Campaign).where(Campaign.code == code))
            return _view(row) if row else None

    def set_cost(self, campaign_id: int, cost_cents: int | None) -> CampaignView | None:
        if cost_cents is not None and not 0 <= cost_cents <= MAX_COST_CENTS:
            raise CampaignError("Le coût doit être un montant positif (en euros).")
        with self._db.transaction() as session:
            row = session.get(Campaign, campaign_id)
            if row is None:
                return None
            row.cost_cents = cost_cents
            return _view(row)

    def archive(self, campaign_id: int) -> CampaignView | None:
        """Archive a campaign: off the active lists; its link still attributes (a flyer stays
        on a wall) and its figures stay. None if there is no such campaign."""
        with self._db.transaction() as session:
            row = session.get(Campaign, campaign_id)
            if row is None:
                return None
            if row.archived_at is None:
                row.archived_at = self._clock.now()
            return _view(row)

    # Attribution ----------------------------------------------------------------------------
    def attribute(self, pseudo_id: str, code: str) -> CampaignView | None:
        """Record that the campaign of `code` reached the person: a touch (once per
        campaign), and the first touch if they had none. None (nothing recorded) for an
        unknown or malformed code or an unknown person."""
        if not is_code(code):
            return None
        with self._db.transaction() as session:
            campaign = session.scalar(select(Campaign).where(Campaign.code == code))
            person = person_by_pseudo(session, pseudo_id)
            if campaign is None or person is None:
                return None
            self._touch(session, person, campaign)
            return _view(campaign)

    def _touch(self, session: Session, person: YoungPerson, campaign: Campaign) -> None:
        now = self._clock.now()
        seen = session.scalar(
            select(CampaignTouch.id).where(
                CampaignTouch.person_id == person.id, CampaignTouch.campaign_id == campaign.id
            )
        )
        if seen is None:
            session.add(CampaignTouch(person_id=person.id, campaign_id=campaign.id, at=now))
        # First touch: set once, by a conditional update (never overwritten by a later code).
        session.execute(
            update(YoungPerson)
            .where(YoungPerson.id == person.id, YoungPerson.campaign_id.is_(None))
            .values(campaign_id=campaign.id)
        )

    def first_touch(self, pseudo_id: str) -> CampaignView | None:
        with self._db.transaction() as session:
            person = person_by_pseudo(session, pseudo_id)
            if person is None or person.campaign_id is None:
                return None
            row = session.get(Campaign, person.campaign_id)
            return _view(row) if row else None

    def touches(self, pseudo_id: str) -> builtins.list[tuple[CampaignView, datetime]]:
        """Every campaign that reached the person, first first (for /mesdonnees)."""
        with self._db.transaction() as session:
            person = person_by_pseudo(session, pseudo_id)
            if person is None:
                return []
            rows = session.execute(
                select(Campaign, CampaignTouch.at)
                .join(CampaignTouch, CampaignTouch.campaign_id == Campaign.id)
                .where(CampaignTouch.person_id == person.id)
                .order_by(CampaignTouch.at, CampaignTouch.id)
            )
            return [(_view(campaign), at) for campaign, at in rows]
