"""Under 15: why nothing is kept, the helplines, and a counsellor's call-back.

Before 15 a young person cannot consent alone to what we keep (loi Informatique et Libertés,
art. 45: a parent's agreement too), so the bot keeps nothing of the conversation (core/people.py
refuses consent and logs nothing; core/minors.py erases the engine's tracker once the
conversation is idle). It still answers, gives the helplines, and offers a counsellor's
call-back, for which it keeps only what the call-back needs: the ticket with the band, what they
are looking for and where if they said it, how to reach them (here, or a phone number they
choose to give). No transcript, no excerpt of their words.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.conversation import latest_answer
from actions.fallback import ActionFallback
from actions.handoff import ActionAcknowledge, ActionOfferCounsellor, LinkContext
from actions.triage_facts import phone_in
from actions.triage_parsing import CONTACT_LABELS
from core.models import Urgency
from core.vocabulary import AGE_BANDS, SKIPPED, UNDER_15
from handoff.requests import TriageSummary

log = logging.getLogger(__name__)
PHONE_STEPS = ("phone", "phone_again")


class MinorCallback:
    """The call-back offered to an under-15: the minimal hand-off, and the number if wanted."""

    def __init__(self, ctx: LinkContext) -> None:
        self.ctx = ctx

    @staticmethod
    def explain(dispatcher: CollectingDispatcher) -> None:
        """Why nothing is kept, the helplines, and the offer."""
        dispatcher.utter_message(response="utter_under15_explain")
        dispatcher.utter_message(response="utter_under15_helplines")
        dispatcher.utter_message(response="utter_under15_callback_offer")

    def summary(self, tracker: Tracker, phone: str | None = None) -> TriageSummary:
        """Only what a call-back needs: the band, the need and the place if said, the contact."""

        def value(slot: str) -> str | None:
            raw = tracker.get_slot(slot)
            return None if raw in (None, SKIPPED) else str(raw)

        contact = CONTACT_LABELS["telephone"] if phone else value("contact")
        return TriageSummary(
            needs=[n for n in tracker.get_slot("needs") or [] if n != SKIPPED],
            age=AGE_BANDS[UNDER_15],
            location=value("location"),
            contact=contact or CONTACT_LABELS["chat"],
            phone=phone,
        )

    async def store(self, tracker: Tracker, phone: str | None = None) -> bool:
        if self.ctx.desk is None:
            log.error("no hand-off desk: the call-back of %s is not stored", tracker.sender_id)
            return False
        try:
            await self.ctx.desk.request(
                tracker.sender_id,
                self.summary(tracker, phone),
                source="ask_human",
                urgency=Urgency.normal,
                minor=True,
            )
        except LookupError:
            log.warning("call-back for an unknown sender not stored")
            return False
        return True

    async def request(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        phone_wanted: bool,
        phone: str | None = None,
    ) -> list[EventType]:
        """ "Oui": the ticket, then the number if they want a call, else the promise. A number
        typed anywhere (`phone`) is a call-back asked for with its number."""
        contact = CONTACT_LABELS["telephone" if phone_wanted or phone else "chat"]
        tracker.slots["contact"] = contact
        await self.store(tracker, phone)
        events: list[EventType] = [SlotSet("contact", contact), SlotSet("handoff_requested", True)]
        if phone:
            dispatcher.utter_message(
                response="utter_under15_phone_noted", delay=self.ctx.promised_delay
            )
            return [*events, SlotSet("phone", phone), SlotSet("welcome_step", None)]
        if phone_wanted:
            dispatcher.utter_message(response="utter_under15_ask_phone")
            return [*events, SlotSet("welcome_step", "phone")]
        dispatcher.utter_message(
            response="utter_under15_callback_done", delay=self.ctx.promised_delay
        )
        return [*events, SlotSet("welcome_step", None)]

    async def phone(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        """The answer to "tu me laisses ton numéro ?": kept on the ticket, or a message here."""
        answer = latest_answer(tracker)
        number = None if answer.is_payload else phone_in(answer.text)
        if number:
            await self.store(tracker, number)
            dispatcher.utter_message(
                response="utter_under15_phone_noted", delay=self.ctx.promised_delay
            )
            return [SlotSet("phone", number), SlotSet("welcome_step", None)]
        declined = answer.skips or answer.intent == "deny"
        if not declined and tracker.get_slot("welcome_step") == "phone":
            dispatcher.utter_message(response="utter_ask_phone_again")
            return [SlotSet("welcome_step", "phone_again")]
        dispatcher.utter_message(
            response="utter_under15_callback_done", delay=self.ctx.promised_delay
        )
        return [SlotSet("welcome_step", None)]


class ActionMinorCallback(Action):
    """The under-15's answer to the call-back offer (its buttons) and to the number question;
    anywhere else, the usual offer of a counsellor."""

    def __init__(self, ctx: LinkContext) -> None:
        self.callback = MinorCallback(ctx)

    def name(self) -> str:
        return "action_minor_callback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        step = tracker.get_slot("welcome_step")
        answer = latest_answer(tracker)
        if step in PHONE_STEPS:
            return await self.callback.phone(dispatcher, tracker)
        if step == "callback" and answer.intent in ("ask_human", "affirm"):
            wanted = answer.entity("contact") == "telephone"
            return await self.callback.request(dispatcher, tracker, phone_wanted=wanted)
        # not an answer to the offer: what the same message gets anywhere else
        ctx = self.callback.ctx
        if answer.intent == "ask_human":
            return await ActionOfferCounsellor(ctx).run(dispatcher, tracker, domain)
        if answer.intent in ("affirm", "deny"):
            return await ActionAcknowledge(ctx).run(dispatcher, tracker, domain)
        return await ActionFallback(ctx).run(dispatcher, tracker, domain)
