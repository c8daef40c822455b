"""Hello again (`action_greet`): the news of an open ticket, the counsellor who knew them, the
offer to pick up a triage left half-way, or a plain hello.

Coming back, unlike the first contact (actions/welcome.py: welcome and consent): it reads the
state of the young person's tickets (actions/handoff.py) and their triage so far."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.handoff import LinkContext, returning_buttons
from actions.triage_slots import TRIAGE_SLOTS


class ActionGreet(Action):
    """Hello; for someone who left a triage half-way, the offer to pick it up again; for
    someone whose ticket was closed, a welcome back with the counsellor who knew them."""

    def __init__(
        self, questions: Sequence[str] = TRIAGE_SLOTS, link: LinkContext | None = None
    ) -> None:
        self.questions = tuple(questions)  # maraude.yml `triage.questions`
        self.link = link

    def name(self) -> str:
        return "action_greet"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if self.link is not None and tracker.get_slot("handoff_requested"):
            state = await self.link.state(tracker.sender_id)
            if state.open is not None:
                dispatcher.utter_message(response="utter_greet_again")
                self.link.news(dispatcher, state.open)
                return []
            past = state.last_closed
            if past is not None and past.counsellor is not None:
                dispatcher.utter_message(
                    response="utter_welcome_back_link",
                    counsellor=past.counsellor,
                    buttons=returning_buttons(past.counsellor),
                )
                return [SlotSet("returning_counsellor", past.counsellor_id)]
        # the age may come from the welcome (asked before consent): alone, no triage begun
        asked = [s for s in self.questions if s != "age"]
        filled = [s for s in asked if tracker.get_slot(s) is not None]
        unfinished = filled and len(filled) < len(asked)
        if unfinished and not tracker.get_slot("handoff_requested"):
            dispatcher.utter_message(response="utter_welcome_back")
        else:
            dispatcher.utter_message(response="utter_greet")
        return []
