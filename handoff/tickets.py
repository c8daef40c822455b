"""The counsellors' queue: tickets and everything counsellors do with them.

Every write is one short transaction and appends to the ticket's event log. Claiming is a
single conditional UPDATE (`... WHERE status = 'new'`), so two counsellors clicking at once
get exactly one winner on every backend; the loser gets a `TicketConflict` with a message
to show. Services return frozen views, never ORM objects.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, and_, func, or_, select, update
from sqlalchemy.orm import Session

from core.clock import Clock, SystemClock
from core.db import Database
from core.models import (
    OPEN_STATUSES,
    RELAY_STATUSES,
    Counsellor,
    Direction,
    EventKind,
    HandoffRequest,
    Message,
    Origin,
    RequestStatus,
    Ticket,
    TicketEvent,
    TicketNote,
    TicketStatus,
    Urgency,
    YoungPerson,
)
from core.settings import Handoff as HandoffSettings
from core.text import storable
from handoff.accounts import CounsellorRef
from handoff.routing import Router
from handoff.signals import NORMAL_SEVERITY, SignalView, alert_of, flag_count

MAX_TEXT = 4096
TOPIC_RESERVATION = timedelta(minutes=5)
MAX_NOTE = 10_000
REQUEST_SHOWN = 80  # characters of the young person's request in lists (queue, API, search)
STATUS_LABELS = {
    TicketStatus.new: "Nouveau",
    TicketStatus.claimed: "Pris en charge",
    TicketStatus.waiting_youth: "En attente du jeune",
    TicketStatus.waiting_counsellor: "En attente du conseiller",
    TicketStatus.resolved: "Clôturé",
    TicketStatus.closed_unreachable: "Clôturé (injoignable)",
}
SUMMARY_FIELDS = (
    "needs",
    "age",
    "location",
    "situation",
    "followed",
    "contact",
    "availability",
    "phone",
    "questions",
    "writer",
    "excerpt",
)


class TicketError(Exception):
    """A refused ticket operation; `str(error)` is a French message for the counsellor."""

    status_code = 400


class TicketNotFound(TicketError):
    status_code = 404


class TicketConflict(TicketError):
    """The ticket changed under the counsellor's feet (claimed by someone else, closed...)."""

    status_code = 409


class TicketForbidden(TicketError):
    status_code = 403


class TicketInvalid(TicketError):
    status_code = 422


def priority_of(urgency: Urgency) -> int:
    return 0 if urgency == Urgency.crisis else 1


@dataclass(frozen=True)
class TicketView:
    id: int
    status: TicketStatus
    urgency: Urgency
    priority: int
    crisis_kind: str | None
    source: str
    team: str
    territory: str | None
    person_id: int
    person_pseudo: str
    summary: dict[str, Any]
    assignee_id: int | None
    assignee_name: str | None
    outcome: str | None
    outcome_comment: str | None
    follow_up_at: datetime | None
    topic_id: int | None
    topic_message_id: int | None
    created_at: datetime
    updated_at: datetime
    claimed_at: datetime | None
    first_reply_at: datetime | None
    last_youth_at: datetime | None
    last_counsellor_at: datetime | None
    resolved_at: datetime | None
    # Crisis order and signals (handoff/signals.py).
    severity: int = NORMAL_SEVERITY
    urgent_since: datetime | None = None
    minor: bool = False
    alert: SignalView | None = None  # what made it urgent (None: normal, or not recorded)
    flags: int = 0  # worrying messages the young person then said were fine

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def relaying(self) -> bool:
        return self.status in RELAY_STATUSES

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def reference(self) -> str:
        """How counsellors name the ticket (the young person's pseudonym never leaves here)."""
        return f"#{self.id}"

    @property
    def request_excerpt(self) -> str:
        """The first words of the young person's request (its excerpt, kept with consent),
        at most REQUEST_SHOWN characters, cut between words; "" without one. Lists show it
        only to who may see the ticket (handoff/access.py)."""
        text = " ".join(str(self.summary.get("excerpt") or "").split())
        if len(text) <= REQUEST_SHOWN:
            return text
        cut = text[: REQUEST_SHOWN - 1]
        if text[len(cut)] != " " and " " in cut[REQUEST_SHOWN // 2 :]:
            cut = cut.rsplit(" ", 1)[0]  # not in the middle of a word
        return cut.rstrip(" ,;:.") + "…"

    def waiting_minutes(self, now: datetime) -> int:
        """Minutes waited for a first claim (or since, if still unclaimed)."""
        end = self.claimed_at or now
        return max(0, int((end - self.created_at).total_seconds() // 60))


@dataclass(frozen=True)
class TranscriptItem:
    id: int
    direction: str
    origin: Origin
    text: str
    created_at: datetime
    counsellor_name: str | None = None
    in_ticket: bool = False


@dataclass(frozen=True)
class NoteView:
    id: int
    author_name: str | None
    text: str
    created_at: datetime


@dataclass(frozen=True)
class EventView:
    id: int
    kind: EventKind
    actor_name: str | None
    via: str
    data: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class Delivery:
    """A counsellor message to send to the young person, once it is stored."""

    ticket: TicketView
    message_id: int
    channel: str
    channel_user_id: str
    text: str
    counsellor_name: str


@dataclass(frozen=True)
class QueueFilter:
    team: str | None = None
    statuses: tuple[TicketStatus, ...] = OPEN_STATUSES
    assignee_id: int | None = None
    limit: int = 200
    offset: int = 0


def _summary(ticket: Ticket) -> dict[str, Any]:
    request = ticket.requests[-1] if ticket.requests else None
    if request is None:
        return {}
    return {name: getattr(request, name) for name in SUMMARY_FIELDS}


def _view(ticket: Ticket) -> TicketView:
    return TicketView(
        id=ticket.id,
        status=ticket.status,
        urgency=ticket.urgency,
        priority=ticket.priority,
        crisis_kind=ticket.crisis_kind,
        source=ticket.source,
        team=ticket.team,
        territory=ticket.territory,
        person_id=ticket.person_id,
        person_pseudo=ticket.person.pseudo_id,
        summary=_summary(ticket),
        assignee_id=ticket.assignee_id,
        assignee_name=ticket.assignee.first_name if ticket.assignee else None,
        outcome=ticket.outcome,
        outcome_comment=ticket.outcome_comment,
        follow_up_at=ticket.follow_up_at,
        topic_id=ticket.topic_id,
        topic_message_id=ticket.topic_message_id,
        created_at=ticket.created_at,
        updated_at=ticket.updated_at,
        claimed_at=ticket.claimed_at,
        first_reply_at=ticket.first_reply_at,
        last_youth_at=ticket.last_youth_at,
        last_counsellor_at=ticket.last_counsellor_at,
        resolved_at=ticket.resolved_at,
        severity=ticket.severity if ticket.severity is not None else NORMAL_SEVERITY,
        urgent_since=ticket.urgent_since,
        minor=bool(ticket.minor),
        alert=alert_of(ticket.signals) if ticket.urgency == Urgency.crisis else None,
        flags=flag_count(ticket.signals),
    )


def _event(
    session: Session,
    ticket_id: int,
    kind: EventKind,
    now: datetime,
    *,
    actor: CounsellorRef | None = None,
    via: str = "system",
    **data: Any,
) -> None:
    session.add(
        TicketEvent(
            ticket_id=ticket_id,
            kind=kind,
            actor_id=actor.id if actor else None,
            via=via,
            data=data,
            created_at=now,
        )
    )


def open_ticket_of(session: Session, person_id: int) -> Ticket | None:
    """The person's open ticket (there is at most one), locked for update on PostgreSQL."""
    return session.scalar(
        select(Ticket)
        .where(Ticket.person_id == person_id, Ticket.status.in_(OPEN_STATUSES))
        .order_by(Ticket.id.desc())
        .limit(1)
        .with_for_update()
    )


def attach_request(
    session: Session, request: HandoffRequest, router: Router, now: datetime
) -> tuple[Ticket, bool]:
    """Put a new hand-off request on the person's open ticket, or open a ticket for it.

    Returns the ticket and whether it was created. A crisis escalates an open ticket to the
    top of the queue; nothing ever lowers a ticket's priority.
    """
    ticket = open_ticket_of(session, request.person_id)
    created = ticket is None
    if ticket is None:
        route = router.route(request.location)
        ticket = Ticket(
            person_id=request.person_id,
            status=TicketStatus.new,
            urgency=request.urgency,
            priority=priority_of(request.urgency),
            crisis_kind=request.crisis_kind,
            source=request.source,
            team=route.team,
            territory=route.territory,
            created_at=now,
            updated_at=now,
        )
        session.add(ticket)
        session.flush()
        _event(session, ticket.id, EventKind.created, now, source=request.source)
    elif request.urgency == Urgency.crisis and ticket.urgency != Urgency.crisis:
        ticket.urgency = Urgency.crisis
        ticket.priority = priority_of(Urgency.crisis)
        ticket.crisis_kind = request.crisis_kind
        ticket.updated_at = now
        _event(session, ticket.id, EventKind.escalated, now, crisis_kind=request.crisis_kind)
    if ticket.territory is None and request.location:
        route = router.route(request.location)
        if ticket.status == TicketStatus.new and ticket.team != route.team:
            ticket.team = route.team
        ticket.territory = route.territory
    request.ticket_id = ticket.id
    request.status = RequestStatus.taken
    return ticket, created


class TicketService:
    def __init__(
        self,
        db: Database,
        settings: HandoffSettings,
        router: Router,
        clock: Clock | None = None,
        team_ids: Iterable[str] = (),
    ) -> None:
        self._db = db
        self._settings = settings
        self._router = router
        self._clock = clock or SystemClock()
        self._teams = frozenset(team_ids)

    @property
    def outcomes(self) -> dict[str, str]:
        return dict(self._settings.outcomes)

    @property
    def canned_replies(self) -> list[str]:
        return list(self._settings.canned_replies)

    def now(self) -> datetime:
        return self._clock.now()

    # Reading -----------------------------------------------------------------------------
    def queue(self, filters: QueueFilter | None = None) -> list[TicketView]:
        """Open tickets, crisis first (the most severe first), then the longest waiting."""
        filters = filters or QueueFilter()
        with self._db.transaction() as session:
            query = select(Ticket).where(Ticket.status.in_(filters.statuses))
            if filters.team is not None:
                query = query.where(Ticket.team == filters.team)
            if filters.assignee_id is not None:
                query = query.where(Ticket.assignee_id == filters.assignee_id)
            query = (
                query.order_by(Ticket.priority, Ticket.severity, Ticket.created_at, Ticket.id)
                .limit(max(1, min(filters.limit, 500)))
                .offset(max(0, filters.offset))
            )
            return [_view(t) for t in session.scalars(query)]

    def get(self, ticket_id: int) -> TicketView:
        with self._db.transaction() as session:
            return _view(self._ticket(session, ticket_id))

    def by_topic(self, topic_id: int) -> TicketView | None:
        with self._db.transaction() as session:
            ticket = session.scalar(
                select(Ticket).where(Ticket.topic_id == topic_id).order_by(Ticket.id.desc())
            )
            return _view(ticket) if ticket else None

    def tickets_of(self, pseudo_id: str) -> list[TicketView]:
        """Every ticket of a person (open or closed), oldest first."""
        with self._db.transaction() as session:
            query = (
                select(Ticket)
                .join(YoungPerson, YoungPerson.id == Ticket.person_id)
                .where(YoungPerson.pseudo_id == pseudo_id)
                .order_by(Ticket.id)
            )
            return [_view(t) for t in session.scalars(query)]

    def relaying_ticket(self, person_id: int) -> TicketView | None:
        """The ticket through which this person is talking with a counsellor, if any."""
        with self._db.transaction() as session:
            ticket = session.scalar(
                select(Ticket)
                .where(Ticket.person_id == person_id, Ticket.status.in_(RELAY_STATUSES))
                .order_by(Ticket.id.desc())
                .limit(1)
            )
            return _view(ticket) if ticket else None

    def outgoing_since(
        self, person_id: int, after_id: int, limit: int = 50
    ) -> list[TranscriptItem]:
        """What the hand-off sent this person (counsellor messages, desk notices) after a
        message id, oldest first: channels without push (the simulator) poll it."""
        with self._db.transaction() as session:
            rows = session.execute(
                select(Message, Counsellor.first_name)
                .outerjoin(Counsellor, Counsellor.id == Message.counsellor_id)
                .where(
                    Message.person_id == person_id,
                    Message.direction == Direction.outgoing,
                    Message.ticket_id.is_not(None),
                    Message.id > after_id,
                )
                .order_by(Message.id)
                .limit(max(1, min(limit, 200)))
            )
            return [
                TranscriptItem(m.id, str(m.direction), m.origin, m.text, m.created_at, name, True)
                for m, name in rows
            ]

    def last_outgoing_id(self, person_id: int) -> int:
        """The id `outgoing_since` would start after to return only what comes next."""
        with self._db.transaction() as session:
            last = session.scalar(
                select(func.max(Message.id)).where(
                    Message.person_id == person_id,
                    Message.direction == Direction.outgoing,
                    Message.ticket_id.is_not(None),
                )
            )
            return int(last or 0)

    def contact_of(self, ticket_id: int) -> tuple[str, str] | None:
        """(channel, channel user id) to write to the ticket's person; None if they blocked us."""
        with self._db.transaction() as session:
            person = self._ticket(session, ticket_id).person
            if person.blocked_at is not None:
                return None
            return str(person.channel), person.channel_user_id

    def transcript(self, ticket_id: int, after_id: int = 0) -> list[TranscriptItem]:
        """The person's whole kept conversation (bot and counsellors), oldest first."""
        with self._db.transaction() as session:
            ticket = self._ticket(session, ticket_id)
            rows = session.execute(
                select(Message, Counsellor.first_name)
                .outerjoin(Counsellor, Counsellor.id == Message.counsellor_id)
                .where(Message.person_id == ticket.person_id, Message.id > after_id)
                .order_by(Message.id)
            )
            return [
                TranscriptItem(
                    m.id,
                    str(m.direction),
                    m.origin,
                    m.text,
                    m.created_at,
                    name,
                    m.ticket_id == ticket_id,
                )
                for m, name in rows
            ]

    def notes(self, ticket_id: int) -> list[NoteView]:
        with self._db.transaction() as session:
            self._ticket(session, ticket_id)
            rows = session.execute(
                select(TicketNote, Counsellor.first_name)
                .outerjoin(Counsellor, Counsellor.id == TicketNote.author_id)
                .where(TicketNote.ticket_id == ticket_id)
                .order_by(TicketNote.id)
            )
            return [NoteView(n.id, name, n.text, n.created_at) for n, name in rows]

    def events(self, ticket_id: int) -> list[EventView]:
        with self._db.transaction() as session:
            self._ticket(session, ticket_id)
            rows = session.execute(
                select(TicketEvent, Counsellor.first_name)
                .outerjoin(Counsellor, Counsellor.id == TicketEvent.actor_id)
                .where(TicketEvent.ticket_id == ticket_id)
                .order_by(TicketEvent.id)
            )
            return [
                EventView(e.id, e.kind, name, e.via, dict(e.data or {}), e.created_at)
                for e, name in rows
            ]

    # Counsellor actions ------------------------------------------------------------------
    def claim(self, ticket_id: int, actor: CounsellorRef, via: str = "web") -> TicketView:
        """Take a new ticket. Exactly one of several simultaneous claims wins."""
        now = self._clock.now()
        with self._db.transaction() as session:
            won = cast(
                CursorResult[Any],
                session.execute(
                    update(Ticket)
                    .where(Ticket.id == ticket_id, Ticket.status == TicketStatus.new)
                    .values(
                        status=TicketStatus.claimed,
                        assignee_id=actor.id,
                        claimed_at=now,
                        updated_at=now,
                    )
                    .execution_options(synchronize_session=False)
                ),
            ).rowcount
            ticket = self._ticket(session, ticket_id)
            if not won:
                if ticket.assignee_id == actor.id and ticket.status in RELAY_STATUSES:
                    return _view(ticket)  # a double click: already theirs
                raise self._conflict(ticket)
            _event(session, ticket_id, EventKind.claimed, now, actor=actor, via=via)
            return _view(ticket)

    def release(self, ticket_id: int, actor: CounsellorRef, via: str = "web") -> TicketView:
        """Put a claimed ticket back in the queue."""
        now = self._clock.now()
        with self._db.transaction() as session:
            ticket = self._locked(session, ticket_id)
            self._check_holder(ticket, actor)
            ticket.status = TicketStatus.new
            ticket.assignee_id = None
            ticket.updated_at = now
            _event(session, ticket_id, EventKind.released, now, actor=actor, via=via)
            session.flush()
            session.refresh(ticket)
            return _view(ticket)

    def transfer(
        self,
        ticket_id: int,
        actor: CounsellorRef,
        *,
        to_counsellor: CounsellorRef | None = None,
        to_team: str | None = None,
        via: str = "web",
    ) -> TicketView:
        """Hand the ticket to a colleague (who then holds it) or to another team's queue."""
        if (to_counsellor is None) == (to_team is None):
            raise TicketInvalid("Choisis un·e collègue ou une équipe.")
        if to_team is not None and self._teams and to_team not in self._teams:
            raise TicketInvalid(f"Équipe inconnue : {to_team}")
        now = self._clock.now()
        with self._db.transaction() as session:
            ticket = self._locked(session, ticket_id)
            if ticket.status not in OPEN_STATUSES:
                raise self._conflict(ticket)
            if ticket.status != TicketStatus.new:
                self._check_holder(ticket, actor)
            if to_counsellor is not None:
                ticket.assignee_id = to_counsellor.id
                if ticket.status == TicketStatus.new:
                    ticket.status = TicketStatus.claimed
                    ticket.claimed_at = ticket.claimed_at or now
                if to_counsellor.team:
                    ticket.team = to_counsellor.team
                data: dict[str, Any] = {"to_counsellor": to_counsellor.id}
            else:
                assert to_team is not None
                ticket.team = to_team
                ticket.assignee_id = None
                ticket.status = TicketStatus.new
                data = {"to_team": to_team}
            ticket.updated_at = now
            _event(session, ticket_id, EventKind.transferred, now, actor=actor, via=via, **data)
            session.flush()
            session.refresh(ticket)
            return _view(ticket)

    def reply(self, ticket_id: int, actor: CounsellorRef, text: str, via: str = "web") -> Delivery:
        """Store a counsellor message for the young person; the caller delivers it."""
        text = storable(text).strip()
        if not text:
            raise TicketInvalid("Le message est vide.")
        if len(text) > MAX_TEXT:
            raise TicketInvalid(f"Message trop long ({len(text)} caractères, {MAX_TEXT} max).")
        now = self._clock.now()
        with self._db.transaction() as session:
            ticket = self._locked(session, ticket_id)
            if ticket.status not in RELAY_STATUSES:
                if ticket.status == TicketStatus.new:
                    raise TicketConflict("Prends le ticket avant de répondre.")
                raise self._conflict(ticket)
            if ticket.assignee_id != actor.id:
                raise TicketForbidden("Ce ticket est suivi par un·e collègue.")
            if ticket.person.blocked_at is not None:
                raise TicketConflict(
                    "Le jeune a bloqué le bot : il ne peut plus recevoir de message. "
                    "Tu peux clôturer le ticket (injoignable)."
                )
            message = Message(
                person_id=ticket.person_id,
                direction=Direction.outgoing,
                origin=Origin.counsellor,
                text=text,
                created_at=now,
                ticket_id=ticket.id,
                counsellor_id=actor.id,
            )
            session.add(message)
            ticket.status = TicketStatus.waiting_youth
            ticket.first_reply_at = ticket.first_reply_at or now
            ticket.last_counsellor_at = now
            ticket.updated_at = now
            session.flush()
            _event(
                session, ticket_id, EventKind.replied, now, actor=actor, via=via, message=message.id
            )
            person = ticket.person
            return Delivery(
                ticket=_view(ticket),
                message_id=message.id,
                channel=str(person.channel),
                channel_user_id=person.channel_user_id,
                text=text,
                counsellor_name=actor.first_name,
            )

    def youth_message(self, ticket_id: int, text: str, via: str = "bot") -> TicketView:
        """A message from the young person during the hand-off, for their counsellor."""
        now = self._clock.now()
        with self._db.transaction() as session:
            ticket = self._locked(session, ticket_id)
            if ticket.status not in RELAY_STATUSES:
                raise self._conflict(ticket)
            session.add(
                Message(
                    person_id=ticket.person_id,
                    direction=Direction.incoming,
                    origin=Origin.youth,
                    text=storable(text)[:MAX_TEXT],
                    created_at=now,
                    ticket_id=ticket.id,
                )
            )
            ticket.status = TicketStatus.waiting_counsellor
            ticket.last_youth_at = now
            ticket.updated_at = now
            _event(session, ticket_id, EventKind.youth_message, now, via=via)
            session.flush()
            return _view(ticket)

    def log_bot_message(self, ticket_id: int, text: str) -> None:
        """Something the bot itself said to the person during the hand-off (e.g. helplines)."""
        with self._db.transaction() as session:
            ticket = self._ticket(session, ticket_id)
            session.add(
                Message(
                    person_id=ticket.person_id,
                    direction=Direction.outgoing,
                    origin=Origin.bot,
                    text=text,
                    created_at=self._clock.now(),
                    ticket_id=ticket.id,
                )
            )

    def add_note(
        self, ticket_id: int, actor: CounsellorRef, text: str, via: str = "web"
    ) -> NoteView:
        text = storable(text).strip()
        if not text:
            raise TicketInvalid("La note est vide.")
        if len(text) > MAX_NOTE:
            raise TicketInvalid(f"Note trop longue ({MAX_NOTE} caractères max).")
        now = self._clock.now()
        with self._db.transaction() as session:
            self._ticket(session, ticket_id)
            note = TicketNote(ticket_id=ticket_id, author_id=actor.id, text=text, created_at=now)
            session.add(note)
            session.flush()
            _event(session, ticket_id, EventKind.noted, now, actor=actor, via=via, note=note.id)
            return NoteView(note.id, actor.first_name, text, now)

    def system_note(self, ticket_id: int, text: str, via: str = "system") -> NoteView:
        """A note written by the app itself (a scheduled reminder): no author."""
        text = storable(text).strip()[:MAX_NOTE]
        if not text:
            raise TicketInvalid("La note est vide.")
        now = self._clock.now()
        with self._db.transaction() as session:
            self._ticket(session, ticket_id)
            note = TicketNote(ticket_id=ticket_id, author_id=None, text=text, created_at=now)
            session.add(note)
            session.flush()
            _event(session, ticket_id, EventKind.noted, now, via=via, note=note.id)
            return NoteView(note.id, None, text, now)

    def set_follow_up(
        self, ticket_id: int, actor: CounsellorRef, when: datetime | None, via: str = "web"
    ) -> TicketView:
        """Schedule (or clear, with None) a follow-up date on the ticket."""
        now = self._clock.now()
        if when is not None:
            if when.tzinfo is None:
                raise TicketInvalid("Date de relance sans fuseau horaire.")
            if when <= now:
                raise TicketInvalid("La date de relance doit être dans le futur.")
        with self._db.transaction() as session:
            ticket = self._locked(session, ticket_id)
            if ticket.status not in OPEN_STATUSES:
                raise self._conflict(ticket)
            if ticket.assignee_id not in (None, actor.id) and not actor.can_manage:
                raise TicketForbidden("Ce ticket est suivi par un·e collègue.")
            ticket.follow_up_at = when
            ticket.updated_at = now
            _event(
                session,
                ticket_id,
                EventKind.follow_up_set,
                now,
                actor=actor,
                via=via,
                at=when.isoformat() if when else None,
            )
            session.flush()
            return _view(ticket)

    def resolve(
        self,
        ticket_id: int,
        actor: CounsellorRef,
        outcome: str,
        comment: str | None = None,
        via: str = "web",
    ) -> TicketView:
        """Close the ticket with an outcome; the bot takes the conversation back."""
        if outcome not in self._settings.outcomes:
            raise TicketInvalid(f"Issue inconnue : {outcome}")
        now = self._clock.now()
        with self._db.transaction() as session:
            ticket = self._locked(session, ticket_id)
            if ticket.status not in OPEN_STATUSES:
                raise self._conflict(ticket)
            if ticket.status != TicketStatus.new or not actor.can_manage:
                self._check_holder(ticket, actor)
            ticket.status = TicketStatus.resolved
            ticket.outcome = outcome
            ticket.outcome_comment = storable(comment or "").strip()[:2000] or None
            ticket.resolved_at = now
            ticket.updated_at = now
            _event(
                session,
                ticket_id,
                EventKind.resolved,
                now,
                actor=actor,
                via=via,
                outcome=outcome,
                positive=outcome in self._settings.positive_outcomes,
            )
            session.flush()
            return _view(ticket)

    def close_unreachable(
        self, ticket_id: int, actor: CounsellorRef | None = None, via: str = "system"
    ) -> TicketView:
        """The young person could not be reached (blocked the bot, never answered)."""
        now = self._clock.now()
        with self._db.transaction() as session:
            ticket = self._locked(session, ticket_id)
            if ticket.status not in OPEN_STATUSES:
                raise self._conflict(ticket)
            ticket.status = TicketStatus.closed_unreachable
            ticket.outcome = "sans_reponse" if "sans_reponse" in self._settings.outcomes else None
            ticket.resolved_at = now
            ticket.updated_at = now
            _event(session, ticket_id, EventKind.closed_unreachable, now, actor=actor, via=via)
            session.flush()
            return _view(ticket)

    def record_checkin(self, pseudo_id: str, answer: str) -> TicketView | None:
        """The young person's answer to the check-in after a positive outcome, recorded on
        their latest resolved ticket (event `checkin_answered`); None if they have none."""
        now = self._clock.now()
        with self._db.transaction() as session:
            ticket = session.scalar(
                select(Ticket)
                .join(YoungPerson, YoungPerson.id == Ticket.person_id)
                .where(
                    YoungPerson.pseudo_id == pseudo_id,
                    Ticket.status == TicketStatus.resolved,
                )
                .order_by(Ticket.resolved_at.desc(), Ticket.id.desc())
                .limit(1)
            )
            if ticket is None:
                return None
            _event(
                session,
                ticket.id,
                EventKind.checkin_answered,
                now,
                via="bot",
                answer=answer,
                outcome=ticket.outcome,
            )
            session.flush()
            return _view(ticket)

    # Bridge bookkeeping ------------------------------------------------------------------
    def reserve_topic(self, ticket_id: int) -> bool:
        """Mark that a forum topic is being opened (0); False if another worker did it.

        A reservation older than TOPIC_RESERVATION (its worker died) can be taken over."""
        now = self._clock.now()
        with self._db.transaction() as session:
            result = session.execute(
                update(Ticket)
                .where(Ticket.id == ticket_id, self._needs_topic(now))
                .values(topic_id=0, topic_reserved_at=now)
                .execution_options(synchronize_session=False)
            )
            return bool(cast(CursorResult[Any], result).rowcount)

    def set_topic(self, ticket_id: int, topic_id: int | None, message_id: int | None) -> None:
        with self._db.transaction() as session:
            ticket = self._ticket(session, ticket_id)
            ticket.topic_id = topic_id
            ticket.topic_message_id = message_id
            ticket.topic_reserved_at = None

    def without_topic(self, limit: int = 20) -> list[TicketView]:
        """Open tickets that have no forum topic yet (or a stale reservation), oldest first."""
        with self._db.transaction() as session:
            query = (
                select(Ticket)
                .where(Ticket.status.in_(OPEN_STATUSES), self._needs_topic(self._clock.now()))
                .order_by(Ticket.priority, Ticket.severity, Ticket.id)
                .limit(limit)
            )
            return [_view(t) for t in session.scalars(query)]

    @staticmethod
    def _needs_topic(now: datetime) -> ColumnElement[bool]:
        return or_(
            Ticket.topic_id.is_(None),
            and_(Ticket.topic_id == 0, Ticket.topic_reserved_at < now - TOPIC_RESERVATION),
        )

    # Helpers -----------------------------------------------------------------------------
    @staticmethod
    def _ticket(session: Session, ticket_id: int) -> Ticket:
        ticket = session.get(Ticket, ticket_id)
        if ticket is None:
            raise TicketNotFound(f"Ticket #{ticket_id} introuvable.")
        return ticket

    @staticmethod
    def _locked(session: Session, ticket_id: int) -> Ticket:
        ticket = session.scalar(select(Ticket).where(Ticket.id == ticket_id).with_for_update())
        if ticket is None:
            raise TicketNotFound(f"Ticket #{ticket_id} introuvable.")
        return ticket

    @staticmethod
    def _check_holder(ticket: Ticket, actor: CounsellorRef) -> None:
        if ticket.status not in RELAY_STATUSES:
            raise TicketConflict(
                "Ce ticket n'est pris par personne."
                if ticket.status == TicketStatus.new
                else "Ce ticket est déjà clôturé."
            )
        if ticket.assignee_id != actor.id and not actor.can_manage:
            raise TicketForbidden("Ce ticket est suivi par un·e collègue.")

    @staticmethod
    def _conflict(ticket: Ticket) -> TicketConflict:
        if ticket.status in (TicketStatus.resolved, TicketStatus.closed_unreachable):
            return TicketConflict(f"Le ticket #{ticket.id} est déjà clôturé.")
        name = ticket.assignee.first_name if ticket.assignee else "un·e collègue"
        return TicketConflict(f"Trop tard : {name} a déjà pris le ticket #{ticket.id}.")
