"""A year of young people for the analytics benchmark, written with bulk inserts.

`seed(db, people, settings)` writes, for 2025 (created_at spread evenly over the year, a fixed
random seed so two runs write the same rows):
- 20 campaigns over the 8 channels (teams and territories of maraude.yml, a cost for 3 in 4);
- `people` real young people (Telegram), 1 % more from the web simulator;
- 60 % brought by a campaign (first touch on young_person.campaign_id and a campaign_touch
  row; 15 % of them touched by a second campaign later), a quarter of the others saying where
  they heard of the bot (heard_via);
- 70 % consent granted (5 % refused), 40 % finish the triage (3 in 4 answer "followed":
  60 % "non"), 25 % ask for a human (hand-off request + ticket, 5 % of them a second ticket,
  5 % crises); tickets claimed 85 %, replied 80 %, resolved 52 % (65 % of those with a positive
  outcome), closed unreachable 13 %, the other 35 % still open;
- appointments on claimed tickets (`appointment_rows`: 0 to 3 each, 1.5 on average, their own
  random seed so the rows above stay the same): proposed a few hours to days after the
  hand-off, a week later; confirmed 70 %, reminders sent 0-2; attended, missed, cancelled or
  rescheduled, some still active;
- then `erased` of them erased through the real `ErasureService` with `StatsArchive.fold`
  (their anonymous counts), as /oubli does.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select

from core.db import Database
from core.erasure import ErasureService
from core.models import (
    Appointment,
    AppointmentKind,
    AppointmentStatus,
    Campaign,
    CampaignChannel,
    CampaignTouch,
    Channel,
    ConsentRecord,
    ConsentStatus,
    HandoffRequest,
    Milestone,
    PersonEvent,
    RequestStatus,
    Ticket,
    TicketStatus,
    Urgency,
    YoungPerson,
)
from core.settings import Settings
from studio.analytics.archive import StatsArchive

YEAR = 2025
START = datetime(YEAR, 1, 1, 6, 0, tzinfo=UTC)
SPAN = timedelta(days=364, hours=12)
CAMPAIGNS = 20
BATCH = 5_000
CHANNELS = list(CampaignChannel)
NEGATIVE = ["refus", "sans_reponse", "autre"]


def batches(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), BATCH):
        yield rows[start : start + BATCH]


def bulk(db: Database, table: Any, rows: list[dict[str, Any]]) -> None:
    """Core executemany inserts, BATCH rows a statement, one transaction."""
    with db.engine.begin() as conn:
        for chunk in batches(rows):
            conn.execute(insert(table), chunk)


def campaign_rows(settings: Settings) -> list[dict[str, Any]]:
    teams = [t for t in settings.teams if t.territories]
    rows = []
    for n in range(CAMPAIGNS):
        team = teams[n % len(teams)] if teams else None
        rows.append(
            {
                "code": f"bench-{n:02d}",
                "name": f"Campagne {n:02d}",
                "channel": CHANNELS[n % len(CHANNELS)],
                "team": team.id if team else None,
                "territory": team.territories[0] if team and n % 5 else None,
                "starts_on": date(YEAR, 1 + n % 12, 1),
                "cost_cents": None if n % 4 == 3 else 50_000 + 10_000 * n,
                "created_at": START,
            }
        )
    return rows


def seed(db: Database, people: int, settings: Settings, erased: int = 300) -> dict[str, int]:
    """Write the population; return how many rows each table got."""
    rng = random.Random(21)
    bulk(db, Campaign, campaign_rows(settings))
    with db.engine.connect() as conn:
        campaign_ids = list(conn.execute(select(Campaign.id).order_by(Campaign.id)).scalars())
    teams = [t.id for t in settings.teams] or ["accueil"]
    territory_of = {t.id: (t.territories[0] if t.territories else None) for t in settings.teams}
    simulated = max(1, people // 100)
    total = people + simulated
    step = SPAN / total
    persons: list[dict[str, Any]] = []
    for n in range(total):
        at = START + step * n
        sim = n % 101 == 100
        campaign = rng.choice(campaign_ids) if not sim and rng.random() < 0.6 else None
        heard = rng.choice(CHANNELS).value if campaign is None and rng.random() < 0.25 else None
        persons.append(
            {
                "pseudo_id": f"ybench{n:08d}",
                "channel": Channel.simulator if sim else Channel.telegram,
                "channel_user_id": str(10_000_000 + n),
                "consent": ConsentStatus.unknown,
                "created_at": at,
                "last_seen_at": at,
                "campaign_id": campaign,
                "heard_via": heard,
                "followed": None,
            }
        )
    consents: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    touches: list[dict[str, Any]] = []
    journeys: list[tuple[int, datetime, bool]] = []  # (person index, request time, crisis)
    for n, person in enumerate(persons):
        at = person["created_at"]
        if person["campaign_id"] is not None:
            touches.append({"person_index": n, "campaign_id": person["campaign_id"], "at": at})
            if rng.random() < 0.15:
                other = rng.choice(campaign_ids)
                if other != person["campaign_id"]:
                    later = at + timedelta(days=rng.randint(1, 30))
                    touches.append({"person_index": n, "campaign_id": other, "at": later})
        draw = rng.random()
        granted = draw < 0.70
        if granted or draw > 0.95:
            status = ConsentStatus.granted if granted else ConsentStatus.refused
            person["consent"] = status
            consents.append(
                {
                    "person_index": n,
                    "status": status,
                    "notice_version": "2025-01",
                    "recorded_at": at + timedelta(minutes=2),
                }
            )
        if granted and rng.random() < 0.57:  # 40 % of everyone
            done = at + timedelta(minutes=rng.randint(5, 90))
            events.append(
                {"person_index": n, "kind": Milestone.triage_completed, "created_at": done}
            )
            if rng.random() < 0.75:
                person["followed"] = "non" if rng.random() < 0.6 else "oui"
            if rng.random() < 0.55:
                journeys.append((n, done + timedelta(minutes=1), False))
        elif rng.random() < 0.05:  # a hand-off without the triage (a human asked, a crisis)
            journeys.append((n, at + timedelta(minutes=rng.randint(1, 30)), rng.random() < 0.4))
    bulk(db, YoungPerson, persons)
    with db.engine.connect() as conn:
        first_id = conn.execute(select(func.min(YoungPerson.id))).scalar_one()
    for rows in (consents, events, touches):
        for row in rows:
            row["person_id"] = first_id + row.pop("person_index")
    bulk(db, ConsentRecord, consents)
    bulk(db, PersonEvent, events)
    bulk(db, CampaignTouch, touches)
    tickets, requests = ticket_rows(rng, journeys, first_id, teams, territory_of)
    bulk(db, Ticket, tickets)
    with db.engine.connect() as conn:
        first_ticket = conn.execute(select(func.min(Ticket.id))).scalar_one()
    for row in requests:
        row["ticket_id"] = first_ticket + row.pop("ticket_index")
    bulk(db, HandoffRequest, requests)
    appointments = appointment_rows(random.Random(22), tickets, first_ticket)
    bulk(db, Appointment, appointments)
    erase_sample(db, settings, rng, first_id, total, erased)
    return {
        "people": people,
        "simulated": simulated,
        "campaign_touch": len(touches),
        "consent_record": len(consents),
        "person_event": len(events),
        "ticket": len(tickets),
        "appointment": len(appointments),
        "erased": erased,
    }


def ticket_rows(
    rng: random.Random,
    journeys: list[tuple[int, datetime, bool]],
    first_id: int,
    teams: list[str],
    territory_of: dict[str, str | None],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A hand-off request and its ticket for each journey (5 % a second one a month later)."""
    tickets: list[dict[str, Any]] = []
    requests: list[dict[str, Any]] = []
    for n, asked, crisis in journeys:
        times = [asked] + ([asked + timedelta(days=30)] if rng.random() < 0.05 else [])
        for opened in times:
            team = rng.choice(teams)
            urgency = Urgency.crisis if crisis else Urgency.normal
            claimed = None
            if rng.random() < 0.85:
                claimed = opened + timedelta(minutes=rng.randint(5, 600))
            replied = None
            if claimed is not None and rng.random() < 0.94:  # 80 % of all tickets
                replied = claimed + timedelta(minutes=rng.randint(1, 240))
            status, outcome, resolved = TicketStatus.new, None, None
            if claimed is not None:
                status = TicketStatus.waiting_youth if replied else TicketStatus.claimed
                draw = rng.random()
                if replied is not None and draw < 0.65:  # 52 % of all tickets
                    status = TicketStatus.resolved
                    resolved = replied + timedelta(days=rng.randint(1, 40))
                    positive = rng.random() < 0.65
                    outcome = rng.choice(["mission_locale", "formation", "emploi", "cej"])
                    outcome = outcome if positive else rng.choice(NEGATIVE)
                elif draw < 0.77:
                    status, resolved = TicketStatus.closed_unreachable, claimed + timedelta(days=14)
            requests.append(
                {
                    "person_id": first_id + n,
                    "status": RequestStatus.taken,
                    "urgency": urgency,
                    "source": "crisis" if crisis else "triage",
                    "created_at": opened,
                    "updated_at": opened,
                    "ticket_index": len(tickets),
                }
            )
            tickets.append(
                {
                    "person_id": first_id + n,
                    "status": status,
                    "urgency": urgency,
                    "source": "crisis" if crisis else "triage",
                    "team": team,
                    "territory": territory_of.get(team),
                    "outcome": outcome,
                    "created_at": opened,
                    "updated_at": resolved or replied or claimed or opened,
                    "claimed_at": claimed,
                    "first_reply_at": replied,
                    "resolved_at": resolved,
                }
            )
    return tickets, requests


APPOINTMENT_ENDS = [
    AppointmentStatus.attended,
    AppointmentStatus.attended,
    AppointmentStatus.missed,
    AppointmentStatus.cancelled,
    AppointmentStatus.rescheduled,
    AppointmentStatus.confirmed,
    AppointmentStatus.proposed,
]


def appointment_rows(
    rng: random.Random, tickets: list[dict[str, Any]], first_ticket: int
) -> list[dict[str, Any]]:
    """0 to 3 appointments on each claimed ticket (the first proposed first)."""
    rows: list[dict[str, Any]] = []
    for index, ticket in enumerate(tickets):
        if ticket["claimed_at"] is None:
            continue
        proposed = ticket["claimed_at"]
        for _ in range(rng.randint(0, 3)):
            proposed += timedelta(hours=rng.randint(1, 96))
            starts = proposed + timedelta(days=rng.randint(1, 14))
            status = rng.choice(APPOINTMENT_ENDS)
            confirmed = status != AppointmentStatus.proposed and rng.random() < 0.7
            rows.append(
                {
                    "ticket_id": first_ticket + index,
                    "person_id": ticket["person_id"],
                    "team": ticket["team"],
                    "kind": rng.choice(list(AppointmentKind)),
                    "starts_at": starts,
                    "duration_minutes": 45,
                    "outside_hours": False,
                    "status": status,
                    "reminders_sent": rng.randint(0, 2),
                    "cancelled_by": rng.choice(["youth", "counsellor"])
                    if status == AppointmentStatus.cancelled
                    else None,
                    "created_at": proposed,
                    "updated_at": proposed,
                    "confirmed_at": proposed + timedelta(hours=2) if confirmed else None,
                }
            )
    return rows


def erase_sample(
    db: Database, settings: Settings, rng: random.Random, first_id: int, total: int, erased: int
) -> None:
    """Erase `erased` people as /oubli does: their statistics folded into anonymous counts."""
    erasure = ErasureService(db, db, before_erase=(StatsArchive(settings).fold,))
    for n in rng.sample(range(total), min(erased, total)):
        with db.transaction() as session:
            pseudo = session.scalar(
                select(YoungPerson.pseudo_id).where(YoungPerson.id == first_id + n)
            )
            if pseudo is not None:
                erasure.erase_in(session, pseudo, "request")
