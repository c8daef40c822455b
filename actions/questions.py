"""A question of the young person's own that the bot has no answer for ("c koi le rsa ?" out of
the FAQ): said honestly, and kept for the counsellor."""

from __future__ import annotations

import asyncio
import logging

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from handoff.link import LinkService

log = logging.getLogger(__name__)

MAX_QUESTION = 300  # characters kept of one question
MAX_QUESTIONS = 10  # the latest questions kept in the `questions` slot


async def note_question(
    text: str, dispatcher: CollectingDispatcher, tracker: Tracker, link: LinkService | None
) -> list[EventType]:
    """Says it is noted, keeps it in the `questions` slot (the hand-off summary carries it)
    and, given `link`, on the young person's open ticket."""
    dispatcher.utter_message(response="utter_question_noted")
    questions = list(tracker.get_slot("questions") or [])
    if text not in questions:
        questions.append(text[:MAX_QUESTION])
    if link is not None:
        try:
            await asyncio.to_thread(link.add_to_open_request, tracker.sender_id, question=text)
        except Exception:
            log.exception("could not note the question on the open ticket")
    return [SlotSet("questions", questions[-MAX_QUESTIONS:])]
