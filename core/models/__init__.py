"""SQLAlchemy 2 models, one module per side (people, tickets, follow-ups, studio); every model
is importable from `core.models`, and importing it registers every table on `Base.metadata`
(migrations, `create_all` in tests)."""

from core.models.base import (
    AwareDateTime,
    Base,
    str_enum,
    utcnow,
)
from core.models.appointments import (
    ACTIVE_STATUSES,
    CLOSED_STATUSES,
    Appointment,
    AppointmentKind,
    AppointmentStatus,
)
from core.models.campaigns import Campaign, CampaignChannel, CampaignTouch
from core.models.delivery import HeldMessage, InboundUpdate
from core.models.followups import (
    FollowUp,
    FollowUpKind,
    FollowUpStatus,
    JobRun,
)
from core.models.people import (
    Channel,
    ConsentRecord,
    ConsentStatus,
    Direction,
    Message,
    Milestone,
    Origin,
    PersonEvent,
    YoungPerson,
)
from core.models.privacy import AnonymousCount, PendingErasure, PurgeRun
from core.models.sessions import DashboardSession
from core.models.studio import (
    NluTurn,
    ResponseExposure,
)
from core.models.webchat import WebChatState, WebOutboxItem
from core.models.tickets import (
    OPEN_STATUSES,
    RELAY_STATUSES,
    ApiToken,
    Counsellor,
    CrisisSignalRecord,
    EventKind,
    HandoffRequest,
    RequestStatus,
    Role,
    SignalOrigin,
    Ticket,
    TicketEvent,
    TicketNote,
    TicketStatus,
    Urgency,
)

__all__ = [
    "WebChatState",
    "WebOutboxItem",
    "ACTIVE_STATUSES",
    "Appointment",
    "AppointmentKind",
    "AppointmentStatus",
    "CLOSED_STATUSES",
    "Campaign",
    "CampaignChannel",
    "CampaignTouch",
    "HeldMessage",
    "InboundUpdate",
    "AnonymousCount",
    "ApiToken",
    "AwareDateTime",
    "Base",
    "Channel",
    "ConsentRecord",
    "ConsentStatus",
    "Counsellor",
    "CrisisSignalRecord",
    "DashboardSession",
    "Direction",
    "EventKind",
    "FollowUp",
    "FollowUpKind",
    "FollowUpStatus",
    "HandoffRequest",
    "JobRun",
    "Message",
    "Milestone",
    "NluTurn",
    "OPEN_STATUSES",
    "Origin",
    "PendingErasure",
    "PersonEvent",
    "PurgeRun",
    "RELAY_STATUSES",
    "RequestStatus",
    "ResponseExposure",
    "Role",
    "SignalOrigin",
    "Ticket",
    "TicketEvent",
    "TicketNote",
    "TicketStatus",
    "Urgency",
    "YoungPerson",
    "str_enum",
    "utcnow",
]
