"""End to end: a due nudge goes out through the real scheduler, engine and fake Bot API."""

from __future__ import annotations

from typing import Any

import pytest

from core.models import Channel, FollowUpKind, FollowUpStatus
from tests.support.chat import Chat, text_of
from tests.support.telegram import keyboard, start

pytestmark = pytest.mark.engine


def test_an_abandoned_triage_is_nudged_and_resumes_where_it_stopped(stack: Any) -> None:
    services = stack.services
    chat = Chat(stack)
    start(stack, chat.user)
    chat.press("OK pour moi")
    assert "âge" in text_of(chat.say("jcherche du taf")).lower()

    # The young person went quiet: the policy scheduled a nudge in 4 h. Make it due now.
    person = services.people.identify(Channel.telegram, str(chat.user))
    [pending] = [
        f for f in services.followups.pending(person.id) if f.kind == FollowUpKind.triage_nudge
    ]
    assert pending.due_at > services.followups.now()
    services.followups.schedule(person.id, FollowUpKind.triage_nudge, services.followups.now())

    before = len(stack.telegram.sent_messages(chat.user))
    [nudge] = stack.telegram.wait_for_messages(chat.user, before + 1, timeout=30)[before:]
    assert [title for title, _ in keyboard(nudge)] == ["On reprend", "Plus tard", "Stop"]
    # Once sent, the second (and last) nudge is planned.
    stack.telegram.wait_until(
        lambda: (
            [
                f.step
                for f in services.followups.pending(person.id)
                if f.kind == FollowUpKind.triage_nudge
            ]
            == [2]
        ),
        timeout=10,
        what="the second nudge planned",
    )

    # "On reprend": the triage goes on with the question where it stopped.
    assert "âge" in text_of(chat.press("On reprend")).lower()
    assert "habites" in text_of(chat.say("19 ans")).lower()

    # /stop cancels every pending nudge at once and says so.
    stopped = text_of(chat.say("/stop"))
    assert "/start" in stopped
    assert services.followups.pending(person.id) == []
    replaced = services.followups.get(pending.id)
    assert replaced is not None and replaced.status is FollowUpStatus.cancelled
