"""Outreach campaigns (core/campaigns.py) on SQLite and (gated) PostgreSQL: creating them, their
codes, the managers' refusals, first-touch attribution, archiving, and what erasure leaves."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from core.campaigns import (
    MAX_COST_CENTS,
    MAX_NAME,
    MAX_NOTE,
    CampaignDraft,
    CampaignError,
    CampaignService,
    check_draft,
    deep_link,
    is_code,
    slug,
)
from core.clock import FixedClock
from core.db import Database
from core.erasure import ErasureService
from core.models import Campaign, CampaignChannel, CampaignTouch, Channel, YoungPerson
from core.people import PeopleService

CODE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
TIKTOK = CampaignDraft("Rentrée TikTok #2 — Lens", CampaignChannel.tiktok, territory="Lens")
FLYERS = CampaignDraft("Flyers abribus gare", CampaignChannel.flyer, team="lens")
# What a deep link could carry that is not a campaign: harmless, nothing recorded.
MALFORMED = [
    "",
    " ",
    "a" * 65,
    "tiktok rentree",
    "tiktok/rentree",
    "x' OR '1'='1",
    "'; DROP TABLE campaign;--",
    "rentrée",
    "🎉",
    "abc\n",
    "%27",
]


@pytest.fixture
def campaigns(database: Database, clock: FixedClock) -> CampaignService:
    return CampaignService(database, clock)


@pytest.fixture
def people(database: Database, clock: FixedClock) -> PeopleService:
    return PeopleService(database, "c" * 40, clock)


def touch_count(database: Database, person_id: int | None = None) -> int:
    query = select(func.count()).select_from(CampaignTouch)
    if person_id is not None:
        query = query.where(CampaignTouch.person_id == person_id)
    with database.transaction() as session:
        return int(session.scalar(query) or 0)


def first_campaign_id(database: Database, person_id: int) -> int | None:
    with database.transaction() as session:
        return session.scalar(select(YoungPerson.campaign_id).where(YoungPerson.id == person_id))


# Creating ------------------------------------------------------------------------------------
def test_create_keeps_the_draft_and_gives_a_readable_unguessable_code(
    campaigns: CampaignService, clock: FixedClock
) -> None:
    draft = CampaignDraft(
        "  Rentrée TikTok #2 — Lens ",
        CampaignChannel.tiktok,
        territory=" Lens ",
        team="lens",
        starts_on=date(2026, 9, 1),
        ends_on=date(2026, 9, 30),
        note="Trois vidéos",
        cost_cents=45_000,
    )
    made = campaigns.create(draft)
    assert (made.name, made.channel, made.territory, made.team) == (
        "Rentrée TikTok #2 — Lens",
        CampaignChannel.tiktok,
        "Lens",
        "lens",
    )
    assert (made.starts_on, made.ends_on, made.note, made.cost_cents) == (
        date(2026, 9, 1),
        date(2026, 9, 30),
        "Trois vidéos",
        45_000,
    )
    assert made.created_at == clock.now() and not made.archived
    assert CODE.match(made.code) and is_code(made.code)
    assert slug(made.name) == "rentree-tiktok-2-lens" and made.code.startswith(
        slug(made.name) + "-"
    )
    assert campaigns.get(made.id) == made and campaigns.by_code(made.code) == made
    assert deep_link("MaraudeBot", made.code) == f"https://t.me/MaraudeBot?start={made.code}"


def test_codes_are_unique_and_valid_even_for_one_name_or_a_name_without_letters(
    campaigns: CampaignService,
) -> None:
    made = [campaigns.create(TIKTOK) for _ in range(25)]
    made += [campaigns.create(CampaignDraft("🎉🎉 !!", CampaignChannel.other)) for _ in range(5)]
    made.append(campaigns.create(CampaignDraft("x" * MAX_NAME, CampaignChannel.event)))
    codes = [c.code for c in made]
    assert len(set(codes)) == len(codes)
    assert all(CODE.match(code) for code in codes), codes
    # The random part differs from one campaign to the next: a code is not guessed from another.
    assert len({code.rsplit("-", 1)[-1] for code in codes[:25]}) == 25


REFUSED = [
    (CampaignDraft("   ", CampaignChannel.tiktok), "obligatoire"),
    (CampaignDraft("\x00 \x00", CampaignChannel.tiktok), "obligatoire"),
    (CampaignDraft("x" * (MAX_NAME + 1), CampaignChannel.tiktok), f"{MAX_NAME} caractères"),
    (
        CampaignDraft("Flyers", CampaignChannel.flyer, note="n" * (MAX_NOTE + 1)),
        f"{MAX_NOTE} caractères",
    ),
    (
        CampaignDraft(
            "Flyers",
            CampaignChannel.flyer,
            starts_on=date(2026, 9, 30),
            ends_on=date(2026, 9, 1),
        ),
        "se termine avant de commencer",
    ),
    (CampaignDraft("Flyers", CampaignChannel.flyer, cost_cents=-1), "montant positif"),
    (
        CampaignDraft("Flyers", CampaignChannel.flyer, cost_cents=MAX_COST_CENTS + 1),
        "montant positif",
    ),
]


@pytest.mark.parametrize(("draft", "message"), REFUSED)
def test_check_draft_refuses_with_a_french_message(draft: CampaignDraft, message: str) -> None:
    with pytest.raises(CampaignError, match=message):
        check_draft(draft)


def test_a_refused_draft_stores_nothing(campaigns: CampaignService, database: Database) -> None:
    for draft, message in REFUSED:
        with pytest.raises(CampaignError, match=message):
            campaigns.create(draft)
    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Campaign)) == 0


def test_check_draft_refuses_an_unknown_channel() -> None:
    with pytest.raises(ValueError):
        check_draft(CampaignDraft("Flyers", "fax"))  # type: ignore[arg-type]


def test_set_cost_refuses_a_negative_cost_and_ignores_an_unknown_campaign(
    campaigns: CampaignService,
) -> None:
    made = campaigns.create(FLYERS)
    assert campaigns.set_cost(made.id, 12_000).cost_cents == 12_000  # type: ignore[union-attr]
    with pytest.raises(CampaignError, match="montant positif"):
        campaigns.set_cost(made.id, -5)
    assert campaigns.get(made.id).cost_cents == 12_000  # type: ignore[union-attr]
    assert campaigns.set_cost(made.id + 1000, 1) is None


# Attribution -----------------------------------------------------------------------------------
def test_attribute_records_the_first_touch_and_every_campaign_once(
    campaigns: CampaignService, people: PeopleService, clock: FixedClock, database: Database
) -> None:
    tiktok, flyers = campaigns.create(TIKTOK), campaigns.create(FLYERS)
    person = people.identify(Channel.telegram, "801")
    other = people.identify(Channel.telegram, "802")

    assert campaigns.attribute(person.pseudo_id, tiktok.code) == tiktok
    clock.advance(days=3)
    assert campaigns.attribute(person.pseudo_id, flyers.code) == flyers
    clock.advance(days=1)
    assert campaigns.attribute(person.pseudo_id, tiktok.code) == tiktok  # the same link again

    assert campaigns.first_touch(person.pseudo_id) == tiktok  # first touch kept
    touched = campaigns.touches(person.pseudo_id)
    assert [c.id for c, _ in touched] == [tiktok.id, flyers.id]  # each campaign once, in order
    assert touched[1][1] - touched[0][1] == timedelta(days=3)
    assert touch_count(database, person.id) == 2
    # Nobody else is touched.
    assert (
        campaigns.first_touch(other.pseudo_id) is None and campaigns.touches(other.pseudo_id) == []
    )


def test_a_later_campaign_never_replaces_the_first_touch_even_for_another_order(
    campaigns: CampaignService, people: PeopleService, database: Database
) -> None:
    tiktok, flyers = campaigns.create(TIKTOK), campaigns.create(FLYERS)
    person = people.identify(Channel.telegram, "803")
    campaigns.attribute(person.pseudo_id, flyers.code)
    campaigns.attribute(person.pseudo_id, tiktok.code)
    assert first_campaign_id(database, person.id) == flyers.id


@pytest.mark.parametrize("code", MALFORMED)
def test_malformed_codes_are_not_codes(code: str) -> None:
    assert not is_code(code)


def test_malformed_codes_record_nothing(
    campaigns: CampaignService, people: PeopleService, database: Database
) -> None:
    campaigns.create(TIKTOK)
    person = people.identify(Channel.telegram, "804")
    for code in MALFORMED:
        assert campaigns.attribute(person.pseudo_id, code) is None, code
        assert campaigns.by_code(code) is None, code
    assert touch_count(database) == 0 and first_campaign_id(database, person.id) is None
    with database.transaction() as session:  # the table is still there, with its campaign
        assert session.scalar(select(func.count()).select_from(Campaign)) == 1


def test_unknown_code_or_unknown_person_records_nothing(
    campaigns: CampaignService, people: PeopleService, database: Database
) -> None:
    tiktok = campaigns.create(TIKTOK)
    person = people.identify(Channel.telegram, "805")
    near = tiktok.code[:-1] + ("a" if tiktok.code[-1] != "a" else "b")
    assert campaigns.attribute(person.pseudo_id, near) is None  # one character off
    assert campaigns.attribute(person.pseudo_id, tiktok.code.upper()) is None  # codes are exact
    assert campaigns.attribute("y" + "z" * 24, tiktok.code) is None  # nobody under this id
    assert touch_count(database) == 0 and first_campaign_id(database, person.id) is None


def test_an_archived_campaign_still_attributes_and_leaves_the_lists(
    campaigns: CampaignService, people: PeopleService, clock: FixedClock
) -> None:
    tiktok, flyers = campaigns.create(TIKTOK), campaigns.create(FLYERS)
    archived = campaigns.archive(flyers.id)
    assert archived is not None and archived.archived_at == clock.now()
    clock.advance(hours=1)
    assert campaigns.archive(flyers.id).archived_at == archived.archived_at  # type: ignore[union-attr]
    assert campaigns.archive(flyers.id + 1000) is None
    assert [c.id for c in campaigns.list()] == [tiktok.id]
    assert {c.id for c in campaigns.list(include_archived=True)} == {tiktok.id, flyers.id}

    person = people.identify(Channel.telegram, "806")  # the flyer is still on a wall
    assert campaigns.attribute(person.pseudo_id, flyers.code) is not None
    assert campaigns.first_touch(person.pseudo_id).id == flyers.id  # type: ignore[union-attr]


# Erasure --------------------------------------------------------------------------------------
def test_erasure_takes_the_touches_with_the_person_and_keeps_the_campaign(
    campaigns: CampaignService, people: PeopleService, database: Database
) -> None:
    tiktok, flyers = campaigns.create(TIKTOK), campaigns.create(FLYERS)
    leaving = people.identify(Channel.telegram, "807")
    staying = people.identify(Channel.telegram, "808")
    for code in (tiktok.code, flyers.code):
        campaigns.attribute(leaving.pseudo_id, code)
    campaigns.attribute(staying.pseudo_id, tiktok.code)
    assert touch_count(database, leaving.id) == 2

    report = ErasureService(database, database).erase(leaving.pseudo_id)  # /oubli

    assert report.person_erased and people.get(leaving.pseudo_id) is None
    assert touch_count(database, leaving.id) == 0
    assert campaigns.touches(leaving.pseudo_id) == []
    assert campaigns.get(tiktok.id) == tiktok and campaigns.get(flyers.id) == flyers
    assert campaigns.first_touch(staying.pseudo_id) == tiktok
    assert touch_count(database) == 1
