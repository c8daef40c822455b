"""Offering a counsellor and handing off, knowing the state of the link.

With a ticket open, the young person gets news of it, not a second offer; coming back after
a ticket was closed, they are welcomed back with the choice of the counsellor who knew them;
a parent is answered as a parent. "Oui" to any offer produces the hand-off.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import reading
from actions.conversation import latest_answer, since_user_message
from actions.crisis import ActionCrisis
from actions.crisis_context import CrisisContext, default_hours
from actions.crisis_support import clock_fr, crisis_kind
from actions.summary import summary_from, words_of
from actions.triage_parsing import CONTACT_LABELS
from core.calendar import OpeningHours
from core.clock import Clock, SystemClock
from core.models import Urgency
from core.text import DAYS_FR, MONTHS_FR
from core.vocabulary import MINOR_BANDS, age_is_minor
from handoff.desk import HandoffDesk
from handoff.link import LinkService, LinkState, TicketNews
from handoff.requests import HandoffService

log = logging.getLogger(__name__)
# (dispatcher, tracker, phone_wanted, phone) -> the events of the under-15 call-back
MinorCallbackHook = Callable[
    [CollectingDispatcher, Tracker, bool, str | None], Awaitable[list[EventType]]
]


def since_fr(moment: datetime, now: datetime, tz: ZoneInfo) -> str:
    """When something happened, as a youth worker says it: "ce matin", "hier", "lundi"."""
    local, today = moment.astimezone(tz), now.astimezone(tz)
    if now - moment < timedelta(hours=1):
        return "il y a moins d'une heure"
    if local.date() == today.date():
        if local.hour < 12:
            return "ce matin"
        return "cet après-midi" if local.hour < 18 else "ce soir"
    if local.date() == today.date() - timedelta(days=1):
        return "hier"
    if today.date() - local.date() < timedelta(days=7):
        return DAYS_FR[local.weekday()]
    return f"le {local.day} {MONTHS_FR[local.month - 1]}"


@dataclass
class LinkContext:
    """What the hand-off actions share."""

    handoff: HandoffService
    link: LinkService | None
    promised_delay: str
    desk: HandoffDesk | None = None
    crisis: CrisisContext | None = None
    hours: OpeningHours = field(default_factory=default_hours)
    clock: Clock = field(default_factory=SystemClock)
    # Under 15, the call-back offered at the welcome (actions/minors.py, set by the registry):
    # its buttons pressed after another message still ask for it, not for the usual offer.
    minor_callback: MinorCallbackHook | None = None

    async def state(self, sender: str) -> LinkState:
        if self.link is None:
            return LinkState()
        try:
            return await asyncio.to_thread(self.link.state, sender)
        except Exception:
            log.exception("could not read the link state")
            return LinkState()

    def team_presence(self) -> str:
        now = self.clock.now()
        opening, _ = self.hours.presence(now)
        if opening <= now:
            return "L'équipe est là en ce moment."
        back = opening.astimezone(self.hours.tz)
        local_now = now.astimezone(self.hours.tz)
        if back.date() == local_now.date():
            day = "aujourd'hui"
        elif back.date() == local_now.date() + timedelta(days=1):
            day = "demain"
        else:
            day = DAYS_FR[back.weekday()]
        return f"L'équipe revient {day} à {clock_fr(back.time())}."

    def news(self, dispatcher: CollectingDispatcher, news: TicketNews) -> None:
        now, tz = self.clock.now(), self.hours.tz
        if news.counsellor and news.last_counsellor_at:
            dispatcher.utter_message(
                response="utter_news_answered",
                counsellor=news.counsellor,
                since=since_fr(news.last_counsellor_at, now, tz),
            )
        elif news.counsellor:
            dispatcher.utter_message(
                response="utter_news_claimed",
                counsellor=news.counsellor,
                since=since_fr(news.claimed_at or news.created_at, now, tz),
            )
        else:
            dispatcher.utter_message(
                response="utter_news_waiting",
                since=since_fr(news.created_at, now, tz),
                presence=self.team_presence(),
            )

    async def hand_off(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        counsellor_id: int | None = None,
        counsellor: str | None = None,
    ) -> list[EventType]:
        """Stores the hand-off request with the triage summary and says what comes next."""
        source = "triage" if tracker.get_slot("needs") else "ask_human"
        if self.desk is None:
            log.error("no hand-off desk: the request of %s is not stored", tracker.sender_id)
        else:
            try:
                await self.desk.request(
                    tracker.sender_id,
                    summary_from(tracker, words_of(tracker)),
                    source=source,
                    urgency=Urgency.normal,
                    counsellor_id=counsellor_id,
                    minor=_minor(tracker),
                )
            except LookupError:
                log.warning("hand-off for an unknown sender not stored")
        if tracker.get_slot("writer") == "parent":
            dispatcher.utter_message(
                response="utter_parent_handoff_done", delay=self.promised_delay
            )
        elif counsellor:
            dispatcher.utter_message(response="utter_handoff_returning", counsellor=counsellor)
        else:
            dispatcher.utter_message(response="utter_handoff_done", delay=self.promised_delay)
            phone_asked = tracker.get_slot("contact") == CONTACT_LABELS["telephone"]
            if phone_asked and not tracker.get_slot("phone"):
                dispatcher.utter_message(response="utter_ask_phone")
        return [SlotSet("handoff_requested", True), SlotSet("returning_counsellor", None)]


def _minor(tracker: Tracker) -> bool:
    """The young person said an age (or an age band) under 18: the ticket says "mineur·e"."""
    return age_is_minor(tracker.get_slot("age")) or tracker.get_slot("age_band") in MINOR_BANDS


class ActionOfferCounsellor(Action):
    """ "Je veux parler à quelqu'un": news of the open ticket, the counsellor who knew them, the
    parent's own offer, or the usual offer."""

    def __init__(self, ctx: LinkContext) -> None:
        self.ctx = ctx

    def name(self) -> str:
        return "action_offer_counsellor"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        state = await self.ctx.state(tracker.sender_id)
        if state.open is not None:
            self.ctx.news(dispatcher, state.open)
            return []
        events: list[EventType] = []
        answer = latest_answer(tracker)
        callback = self.ctx.minor_callback
        if callback is not None and tracker.get_slot("welcome_step") == "callback":
            # under 15, the call-back offered at the welcome (its buttons, or "conseiller")
            return await callback(
                dispatcher, tracker, answer.entity("contact") == "telephone", None
            )
        if answer.entity("contact") == "telephone":  # "Qu'on m'appelle"
            events.append(SlotSet("contact", CONTACT_LABELS["telephone"]))
        returning = answer.entity("returning")
        past = state.last_closed
        if returning is None and _offered_just_before(tracker):
            # "oui passe moi quelqu'un" to the offer itself: that is a yes
            return [*events, *(await self.ctx.hand_off(dispatcher, tracker))]
        if returning == "same" and past is not None and past.counsellor_id is not None:
            return await self.ctx.hand_off(dispatcher, tracker, past.counsellor_id, past.counsellor)
        if returning == "other":
            return await self.ctx.hand_off(dispatcher, tracker)
        if tracker.get_slot("writer") == "parent":
            dispatcher.utter_message(response="utter_parent_offer")
            return events
        if past is not None and past.counsellor is not None:
            dispatcher.utter_message(
                response="utter_offer_returning",
                counsellor=past.counsellor,
                buttons=returning_buttons(past.counsellor),
            )
            return [*events, SlotSet("returning_counsellor", past.counsellor_id)]
        dispatcher.utter_message(response="utter_offer_counsellor")
        return events


def returning_buttons(counsellor: str) -> list[dict[str, str]]:
    return [
        {"title": f"Oui, avec {counsellor}", "payload": '/ask_human{"returning": "same"}'},
        {"title": "Quelqu'un d'autre", "payload": '/ask_human{"returning": "other"}'},
        {"title": "Autre chose", "payload": '/inform{"resume_triage": "oui"}'},
    ]


def _offered_just_before(tracker: Tracker) -> bool:
    """The bot's last action before this message was the offer of a counsellor."""
    for event in since_user_message(tracker, back=1):
        if event.get("event") == "action" and event.get("name") != "action_listen":
            return event.get("name") == "action_offer_counsellor"
    return False


class ActionRequestHandoff(Action):
    """Stores the hand-off request with the triage summary ("oui" to an offer).

    A crisis never waits for "2 jours ouvrés": should a crisis intent reach this action, the
    crisis path answers it (actions/crisis.py: the helplines and an urgent ticket). With a
    ticket already open, the young person gets its news (nothing is asked twice)."""

    def __init__(self, ctx: LinkContext) -> None:
        self.ctx = ctx

    def name(self) -> str:
        return "action_request_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if crisis_kind(latest_answer(tracker).intent):
            crisis = self.ctx.crisis or CrisisContext(self.ctx.handoff, self.ctx.desk)
            return await ActionCrisis(crisis).run(dispatcher, tracker, domain)
        state = await self.ctx.state(tracker.sender_id)
        if state.open is not None and tracker.get_slot("handoff_requested"):
            self.ctx.news(dispatcher, state.open)
            return []
        returning = tracker.get_slot("returning_counsellor")
        past = state.last_closed
        if returning is not None and past is not None and past.counsellor_id == returning:
            return await self.ctx.hand_off(dispatcher, tracker, past.counsellor_id, past.counsellor)
        return await self.ctx.hand_off(dispatcher, tracker)


class ActionAcknowledge(Action):
    """ "oui" / "ok" / "non" out of any question: a yes that names a human is the hand-off
    ("oui passe moi quelqu'un"); at the start of a conversation, an easy choice (never a bare
    "D'accord." that leads nowhere); otherwise a short acknowledgement."""

    def __init__(self, ctx: LinkContext) -> None:
        self.ctx = ctx

    def name(self) -> str:
        return "action_acknowledge"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        answer = latest_answer(tracker)
        intent = answer.intent
        if intent == "affirm" and not answer.is_payload and reading.asks_for_someone(answer.text):
            if tracker.get_slot("handoff_requested"):
                return await ActionOfferCounsellor(self.ctx).run(dispatcher, tracker, domain)
            return await self.ctx.hand_off(dispatcher, tracker)
        if not tracker.get_slot("handoff_requested") and not tracker.get_slot("needs"):
            dispatcher.utter_message(response="utter_easy_choice")
            return []
        dispatcher.utter_message(response="utter_affirm" if intent == "affirm" else "utter_deny")
        return []
