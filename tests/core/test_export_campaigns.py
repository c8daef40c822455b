"""/mesdonnees (core/export.py, core/export_text.py) names the campaigns that brought the
person, with their dates, and the triage's "already followed" answer kept on them; never a
campaign's code, cost or the managers' note."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import update

from core.campaigns import CampaignDraft
from core.export import PersonalData
from core.models import CampaignChannel, YoungPerson
from tests.support.world import World


@pytest.fixture
def world_db_url(db_url: str) -> str:
    return db_url


def export(world: World, pseudo: str) -> PersonalData:
    data = world.services.pipeline.rights.exporter.export(pseudo)  # type: ignore[union-attr]
    assert data is not None
    return data


async def test_the_campaigns_and_the_followed_answer_are_in_both_copies(world: World) -> None:
    campaigns = world.services.campaigns
    tiktok = campaigns.create(
        CampaignDraft(
            "TikTok rentrée",
            CampaignChannel.tiktok,
            note="Budget validé par la direction",
            cost_cents=98_765,
        )
    )
    flyers = campaigns.create(CampaignDraft("Flyers abribus", CampaignChannel.flyer))
    _, pseudo = world.person("760001")
    campaigns.attribute(pseudo, tiktok.code)
    world.clock.advance(days=2)
    campaigns.attribute(pseudo, flyers.code)
    world.people.record_followed(pseudo, "non")
    with world.services.db.transaction() as session:  # said in the triage (another part fills it)
        session.execute(
            update(YoungPerson).where(YoungPerson.pseudo_id == pseudo).values(heard_via="tiktok")
        )

    data = export(world, pseudo)
    portable = json.loads(data.as_json())
    assert [(c["name"], c["channel"], c["first"]) for c in portable["campaigns"]] == [
        ("TikTok rentrée", "tiktok", True),
        ("Flyers abribus", "flyer", False),
    ]
    assert portable["campaigns"][0]["at"] < portable["campaigns"][1]["at"]
    assert portable["person"]["followed"] == "non"
    assert portable["person"]["campaign_id"] == tiktok.id
    assert "campaign_touch" not in portable["other"]  # named, not left in "other"

    readable = data.as_text()
    for expected in (
        "Comment tu es arrivé·e jusqu'à nous",
        "arrivé·e par « TikTok rentrée » (TikTok)",
        "revenu·e par « Flyers abribus » (Flyer, affiche)",
        "Déjà accompagné·e par une structure (ta réponse au questionnaire) : non",
        "Comment tu as connu le robot (ta réponse) : TikTok",
    ):
        assert expected in readable, expected
    assert "campaign_id" not in readable
    assert readable.index("arrivé·e par") < readable.index("revenu·e par")
    # What is the managers', not about the person, stays out of both copies.
    for secret in (tiktok.code, flyers.code, "Budget validé", "98765", "987,65"):
        assert secret not in data.as_json() and secret not in readable, secret


async def test_a_person_no_campaign_brought_reads_rien(world: World) -> None:
    _, pseudo = world.person("760002")
    data = export(world, pseudo)
    assert json.loads(data.as_json())["campaigns"] == []
    readable = data.as_text()
    section = readable.split("== Comment tu es arrivé·e jusqu'à nous (liens de campagnes) ==")[1]
    assert section.lstrip().startswith("Rien.")
    assert "Déjà accompagné·e" not in readable
