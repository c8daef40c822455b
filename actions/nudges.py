"""Actions around the follow-up nudges: /stop (no more nudges) and the outcome check-in."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.conversation import since_user_message
from actions.reading import stops_questions
from nudges.rules import CHECKIN_ANSWERS, FollowUpRules

log = logging.getLogger(__name__)


class ActionOptOut(Action):
    """/stop: every pending nudge is cancelled at once and none comes again, then it is
    confirmed. Writing /start again allows them again (action_welcome).

    "stop" typed during the triage ("stop avec tes questions") stops the questions only: the
    follow-ups stay, and the bot says which it did and how to stop those too."""

    def __init__(self, policies: FollowUpRules | None = None) -> None:
        self.policies = policies

    def name(self) -> str:
        return "action_opt_out"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        text = str(tracker.latest_message.get("text") or "")
        typed = not text.startswith("/")
        if typed and (_triage_just_stopped(tracker) or stops_questions(text)):
            dispatcher.utter_message(response="utter_stop_questions")
            return []
        if self.policies is not None:
            await asyncio.to_thread(self.policies.opt_out, tracker.sender_id)
        dispatcher.utter_message(response="utter_opt_out")
        return []


def _triage_just_stopped(tracker: Tracker) -> bool:
    """The triage form was active when this message came (the rule deactivated it)."""
    return any(
        event.get("event") == "action" and event.get("name") == "action_deactivate_loop"
        for event in since_user_message(tracker)
    )


class ActionCheckinAnswer(Action):
    """The answer to "alors, ça a donné quoi ?" is recorded on the ticket; "j'aimerais en
    reparler" is followed by action_request_handoff (nlu_data/rules/nudges.yml)."""

    def __init__(self, policies: FollowUpRules | None = None) -> None:
        self.policies = policies

    def name(self) -> str:
        return "action_checkin_answer"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        intent = str((tracker.latest_message.get("intent") or {}).get("name"))
        answer = CHECKIN_ANSWERS.get(intent, "autre")
        if self.policies is not None:
            ticket = await self.policies.record_checkin(tracker.sender_id, answer)
            if ticket is None:
                log.info("check-in answer of %s without a resolved ticket", tracker.sender_id)
        if answer == "reparler":
            return []  # the rule runs action_request_handoff next (it says what happens)
        dispatcher.utter_message(
            response="utter_checkin_ok" if answer == "ok" else "utter_checkin_not_ok"
        )
        return []
