"""Refused ticket operations: the TicketError family, and the permission policy's refusals
(handoff/permissions.py) as the errors the services raise, with their French messages.

The errors carry no HTTP status: web/ maps each class to its own.
"""

from __future__ import annotations

from typing import Protocol

from handoff.accounts import CounsellorRef
from handoff.permissions import Action, Refusal, TicketFacts, refusal


class TicketError(Exception):
    """A refused ticket operation; `str(error)` is a French message for the counsellor."""


class TicketNotFound(TicketError):
    """No such ticket (or no longer: erased), or one the counsellor may not read: need to
    know answers both the same way, so that a ticket's existence is never revealed."""


def not_found(ticket_id: int) -> TicketNotFound:
    """The one refusal for a ticket that does not exist or may not be read."""
    return TicketNotFound(f"Ticket #{ticket_id} introuvable.")


class TicketConflict(TicketError):
    """The ticket changed under the counsellor's feet (claimed by someone else, closed...)."""


class TicketForbidden(TicketError):
    """Not theirs to do: a colleague of their team holds the ticket."""


class TicketInvalid(TicketError):
    """What was asked does not make sense (empty message, unknown outcome, past date...)."""


class NumberedTicket(TicketFacts, Protocol):
    """A ticket the policy reads, with its number (for the messages)."""

    @property
    def id(self) -> int: ...


COLLEAGUE = "Ce ticket est suivi par un·e collègue."
# Taking the ticket first, per action (the other actions need no holder, or say it otherwise).
UNCLAIMED = {
    Action.reply: "Prends le ticket avant de répondre.",
    Action.release: "Ce ticket n'est pris par personne.",
    Action.resolve: "Ce ticket n'est pris par personne.",
    Action.false_alarm: "Prends le ticket avant de le marquer comme fausse alerte.",
    Action.appointment: "Prends le ticket avant de proposer un rendez-vous.",
}


def refused(
    me: CounsellorRef, ticket: NumberedTicket, action: Action, holder: str | None = None
) -> TicketError | None:
    """The error for what the policy refuses `me` on the ticket (None: allowed); `holder` is
    the first name of who holds it, for a claim that came too late."""
    why = refusal(me, ticket, action)
    if why is None:
        return None
    if why == Refusal.need_to_know:
        return not_found(ticket.id)  # as if it did not exist, whatever the action
    if why == Refusal.closed:
        if action == Action.release:
            return TicketConflict("Ce ticket est déjà clôturé.")
        return TicketConflict(f"Le ticket #{ticket.id} est déjà clôturé.")
    if why == Refusal.taken:
        return TicketConflict(
            f"Trop tard : {holder or 'un·e collègue'} a déjà pris le ticket #{ticket.id}."
        )
    if why == Refusal.unclaimed:
        return TicketConflict(UNCLAIMED.get(action, "Ce ticket n'est pris par personne."))
    if why == Refusal.not_urgent:
        return TicketConflict(
            f"Le ticket #{ticket.id} n'est pas (ou plus) en urgence : "
            "rien à marquer comme fausse alerte."
        )
    return TicketForbidden(COLLEAGUE)


def require(
    me: CounsellorRef, ticket: NumberedTicket, action: Action, holder: str | None = None
) -> None:
    """Raise the error for what the policy refuses `me` on the ticket; nothing if allowed."""
    error = refused(me, ticket, action, holder)
    if error is not None:
        raise error
