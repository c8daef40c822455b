"""Factories for the appointment tests: a young person with a ticket held by a counsellor,
drafts at local Paris times."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.engine_client import EngineAnswer
from core.clock import FixedClock
from core.models import AppointmentKind
from core.turns import TurnInfo
from handoff.accounts import CounsellorRef
from handoff.appointments import AppointmentDraft
from tests.support.world import World

OPT_OUT_TEXT = "C'est noté : plus aucune relance de ma part."

PARIS = ZoneInfo("Europe/Paris")


def paris(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PARIS)


def move_to(clock: FixedClock, moment: datetime) -> None:
    """Set the test clock to `moment` (forward only, as time goes)."""
    seconds = (moment - clock.now()).total_seconds()
    assert seconds >= 0, "the clock only moves forward"
    clock.advance(seconds=seconds)


def phone(starts_at: datetime, **fields: object) -> AppointmentDraft:
    """A phone call from the structure's number."""
    values: dict[str, object] = {"call_from": "03.21.00.00.00", **fields}
    return AppointmentDraft(AppointmentKind.phone, starts_at, **values)  # type: ignore[arg-type]


def visit(starts_at: datetime, site: str = "lens", **fields: object) -> AppointmentDraft:
    """In person at one of the structure's sites (maraude.yml)."""
    return AppointmentDraft(AppointmentKind.in_person, starts_at, site_id=site, **fields)  # type: ignore[arg-type]


@dataclass
class Held:
    """A young person whose ticket a counsellor holds."""

    counsellor: CounsellorRef
    person_id: int
    pseudo: str
    ticket_id: int


async def held_ticket(world: World, name: str = "Sam", *, consent: bool = True) -> Held:
    counsellor = world.counsellor(name)
    person_id, pseudo = world.person(consent=consent)
    ticket_id = await world.ticket(pseudo)
    await world.desk.claim(ticket_id, counsellor, "web")
    return Held(counsellor, person_id, pseudo, ticket_id)


class StandInEngine:
    """An engine stand-in: answers "réponse à <message>", and runs the real action_opt_out
    (rasa_sdk Tracker and CollectingDispatcher, the app's follow-up rules) on /stop. Records
    what reached it, and the event loop it was called in (the app's)."""

    swapping = False

    def __init__(self, rules: Any) -> None:
        self.rules = rules
        self.received: list[str] = []
        self.loop: asyncio.AbstractEventLoop | None = None

    async def exchange(
        self, sender: str, message: str, metadata: dict[str, Any] | None = None
    ) -> EngineAnswer:
        from actions.nudges import ActionOptOut

        self.loop = asyncio.get_running_loop()
        self.received.append(message)
        if message == "/opt_out":
            tracker = Tracker(sender, {}, {"text": message}, [], False, None, None, "")
            dispatcher = CollectingDispatcher()
            await ActionOptOut(self.rules).run(dispatcher, tracker, {})
            assert [m["response"] for m in dispatcher.messages] == ["utter_opt_out"]
            turn = TurnInfo(message, message, "opt_out", 1.0, actions=["action_opt_out"])
            return EngineAnswer([{"text": OPT_OUT_TEXT}], turn)
        return EngineAnswer([{"text": f"réponse à {message}"}], None)

    async def last_turn(self, sender_id: str, *, with_actions: bool = True) -> TurnInfo | None:
        return None

    async def is_ready(self) -> bool:
        return True

    async def aclose(self) -> None:
        return None
