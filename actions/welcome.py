"""Welcome and consent: the first custom actions of a conversation."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from core.people import PeopleService
from nudges.rules import FollowUpRules

log = logging.getLogger(__name__)

# A plain "oui"/"non" typed right after the consent question counts too (rules route
# affirm/deny there only after action_welcome); anything else asks the question again.
CONSENT_INTENTS = {"consent_accept": True, "affirm": True, "consent_refuse": False, "deny": False}


class ActionWelcome(Action):
    """Greets, says it is a bot run by the structure, explains what is kept, asks consent."""

    def __init__(
        self,
        structure: str,
        privacy_url: str,
        retention_days: int,
        policies: FollowUpRules | None = None,
    ) -> None:
        self.structure = structure
        self.privacy_url = privacy_url
        self.retention_days = retention_days
        self.policies = policies  # /start after /stop allows nudges again

    def name(self) -> str:
        return "action_welcome"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if self.policies is not None:
            try:
                await asyncio.to_thread(self.policies.opt_in, tracker.sender_id)
            except Exception:
                log.exception("could not allow nudges again for %s", tracker.sender_id)
        values = {
            "structure": self.structure,
            "privacy_url": self.privacy_url,
            "retention_days": self.retention_days,
        }
        dispatcher.utter_message(response="utter_welcome", **values)
        dispatcher.utter_message(response="utter_privacy_summary", **values)
        dispatcher.utter_message(response="utter_ask_consent")
        return []


class ActionRecordConsent(Action):
    """Records the consent answer in the app database and sets the `consent` slot."""

    def __init__(self, people: PeopleService) -> None:
        self.people = people

    def name(self) -> str:
        return "action_record_consent"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        granted = CONSENT_INTENTS.get(str(intent))
        if granted is None:
            dispatcher.utter_message(response="utter_ask_consent")
            return []
        try:
            await asyncio.to_thread(self.people.record_consent, tracker.sender_id, granted)
        except LookupError:
            # A conversation the app did not start (e.g. `rasa shell`): nothing to record.
            log.warning("consent for unknown sender %s not recorded", tracker.sender_id)
        if granted:
            dispatcher.utter_message(response="utter_consent_granted")
            dispatcher.utter_message(response="utter_opening")
        else:
            dispatcher.utter_message(response="utter_consent_refused")
        return [SlotSet("consent", "granted" if granted else "refused")]
