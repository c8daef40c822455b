"""Erasure on request: the action confirms, the app erases once the turn is saved."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from core.vocabulary import ERASE_SIGNAL


class ActionEraseData(Action):
    def name(self) -> str:
        return "action_erase_data"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        dispatcher.utter_message(response="utter_data_erased")
        dispatcher.utter_message(json_message=ERASE_SIGNAL)
        return []
