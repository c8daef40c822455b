"""What counsellors, the bot and the bridge do with tickets.

Every write is one short transaction and appends to the ticket's event log. Claiming is a
single conditional UPDATE (`... WHERE status = 'new'`), so two counsellors clicking at once
get exactly one winner on every backend; the loser gets a `TicketConflict` with a message
to show. Who may do what is the permission policy's (handoff/permissions.py): every action
of a counsellor first reads the ticket as them (`_locked(..., actor)`), so a ticket they may
not read answers exactly as one that does not exist (TicketNotFound), before anything else.

A transfer that moves the ticket to another team (to a team, or to a colleague of another
team) is recorded with `from_team` and `to_team`: the ticket's history shows the crossing,
and the previous team no longer sees the ticket (unless one of them holds it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, select, update

from core.db import retry_on_deadlock
from core.models import (
    OPEN_STATUSES,
    RELAY_STATUSES,
    Direction,
    EventKind,
    Message,
    Origin,
    Ticket,
    TicketNote,
    TicketStatus,
    YoungPerson,
)
from core.text import storable
from handoff.access import visible
from handoff.accounts import CounsellorRef
from handoff.permissions import Action
from handoff.tickets.errors import TicketConflict, TicketInvalid, require
from handoff.tickets.events import record_event
from handoff.tickets.queries import TicketQueries
from handoff.tickets.views import Delivery, NoteView, TicketView, ticket_view

MAX_TEXT = 4096
MAX_NOTE = 10_000


class TicketService(TicketQueries):
    """Tickets: reading them (TicketQueries) and acting on them."""

    # Counsellor actions ------------------------------------------------------------------
    @retry_on_deadlock
    def claim(self, ticket_id: int, actor: CounsellorRef, via: str = "web") -> TicketView:
        """Take a new ticket. Exactly one of several simultaneous claims wins."""
        now = self._clock.now()
        with self._db.transaction() as session:
            ticket = self._ticket(session, ticket_id, actor)  # need to know, before all
            scope = visible(actor)
            won = cast(
                CursorResult[Any],
                session.execute(
                    update(Ticket)
                    .where(
                        Ticket.id == ticket_id,
                        Ticket.status == TicketStatus.new,
                        *([scope] if scope is not None else []),
                    )
                    .values(
                        status=TicketStatus.claimed,
                        assignee_id=actor.id,
                        claimed_at=now,
                        updated_at=now,
                    )
                    .execution_options(synchronize_session=False)
                ),
            ).rowcount
            session.refresh(ticket)
            if not won:
                if ticket.assignee_id == actor.id and ticket.status in RELAY_STATUSES:
                    return ticket_view(ticket)  # a double click: already theirs
                raise self._conflict(ticket)
            record_event(session, ticket_id, EventKind.claimed, now, actor=actor, via=via)
            return ticket_view(ticket)

    @retry_on_deadlock
    def release(self, ticket_id: int, actor: CounsellorRef, via: str = "web") -> TicketView:
        """Put a claimed ticket back in the queue."""
        now = self._clock.now()
        with self._db.transaction() as session:
            ticket = self._locked(session, ticket_id, actor)
            require(actor, ticket, Action.release)
            ticket.status = TicketStatus.new
            ticket.assignee_id = None
            ticket.updated_at = now
            record_event(session, ticket_id, EventKind.released, now, actor=actor, via=via)
            session.flush()
            session.refresh(ticket)
            return ticket_view(ticket)

    @retry_on_deadlock
    def transfer(
        self,
        ticket_id: int,
        actor: CounsellorRef,
        *,
        to_counsellor: CounsellorRef | None = None,
        to_team: str | None = None,
        via: str = "web",
    ) -> TicketView:
        """Hand the ticket to a colleague (who then holds it, in their team) or to a team's
        queue; the event records the team before and after (`from_team`, `to_team`)."""
        if (to_counsellor is None) == (to_team is None):
            raise TicketInvalid("Choisis un·e collègue ou une équipe.")
        if to_team is not None and self._teams and to_team not in self._teams:
            raise TicketInvalid(f"Équipe inconnue : {to_team}")
        now = self._clock.now()
        with self._db.transaction() as session:
            ticket = self._locked(session, ticket_id, actor)
            require(actor, ticket, Action.transfer)
            from_team = ticket.team
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
            data.update(from_team=from_team, to_team=ticket.team)
            record_event(
                session, ticket_id, EventKind.transferred, now, actor=actor, via=via, **data
            )
            session.flush()
            session.refresh(ticket)
            return ticket_view(ticket)

    @retry_on_deadlock
    def reply(self, ticket_id: int, actor: CounsellorRef, text: str, via: str = "web") -> Delivery:
        """Store a counsellor message for the young person; the caller delivers it."""
        text = storable(text).strip()
        if not text:
            raise TicketInvalid("Le message est vide.")
        if len(text) > MAX_TEXT:
            raise TicketInvalid(f"Message trop long ({len(text)} caractères, {MAX_TEXT} max).")
        now = self._clock.now()
        with self._db.transaction() as session:
            ticket = self._locked(session, ticket_id, actor)
            require(actor, ticket, Action.reply)
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
            record_event(
                session, ticket_id, EventKind.replied, now, actor=actor, via=via, message=message.id
            )
            person = ticket.person
            return Delivery(
                ticket=ticket_view(ticket),
                message_id=message.id,
                channel=str(person.channel),
                channel_user_id=person.channel_user_id,
                text=text,
                counsellor_name=actor.first_name,
            )

    @retry_on_deadlock
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
            record_event(session, ticket_id, EventKind.youth_message, now, via=via)
            session.flush()
            return ticket_view(ticket)

    @retry_on_deadlock
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

    @retry_on_deadlock
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
            self._ticket(session, ticket_id, actor)
            note = TicketNote(ticket_id=ticket_id, author_id=actor.id, text=text, created_at=now)
            session.add(note)
            session.flush()
            record_event(
                session, ticket_id, EventKind.noted, now, actor=actor, via=via, note=note.id
            )
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
            record_event(session, ticket_id, EventKind.noted, now, via=via, note=note.id)
            return NoteView(note.id, None, text, now)

    @retry_on_deadlock
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
            ticket = self._locked(session, ticket_id, actor)
            require(actor, ticket, Action.follow_up)
            ticket.follow_up_at = when
            ticket.updated_at = now
            record_event(
                session,
                ticket_id,
                EventKind.follow_up_set,
                now,
                actor=actor,
                via=via,
                at=when.isoformat() if when else None,
            )
            session.flush()
            return ticket_view(ticket)

    @retry_on_deadlock
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
            ticket = self._locked(session, ticket_id, actor)
            require(actor, ticket, Action.resolve)
            ticket.status = TicketStatus.resolved
            ticket.outcome = outcome
            ticket.outcome_comment = storable(comment or "").strip()[:2000] or None
            ticket.resolved_at = now
            ticket.updated_at = now
            record_event(
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
            return ticket_view(ticket)

    @retry_on_deadlock
    def close_unreachable(
        self, ticket_id: int, actor: CounsellorRef | None = None, via: str = "system"
    ) -> TicketView:
        """The young person could not be reached (blocked the bot, never answered)."""
        now = self._clock.now()
        with self._db.transaction() as session:
            ticket = self._locked(session, ticket_id, actor)
            if ticket.status not in OPEN_STATUSES:
                raise self._conflict(ticket)
            ticket.status = TicketStatus.closed_unreachable
            ticket.outcome = "sans_reponse" if "sans_reponse" in self._settings.outcomes else None
            ticket.resolved_at = now
            ticket.updated_at = now
            record_event(
                session, ticket_id, EventKind.closed_unreachable, now, actor=actor, via=via
            )
            session.flush()
            return ticket_view(ticket)

    @retry_on_deadlock
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
            record_event(
                session,
                ticket.id,
                EventKind.checkin_answered,
                now,
                via="bot",
                answer=answer,
                outcome=ticket.outcome,
            )
            session.flush()
            return ticket_view(ticket)

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

    @staticmethod
    def _conflict(ticket: Ticket) -> TicketConflict:
        if ticket.status in (TicketStatus.resolved, TicketStatus.closed_unreachable):
            return TicketConflict(f"Le ticket #{ticket.id} est déjà clôturé.")
        name = ticket.assignee.first_name if ticket.assignee else "un·e collègue"
        return TicketConflict(f"Trop tard : {name} a déjà pris le ticket #{ticket.id}.")
