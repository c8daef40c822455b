"""Hand-off requests: what the triage (or a crisis) produces for the counsellors' queue.

Each request lands on a ticket in the same transaction: the person's open ticket if there is
one (updated, and escalated for a crisis), else a new ticket routed to a team. A request may
carry the crisis signal that raised it, and `flag` records a worrying message that did not
become a hand-off (handoff/signals.py).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.clock import Clock, SystemClock
from core.db import Database
from core.models import (
    OPEN_STATUSES,
    ConsentStatus,
    Counsellor,
    EventKind,
    HandoffRequest,
    Ticket,
    TicketEvent,
    TicketStatus,
    Urgency,
    YoungPerson,
)
from core.vocabulary import MINOR_BANDS, UNDER_15
from handoff import signals
from handoff.routing import Router
from handoff.signals import CrisisSignal
from handoff.tickets import attach_request

__all__ = ["CrisisSignal", "HandoffService", "RequestRef", "TriageSummary"]


@dataclass(frozen=True)
class TriageSummary:
    needs: list[str] = field(default_factory=list)
    age: str | None = None
    location: str | None = None
    situation: str | None = None
    followed: str | None = None
    contact: str | None = None
    availability: str | None = None
    phone: str | None = None  # kept only with consent, like the excerpt
    questions: list[str] = field(default_factory=list)  # unanswered, for the counsellor
    writer: str | None = None  # "parent" / "proche" when someone writes for the young person
    excerpt: str | None = None


@dataclass(frozen=True)
class RequestRef:
    id: int
    urgency: Urgency
    created: bool  # False when an open request was updated or escalated instead
    ticket_id: int
    ticket_created: bool
    escalated: bool = False  # this request made an open, non-urgent ticket urgent

    @property
    def change(self) -> str:
        """What happened to the ticket, as a desk event kind: "escalated" only when it became
        urgent now (a crisis message on an already urgent ticket is an update: no new alert)."""
        if self.ticket_created:
            return "created"
        return "escalated" if self.escalated else "updated"


class HandoffService:
    def __init__(self, db: Database, router: Router, clock: Clock | None = None) -> None:
        self._db = db
        self._router = router
        self._clock = clock or SystemClock()

    def request(
        self,
        pseudo_id: str,
        summary: TriageSummary,
        *,
        source: str,
        urgency: Urgency = Urgency.normal,
        crisis_kind: str | None = None,
        signal: CrisisSignal | None = None,
        minor: bool = False,
        counsellor_id: int | None = None,
    ) -> RequestRef:
        """Create a request, or update the one on the person's open ticket (escalating,
        never downgrading); either way the request is on a ticket when this returns.

        Without consent only what the hand-off needs is kept: no free-text excerpt. The
        `signal` (what raised a crisis) goes on the ticket; for an urgent request its message
        is kept even without consent (vital interest, for the hand-off only). `minor` marks
        the request and its ticket "mineur·e" (a later request never unsets it), as does an
        age band under 18 said before consent; under 15 the call-back's phone number is kept
        without consent (what the hand-off needs, nothing else). The person's
        flags waiting for a ticket are attached to this one. `counsellor_id`: a young person
        coming back chose the counsellor who knew them; a new ticket goes straight to them
        (if still active), in their team.
        """
        now = self._clock.now()
        with self._db.transaction() as session:
            # The person's row is locked (PostgreSQL) so that simultaneous requests for one
            # person (a crisis as the triage ends, two workers) queue up and share one ticket.
            person = session.scalar(
                select(YoungPerson).where(YoungPerson.pseudo_id == pseudo_id).with_for_update()
            )
            if person is None:
                raise LookupError(f"unknown person {pseudo_id}")
            values = asdict(summary)
            if person.consent != ConsentStatus.granted:
                values["excerpt"] = None
                values["questions"] = []
                if person.age_band != UNDER_15:  # under 15: the call-back's number is kept
                    values["phone"] = None
            # the age band said before consent marks a minor too
            minor = minor or person.age_band in MINOR_BANDS
            open_request = session.scalar(
                select(HandoffRequest)
                .join(Ticket, Ticket.id == HandoffRequest.ticket_id)
                .where(
                    HandoffRequest.person_id == person.id,
                    Ticket.status.in_(OPEN_STATUSES),
                )
                .order_by(HandoffRequest.id.desc())
                .limit(1)
            )
            was_normal = open_request is not None and open_request.urgency != Urgency.crisis
            if open_request is None:
                row = HandoffRequest(
                    person_id=person.id,
                    source=source,
                    urgency=urgency,
                    crisis_kind=crisis_kind,
                    minor=minor,
                    created_at=now,
                    updated_at=now,
                    **values,
                )
                session.add(row)
                session.flush()
            else:
                row = open_request
                for key, value in values.items():
                    if value not in (None, [], ""):
                        setattr(row, key, value)
                if urgency == Urgency.crisis:
                    row.urgency = Urgency.crisis
                    row.crisis_kind = crisis_kind or row.crisis_kind
                row.minor = row.minor or minor
                row.updated_at = now
            ticket, ticket_created = attach_request(session, row, self._router, now)
            if ticket_created and counsellor_id is not None:
                _reopen_with(session, ticket, counsellor_id, now)
            signals.on_request(
                session,
                person,
                ticket,
                urgent=urgency == Urgency.crisis,
                crisis_kind=crisis_kind,
                signal=signal,
                minor=minor,
                now=now,
            )
            escalated = was_normal and row.urgency == Urgency.crisis
            return RequestRef(
                row.id, row.urgency, open_request is None, ticket.id, ticket_created, escalated
            )

    def flag(self, pseudo_id: str, signal: CrisisSignal) -> None:
        """A worrying (medium-tier) message the young person then said was fine: recorded on
        their open ticket, or kept and attached to the next ticket opened for them. No ticket
        is created and no priority changes. Its text is kept only with consent.

        Raises LookupError for an unknown person, like `request`."""
        with self._db.transaction() as session:
            person = session.scalar(
                select(YoungPerson).where(YoungPerson.pseudo_id == pseudo_id).with_for_update()
            )
            if person is None:
                raise LookupError(f"unknown person {pseudo_id}")
            signals.flag(session, person, signal, self._clock.now())

    def open_requests(self, pseudo_id: str) -> list[HandoffRequest]:
        """The person's requests whose ticket is still open."""
        with self._db.transaction() as session:
            return list(
                session.scalars(
                    select(HandoffRequest)
                    .join(YoungPerson, YoungPerson.id == HandoffRequest.person_id)
                    .join(Ticket, Ticket.id == HandoffRequest.ticket_id)
                    .where(
                        YoungPerson.pseudo_id == pseudo_id,
                        Ticket.status.in_(OPEN_STATUSES),
                    )
                    .order_by(HandoffRequest.id)
                )
            )


def _reopen_with(session: Session, ticket: Ticket, counsellor_id: int, now: datetime) -> None:
    """The new ticket goes to the counsellor the young person asked for again."""
    counsellor = session.get(Counsellor, counsellor_id)
    if counsellor is None or not counsellor.active:
        return
    if counsellor.team:
        ticket.team = counsellor.team
    ticket.assignee_id = counsellor.id
    ticket.status = TicketStatus.claimed
    ticket.claimed_at = now
    ticket.updated_at = now
    session.add(
        TicketEvent(
            ticket_id=ticket.id,
            kind=EventKind.claimed,
            actor_id=counsellor.id,
            via="bot",
            data={"returning": True},
            created_at=now,
        )
    )
