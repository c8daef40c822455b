"""How the dashboard words a ticket's triage answers (French): needs, answers, phone, who
wrote, the crisis, the team, and the young person's request only for who may see it.

Shared by the queue, the ticket page and the search; the shared words themselves come from
core/vocabulary.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.vocabulary import SKIPPED, WRITER_LABELS, crisis_label
from handoff.permissions import may_see

if TYPE_CHECKING:
    from core.settings import Settings
    from handoff.accounts import CounsellorRef
    from handoff.tickets import TicketView

ROLE_LABELS = {"counsellor": "conseiller·e", "manager": "responsable", "admin": "admin"}


def needs(ticket: TicketView) -> list[str]:
    """The needs the young person named (skipped answers left out)."""
    named = ticket.summary.get("needs") or []
    if not isinstance(named, list):
        named = [named]
    return [str(n) for n in named if n and n != SKIPPED]


def questions(ticket: TicketView) -> list[str]:
    """The questions the bot could not answer, to take up with the young person."""
    asked = ticket.summary.get("questions") or []
    if not isinstance(asked, list):
        asked = [asked]
    return [str(q) for q in asked if q and q != SKIPPED]


def field(ticket: TicketView, name: str) -> str:
    """A triage answer, "—" when missing or skipped."""
    value = ticket.summary.get(name)
    return "—" if value in (None, "", SKIPPED) else str(value)


def phone_label(phone: str | None) -> str:
    """ "06 12 34 56 78" for a stored "0612345678"; anything else as stored."""
    if not phone or phone == SKIPPED:
        return ""
    if len(phone) == 10 and phone.isdigit():
        return " ".join(phone[i : i + 2] for i in range(0, 10, 2))
    return phone


def writer_label(ticket: TicketView) -> str:
    """ "un parent" / "un proche" when someone wrote for the young person, else ""."""
    writer = ticket.summary.get("writer")
    return WRITER_LABELS.get(str(writer), str(writer)) if writer else ""


def ticket_crisis_label(ticket: TicketView) -> str:
    """The ticket's crisis kind in French ("crise" when the kind is unknown)."""
    return crisis_label(ticket.crisis_kind) or "crise"


def request_excerpt(ticket: TicketView, me: CounsellorRef) -> str:
    """The first words of the young person's request, only for a ticket `me` may see."""
    return ticket.request_excerpt if may_see(me, ticket.team, ticket.assignee_id) else ""


def team_names(settings: Settings) -> dict[str, str]:
    return {team.id: team.name for team in settings.teams}
