"""The engine's Maraude REST channel (engine/channel.py): the last turn taken from the tracker
the engine saves, on a real tracker store and real Rasa events (unittest, in the engine env)."""

from __future__ import annotations

import asyncio
import unittest

from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from engine.channel import _CAPTURE, capture_saves, turn_events


def _user(text: str, intent: str) -> UserUttered:
    return UserUttered(text, {"name": intent, "confidence": 0.9})


def _tracker(turns: int) -> DialogueStateTracker:
    events = [ActionExecuted("action_session_start"), SessionStarted()]
    for n in range(turns):
        events += [
            ActionExecuted("action_listen"),
            _user(f"message {n}", "greet" if n % 2 else "ask_help"),
            ActionExecuted("utter_greet"),
            BotUttered(f"answer {n}"),
            ActionExecuted("action_listen"),
        ]
    return DialogueStateTracker.from_events("someone", events)


class TurnEventsTest(unittest.TestCase):
    def test_the_turn_is_the_last_user_event_and_what_followed(self) -> None:
        events = [e.as_dict() for e in _tracker(3).events]
        turn = turn_events(events)
        assert turn is not None
        self.assertEqual(turn["events"][0]["text"], "message 2")
        self.assertEqual(turn["latest_message"]["intent"]["name"], "ask_help")
        self.assertEqual(
            [e.get("name") for e in turn["events"] if e["event"] == "action"],
            ["utter_greet", "action_listen"],
        )

    def test_no_user_event_no_turn(self) -> None:
        self.assertIsNone(turn_events([ActionExecuted("action_session_start").as_dict()]))


class CaptureTest(unittest.TestCase):
    def _save(self, store: InMemoryTrackerStore, tracker: DialogueStateTracker, sender: str):
        async def run() -> dict:
            holder = {"sender": sender}
            token = _CAPTURE.set(holder)
            try:
                await store.save(tracker)
            finally:
                _CAPTURE.reset(token)
            return holder

        return asyncio.run(run())

    def test_the_saved_turn_is_handed_to_the_waiting_request_whatever_the_length(self) -> None:
        store = InMemoryTrackerStore(Domain.empty())
        capture_saves(store)
        capture_saves(store)  # once per store, however many requests
        for turns in (1, 50):
            holder = self._save(store, _tracker(turns), "someone")
            # The turn only: 4 events (user, action, bot, listen), not the whole conversation.
            self.assertEqual(len(holder["events"]), 4)
            self.assertEqual(holder["events"][0]["text"], f"message {turns - 1}")

    def test_another_conversation_saved_meanwhile_is_not_taken(self) -> None:
        store = InMemoryTrackerStore(Domain.empty())
        capture_saves(store)
        holder = self._save(store, _tracker(2), "someone else")
        self.assertNotIn("events", holder)
        # The store still saved it.
        saved = asyncio.run(store.retrieve("someone"))
        self.assertIsNotNone(saved)


if __name__ == "__main__":
    unittest.main()
