"""Reading the conversation a tracker carries: the latest message as an answer, the events of a
turn, what the young person said earlier, their consent."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker

from actions.triage_parsing import Answer


def latest_answer(tracker: Tracker) -> Answer:
    """The young person's latest message (text, intent, entities)."""
    return Answer.from_latest(tracker.latest_message)


def since_user_message(tracker: Tracker, back: int = 0) -> list[dict[str, Any]]:
    """The events after the young person's latest message (`back=0`: what the bot did since),
    or between their previous message and the latest (`back=1`: the bot's previous turn),
    newest first; from the start of the conversation when there is no earlier message."""
    events: list[dict[str, Any]] = []
    seen = 0
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            seen += 1
            if seen > back:
                break
        elif seen == back:
            events.append(event)
    return events


def known_from_history(tracker: Tracker, entity: str) -> str | None:
    """The latest value of an entity the young person gave earlier in the conversation."""
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        for item in (event.get("parse_data") or {}).get("entities") or []:
            if item.get("entity") == entity and item.get("value") not in (None, ""):
                return str(item["value"])
    return None


def user_texts(tracker: Tracker) -> list[str]:
    """What the young person typed in this conversation, latest first (no button payloads)."""
    texts = [
        str(e.get("text") or "")
        for e in reversed(tracker.events)
        if e.get("event") == "user" and not str(e.get("text") or "").startswith("/")
    ]
    latest = str(tracker.latest_message.get("text") or "")
    if latest and not latest.startswith("/") and (not texts or texts[0] != latest):
        texts.insert(0, latest)
    return texts


def consented(tracker: Tracker) -> bool:
    return tracker.get_slot("consent") == "granted"
