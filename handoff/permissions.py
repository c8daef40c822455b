"""Who may do what with a ticket: the one permission policy of the hand-off.

Pure (no database): it decides from the counsellor and the ticket as they are. The services
refuse with it (`handoff.tickets.require` turns a refusal into the TicketError to raise, with
its French message), the dashboard shows only the buttons it allows (`allowed`), the Telegram
bridge refuses with it before asking the desk.

- read (need to know, docs/handoff.md "Finding a ticket, and need to know"): managers and admins
  see every ticket; a counsellor sees the tickets of their own team and the ones they hold,
  whatever the team (handoff/access.py has the same rule as a query condition). Reading comes
  first for every action: a ticket one may not read is refused as `need_to_know` whatever the
  action, and every entry point answers it exactly as a ticket that does not exist (404 on the
  web and the API, "introuvable" on the bridge): its existence is not revealed;
- claim: a new ticket (nobody holds it);
- reply: the counsellor who holds it (not even a manager writes in a colleague's conversation);
- release: who holds it, or a manager, while someone holds it;
- transfer: an open ticket, new or held by who transfers it (or a manager);
- resolve (close): who holds it, or a manager (even while nobody holds it);
- follow_up (schedule a reminder): an open ticket nobody else holds (a manager: any open one);
- false_alarm: an open urgent ticket, as closing: who holds it, or a manager (even unclaimed).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from core.models import OPEN_STATUSES, RELAY_STATUSES, TicketStatus, Urgency
from handoff.accounts import CounsellorRef


class TicketFacts(Protocol):
    """What the policy reads of a ticket: a TicketView, or the ORM row in a service."""

    @property
    def status(self) -> TicketStatus: ...

    @property
    def urgency(self) -> Urgency: ...

    @property
    def team(self) -> str | None: ...

    @property
    def assignee_id(self) -> int | None: ...


class Action(StrEnum):
    read = "read"
    claim = "claim"
    reply = "reply"
    release = "release"
    transfer = "transfer"
    resolve = "resolve"
    follow_up = "follow_up"
    false_alarm = "false_alarm"
    # Propose, change or cancel an appointment (handoff/appointments): whoever holds it.
    appointment = "appointment"
    # Say whether an appointment took place: also once the ticket is closed.
    attendance = "attendance"


class Refusal(StrEnum):
    """Why an action is refused (each side words it its own way)."""

    need_to_know = "need_to_know"  # neither their team's ticket nor one they hold (any action)
    closed = "closed"  # the ticket is closed
    unclaimed = "unclaimed"  # nobody holds it: take it first
    taken = "taken"  # claim: somebody already holds it
    colleague = "colleague"  # a colleague holds it
    not_urgent = "not_urgent"  # false alarm: the ticket is not (or no longer) urgent


@dataclass(frozen=True)
class Allowed:
    read: bool
    claim: bool
    reply: bool
    release: bool
    transfer: bool
    resolve: bool
    follow_up: bool
    false_alarm: bool
    appointment: bool
    attendance: bool


def may_see(me: CounsellorRef, team: str | None, assignee_id: int | None) -> bool:
    """Need to know: may `me` read a ticket of this team, held by this counsellor (or nobody)."""
    if me.can_manage:
        return True
    if assignee_id is not None and assignee_id == me.id:
        return True
    return me.team is not None and team == me.team


def refusal(me: CounsellorRef, ticket: TicketFacts, action: Action) -> Refusal | None:
    """Why `me` may not do `action` on the ticket now; None when they may. Reading is checked
    first, for every action."""
    if not may_see(me, ticket.team, ticket.assignee_id):
        return Refusal.need_to_know
    if action == Action.read:
        return None
    status = ticket.status
    mine = ticket.assignee_id == me.id
    if action == Action.attendance:
        return None if ticket.assignee_id is None or mine or me.can_manage else Refusal.colleague
    if status not in OPEN_STATUSES:
        return Refusal.closed
    new = status == TicketStatus.new
    holder = status in RELAY_STATUSES and (mine or me.can_manage)
    if action == Action.claim:
        return None if new else Refusal.taken
    if action == Action.reply:
        if new:
            return Refusal.unclaimed
        return None if mine else Refusal.colleague
    if action == Action.release:
        if new:
            return Refusal.unclaimed
        return None if holder else Refusal.colleague
    if action == Action.transfer:
        return None if new or holder else Refusal.colleague
    if action == Action.resolve:
        if new:
            return None if me.can_manage else Refusal.unclaimed
        return None if holder else Refusal.colleague
    if action == Action.follow_up:
        free = ticket.assignee_id is None or mine
        return None if free or me.can_manage else Refusal.colleague
    if action == Action.appointment:
        if new:
            return Refusal.unclaimed
        return None if holder else Refusal.colleague
    if action == Action.false_alarm:
        if ticket.urgency != Urgency.crisis:
            return Refusal.not_urgent
        if me.can_manage:
            return None
        if new:
            return Refusal.unclaimed
        return None if mine else Refusal.colleague
    raise ValueError(f"unknown action: {action}")


def may(me: CounsellorRef, ticket: TicketFacts, action: Action) -> bool:
    return refusal(me, ticket, action) is None


def allowed(me: CounsellorRef, ticket: TicketFacts) -> Allowed:
    """Every action at once (e.g. the buttons of the dashboard's ticket page)."""
    return Allowed(**{action.value: may(me, ticket, action) for action in Action})
