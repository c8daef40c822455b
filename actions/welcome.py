"""Welcome, age and consent: the first custom actions of a conversation.

/start says who we are, then asks the age (a row of bands, a typed age, or "Passer") before
anything is kept: the answer decides what may be kept. From 15 the young person consents for
themself (loi Informatique et Libertés, art. 45) and the privacy summary and the consent
question follow; under 15 nothing is kept without a parent's agreement, which the bot says
simply, with the helplines and the offer of a counsellor's call-back (actions/minors.py).
A typed age outside 12-30 is asked again once, never stored.

Where the welcome is at lives in the `welcome_step` slot: "age", "age_again", "consent",
"callback" (under 15, the call-back offered), then None.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.conversation import latest_answer
from actions.minors import MinorCallback
from actions.triage_parsing import MISSING, AgeBand, parse_age_band, says_younger
from core.people import PeopleService
from core.vocabulary import SKIPPED, UNDER_15
from nudges.rules import FollowUpRules

log = logging.getLogger(__name__)

# A plain "oui"/"non" typed right after the consent question counts too (rules route
# affirm/deny there only after action_record_age); anything else asks the question again.
CONSENT_INTENTS = {"consent_accept": True, "affirm": True, "consent_refuse": False, "deny": False}
AGE_STEPS = ("age", "age_again")


class ActionWelcome(Action):
    """Greets, says it is a bot run by the structure, and asks the age before consent."""

    def __init__(self, structure: str, policies: FollowUpRules | None = None) -> None:
        self.structure = structure
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
        dispatcher.utter_message(response="utter_welcome", structure=self.structure)
        dispatcher.utter_message(response="utter_ask_age_band")
        return [SlotSet("welcome_step", "age")]


class ActionRecordAge(Action):
    """Reads the age answer, keeps its band on the person, then asks consent (15 and more, or
    not said) or, under 15, explains why nothing is kept and offers a call-back."""

    def __init__(
        self, people: PeopleService, structure: str, privacy_url: str, retention_days: int
    ) -> None:
        self.people = people
        self.privacy = {
            "structure": structure,
            "privacy_url": privacy_url,
            "retention_days": retention_days,
        }

    def name(self) -> str:
        return "action_record_age"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        step = tracker.get_slot("welcome_step")
        answer = latest_answer(tracker)
        value = parse_age_band(answer)
        if step not in AGE_STEPS and not isinstance(value, AgeBand):
            return self._after_question(step, dispatcher)
        if value is None or value == MISSING:
            if step != "age_again":
                # not an age, or one out of 12-30: asked again once, nothing stored
                dispatcher.utter_message(response="utter_ask_age_band_again")
                return [SlotSet("welcome_step", "age_again")]
            # the second time: under 12 is under 15 all the same (the age is not kept)
            value = AgeBand(UNDER_15) if says_younger(answer) else SKIPPED
        band = value.band if isinstance(value, AgeBand) else None
        try:
            await asyncio.to_thread(self.people.record_age_band, tracker.sender_id, band)
        except LookupError:
            log.warning("age band for unknown sender %s not recorded", tracker.sender_id)
        events: list[EventType] = [SlotSet("age_band", band)]
        if isinstance(value, AgeBand):
            # the triage does not ask again; "Passer" here leaves the triage's own question
            # (asked with its reason, skippable too)
            events.append(SlotSet("age", value.label))
        if band == UNDER_15:
            MinorCallback.explain(dispatcher)
            return [*events, SlotSet("consent", None), SlotSet("welcome_step", "callback")]
        dispatcher.utter_message(response="utter_privacy_summary", **self.privacy)
        dispatcher.utter_message(response="utter_ask_consent")
        return [*events, SlotSet("welcome_step", "consent")]

    @staticmethod
    def _after_question(step: str | None, dispatcher: CollectingDispatcher) -> list[EventType]:
        """ "jsp" to the consent question or to the call-back offer: nothing is kept."""
        if step == "callback":
            dispatcher.utter_message(response="utter_under15_no_callback")
        else:
            dispatcher.utter_message(response="utter_consent_later")
        return [SlotSet("welcome_step", None)]


class ActionRecordConsent(Action):
    """Records the consent answer in the app database and sets the `consent` slot.

    Under 15 there is no consent to give: a "oui" typed to the call-back offer is a yes to the
    call-back, a consent button pressed anyway records nothing."""

    def __init__(self, people: PeopleService, callback: MinorCallback | None = None) -> None:
        self.people = people
        self.callback = callback

    def name(self) -> str:
        return "action_record_consent"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        granted = CONSENT_INTENTS.get(str(intent))
        if tracker.get_slot("age_band") == UNDER_15:
            return await self._under_15(granted, dispatcher, tracker)
        if granted is None:
            dispatcher.utter_message(response="utter_ask_consent")
            return []
        try:
            ref = await asyncio.to_thread(self.people.record_consent, tracker.sender_id, granted)
            if ref.under_15:  # said under 15 earlier (the slot was lost): nothing is kept
                return await self._under_15(granted, dispatcher, tracker)
        except LookupError:
            # A conversation the app did not start (e.g. `rasa shell`): nothing to record.
            log.warning("consent for unknown sender %s not recorded", tracker.sender_id)
        events: list[EventType] = [
            SlotSet("consent", "granted" if granted else "refused"),
            SlotSet("welcome_step", None),
        ]
        if granted:
            dispatcher.utter_message(response="utter_consent_granted")
            dispatcher.utter_message(response="utter_opening")
        else:
            dispatcher.utter_message(response="utter_consent_refused")
        return events

    async def _under_15(
        self, granted: bool | None, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> list[EventType]:
        if tracker.get_slot("welcome_step") == "callback" and granted is not None:
            # "oui" / "ok vas y" / "non merci" answer the call-back offer
            if granted and self.callback is not None:
                return await self.callback.request(dispatcher, tracker, phone_wanted=False)
            dispatcher.utter_message(response="utter_under15_no_callback")
            return [SlotSet("welcome_step", None)]
        refused = granted is False
        dispatcher.utter_message(
            response="utter_consent_refused" if refused else "utter_under15_no_consent"
        )
        return [SlotSet("consent", None), SlotSet("welcome_step", None)]
