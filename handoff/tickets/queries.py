"""Reading tickets: the queue, one ticket, its conversation, notes and events.

`TicketQueries` is the reading half of `TicketService` (handoff/tickets/commands.py adds what
counsellors and the bot do); each read is one short transaction returning frozen views.

Need to know (handoff/permissions.py): the reads a counsellor asks for (the dashboard, the REST
API, the bridge) pass `viewer`; a ticket they may not read raises the very TicketNotFound of a
ticket that does not exist, and the queue lists only what they may read. Without a viewer it
is the app itself reading (the bot, the jobs, the bridge's bookkeeping): no restriction.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from core.clock import Clock, SystemClock
from core.db import Database
from core.models import (
    OPEN_STATUSES,
    RELAY_STATUSES,
    Counsellor,
    Direction,
    Message,
    Ticket,
    TicketEvent,
    TicketNote,
    YoungPerson,
)
from core.settings import Handoff as HandoffSettings
from core.simulations import real_person
from handoff.access import visible
from handoff.accounts import CounsellorRef
from handoff.permissions import may_see
from handoff.routing import Router
from handoff.tickets.errors import not_found
from handoff.tickets.views import (
    EventView,
    NoteView,
    QueueFilter,
    TicketView,
    TranscriptItem,
    ticket_view,
)

# A forum topic reservation (handoff/bridge/) older than this is taken over: its worker died.
TOPIC_RESERVATION = timedelta(minutes=5)


class TicketQueries:
    def __init__(
        self,
        db: Database,
        settings: HandoffSettings,
        router: Router,
        clock: Clock | None = None,
        team_ids: Iterable[str] = (),
        *,
        hide_simulations: bool = False,
    ) -> None:
        self._db = db
        self._settings = settings
        self._router = router
        self._clock = clock or SystemClock()
        self._teams = frozenset(team_ids)
        # Simulated conversations stay out of the queue (core/simulations.py).
        self._hide_simulations = hide_simulations

    @property
    def outcomes(self) -> dict[str, str]:
        return dict(self._settings.outcomes)

    @property
    def canned_replies(self) -> list[str]:
        return list(self._settings.canned_replies)

    def now(self) -> datetime:
        return self._clock.now()

    # Reading -----------------------------------------------------------------------------
    def queue(
        self, filters: QueueFilter | None = None, *, viewer: CounsellorRef | None = None
    ) -> list[TicketView]:
        """Open tickets, crisis first (the most severe first), then the longest waiting;
        only those `viewer` may read."""
        filters = filters or QueueFilter()
        with self._db.transaction() as session:
            query = select(Ticket).where(Ticket.status.in_(filters.statuses))
            scope = visible(viewer) if viewer is not None else None
            if scope is not None:
                query = query.where(scope)
            if self._hide_simulations:
                query = query.where(real_person(Ticket.person_id))
            if filters.team is not None:
                query = query.where(Ticket.team == filters.team)
            if filters.assignee_id is not None:
                query = query.where(Ticket.assignee_id == filters.assignee_id)
            query = (
                query.order_by(Ticket.priority, Ticket.severity, Ticket.created_at, Ticket.id)
                .limit(max(1, min(filters.limit, 500)))
                .offset(max(0, filters.offset))
            )
            return [ticket_view(t) for t in session.scalars(query)]

    def get(self, ticket_id: int, *, viewer: CounsellorRef | None = None) -> TicketView:
        with self._db.transaction() as session:
            return ticket_view(self._ticket(session, ticket_id, viewer))

    def readable(self, ticket_ids: Iterable[int], viewer: CounsellorRef) -> set[int]:
        """Which of these tickets `viewer` may read (lists built elsewhere: the digest)."""
        wanted = {int(i) for i in ticket_ids}
        if not wanted:
            return set()
        with self._db.transaction() as session:
            query = select(Ticket.id).where(Ticket.id.in_(wanted))
            scope = visible(viewer)
            if scope is not None:
                query = query.where(scope)
            return {int(i) for i in session.scalars(query)}

    def by_topic(self, topic_id: int) -> TicketView | None:
        with self._db.transaction() as session:
            ticket = session.scalar(
                select(Ticket).where(Ticket.topic_id == topic_id).order_by(Ticket.id.desc())
            )
            return ticket_view(ticket) if ticket else None

    def tickets_of(self, pseudo_id: str) -> list[TicketView]:
        """Every ticket of a person (open or closed), oldest first."""
        with self._db.transaction() as session:
            query = (
                select(Ticket)
                .join(YoungPerson, YoungPerson.id == Ticket.person_id)
                .where(YoungPerson.pseudo_id == pseudo_id)
                .order_by(Ticket.id)
            )
            return [ticket_view(t) for t in session.scalars(query)]

    def relaying_ticket(self, person_id: int) -> TicketView | None:
        """The ticket through which this person is talking with a counsellor, if any."""
        with self._db.transaction() as session:
            ticket = session.scalar(
                select(Ticket)
                .where(Ticket.person_id == person_id, Ticket.status.in_(RELAY_STATUSES))
                .order_by(Ticket.id.desc())
                .limit(1)
            )
            return ticket_view(ticket) if ticket else None

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

    def transcript(
        self, ticket_id: int, after_id: int = 0, *, viewer: CounsellorRef | None = None
    ) -> list[TranscriptItem]:
        """The person's whole kept conversation (bot and counsellors), oldest first."""
        with self._db.transaction() as session:
            ticket = self._ticket(session, ticket_id, viewer)
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

    def notes(self, ticket_id: int, *, viewer: CounsellorRef | None = None) -> list[NoteView]:
        with self._db.transaction() as session:
            self._ticket(session, ticket_id, viewer)
            rows = session.execute(
                select(TicketNote, Counsellor.first_name)
                .outerjoin(Counsellor, Counsellor.id == TicketNote.author_id)
                .where(TicketNote.ticket_id == ticket_id)
                .order_by(TicketNote.id)
            )
            return [NoteView(n.id, name, n.text, n.created_at) for n, name in rows]

    def events(self, ticket_id: int, *, viewer: CounsellorRef | None = None) -> list[EventView]:
        with self._db.transaction() as session:
            self._ticket(session, ticket_id, viewer)
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

    # Tickets without a forum topic (the bridge) ---------------------------------------
    def without_topic(self, limit: int = 20) -> list[TicketView]:
        """Open tickets that have no forum topic yet (or a stale reservation), oldest first."""
        with self._db.transaction() as session:
            query = (
                select(Ticket)
                .where(Ticket.status.in_(OPEN_STATUSES), self._needs_topic(self._clock.now()))
                .where(*([real_person(Ticket.person_id)] if self._hide_simulations else []))
                .order_by(Ticket.priority, Ticket.severity, Ticket.id)
                .limit(limit)
            )
            return [ticket_view(t) for t in session.scalars(query)]

    @staticmethod
    def _needs_topic(now: datetime) -> ColumnElement[bool]:
        return or_(
            Ticket.topic_id.is_(None),
            and_(Ticket.topic_id == 0, Ticket.topic_reserved_at < now - TOPIC_RESERVATION),
        )

    # Helpers -----------------------------------------------------------------------------
    @staticmethod
    def _ticket(session: Session, ticket_id: int, viewer: CounsellorRef | None = None) -> Ticket:
        """The ticket, if it exists and `viewer` (None: the app) may read it; else the same
        TicketNotFound either way."""
        ticket = session.get(Ticket, ticket_id)
        if ticket is None or (
            viewer is not None and not may_see(viewer, ticket.team, ticket.assignee_id)
        ):
            raise not_found(ticket_id)
        return ticket

    @staticmethod
    def _locked(session: Session, ticket_id: int, viewer: CounsellorRef | None = None) -> Ticket:
        """As `_ticket`, locked for update (PostgreSQL)."""
        ticket = session.scalar(select(Ticket).where(Ticket.id == ticket_id).with_for_update())
        if ticket is None or (
            viewer is not None and not may_see(viewer, ticket.team, ticket.assignee_id)
        ):
            raise not_found(ticket_id)
        return ticket
