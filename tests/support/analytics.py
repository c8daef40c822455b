"""A seeded database with known answers for the results analytics: eight young people, their
hand-off tickets, nudges, NLU turns and wording exposures over three weeks of March 2026
(`seed(db, settings)`; see its docstring for who is who).

The population is made through the real services (people, hand-off requests, ticket claims,
replies and resolutions, with a clock set by hand); the tables that no service fills yet in
this tree (sent follow-ups, NLU turns, wording exposures) get direct rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import count

from core.db import Database
from core.models import (
    Channel,
    Direction,
    FollowUp,
    FollowUpKind,
    FollowUpStatus,
    Message,
    Milestone,
    NluTurn,
    Origin,
    ResponseExposure,
    Role,
    Urgency,
)
from core.people import PeopleService
from core.settings import Settings
from handoff.accounts import AccountService
from handoff.requests import HandoffService, TriageSummary
from handoff.tickets import TicketService
from tests.support import repo_router
from tests.support.tickets import FAST_HASHER

PASSWORD = "un-mot-de-passe-solide"
END = datetime(2026, 4, 3, 9, 0, tzinfo=UTC)  # "now" once the population is seeded


def utc(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A moment of 2026, in UTC."""
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


class HandClock:
    """A clock the seeding sets to each moment of the story."""

    def __init__(self, start: datetime) -> None:
        self.moment = start

    def now(self) -> datetime:
        return self.moment

    def at(self, moment: datetime) -> HandClock:
        self.moment = moment
        return self


@dataclass
class Seeded:
    """Who is who in the seeded population (person ids and ticket ids)."""

    people: dict[str, int]
    tickets: dict[str, int]


def seed(db: Database, settings: Settings) -> Seeded:
    """Eight young people over three Paris weeks (times are UTC; Paris is UTC+1 in March).

    W10 (Mon 2 March): P1 Lens, consent + triage + request, claimed after 30 min, reply after
      60 min, positive (mission_locale). P2 Lille, consent + triage + request, claimed after
      360 min (300 working min: out of SLA), reply after 420 min, closed 'refus'. P3 consent
      only. P4 no consent, crisis in Lens: claimed after 10 min, reply after 40 min, 'sante'.
    W11 (Mon 9 March): P5 consent + triage, request without a known place (accueil): claimed
      after 300 real min = 240 working min (within SLA), closed unreachable. P6 Lens request,
      never claimed. P7 nothing more.
    W12 (Fri 20 March): P8 Lille, consent + request, claimed after 25 min, positive ('emploi')
      on 2 April (next quarter).
    """
    clock = HandClock(utc(3, 2, 9))
    router = repo_router()
    people = PeopleService(db, "k" * 40, clock)
    handoff = HandoffService(db, router, clock)
    tickets = TicketService(
        db, settings.handoff, router, clock, team_ids=[t.id for t in settings.teams]
    )
    accounts = AccountService(db, clock, FAST_HASHER)
    ids = count(1)
    # A manager (need to know): she takes the tickets of every team of the story.
    lea = accounts.add(
        f"lea{next(ids)}@example.org", "Léa", PASSWORD, role=Role.manager, team="lens"
    )
    pseudo: dict[str, str] = {}
    person_ids: dict[str, int] = {}
    ticket_ids: dict[str, int] = {}

    def request(name: str, when: datetime, location: str | None, crisis: bool = False) -> int:
        clock.at(when)
        ref = handoff.request(
            pseudo[name],
            TriageSummary(location=location),
            source="crisis" if crisis else "triage",
            urgency=Urgency.crisis if crisis else Urgency.normal,
            crisis_kind="suicide" if crisis else None,
        )
        ticket_ids[name] = ref.ticket_id
        return ref.ticket_id

    def new(name: str, when: datetime, *, consent: bool = False, triage: bool = False) -> None:
        clock.at(when)
        ref = people.identify(Channel.telegram, f"{name}-{next(ids)}")
        pseudo[name], person_ids[name] = ref.pseudo_id, ref.id
        if consent:
            people.record_consent(ref.pseudo_id, True)
        if triage:
            people.record_milestone(ref.pseudo_id, Milestone.triage_completed)

    def claim(ticket: int, when: datetime) -> None:
        clock.at(when)
        tickets.claim(ticket, lea)

    def reply(ticket: int, when: datetime) -> None:
        clock.at(when)
        tickets.reply(ticket, lea, "Salut, c'est Léa.")

    def resolve(ticket: int, when: datetime, outcome: str) -> None:
        clock.at(when)
        tickets.resolve(ticket, lea, outcome)

    # W10
    new("P1", utc(3, 2, 9), consent=True, triage=True)
    t1 = request("P1", utc(3, 2, 9, 10), "Lens")
    claim(t1, utc(3, 2, 9, 40))
    reply(t1, utc(3, 2, 10, 10))
    resolve(t1, utc(3, 3, 10), "mission_locale")

    new("P2", utc(3, 2, 9, 5), consent=True, triage=True)
    t2 = request("P2", utc(3, 2, 9, 20), "Lille")
    claim(t2, utc(3, 2, 15, 20))
    reply(t2, utc(3, 2, 16, 20))
    clock.at(utc(3, 3, 12))
    tickets.youth_message(t2, "ok merci")  # answers the youth_silent nudge of 3 March 9:00
    resolve(t2, utc(3, 4, 10), "refus")

    new("P3", utc(3, 2, 9, 30), consent=True)

    new("P4", utc(3, 2, 10))
    t4 = request("P4", utc(3, 2, 10), "Lens", crisis=True)
    claim(t4, utc(3, 2, 10, 10))
    reply(t4, utc(3, 2, 10, 40))
    resolve(t4, utc(3, 5, 10), "sante")

    # W11
    new("P5", utc(3, 9, 9), consent=True, triage=True)
    t5 = request("P5", utc(3, 9, 9), "Paris")
    claim(t5, utc(3, 9, 14))
    clock.at(utc(3, 16, 9))
    tickets.close_unreachable(t5)

    new("P6", utc(3, 9, 9, 30))
    request("P6", utc(3, 9, 9, 30), "Lens")

    new("P7", utc(3, 10, 18))

    # W12
    new("P8", utc(3, 20, 8), consent=True)
    t8 = request("P8", utc(3, 20, 8, 5), "Lille")
    claim(t8, utc(3, 20, 8, 30))
    resolve(t8, utc(4, 2, 10), "emploi")

    p = person_ids
    with db.transaction() as session:
        # Nudges: (person, kind, step, status, sent_at)
        for who, kind, step, status, sent in [
            ("P3", FollowUpKind.triage_nudge, 1, FollowUpStatus.sent, utc(3, 2, 14)),
            ("P3", FollowUpKind.triage_nudge, 2, FollowUpStatus.sent, utc(3, 4, 14)),
            ("P7", FollowUpKind.triage_nudge, 1, FollowUpStatus.sent, utc(3, 11, 14)),
            ("P6", FollowUpKind.handoff_pending, 1, FollowUpStatus.sent, utc(3, 11, 9)),
            ("P2", FollowUpKind.youth_silent, 1, FollowUpStatus.sent, utc(3, 3, 9)),
            ("P1", FollowUpKind.counsellor_reminder, 1, FollowUpStatus.sent, utc(3, 3, 9)),
            ("P7", FollowUpKind.youth_silent, 1, FollowUpStatus.pending, None),
            ("P3", FollowUpKind.triage_nudge, 1, FollowUpStatus.sent, utc(2, 20, 14)),
        ]:
            session.add(
                FollowUp(
                    person_id=p[who],
                    kind=kind,
                    step=step,
                    status=status,
                    due_at=sent or utc(3, 30, 9),
                    sent_at=sent,
                    created_at=utc(3, 1, 9),
                )
            )
        # P7 writes back 71 h 59 after the nudge of 11 March 14:00 (within 72 h).
        session.add(
            Message(
                person_id=p["P7"],
                direction=Direction.incoming,
                origin=Origin.youth,
                text="re",
                created_at=utc(3, 14, 13, 59),
            )
        )
        # NLU turns: (person, intent, confidence, fallback, at)
        for who, intent, confidence, fallback, at in [
            ("P3", "need_job", 0.9, False, utc(3, 3, 10)),  # answers P3's first nudge
            ("P3", None, 0.3, True, utc(3, 8, 15)),  # 4 days after the 2nd: not an answer
            ("P1", "greet", 0.95, False, utc(3, 2, 9, 1)),
            ("P1", "need_job", 0.8, False, utc(3, 2, 9, 2)),
            ("P1", "need_job", 0.4, False, utc(3, 2, 9, 3)),  # under LOW_CONFIDENCE
            ("P5", "greet", 0.99, False, utc(3, 9, 9, 1)),
            ("P6", "need_housing", 0.7, False, utc(3, 9, 9, 31)),
            ("P7", "need_money", 0.85, False, utc(3, 22, 22, 30)),  # 23:30 Paris, 22 March
            ("P7", "need_money", 0.85, False, utc(3, 22, 23, 30)),  # 00:30 Paris, 23 March
        ]:
            session.add(
                NluTurn(
                    person_id=p[who],
                    intent=intent,
                    confidence=confidence,
                    fallback=fallback,
                    created_at=at,
                )
            )
        # Wording variants seen: (person, response, variant, at)
        for who, response, variant, at in [
            ("P1", "utter_greet", "a", utc(3, 2, 9)),
            ("P1", "utter_greet", "a", utc(3, 5, 9)),
            ("P3", "utter_greet", "a", utc(3, 2, 9, 31)),
            ("P7", "utter_greet", "a", utc(3, 10, 18, 1)),
            ("P2", "utter_greet", "b", utc(3, 2, 9, 6)),
            ("P5", "utter_greet", "b", utc(3, 9, 9)),
            ("P6", "utter_greet", "b", utc(3, 9, 9, 30)),
            ("P4", "utter_greet", "b", utc(3, 2, 10, 30)),  # after P4's request: not converted
            ("P2", "utter_ask_handoff", "long", utc(3, 2, 9, 7)),
            ("P7", "utter_ask_handoff", "court", utc(3, 22, 23, 30)),  # after the period
        ]:
            session.add(
                ResponseExposure(
                    person_id=p[who], response=response, variant=variant, created_at=at
                )
            )
    clock.at(END)
    return Seeded(people=dict(person_ids), tickets=dict(ticket_ids))
