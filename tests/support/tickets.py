"""The hand-off services on a real database, and factories of people, requests, tickets and
counsellor accounts (`build(database, clock)` gives a `Desk`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import count
from typing import Any

from argon2 import PasswordHasher

from core.clock import FixedClock
from core.db import Database
from core.models import Channel, Role, Ticket, TicketStatus, Urgency
from core.people import PeopleService
from core.settings import load_settings
from handoff.accounts import AccountService, CounsellorRef
from handoff.requests import HandoffService, RequestRef, TriageSummary
from handoff.tickets import TicketService
from maraude.services import CONSENT_REFUSED_HOOKS
from tests.support import ROOT, repo_router

SETTINGS = load_settings(ROOT / "maraude.yml")
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DEFAULT_TEAM = SETTINGS.handoff.default_team  # where a ticket without a place goes
# Fast hashes: these tests are about tickets, not password strength.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@dataclass
class Desk:
    db: Database
    clock: FixedClock
    people: PeopleService
    handoff: HandoffService
    tickets: TicketService
    accounts: AccountService
    _ids: Any

    def person(self, consent: bool = False) -> tuple[int, str]:
        ref = self.people.identify(Channel.telegram, str(next(self._ids)))
        if consent:
            self.people.record_consent(ref.pseudo_id, True)
        return ref.id, ref.pseudo_id

    def request(
        self,
        pseudo: str,
        location: str | None = None,
        urgency: Urgency = Urgency.normal,
        **summary: Any,
    ) -> RequestRef:
        return self.handoff.request(
            pseudo,
            TriageSummary(location=location, **summary),
            source="crisis" if urgency == Urgency.crisis else "triage",
            urgency=urgency,
            crisis_kind="suicide" if urgency == Urgency.crisis else None,
        )

    def ticket(self, location: str | None = None) -> int:
        _, pseudo = self.person()
        return self.request(pseudo, location).ticket_id

    def counsellor(
        self, first_name: str, role: Role = Role.counsellor, team: str | None = DEFAULT_TEAM
    ) -> CounsellorRef:
        """An account, by default in the team that gets the tickets without a place (need
        to know: a counsellor acts only on their team's tickets and the ones they hold)."""
        email = f"{first_name.lower()}{next(self._ids)}@example.org"
        return self.accounts.add(email, first_name, "motdepasse-solide", role=role, team=team)


def hold(database: Database, ticket_id: int, counsellor: CounsellorRef) -> None:
    """Make `counsellor` hold the ticket whatever its team, as when their account moved to
    another team since they took it (no service does it: a transfer moves the team too)."""
    with database.transaction() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        ticket.assignee_id = counsellor.id
        ticket.status = TicketStatus.claimed
        ticket.claimed_at = ticket.claimed_at or ticket.created_at


def build(database: Database, clock: FixedClock) -> Desk:
    """The services as maraude/app.py build_services wires them."""
    router = repo_router()
    return Desk(
        db=database,
        clock=clock,
        people=PeopleService(database, "k" * 40, clock, on_consent_refused=CONSENT_REFUSED_HOOKS),
        handoff=HandoffService(database, router, clock),
        tickets=TicketService(
            database, SETTINGS.handoff, router, clock, team_ids=[t.id for t in SETTINGS.teams]
        ),
        accounts=AccountService(database, clock, FAST_HASHER),
        _ids=count(1000),
    )
