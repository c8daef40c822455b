"""Hand-off requests: what the triage (or a crisis) produces for the counsellors' queue."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from sqlalchemy import select

from handoff.clock import Clock, SystemClock
from handoff.db import Database
from handoff.models import (
    ConsentStatus,
    HandoffRequest,
    RequestStatus,
    Urgency,
    YoungPerson,
)
from handoff.services.people import person_by_pseudo


@dataclass(frozen=True)
class TriageSummary:
    needs: list[str] = field(default_factory=list)
    age: str | None = None
    location: str | None = None
    situation: str | None = None
    followed: str | None = None
    contact: str | None = None
    availability: str | None = None
    excerpt: str | None = None


@dataclass(frozen=True)
class RequestRef:
    id: int
    urgency: Urgency
    created: bool  # False when an open request was updated or escalated instead


class HandoffService:
    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self._db = db
        self._clock = clock or SystemClock()

    def request(
        self,
        pseudo_id: str,
        summary: TriageSummary,
        *,
        source: str,
        urgency: Urgency = Urgency.normal,
        crisis_kind: str | None = None,
    ) -> RequestRef:
        """Create a request, or update the person's open one (escalating, never downgrading).

        Without consent only what the hand-off needs is kept: no free-text excerpt.
        """
        now = self._clock.now()
        with self._db.transaction() as session:
            person = person_by_pseudo(session, pseudo_id)
            if person is None:
                raise LookupError(f"unknown person {pseudo_id}")
            values = asdict(summary)
            if person.consent != ConsentStatus.granted:
                values["excerpt"] = None
            open_request = session.scalar(
                select(HandoffRequest)
                .where(
                    HandoffRequest.person_id == person.id,
                    HandoffRequest.status == RequestStatus.new,
                )
                .order_by(HandoffRequest.id.desc())
                .limit(1)
                .with_for_update()
            )
            if open_request is None:
                row = HandoffRequest(
                    person_id=person.id,
                    source=source,
                    urgency=urgency,
                    crisis_kind=crisis_kind,
                    created_at=now,
                    updated_at=now,
                    **values,
                )
                session.add(row)
                session.flush()
                return RequestRef(row.id, row.urgency, created=True)
            for key, value in values.items():
                if value not in (None, [], ""):
                    setattr(open_request, key, value)
            if urgency == Urgency.crisis:
                open_request.urgency = Urgency.crisis
                open_request.crisis_kind = crisis_kind or open_request.crisis_kind
            open_request.updated_at = now
            return RequestRef(open_request.id, open_request.urgency, created=False)

    def open_requests(self, pseudo_id: str) -> list[HandoffRequest]:
        with self._db.transaction() as session:
            return list(
                session.scalars(
                    select(HandoffRequest)
                    .join(YoungPerson)
                    .where(
                        YoungPerson.pseudo_id == pseudo_id,
                        HandoffRequest.status == RequestStatus.new,
                    )
                    .order_by(HandoffRequest.id)
                )
            )
