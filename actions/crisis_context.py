"""What the crisis actions share (actions/crisis.py): the young person's urgent ticket and the
flags on worrying messages, the team's hours, the clock."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime

from rasa_sdk import Tracker

from actions.crisis_support import presence_fr
from actions.summary import summary_from, words_of
from core.calendar import OpeningHours
from core.clock import Clock, SystemClock
from core.models import Urgency
from core.settings import Handoff as HandoffSettings
from core.settings import Nudges as NudgesSettings
from handoff.desk import HandoffDesk
from handoff.requests import CrisisSignal, HandoffService

log = logging.getLogger(__name__)


def default_hours() -> OpeningHours:
    """The opening hours (and time zone) maraude.yml has when it does not set them."""
    return OpeningHours.parse(HandoffSettings().opening_hours, NudgesSettings().timezone)


@dataclass
class CrisisContext:
    """What the crisis actions share: where hand-offs go (the desk stores them and tells the
    counsellors' side; the request service answers questions), the team's hours, the clock."""

    handoff: HandoffService | None
    desk: HandoffDesk | None = None
    hours: OpeningHours = field(default_factory=default_hours)
    clock: Clock = field(default_factory=SystemClock)

    def now(self) -> datetime:
        return self.clock.now()

    def today(self) -> str:
        return self.now().astimezone(self.hours.tz).date().isoformat()

    def presence(self) -> str:
        return presence_fr(self.hours, self.now())

    async def urgent(
        self, tracker: Tracker, kind: str, signal: CrisisSignal | None, minor: bool
    ) -> bool | None:
        """Open or escalate the person's urgent ticket, with what the triage knows so far: True
        when it was not urgent before (a new crisis), False when it already was, None when it
        could not be stored."""
        if self.desk is None:
            return None
        sender = tracker.sender_id
        try:
            ref = await self.desk.request(
                sender,
                summary_from(tracker, words_of(tracker)),
                source="crisis",
                urgency=Urgency.crisis,
                crisis_kind=kind,
                signal=signal,
                minor=minor,
            )
        except LookupError:
            log.warning("urgent hand-off for unknown sender %s not stored", sender)
            return None
        except Exception:  # the helplines must go out even when the database fails
            log.exception("urgent hand-off for %s not stored", sender)
            return None
        return ref.change != "updated"  # created, or escalated from a normal ticket

    async def flag(self, sender: str, signal: CrisisSignal) -> None:
        if self.desk is None:
            return
        try:
            await self.desk.flag(sender, signal)
        except LookupError:
            log.warning("crisis flag for unknown sender %s not stored", sender)
        except Exception:  # the conversation goes on even when the database fails
            log.exception("crisis flag for %s not stored", sender)

    async def still_urgent(self, sender: str) -> bool:
        """The person still has an open urgent ticket (true when it cannot be checked)."""
        if self.handoff is None:
            return True
        try:
            requests = await asyncio.to_thread(self.handoff.open_requests, sender)
        except Exception:  # a database hiccup must not end the crisis conversation
            log.exception("could not check the urgent ticket of %s", sender)
            return True
        return any(r.urgency == Urgency.crisis for r in requests)
