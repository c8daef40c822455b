"""Real rasa_sdk `Tracker`s for the actions' tests, and the slots an action's events set."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker

DOMAIN: dict[str, Any] = {
    "forms": {
        "triage_form": {
            "required_slots": [
                "needs",
                "age",
                "location",
                "situation",
                "followed",
                "contact",
                "phone",
                "availability",
            ]
        }
    },
    "slots": {},
}


def tracker(
    *,
    text: str = "",
    intent: str | None = None,
    entities: list[dict[str, Any]] | None = None,
    slots: dict[str, Any] | None = None,
    sender: str = "y-test",
    events: list[dict[str, Any]] | None = None,
    active_loop: str | None = "triage_form",
) -> Tracker:
    """A young person's latest message (`text`, `intent`) with the slots already set."""
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.9},
        "entities": entities or [],
    }
    return Tracker(
        sender_id=sender,
        slots={"requested_slot": None, **(slots or {})},
        latest_message=latest,
        events=events or [],
        paused=False,
        followup_action=None,
        active_loop={"name": active_loop} if active_loop else {},
        latest_action_name="action_listen",
    )


def slot_events(events: list[dict[str, Any]]) -> dict[str, Any]:
    """{slot: value} of the `slot` events an action returned."""
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
