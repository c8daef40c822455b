"""The seeded population of tests/support/analytics.py, with sources and answers for the
funders' indicators (`seed_indicators(db, settings)`; who is who in its docstring).

Campaign attribution and the triage's `followed` answer go through the real services
(CampaignService, PeopleService.record_followed); `heard_via` gets a direct update (nothing in
this tree fills it yet)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, update

from core.campaigns import CampaignDraft, CampaignService
from core.db import Database
from core.models import CampaignChannel, Channel, Role, YoungPerson
from core.people import PeopleService
from core.settings import Settings
from handoff.accounts import AccountService
from handoff.requests import HandoffService, TriageSummary
from handoff.tickets import TicketService
from tests.support import repo_router
from tests.support.analytics import END, HandClock, Seeded, seed
from tests.support.tickets import FAST_HASHER

PASSWORD = "un-mot-de-passe-solide"


@dataclass
class SeededSources(Seeded):
    pseudo: dict[str, str]
    campaigns: dict[str, int]


def jan(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, minute, tzinfo=UTC)


def seed_indicators(db: Database, settings: Settings) -> SeededSources:
    """tests/support/analytics.py's eight people of March 2026 (P1-P8), and:

    - P9 and P10 (January 2026, Lens): consent, a request claimed after 10 min and a first
      reply after 30 min (P9) and 90 min (P10), still open; they said they heard of the bot on
      Discord (heard_via), P9 is not followed by a structure, P10 is.
    - Campaign "TikTok printemps" (tiktok) brought P1-P6; "Flyers gare" (flyer) brought P8,
      and P1 later (a second touch: P1 stays TikTok's). P7 said Instagram.
    - followed: P1, P2, P4, P5, P6, P9 "non"; P3, P8, P10 "oui"; P7 did not answer.
    - S1, a web simulator person in January with consent and a request: never counted.

    Q1 2026: repérés 10, mobilisés 9 (all but P7), orientés 7 (P1 P2 P4 P5 P8 P9 P10),
    sorties positives 2 (P1 mission_locale, P4 sante; P8's 'emploi' is on 2 April: Q2);
    invisibles 6 of 9 answers; first replies 30, 40, 60, 90, 420 min: median 60.
    """
    population = seed(db, settings)
    clock = HandClock(jan(5, 9))
    router = repo_router()
    people = PeopleService(db, "k" * 40, clock)
    handoff = HandoffService(db, router, clock)
    tickets = TicketService(
        db, settings.handoff, router, clock, team_ids=[t.id for t in settings.teams]
    )
    accounts = AccountService(db, clock, FAST_HASHER)
    max_ = accounts.add("max.indicators@example.org", "Max", PASSWORD, role=Role.manager)
    with db.transaction() as session:
        pseudo = {
            name: session.scalar(select(YoungPerson.pseudo_id).where(YoungPerson.id == pid)) or ""
            for name, pid in population.people.items()
        }
    for name, day, reply_after in (("P9", 5, 30), ("P10", 12, 90)):
        clock.at(jan(day, 9))
        ref = people.identify(Channel.telegram, f"{name}-indicators")
        pseudo[name] = ref.pseudo_id
        population.people[name] = ref.id
        people.record_consent(ref.pseudo_id, True)
        clock.at(jan(day, 9, 5))
        ticket = handoff.request(
            ref.pseudo_id, TriageSummary(location="Lens"), source="triage"
        ).ticket_id
        population.tickets[name] = ticket
        clock.at(jan(day, 9, 15))
        tickets.claim(ticket, max_)
        clock.at(datetime.fromtimestamp(jan(day, 9, 5).timestamp() + reply_after * 60, UTC))
        tickets.reply(ticket, max_, "Salut, c'est Max.")
    clock.at(jan(20, 9))
    sim = people.identify(Channel.simulator, "S1-indicators")
    people.record_consent(sim.pseudo_id, True)
    handoff.request(sim.pseudo_id, TriageSummary(location="Lens"), source="triage")
    population.people["S1"] = sim.id

    campaigns = CampaignService(db, clock)
    clock.at(jan(2, 9))
    tiktok = campaigns.create(CampaignDraft("TikTok printemps", CampaignChannel.tiktok))
    flyer = campaigns.create(CampaignDraft("Flyers gare", CampaignChannel.flyer))
    for name in ("P1", "P2", "P3", "P4", "P5", "P6"):
        assert campaigns.attribute(pseudo[name], tiktok.code) is not None
    assert campaigns.attribute(pseudo["P8"], flyer.code) is not None
    assert campaigns.attribute(pseudo["P1"], flyer.code) is not None  # a later touch
    answers = {
        "non": ("P1", "P2", "P4", "P5", "P6", "P9"),
        "oui (mission locale)": ("P3", "P8", "P10"),
    }
    for answer, names in answers.items():
        for name in names:
            assert people.record_followed(pseudo[name], answer) in ("oui", "non")
    with db.transaction() as session:
        heard = {"P7": "instagram", "P9": "discord", "P10": "discord"}
        for name, channel in heard.items():
            session.execute(
                update(YoungPerson)
                .where(YoungPerson.id == population.people[name])
                .values(heard_via=channel)
            )
    clock.at(END)
    return SeededSources(
        people=population.people,
        tickets=population.tickets,
        pseudo=pseudo,
        campaigns={"tiktok": tiktok.id, "flyer": flyer.id},
    )
