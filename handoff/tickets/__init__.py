"""The counsellors' queue: tickets and everything counsellors do with them.

- views.py: the frozen views the services return (TicketView...), never ORM objects;
- queries.py: reading (the queue, a ticket, its conversation, notes, events);
- commands.py: `TicketService`, the reads plus what counsellors, the bot and the bridge do;
- intake.py: how a hand-off request lands on a ticket;
- events.py: the ticket's event log (`record_event`);
- errors.py: the TicketError family, and the permission policy's refusals
  (handoff/permissions.py) as errors.
"""

from handoff.tickets.commands import MAX_NOTE, MAX_TEXT, TicketService
from handoff.tickets.errors import (
    TicketConflict,
    TicketError,
    TicketForbidden,
    TicketInvalid,
    TicketNotFound,
    not_found,
    refused,
    require,
)
from handoff.tickets.events import record_event
from handoff.tickets.intake import attach_request, open_ticket_of
from handoff.tickets.queries import TOPIC_RESERVATION, TicketQueries
from handoff.tickets.views import (
    REQUEST_SHOWN,
    STATUS_LABELS,
    SUMMARY_FIELDS,
    Delivery,
    EventView,
    NoteView,
    QueueFilter,
    TicketView,
    TranscriptItem,
    priority_of,
    summary_of,
    ticket_view,
)

__all__ = [
    "MAX_NOTE",
    "MAX_TEXT",
    "REQUEST_SHOWN",
    "STATUS_LABELS",
    "SUMMARY_FIELDS",
    "TOPIC_RESERVATION",
    "Delivery",
    "EventView",
    "NoteView",
    "QueueFilter",
    "TicketConflict",
    "TicketError",
    "TicketForbidden",
    "TicketInvalid",
    "TicketNotFound",
    "TicketQueries",
    "TicketService",
    "TicketView",
    "TranscriptItem",
    "attach_request",
    "not_found",
    "open_ticket_of",
    "priority_of",
    "record_event",
    "refused",
    "require",
    "summary_of",
    "ticket_view",
]
