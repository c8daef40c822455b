"""A seeded database with known answers for the per-source funnel (studio/analytics/sources.py):
five campaigns, young people brought by them, by what they said (heard_via) or by nothing,
simulations that must not count, people outside the period (`seed_sources(db, settings)`; see
its docstring for who is who).

Made through the real services (people, campaigns and attribution, consent, milestones, the
triage's followed answer, hand-off requests, claims, replies, resolutions) with a clock set by
hand; heard_via, which no service fills yet, is written directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from itertools import count

from sqlalchemy import update

from core.campaigns import CampaignDraft, CampaignService
from core.db import Database
from core.models import CampaignChannel, Channel, Milestone, Role, Urgency, YoungPerson
from core.people import PeopleService
from core.settings import Settings
from handoff.accounts import AccountService
from handoff.requests import HandoffService, TriageSummary
from handoff.tickets import TicketService
from studio.analytics import Filters
from tests.support import repo_router
from tests.support.analytics import PASSWORD, HandClock, utc
from tests.support.tickets import FAST_HASHER

SOURCES_PERIOD = Filters(date(2026, 3, 2), date(2026, 3, 22))
SOURCES_END = utc(4, 3, 9)  # "now" once the population is seeded


@dataclass
class SourcesSeed:
    campaigns: dict[str, int]  # C1..C5 -> campaign id
    pseudo: dict[str, str]  # person name -> pseudo id
    tickets: dict[str, list[int]]  # person name -> their ticket ids, first first


@dataclass(frozen=True)
class Journey:
    """What happens to one young person (minutes after their request for the ticket)."""

    campaign: str | None = None
    heard_via: str | None = None
    consent: bool = False
    triage: bool = False
    followed: str | None = None  # the triage's answer, as said ("oui (ML)", "non")
    claim: int | None = None
    reply: int | None = None
    outcome: str | None = None  # resolved with it (after the reply)
    crisis: bool = False
    channel: Channel = Channel.telegram


# Who is who. People start on 2 March 2026 (Paris, UTC+1), one every 30 minutes, in this order;
# those marked (out) start outside the period.
PEOPLE: dict[str, Journey] = {
    # C1 TikTok rentrée (tiktok, lens, Lens-Liévin, 300 €): six people.
    "A1": Journey("C1", None, True, True, "non", 10, 20, "mission_locale"),
    "A2": Journey("C1", None, True, True, "non", 30, 40, "refus"),
    "A3": Journey("C1", None, True, True, "oui (mission locale)", 5, 60, "emploi"),
    "A4": Journey("C1", None, True, False, "non", 15, 30),
    "A5": Journey("C1", None, True, False, "non", 20, 50),
    "A6": Journey("C1", None, False, False, "non"),
    # C2 Flyers abribus (flyer, lille, Métropole lilloise, 120 €): three.
    "B1": Journey("C2", None, True, True, "oui", 60, 90, "mission_locale"),
    "B2": Journey("C2", None, True, False, None, 120, 120),
    "B3": Journey("C2"),
    # C3 Instagram stories (instagram, lens, no territory, no cost): two.
    "D1": Journey("C3", None, True),
    "D2": Journey("C3", None, True, True),
    # C4 TikTok été (tiktok, lille, Métropole lilloise, 50 €): one.
    "E1": Journey("C4", None, True, False, "non"),
    # No campaign: what they said, or nothing.
    "H1": Journey(None, "snapchat", True, True, "non", 10, 15, "cej"),
    "H2": Journey(None, "snapchat", True),
    "H3": Journey(None, "tiktok", True),
    "H4": Journey(None, "n'importe", False),  # not a channel: unknown
    "U1": Journey(None, None, False, crisis=True, claim=5, reply=8, outcome="sans_reponse"),
    "U2": Journey(None, None, False),
    # Simulations (never count): one through C1 with the whole path, one without campaign.
    "S1": Journey("C1", None, True, True, "non", 5, 5, "emploi", channel=Channel.simulator),
    "S2": Journey(None, "snapchat", True, channel=Channel.simulator),
    # Outside the period (out): C1 in February, C5 in February, none in April.
    "A7": Journey("C1", None, True, True, "non", 5, 5, "emploi"),
    "F1": Journey("C5", None, True),
    "N1": Journey(None, "flyer", True),
}
OUTSIDE = {"A7": utc(2, 20, 9), "F1": utc(2, 25, 9), "N1": utc(4, 2, 9)}
# D2 asked for a counsellor, never claimed; U1 came back after their first ticket was closed:
# a second ticket, answered after 1000 minutes (not their first: not in the median).
HANDOFF_ONLY = {"D2"}


def seed_sources(db: Database, settings: Settings) -> SourcesSeed:
    """The population of `PEOPLE`, with A1 also touched later by C2 (first touch stays C1)."""
    clock = HandClock(utc(2, 1, 9))
    router = repo_router()
    people = PeopleService(db, "k" * 40, clock)
    campaigns = CampaignService(db, clock)
    handoff = HandoffService(db, router, clock)
    tickets = TicketService(
        db, settings.handoff, router, clock, team_ids=[t.id for t in settings.teams]
    )
    manager = AccountService(db, clock, FAST_HASHER).add(
        "sources@example.org", "Sam", PASSWORD, role=Role.manager
    )
    made = {
        "C1": campaigns.create(
            CampaignDraft(
                "TikTok rentrée", CampaignChannel.tiktok, "Lens-Liévin", "lens", cost_cents=30_000
            )
        ),
        "C2": campaigns.create(
            CampaignDraft(
                "Flyers abribus",
                CampaignChannel.flyer,
                "Métropole lilloise",
                "lille",
                cost_cents=12_000,
            )
        ),
        "C3": campaigns.create(
            CampaignDraft("Instagram stories", CampaignChannel.instagram, None, "lens")
        ),
        "C4": campaigns.create(
            CampaignDraft(
                "TikTok été",
                CampaignChannel.tiktok,
                "Métropole lilloise",
                "lille",
                cost_cents=5_000,
            )
        ),
        "C5": campaigns.create(CampaignDraft("Discord", CampaignChannel.discord, cost_cents=1)),
    }
    keys = count(1)
    pseudo: dict[str, str] = {}
    ticket_ids: dict[str, list[int]] = {}
    start = utc(3, 2, 9)
    for index, (name, path) in enumerate(PEOPLE.items()):
        when = OUTSIDE.get(name, start + timedelta(minutes=30 * index))
        clock.at(when)
        ref = people.identify(path.channel, f"{name}-{next(keys)}")
        pseudo[name] = ref.pseudo_id
        if path.campaign:
            campaigns.attribute(ref.pseudo_id, made[path.campaign].code)
        if path.heard_via:
            with db.transaction() as session:
                session.execute(
                    update(YoungPerson)
                    .where(YoungPerson.id == ref.id)
                    .values(heard_via=path.heard_via)
                )
        if path.consent:
            people.record_consent(ref.pseudo_id, True)
        if path.triage:
            people.record_milestone(ref.pseudo_id, Milestone.triage_completed)
        if path.followed:
            people.record_followed(ref.pseudo_id, path.followed)
        if path.claim is None and name not in HANDOFF_ONLY:
            continue
        clock.at(when + timedelta(minutes=1))
        opened = clock.now()
        request = handoff.request(
            ref.pseudo_id,
            TriageSummary(location="Lens"),
            source="crisis" if path.crisis else "triage",
            urgency=Urgency.crisis if path.crisis else Urgency.normal,
            crisis_kind="suicide" if path.crisis else None,
        )
        ticket_ids[name] = [request.ticket_id]
        if path.claim is None:
            continue
        clock.at(opened + timedelta(minutes=path.claim))
        tickets.claim(request.ticket_id, manager)
        if path.reply is not None:
            clock.at(opened + timedelta(minutes=path.reply))
            tickets.reply(request.ticket_id, manager, "Salut, c'est Sam.")
        if path.outcome is not None:
            clock.at(opened + timedelta(minutes=max(path.claim, path.reply or 0) + 1))
            tickets.resolve(request.ticket_id, manager, path.outcome)
    # A1 meets the flyers later: a touch, their first touch stays C1.
    clock.at(utc(3, 10, 9))
    campaigns.attribute(pseudo["A1"], made["C2"].code)
    # U1 comes back: a second ticket, answered after 1000 minutes.
    clock.at(utc(3, 12, 9))
    second = handoff.request(pseudo["U1"], TriageSummary(location="Lens"), source="ask_human")
    ticket_ids["U1"].append(second.ticket_id)
    clock.at(utc(3, 12, 9) + timedelta(minutes=1000))
    tickets.claim(second.ticket_id, manager)
    tickets.reply(second.ticket_id, manager, "Re, c'est Sam.")
    clock.at(SOURCES_END)
    return SourcesSeed(
        campaigns={k: v.id for k, v in made.items()}, pseudo=pseudo, tickets=ticket_ids
    )
