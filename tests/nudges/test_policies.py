"""The five nudge policies with a fixed clock and the real services (SQLite and, gated,
PostgreSQL): what gets scheduled, when, what a due job sends, what follows it, and what
cancels it. The actions run with real rasa_sdk Trackers and CollectingDispatchers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.handoff import ActionRequestHandoff, LinkContext
from actions.nudges import ActionCheckinAnswer, ActionOptOut
from actions.triage_form import ValidateTriageForm
from actions.welcome import ActionWelcome
from core.models import Channel, EventKind, FollowUpKind, FollowUpStatus, TicketStatus
from handoff.accounts import CounsellorRef
from handoff.tickets import TicketView
from nudges.contract import CounsellorNotice, DirectMessage, EngineNudge, Outgoing
from nudges.rules import HANDOFF_PENDING, OUTCOME_CHECKIN, TRIAGE_NUDGE, YOUTH_SILENT
from nudges.store import FollowUpJob, FollowUpView
from tests.support.world import World

CLOCK_START = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
DOMAIN: dict[str, Any] = {
    "forms": {
        "triage_form": {
            "required_slots": ["needs", "age", "location", "situation", "followed", "contact"]
        }
    },
    "slots": {},
}


class Recorder:
    """A desk listener and a channel sender that remember what they saw."""

    def __init__(self) -> None:
        self.events: list[tuple[str, int]] = []
        self.sent: list[tuple[str, list[str]]] = []

    async def on_ticket_event(
        self, kind: str, ticket: TicketView, actor: CounsellorRef | None, data: dict[str, Any]
    ) -> None:
        self.events.append((kind, ticket.id))

    async def send(self, user: str, texts: list[str]) -> bool:
        self.sent.append((user, texts))
        return True


@pytest.fixture
def world_db_url(db_url: str) -> str:
    return db_url  # the world on SQLite and on PostgreSQL


@pytest.fixture(autouse=True)
def recorder(world: World) -> Recorder:
    """The desk's Telegram sender (no token: the services have none) and one of its listeners."""
    recording = Recorder()
    world.desk.register_sender(Channel.telegram, recording.send)
    world.desk.add_listener(recording)
    return recording


async def sweep(world: World) -> list[tuple[FollowUpJob, Outgoing | None]]:
    """What the sweeper does (nudges/sweeper.py): claim, ask, mark sent, after_sent."""
    done = []
    for job in world.followups.claim_due("test-worker"):
        out = world.nudge_rules.outgoing(job)
        if out is None:
            assert world.followups.mark_cancelled(job.id, "test-worker", "obsolete")
        else:
            assert world.followups.mark_sent(job.id, "test-worker")
            await world.nudge_rules.after_sent(job)
        done.append((job, out))
    return done


def tracker(
    sender: str,
    *,
    text: str = "",
    intent: str = "inform",
    entities: list[dict[str, Any]] | None = None,
    slots: dict[str, Any] | None = None,
) -> Tracker:
    return Tracker(
        sender_id=sender,
        slots={"requested_slot": None, **(slots or {})},
        latest_message={
            "text": text,
            "intent": {"name": intent, "confidence": 0.9},
            "entities": entities or [],
        },
        events=[],
        paused=False,
        followup_action=None,
        active_loop={"name": "triage_form"},
        latest_action_name="action_listen",
    )


def kinds(views: list[FollowUpView]) -> list[tuple[FollowUpKind, int, datetime]]:
    return [(v.kind, v.step, v.due_at) for v in views]


async def answer_age(world: World, pseudo: str) -> None:
    form = ValidateTriageForm(world.nudge_rules)
    t = tracker(
        pseudo,
        text="19 ans",
        entities=[{"entity": "age", "value": "19"}],
        slots={"requested_slot": "age", "needs": ["emploi"]},
    )
    events = await form.run(CollectingDispatcher(), t, DOMAIN)
    assert any(e.get("name") == "age" and e.get("value") == "19" for e in events)


# 1. Triage left part-way ------------------------------------------------------------------
async def test_each_triage_answer_replaces_the_nudge_then_two_nudges_then_silence(
    world: World,
) -> None:
    person, pseudo = world.person(consent=True)
    await answer_age(world, pseudo)
    assert kinds(world.followups.pending(person)) == [
        (FollowUpKind.triage_nudge, 1, CLOCK_START + timedelta(hours=4))
    ]

    world.clock.advance(hours=1)
    await answer_age(world, pseudo)  # a new answer: the nudge moves
    due = CLOCK_START + timedelta(hours=5)
    assert kinds(world.followups.pending(person)) == [(FollowUpKind.triage_nudge, 1, due)]

    world.clock.advance(hours=3, minutes=59)
    assert await sweep(world) == []  # not yet
    world.clock.advance(minutes=1)
    [(job, out)] = await sweep(world)
    assert out == EngineNudge(TRIAGE_NUDGE, {"nudge_step": 1})
    second = due + timedelta(days=2)
    assert kinds(world.followups.pending(person)) == [(FollowUpKind.triage_nudge, 2, second)]

    world.clock.advance(days=2)
    [(job, out)] = await sweep(world)
    assert out == EngineNudge(TRIAGE_NUDGE, {"nudge_step": 2})
    assert world.followups.pending(person) == []  # then silence
    world.clock.advance(days=30)
    assert await sweep(world) == []


async def test_completing_the_triage_cancels_the_nudge(world: World) -> None:
    person, pseudo = world.person(consent=True)
    await answer_age(world, pseudo)
    form = ValidateTriageForm(world.nudge_rules)
    filled = {"needs": ["emploi"], "age": "19", "location": "59100", "situation": "rien"}
    filled |= {"followed": "oui", "requested_slot": "contact"}
    t = tracker(
        pseudo,
        text="/inform",
        entities=[{"entity": "contact", "value": "telephone"}],
        slots=filled,
    )
    events = await form.run(CollectingDispatcher(), t, DOMAIN)
    assert any(e.get("name") == "contact" for e in events)
    assert world.followups.pending(person) == []


async def test_without_policies_the_form_schedules_nothing(world: World) -> None:
    person, pseudo = world.person(consent=True)
    t = tracker(pseudo, text="19 ans", slots={"requested_slot": "age", "needs": ["emploi"]})
    await ValidateTriageForm().run(CollectingDispatcher(), t, DOMAIN)
    assert world.followups.pending(person) == []


# 2. Hand-off requested, not claimed yet --------------------------------------------------
async def test_a_hand_off_request_stops_the_triage_nudge_and_says_it_is_in_progress(
    world: World,
) -> None:
    person, pseudo = world.person(consent=True)
    await answer_age(world, pseudo)
    action = ActionRequestHandoff(LinkContext(world.handoff, None, "sous 48 h", world.desk))
    t = tracker(pseudo, text="/affirm", intent="affirm", slots={"needs": ["emploi"]})
    await action.run(CollectingDispatcher(), t, DOMAIN)
    [pending] = world.followups.pending(person)
    assert (pending.kind, pending.due_at) == (
        FollowUpKind.handoff_pending,
        CLOCK_START + timedelta(days=2),
    )
    assert pending.ticket_id is not None

    world.clock.advance(days=2)
    [(job, out)] = await sweep(world)
    assert out == EngineNudge(HANDOFF_PENDING)
    assert world.followups.pending(person) == []  # said once


async def test_claiming_cancels_the_in_progress_notice(world: World) -> None:
    person, pseudo = world.person(consent=True)
    ticket = await world.ticket(pseudo)
    assert [v.kind for v in world.followups.pending(person)] == [FollowUpKind.handoff_pending]
    await world.desk.claim(ticket, world.counsellor(), "web")
    assert world.followups.pending(person) == []
    world.clock.advance(days=3)
    assert await sweep(world) == []


async def test_a_notice_due_after_a_claim_sends_nothing(world: World) -> None:
    person, pseudo = world.person(consent=True)
    ticket = await world.ticket(pseudo)
    # Claimed behind the desk's back (no listener): the policy still checks at send time.
    world.tickets.claim(ticket, world.counsellor())
    world.clock.advance(days=2)
    [(job, out)] = await sweep(world)
    assert out is None
    assert world.followups.get(job.id).status == FollowUpStatus.cancelled  # type: ignore[union-attr]


# 3. Counsellor wrote, young person silent -------------------------------------------------
async def test_silence_after_a_reply_two_nudges_then_closed_as_unreachable(
    world: World, recorder: Recorder
) -> None:
    person, pseudo = world.person(consent=True)
    ticket = await world.ticket(pseudo)
    sam = world.counsellor()
    await world.desk.claim(ticket, sam, "web")
    await world.desk.reply(ticket, sam, "Salut, tu es dispo demain ?", "web")
    assert kinds(world.followups.pending(person)) == [
        (FollowUpKind.youth_silent, 1, CLOCK_START + timedelta(days=2))
    ]

    world.clock.advance(days=2)
    [(_, out)] = await sweep(world)
    assert out == EngineNudge(YOUTH_SILENT, {"nudge_step": 1})
    assert kinds(world.followups.pending(person)) == [
        (FollowUpKind.youth_silent, 2, CLOCK_START + timedelta(days=9))
    ]
    world.clock.advance(days=7)
    [(_, out)] = await sweep(world)
    assert out == EngineNudge(YOUTH_SILENT, {"nudge_step": 2})
    assert kinds(world.followups.pending(person)) == [
        (FollowUpKind.youth_silent, 3, CLOCK_START + timedelta(days=12))
    ]
    world.clock.advance(days=3)
    [(_, out)] = await sweep(world)
    assert isinstance(out, CounsellorNotice)
    assert out.ticket_id == ticket and f"#{ticket}" in out.text and "injoignable" in out.text
    view = world.tickets.get(ticket)
    assert view.status == TicketStatus.closed_unreachable
    assert ("closed_unreachable", ticket) in recorder.events  # the bridge hears it
    assert world.followups.pending(person) == []


async def test_a_youth_answer_cancels_the_silence_nudge_and_a_new_reply_restarts_it(
    world: World,
) -> None:
    person, pseudo = world.person(consent=True)
    ticket = await world.ticket(pseudo)
    sam = world.counsellor()
    await world.desk.claim(ticket, sam, "web")
    await world.desk.reply(ticket, sam, "Salut !", "web")
    view = world.tickets.get(ticket)
    await world.desk.youth_message(view, "yo, oui je suis là")
    assert world.followups.pending(person) == []
    world.clock.advance(hours=1)
    await world.desk.reply(ticket, sam, "Super, on s'appelle ?", "web")
    assert kinds(world.followups.pending(person)) == [
        (FollowUpKind.youth_silent, 1, CLOCK_START + timedelta(days=2, hours=1))
    ]


async def test_a_silence_nudge_after_the_youth_answered_sends_nothing(world: World) -> None:
    person, pseudo = world.person(consent=True)
    ticket = await world.ticket(pseudo)
    sam = world.counsellor()
    await world.desk.claim(ticket, sam, "web")
    await world.desk.reply(ticket, sam, "Salut !", "web")
    world.tickets.youth_message(ticket, "coucou")  # not through the desk: nothing cancelled
    world.clock.advance(days=2)
    [(_, out)] = await sweep(world)
    assert out is None
    assert world.tickets.get(ticket).status == TicketStatus.waiting_counsellor


# 4. Follow-ups a counsellor schedules ---------------------------------------------------
async def test_a_follow_up_date_reminds_the_counsellor_and_can_message_the_youth(
    world: World,
) -> None:
    person, pseudo = world.person(consent=True)
    ticket = await world.ticket(pseudo)
    sam = world.counsellor()
    await world.desk.claim(ticket, sam, "web")
    when = CLOCK_START + timedelta(days=14)
    await world.desk.set_follow_up(ticket, sam, when, "web", message="Alors, ce rendez-vous ?")
    assert sorted((v.kind, v.due_at) for v in world.followups.pending(person)) == [
        (FollowUpKind.counsellor_reminder, when),
        (FollowUpKind.youth_followup, when),
    ]
    world.clock.advance(days=14)
    outs = {job.kind: out for job, out in await sweep(world)}
    reminder = outs[FollowUpKind.counsellor_reminder]
    assert isinstance(reminder, CounsellorNotice)
    assert reminder.text.startswith(f"Relance prévue : ticket #{ticket}") and "Sam" in reminder.text
    assert outs[FollowUpKind.youth_followup] == DirectMessage(
        "Sam (conseiller·e) :\nAlors, ce rendez-vous ?"
    )
    transcript = [item.text for item in world.tickets.transcript(ticket)]
    assert "Sam (conseiller·e) :\nAlors, ce rendez-vous ?" in transcript


async def test_clearing_or_changing_the_follow_up_date(world: World) -> None:
    person, pseudo = world.person(consent=True)
    ticket = await world.ticket(pseudo)
    sam = world.counsellor()
    await world.desk.claim(ticket, sam, "web")
    await world.desk.set_follow_up(
        ticket, sam, CLOCK_START + timedelta(days=14), "web", message="Coucou"
    )
    later = CLOCK_START + timedelta(days=21)
    await world.desk.set_follow_up(ticket, sam, later, "web")  # no message this time
    assert kinds(world.followups.pending(person)) == [(FollowUpKind.counsellor_reminder, 1, later)]
    await world.desk.set_follow_up(ticket, sam, None, "web", message="ignored")
    assert world.followups.pending(person) == []


# Closing and 5. the check-in after a positive outcome ------------------------------------
async def test_resolving_cancels_everything_and_a_positive_outcome_schedules_a_check_in(
    world: World,
) -> None:
    person, pseudo = world.person(consent=True)
    ticket = await world.ticket(pseudo)
    sam = world.counsellor()
    await world.desk.claim(ticket, sam, "web")
    await world.desk.reply(ticket, sam, "Salut !", "web")
    await world.desk.set_follow_up(
        ticket, sam, CLOCK_START + timedelta(days=14), "web", message="Yo"
    )
    assert len(world.followups.pending(person)) == 3
    await world.desk.resolve(ticket, sam, "mission_locale", None, "web")
    [checkin] = world.followups.pending(person)
    assert (checkin.kind, checkin.ticket_id) == (FollowUpKind.outcome_checkin, ticket)
    assert checkin.due_at == CLOCK_START + timedelta(days=30)
    world.clock.advance(days=30)
    [(_, out)] = await sweep(world)
    assert out == EngineNudge(OUTCOME_CHECKIN)
    assert world.followups.pending(person) == []


async def test_a_negative_outcome_gets_no_check_in(world: World) -> None:
    person, pseudo = world.person(consent=True)
    ticket = await world.ticket(pseudo)
    sam = world.counsellor()
    await world.desk.claim(ticket, sam, "web")
    await world.desk.resolve(ticket, sam, "sans_reponse", None, "web")
    assert world.followups.pending(person) == []


@pytest.mark.parametrize(
    ("intent", "answer", "response"),
    [
        ("affirm", "ok", "utter_checkin_ok"),
        ("deny", "pas_marche", "utter_checkin_not_ok"),
        ("ask_human", "reparler", None),
    ],
)
async def test_the_check_in_answer_is_recorded_on_the_ticket(
    world: World, intent: str, answer: str, response: str | None
) -> None:
    _, pseudo = world.person(consent=True)
    ticket = await world.ticket(pseudo)
    sam = world.counsellor()
    await world.desk.claim(ticket, sam, "web")
    await world.desk.resolve(ticket, sam, "emploi", None, "web")
    dispatcher = CollectingDispatcher()
    events = await ActionCheckinAnswer(world.nudge_rules).run(
        dispatcher, tracker(pseudo, intent=intent), DOMAIN
    )
    [event] = [e for e in world.tickets.events(ticket) if e.kind == EventKind.checkin_answered]
    assert event.data == {"answer": answer, "outcome": "emploi"}
    assert [m.get("response") for m in dispatcher.messages] == ([response] if response else [])
    assert events == []  # the rule runs action_request_handoff next for "reparler"


async def test_wanting_to_talk_again_opens_a_new_hand_off(world: World) -> None:
    person, pseudo = world.person(consent=True)
    ticket = await world.ticket(pseudo)
    sam = world.counsellor()
    await world.desk.claim(ticket, sam, "web")
    await world.desk.resolve(ticket, sam, "emploi", None, "web")
    t = tracker(pseudo, intent="ask_human")
    await ActionCheckinAnswer(world.nudge_rules).run(CollectingDispatcher(), t, DOMAIN)
    await ActionRequestHandoff(LinkContext(world.handoff, None, "sous 48 h", world.desk)).run(
        CollectingDispatcher(), t, DOMAIN
    )
    [new] = [v for v in world.tickets.tickets_of(pseudo) if v.id != ticket]
    assert new.status == TicketStatus.new
    assert [(v.kind, v.ticket_id) for v in world.followups.pending(person)] == [
        (FollowUpKind.handoff_pending, new.id)
    ]


# Opting out and back in ------------------------------------------------------------------
async def test_stop_cancels_every_nudge_and_start_allows_them_again(world: World) -> None:
    person, pseudo = world.person(consent=True)
    await answer_age(world, pseudo)
    ticket = await world.ticket(pseudo)
    sam = world.counsellor()
    await world.desk.claim(ticket, sam, "web")
    await world.desk.set_follow_up(
        ticket, sam, CLOCK_START + timedelta(days=14), "web", message="Yo"
    )
    await world.desk.reply(ticket, sam, "Salut !", "web")
    assert {v.kind for v in world.followups.pending(person)} == {
        FollowUpKind.youth_silent,
        FollowUpKind.youth_followup,
        FollowUpKind.counsellor_reminder,
    }
    dispatcher = CollectingDispatcher()
    await ActionOptOut(world.nudge_rules).run(dispatcher, tracker(pseudo, intent="opt_out"), DOMAIN)
    assert [m.get("response") for m in dispatcher.messages] == ["utter_opt_out"]
    # Only the counsellor's own reminder is left.
    assert [v.kind for v in world.followups.pending(person)] == [FollowUpKind.counsellor_reminder]
    await world.desk.reply(ticket, sam, "Tu es là ?", "web")
    await answer_age(world, pseudo)
    assert [v.kind for v in world.followups.pending(person)] == [FollowUpKind.counsellor_reminder]

    welcome = ActionWelcome("Mission Locale", world.nudge_rules)
    await welcome.run(CollectingDispatcher(), tracker(pseudo, intent="start"), DOMAIN)
    await answer_age(world, pseudo)
    assert FollowUpKind.triage_nudge in {v.kind for v in world.followups.pending(person)}


def test_the_executor_serves_the_nudge_actions(world: World) -> None:
    executor = world.services.actions  # build_executor, as build_services calls it
    for name in ("action_opt_out", "action_checkin_answer", "validate_triage_form"):
        assert name in executor.actions
    for name in ("action_opt_out", "action_checkin_answer", "validate_triage_form"):
        served = executor.actions[name].__self__  # type: ignore[attr-defined]
        assert served.policies is world.nudge_rules
