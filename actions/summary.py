"""What a hand-off request carries from the conversation: the triage answers and the young
person's own words (the hand-off service keeps the words only with consent)."""

from __future__ import annotations

from rasa_sdk import Tracker

from core.vocabulary import SKIPPED
from handoff.requests import TriageSummary

MAX_WORDS = 500


def summary_from(tracker: Tracker, excerpt: str | None = None) -> TriageSummary:
    needs = tracker.get_slot("needs") or []

    def value(slot: str) -> str | None:
        raw = tracker.get_slot(slot)
        return None if raw in (None, SKIPPED) else str(raw)

    return TriageSummary(
        needs=[n for n in needs if n != SKIPPED],
        age=value("age"),
        location=value("location"),
        situation=value("situation"),
        followed=value("followed"),
        contact=value("contact"),
        availability=value("availability"),
        phone=value("phone"),
        questions=[str(q) for q in tracker.get_slot("questions") or []],
        writer=value("writer"),
        excerpt=excerpt,
    )


def words_of(tracker: Tracker) -> str | None:
    """The young person's own words, in order, from the start (what they came with)."""
    texts = [
        str(e.get("text"))
        for e in tracker.events
        if e.get("event") == "user" and e.get("text") and not str(e.get("text")).startswith("/")
    ]
    words = " / ".join(texts)
    return (words if len(words) <= MAX_WORDS else words[: MAX_WORDS - 1] + "…") or None
