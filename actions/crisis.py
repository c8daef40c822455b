"""The crisis conversation (domain/crisis.yml, nlu_data/rules/crisis.yml).

- `action_crisis` (high risk): the helplines of the crisis kind (the minor's version under 18),
  an urgent ticket carrying the message that raised it, and when the team is there. A kind
  already answered gets a follow-up instead of the same block again.
- `action_safety_check` (medium risk): asks "Est-ce que tu es en sécurité, là, maintenant ?",
  at most once per day (in the team's time zone); asked already today, the conversation goes on
  with what the message meant, and the message is flagged for the counsellors.
- `action_safety_answer` ("Oui"): the message is flagged, and the conversation goes on with what
  it meant: the two turns are reverted and the message is replayed with its non-crisis intent
  (as Rasa's own two-stage fallback does), so a paused triage takes it as its answer.
- `action_crisis_followup`: what the young person writes after the helplines gets a short answer
  that differs from the first (talking to someone now, a line that does not answer, a phone
  someone reads, a minor...), while their urgent ticket is open. Once it is closed (or marked a
  false alarm) the message is replayed to the ordinary rules.

What they share (the urgent ticket, the flags, the team's hours) is in
actions/crisis_context.py; what they decide from the words, in actions/crisis_support.py.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import (
    ActionExecuted,
    EventType,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
)
from rasa_sdk.executor import CollectingDispatcher

from actions.conversation import since_user_message
from actions.crisis_context import CrisisContext
from actions.crisis_support import (
    crisis_kind,
    default_reply,
    followup_topic,
    is_minor,
)
from handoff.requests import CrisisSignal

MAX_TRIGGER = 500
FALLBACK = "nlu_fallback"
LISTEN = "action_listen"
SAFETY_ANSWERS = {"deny": "non", "dont_know": "jsp"}
NUMBERS_OFFER = "utter_crisis_followup_2"  # "Tu veux que je te redonne les numéros ?"


def _intent(latest: dict[str, Any]) -> tuple[str | None, float]:
    intent = latest.get("intent") or {}
    return intent.get("name"), float(intent.get("confidence") or 0.0)


def _original(latest: dict[str, Any]) -> str:
    """What the young person typed (the engine's `text` is the normalised one)."""
    return str(latest.get("text_original") or latest.get("text") or "")


def _normalised(latest: dict[str, Any]) -> str:
    return str(latest.get("text_normalised") or latest.get("text") or "")


def _typed(text: str) -> str | None:
    """The message as a trigger to keep: None for a button payload."""
    return None if not text or text.startswith("/") else text[:MAX_TRIGGER]


def _replay(text: str, parse: dict[str, Any], reverts: int, after: list[EventType]) -> list:
    """Revert the last `reverts` user turns, then replay `text` with `parse` as a new turn (the
    policies predict again from it). `after` is applied after the reverts."""
    return [
        *(UserUtteranceReverted() for _ in range(reverts)),
        *after,
        ActionExecuted(LISTEN),
        UserUttered(text, parse),
    ]


def _paused_form(tracker: Tracker) -> str | None:
    """The form the rules paused for this message (action_deactivate_loop after it), if any."""
    paused = any(
        event.get("event") == "active_loop" and event.get("name") is None
        for event in since_user_message(tracker)
    )
    if not paused:
        return None
    seen_pause = False
    for event in reversed(tracker.events):
        if event.get("event") != "active_loop":
            continue
        if not seen_pause:
            seen_pause = True  # the pause itself
            continue
        return str(event.get("name")) if event.get("name") else None
    return None


def _resume_parse(latest: dict[str, Any], resume: dict[str, Any]) -> dict[str, Any]:
    """The parse data of a worrying message with the intent it goes on with."""
    name = resume.get("name") or FALLBACK
    confidence = float(resume.get("confidence") or 0.0)
    parse: dict[str, Any] = {
        key: latest[key]
        for key in ("text", "text_original", "text_normalised", "entities")
        if key in latest
    }
    parse["intent"] = {"name": name, "confidence": confidence}
    parse["intent_ranking"] = [{"name": name, "confidence": confidence}]
    return parse


class ActionCrisis(Action):
    """High risk: the helplines, an urgent ticket, when the team is there."""

    def __init__(self, context: CrisisContext) -> None:
        self.context = context

    def name(self) -> str:
        return "action_crisis"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        latest = tracker.latest_message
        intent, confidence = _intent(latest)
        pending = tracker.get_slot("safety_pending") or {}
        risk = latest.get("crisis_risk") or {}
        kind = crisis_kind(intent)
        if kind is not None:
            signal = CrisisSignal(
                text=_typed(_original(latest)),
                tier="high",
                reason=str(risk.get("reason") or "intent"),
                kind=kind,
                detail=risk.get("detail") or f"{intent} {confidence:.2f}",
                intent=intent,
                confidence=confidence,
            )
        else:
            # The answer to the safety question: Non, Je sais pas, or another worrying message.
            source = pending or risk
            kind = crisis_kind(source.get("kind")) or "suicide"
            signal = CrisisSignal(
                text=pending.get("text") or _typed(_original(latest)),
                tier="high",
                reason="safety_answer",
                kind=kind,
                detail=source.get("detail"),
                intent=source.get("intent"),
                confidence=source.get("confidence"),
                answer=SAFETY_ANSWERS.get(str(intent)),
            )
        minor = bool(pending.get("minor")) or is_minor(
            _original(latest), tracker.get_slot("age"), latest.get("entities")
        )
        # A new urgent ticket (or a normal one made urgent) is a new crisis: every block again.
        fresh = await self.context.urgent(tracker, kind, signal, minor)
        given = [] if fresh else list(tracker.get_slot("crisis_kinds") or [])
        events: list[EventType] = []
        if kind in given:
            # The same crisis again ("le 115 répond pas"): an answer to it, not the same block.
            events += followup(dispatcher, tracker, self.context, kind)
        else:
            block = f"utter_crisis_{kind}_minor" if minor and kind != "suicide" else None
            dispatcher.utter_message(response=block or f"utter_crisis_{kind}")
            given.append(kind)
        if fresh or not tracker.get_slot("crisis_mode"):
            dispatcher.utter_message(
                response="utter_handoff_urgent", presence=self.context.presence()
            )
        return [
            *events,
            SlotSet("crisis_mode", True),
            SlotSet("crisis_kinds", given),
            SlotSet("safety_pending", None),
            SlotSet("handoff_requested", True),
        ]


def followup(
    dispatcher: CollectingDispatcher, tracker: Tracker, context: CrisisContext, kind: str
) -> list[EventType]:
    """A short answer to a message written during a crisis, never the last one again."""
    latest = tracker.latest_message
    intent, _ = _intent(latest)
    last = tracker.get_slot("crisis_offer")
    turns = int(tracker.get_slot("crisis_turns") or 0)
    topic = followup_topic(
        _normalised(latest), intent, "numbers" if last == NUMBERS_OFFER else None
    )
    responses = {
        "minor": "utter_crisis_minor",
        "discreet": "utter_crisis_discreet",
        "busy": f"utter_crisis_busy_{kind}",
        "talk": f"utter_crisis_talk_now_{kind}",
        "calling": "utter_crisis_calling",
        "numbers": f"utter_crisis_numbers_{kind}",
        "numbers_yes": f"utter_crisis_numbers_{kind}",
        "numbers_no": "utter_crisis_no_numbers",
        "thanks": "utter_crisis_thanks",
        "goodbye": "utter_crisis_goodbye",
    }
    response = responses.get(topic)
    if response is None or response == last:
        response = f"utter_crisis_followup_{default_reply(turns)}"
        if response == last:
            response = f"utter_crisis_followup_{default_reply(turns + 1)}"
    dispatcher.utter_message(response=response)
    if response == responses["talk"]:
        dispatcher.utter_message(response="utter_crisis_presence", presence=context.presence())
    return [SlotSet("crisis_turns", float(turns + 1)), SlotSet("crisis_offer", response)]


class ActionCrisisFollowup(Action):
    """After the helplines: short, warm, different answers while the urgent ticket is open."""

    def __init__(self, context: CrisisContext) -> None:
        self.context = context

    def name(self) -> str:
        return "action_crisis_followup"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        latest = tracker.latest_message
        if not await self.context.still_urgent(tracker.sender_id):
            # The ticket was closed or marked a false alarm: the crisis conversation is over,
            # the ordinary rules answer this message.
            after: list[EventType] = [
                SlotSet("crisis_mode", False),
                SlotSet("crisis_kinds", []),
                SlotSet("crisis_offer", None),
            ]
            return _replay(_original(latest), dict(latest), 1, after)
        given = list(tracker.get_slot("crisis_kinds") or [])
        kind = given[-1] if given else "suicide"
        text = _original(latest)
        if is_minor(text, None, latest.get("entities")):
            # "j'ai 16 ans", "ils prennent pas les mineurs": the ticket says so too.
            await self.context.urgent(tracker, kind, None, True)
        return followup(dispatcher, tracker, self.context, kind)


class ActionSafetyCheck(Action):
    """Medium risk: "Est-ce que tu es en sécurité, là, maintenant ?", once a day."""

    def __init__(self, context: CrisisContext) -> None:
        self.context = context

    def name(self) -> str:
        return "action_safety_check"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        latest = tracker.latest_message
        intent, _ = _intent(latest)
        if intent == "ask_why" and tracker.get_slot("safety_pending"):
            dispatcher.utter_message(response="utter_safety_why")
            dispatcher.utter_message(response="utter_ask_safety")
            return []
        risk = latest.get("crisis_risk") or {}
        resume = risk.get("resume") or {}
        parse = _resume_parse(latest, resume)
        pending: dict[str, Any] = {
            "text": _typed(_original(latest)),
            "kind": risk.get("kind"),
            "reason": risk.get("reason"),
            "detail": risk.get("detail"),
            "intent": resume.get("name"),
            "confidence": resume.get("confidence"),
            "minor": is_minor(_original(latest), tracker.get_slot("age"), latest.get("entities")),
            "form": _paused_form(tracker),
            "parse": parse,
        }
        today = self.context.today()
        if tracker.get_slot("safety_asked") == today:
            # Asked already today: the conversation goes on, the message is flagged.
            await self.context.flag(tracker.sender_id, _medium_signal(pending, None))
            return _replay(_original(latest), parse, 1, [])
        dispatcher.utter_message(response="utter_ask_safety")
        return [SlotSet("safety_asked", today), SlotSet("safety_pending", pending)]


class ActionSafetyAnswer(Action):
    """ "Oui, je suis en sécurité": flagged, and the conversation goes on."""

    def __init__(self, context: CrisisContext) -> None:
        self.context = context

    def name(self) -> str:
        return "action_safety_answer"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        pending = tracker.get_slot("safety_pending") or {}
        if pending:
            await self.context.flag(tracker.sender_id, _medium_signal(pending, "oui"))
        parse = pending.get("parse") or {}
        goes_on = pending.get("form") or pending.get("intent") not in (None, FALLBACK)
        if not parse or not goes_on:
            dispatcher.utter_message(response="utter_safety_ok_more")
            return [SlotSet("safety_pending", None)]
        dispatcher.utter_message(response="utter_safety_ok")
        # Undo the question and its answer, then replay the message with what it meant: a
        # triage paused by the question is active again and takes it as its answer.
        after: list[EventType] = [
            SlotSet("safety_asked", self.context.today()),
            SlotSet("safety_pending", None),
        ]
        text = str(parse.get("text_original") or parse.get("text") or "")
        return _replay(text, parse, 2, after)


def _medium_signal(pending: dict[str, Any], answer: str | None) -> CrisisSignal:
    # the engine's "ranking" and "score" reasons are the classifiers' too (detail says which)
    reason = pending.get("reason")
    return CrisisSignal(
        text=pending.get("text"),
        tier="medium",
        reason="danger_words" if reason == "danger_words" else "intent",
        kind=crisis_kind(pending.get("kind")),
        detail=pending.get("detail"),
        intent=pending.get("intent"),
        confidence=pending.get("confidence"),
        answer=answer,
    )
