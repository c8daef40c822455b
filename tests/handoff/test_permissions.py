"""The ticket permission policy (handoff/permissions.py) and its refusals as errors."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from core.models import Role, TicketStatus, Urgency
from handoff.accounts import CounsellorRef
from handoff.permissions import Action, Refusal, allowed, refusal
from handoff.tickets import TicketConflict, TicketForbidden, refused

LEA = CounsellorRef(1, "lea@example.org", "Léa", Role.counsellor, "lens")
BOSS = CounsellorRef(3, "chef@example.org", "Sam", Role.manager, "lille")


@dataclass(frozen=True)
class Facts:
    status: TicketStatus
    urgency: Urgency = Urgency.normal
    team: str | None = "lens"
    assignee_id: int | None = None
    id: int = 7


NEW = Facts(TicketStatus.new)
MINE = Facts(TicketStatus.claimed, assignee_id=LEA.id)
THEIRS = Facts(TicketStatus.waiting_youth, assignee_id=2)
CLOSED = Facts(TicketStatus.resolved, assignee_id=LEA.id)


def test_a_counsellor_on_a_new_ticket_may_claim_transfer_and_plan_only() -> None:
    assert allowed(LEA, NEW).__dict__ == {
        "read": True,
        "claim": True,
        "reply": False,
        "release": False,
        "transfer": True,
        "resolve": False,
        "follow_up": True,
        "false_alarm": False,
        "appointment": False,  # take it first
        "attendance": True,  # nobody holds it: its team may say whether it took place
    }


def test_the_holder_does_everything_but_claim_and_a_manager_all_but_reply() -> None:
    mine, boss = allowed(LEA, MINE), allowed(BOSS, MINE)
    assert (mine.reply, mine.release, mine.transfer, mine.resolve, mine.claim) == (
        True,
        True,
        True,
        True,
        False,
    )
    assert (boss.reply, boss.release, boss.transfer, boss.resolve, boss.follow_up) == (
        False,
        True,
        True,
        True,
        True,
    )
    assert allowed(BOSS, NEW).resolve and not allowed(LEA, NEW).resolve


def test_a_colleagues_ticket_is_refused_as_a_colleagues() -> None:
    for action in (Action.reply, Action.release, Action.transfer, Action.resolve):
        assert refusal(LEA, THEIRS, action) == Refusal.colleague
    assert refusal(LEA, THEIRS, Action.follow_up) == Refusal.colleague
    error = refused(LEA, THEIRS, Action.reply)
    assert isinstance(error, TicketForbidden) and str(error) == (
        "Ce ticket est suivi par un·e collègue."
    )


def test_nothing_but_reading_and_attendance_on_a_closed_ticket() -> None:
    can = allowed(BOSS, CLOSED)
    others = {k: v for k, v in can.__dict__.items() if k not in ("read", "attendance")}
    assert can.read and can.attendance and not any(others.values())
    assert allowed(LEA, CLOSED).attendance  # she held it: she says whether it took place
    assert refusal(LEA, CLOSED, Action.appointment) == Refusal.closed
    assert str(refused(LEA, CLOSED, Action.resolve)) == "Le ticket #7 est déjà clôturé."
    assert str(refused(LEA, CLOSED, Action.release)) == "Ce ticket est déjà clôturé."


@pytest.mark.parametrize(
    ("me", "ticket", "expected"),
    [
        (LEA, Facts(TicketStatus.claimed, Urgency.crisis, assignee_id=1), None),
        (BOSS, Facts(TicketStatus.new, Urgency.crisis), None),
        (LEA, Facts(TicketStatus.new, Urgency.crisis), Refusal.unclaimed),
        (LEA, Facts(TicketStatus.claimed, Urgency.crisis, assignee_id=2), Refusal.colleague),
        (BOSS, MINE, Refusal.not_urgent),
    ],
)
def test_false_alarm_as_closing(me: CounsellorRef, ticket: Facts, expected: Refusal | None) -> None:
    assert refusal(me, ticket, Action.false_alarm) == expected


def test_need_to_know() -> None:
    other_team = Facts(TicketStatus.new, team="lille")
    assert not allowed(LEA, other_team).read
    assert allowed(LEA, Facts(TicketStatus.claimed, team="lille", assignee_id=LEA.id)).read
    assert allowed(BOSS, Facts(TicketStatus.new, team="arras")).read
    late = refused(LEA, THEIRS, Action.claim, holder="Noé")
    assert isinstance(late, TicketConflict)
    assert str(late) == "Trop tard : Noé a déjà pris le ticket #7."


def test_appointments_are_proposed_by_whoever_holds_the_ticket() -> None:
    assert refusal(LEA, MINE, Action.appointment) is None
    assert refusal(BOSS, MINE, Action.appointment) is None  # a manager may step in
    assert refusal(LEA, THEIRS, Action.appointment) == Refusal.colleague
    assert str(refused(LEA, NEW, Action.appointment)) == (
        "Prends le ticket avant de proposer un rendez-vous."
    )
    stranger = CounsellorRef(4, "x@example.org", "Xavier", Role.counsellor, "lille")
    assert refusal(stranger, MINE, Action.appointment) == Refusal.need_to_know
    assert refusal(stranger, MINE, Action.attendance) == Refusal.need_to_know


def test_attendance_is_marked_by_the_holder_not_a_colleague() -> None:
    assert refusal(LEA, MINE, Action.attendance) is None
    assert refusal(LEA, THEIRS, Action.attendance) == Refusal.colleague
    assert refusal(BOSS, THEIRS, Action.attendance) is None
