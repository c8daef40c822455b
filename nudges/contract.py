"""What a due follow-up sends, and what happens after: the contract between the sweeper
(nudges/sweeper.py) and the nudge policies (nudges/rules.py).

The sweeper claims a due job, asks the policies what to send (`outgoing`), sends it through
the person's channel (or to the counsellors), then calls `after_sent` so the policy can
schedule its next step (e.g. the second nudge, or closing a ticket as unreachable).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.messages import Reply
from nudges.store import FollowUpJob


@dataclass(frozen=True)
class EngineNudge:
    """Ask the engine to speak (a domain response, with its variations): the sweeper triggers
    `intent` (an `EXTERNAL_*` intent) on the person's conversation and sends what it says."""

    intent: str
    entities: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DirectMessage:
    """A message written by a counsellor for the young person, sent as is (already signed)."""

    text: str


@dataclass(frozen=True)
class CounsellorNotice:
    """A reminder for the counsellors of a ticket (its Telegram topic, the dashboard)."""

    ticket_id: int
    text: str


@dataclass(frozen=True)
class YouthReplies:
    """Replies written by the app for the young person, with their buttons (an appointment's
    reminder and its "Je peux plus venir" button, the kind nudge after a missed one): pushed
    on Telegram, stored for the simulator and the terminal, kept in the ticket's transcript."""

    replies: tuple[Reply, ...]


@dataclass(frozen=True)
class AppointmentDue:
    """An appointment's time has passed and nobody marked it: the counsellors are asked
    (AppointmentDesk.due: a note on the ticket, the bridge's attendance buttons)."""

    appointment_id: int


Outgoing = EngineNudge | DirectMessage | CounsellorNotice | YouthReplies | AppointmentDue


class NudgePolicies(Protocol):
    def outgoing(self, job: FollowUpJob) -> Outgoing | None:
        """What to send for this job now; None if it no longer makes sense (cancelled)."""
        ...

    async def after_sent(self, job: FollowUpJob) -> None:
        """Schedule what follows a sent job (next step, unreachable closing...)."""
        ...
