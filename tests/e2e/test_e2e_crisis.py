"""End to end, the crisis net: the real python-telegram-bot client polling a fake Bot API, the
real app, the real trained Rasa engine (its crisis guard and risk tiers) calling the app's
actions, a real SQLite database. Each test is a young person of its own.
"""

from __future__ import annotations

import itertools
from typing import Any

import httpx
import pytest

from core.models import Channel, Role
from core.people import pseudonymise
from tests.support.telegram import keyboard, start, texts

pytestmark = pytest.mark.engine
_users = itertools.count(720_001)
HELPLINES = ("3114", "119", "115", "3919", "112", "17")
NOT_UNDERSTOOD = ("pas bien compris", "pas compris")


def pseudo(stack: Any, user: int) -> str:
    return pseudonymise(stack.settings.secret_key, Channel.telegram, str(user))


def say(stack: Any, user: int, text: str, expect: int = 1) -> list[dict[str, Any]]:
    """Send a message, return the bot's `expect` (or more) new messages."""
    tg = stack.telegram
    before = len(tg.sent_messages(user))
    tg.push_message(user, text)
    tg.wait_for_messages(user, before + expect, timeout=30)
    return settled(stack, user, before)


def press(stack: Any, user: int, message: dict[str, Any], title: str) -> list[dict[str, Any]]:
    tg = stack.telegram
    payload = dict(keyboard(message))[title]
    before = len(tg.sent_messages(user))
    tg.push_callback(user, message["message_id"], payload)
    tg.wait_for_messages(user, before + 1, timeout=30)
    return settled(stack, user, before)


def settled(stack: Any, user: int, before: int) -> list[dict[str, Any]]:
    """The messages sent since `before`, once no new one came for a moment."""
    tg, seen = stack.telegram, -1
    while True:
        current = len(tg.sent_messages(user))
        if current == seen:
            return tg.sent_messages(user)[before:]
        seen = current
        try:
            tg.wait_for_messages(user, current + 1, timeout=1.5)
        except AssertionError:
            pass


def urgent_ticket(stack: Any, user: int) -> Any:
    requests = stack.services.handoff.open_requests(pseudo(stack, user))
    assert requests, "no hand-off request"
    return stack.services.tickets.get(requests[-1].ticket_id)


def new_user(stack: Any, consent: bool | None = None) -> int:
    user = next(_users)
    question = start(stack, user)
    if consent is not None:
        press(stack, user, question, "OK pour moi" if consent else "Non merci")
    return user


def test_high_risk_helplines_then_an_urgent_ticket_that_keeps_the_trigger(stack: Any) -> None:
    user = new_user(stack)  # never answers the consent question: nothing else is kept
    trigger = "jai achete des cachets pour mourir ce soir"
    replies = texts(say(stack, user, trigger, expect=2))
    assert "3114" in replies[0] and not any("?" in r for r in replies[:1])
    assert "en priorité" in replies[1] and "L'équipe est là" in replies[1]
    assert "jours ouvrés" not in " ".join(replies)
    ticket = urgent_ticket(stack, user)
    assert ticket.urgency == "crisis" and ticket.priority == 0
    [signal] = stack.services.desk.alarms.signals(ticket.id)
    assert (signal.text, signal.tier, signal.reason) == (trigger, "high", "pattern")
    assert stack.services.people.transcript(pseudo(stack, user)) == []  # nothing else kept


def test_a_negation_is_not_a_crisis(stack: Any) -> None:
    user = new_user(stack, consent=True)
    replies = texts(say(stack, user, "jveux pas mourir hein, jcherche juste un taf"))
    assert not any(number in r for r in replies for number in ("3114", "3919", "115"))
    assert "sécurité" not in " ".join(replies)
    requests = stack.services.handoff.open_requests(pseudo(stack, user))
    assert all(r.urgency != "crisis" for r in requests)


def test_medium_risk_asks_once_and_no_is_the_high_risk_path(stack: Any) -> None:
    user = new_user(stack, consent=False)
    [question] = say(stack, user, "jsuis au bout du rouleau")
    assert "en sécurité" in question["text"]
    assert [t for t, _ in keyboard(question)] == ["Oui", "Non", "Je sais pas"]
    assert not any(number in question["text"] for number in HELPLINES)  # a question first
    replies = texts(press(stack, user, question, "Non"))
    assert "3114" in replies[0] and "en priorité" in replies[-1]
    ticket = urgent_ticket(stack, user)
    [signal] = stack.services.desk.alarms.signals(ticket.id)
    assert (signal.reason, signal.answer, signal.text) == (
        "safety_answer",
        "non",
        "jsuis au bout du rouleau",
    )


def test_medium_risk_yes_and_the_triage_takes_the_answer(stack: Any) -> None:
    user = new_user(stack, consent=True)
    say(stack, user, "jcherche du taf")  # the triage asks the age
    [question] = say(stack, user, "19 ans, jsuis au bout du rouleau")
    assert "en sécurité" in question["text"]
    replies = texts(press(stack, user, question, "Oui"))
    assert "merci de m'avoir répondu" in replies[0]
    assert any("habites où" in r or "ville" in r for r in replies[1:])  # the next question
    # asked once a day: another worrying answer goes on without the question
    replies = texts(say(stack, user, "lens, jsuis au bout du rouleau"))
    assert "sécurité" not in " ".join(replies)
    assert not any(number in r for r in replies for number in ("3114", "115"))
    requests = stack.services.handoff.open_requests(pseudo(stack, user))
    assert all(r.urgency != "crisis" for r in requests)


def test_after_the_helplines_a_conversation_not_a_block(stack: Any) -> None:
    user = new_user(stack, consent=True)
    first = texts(say(stack, user, "jai un plan pour me tuer ce soir", expect=2))
    assert "3114" in first[0]
    answers = []
    for text in (
        "jveux pas appeler, jveux juste parler a quelqu'un maintenant",
        "il regarde mon tel",
        "jvais appeler avec elle",
    ):
        replies = texts(say(stack, user, text))
        joined = "\n".join(replies)
        assert first[0] not in replies  # never the same block again
        assert not any(word in joined for word in NOT_UNDERSTOOD)
        answers.append(joined)
    assert len(set(answers)) == 3
    assert "écrit" in answers[0] or "tchat" in answers[0]  # a way to talk now, in writing
    assert "114" in answers[1]
    assert urgent_ticket(stack, user).urgency == "crisis"


def test_a_minor_put_out_gets_the_119(stack: Any) -> None:
    user = new_user(stack, consent=True)
    replies = texts(say(stack, user, "jai 16 ans et mes parents mont mis dehors", expect=2))
    assert "119" in replies[0] and "ASE" in replies[0]
    assert urgent_ticket(stack, user).minor is True
    again = texts(say(stack, user, "le 115 prend pas les mineurs"))
    assert "119" in again[0] and again[0] != replies[0]


def test_false_alarm_lowers_the_priority_and_reaches_the_inbox(stack: Any) -> None:
    user = new_user(stack, consent=True)
    say(stack, user, "jvais me foutre en lair", expect=2)
    ticket = urgent_ticket(stack, user)
    services = stack.services
    team = ticket.team
    email = f"alarme-{user}@example.org"
    account = services.accounts.add(
        email, "Inès", "mot-de-passe-solide-42", role=Role.counsellor, team=team
    )
    token = services.accounts.create_token(account.id, "e2e")
    base = f"{stack.app.url}/api/v1/tickets/{ticket.id}"
    headers = {"Authorization": f"Bearer {token}"}
    unclaimed = httpx.post(f"{base}/false-alarm", json={"reason": "jeu"}, headers=headers)
    assert unclaimed.status_code == 409  # someone answers for lowering a crisis: claim first
    assert httpx.post(f"{base}/claim", headers=headers).status_code == 200
    refused = httpx.post(f"{base}/false-alarm", json={"reason": ""}, headers=headers)
    assert refused.status_code == 422
    done = httpx.post(
        f"{base}/false-alarm", json={"reason": "il parlait d'un jeu vidéo"}, headers=headers
    )
    assert done.status_code == 200, done.text
    after = services.tickets.get(ticket.id)
    assert (after.priority, after.urgency) == (1, "normal")
    inbox = services.insights.false_alarms()
    assert any(turn.text == "jvais me foutre en lair" for turn in inbox)
