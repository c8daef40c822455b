"""What the ticket services return: frozen views of tickets, messages, notes and events (never
ORM objects), and how a ticket row becomes a TicketView."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.models import (
    OPEN_STATUSES,
    RELAY_STATUSES,
    Channel,
    EventKind,
    Origin,
    Ticket,
    TicketStatus,
    Urgency,
)
from core.simulations import is_simulated
from handoff.signals import NORMAL_SEVERITY, SignalView, alert_of, flag_count

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


def priority_of(urgency: Urgency) -> int:
    """The queue order of an urgency: crisis (0) before normal (1)."""
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
    simulated: bool = False  # a web simulator's conversation (core/simulations.py)
    channel: Channel = Channel.telegram  # where the young person writes (Telegram, web chat)
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
        only to who may read the ticket (handoff/permissions.py)."""
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


def summary_of(ticket: Ticket) -> dict[str, Any]:
    """The triage answers of the ticket's latest hand-off request (SUMMARY_FIELDS)."""
    request = ticket.requests[-1] if ticket.requests else None
    if request is None:
        return {}
    return {name: getattr(request, name) for name in SUMMARY_FIELDS}


def ticket_view(ticket: Ticket) -> TicketView:
    """The frozen view of a ticket row (its requests, assignee and signals are read)."""
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
        summary=summary_of(ticket),
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
        simulated=is_simulated(ticket.person.channel),
        channel=ticket.person.channel,
        alert=alert_of(ticket.signals) if ticket.urgency == Urgency.crisis else None,
        flags=flag_count(ticket.signals),
    )
