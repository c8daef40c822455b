"""The counsellors' Telegram bridge and crisis signals, through the fake Bot API with the real
app: an urgent ticket's topic says the alert's tier, why, the trigger message and "mineur·e";
a false alarm (from the topic with /fausse_alerte, or from the dashboard) takes the red off."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.models import Role, TicketStatus, Urgency
from handoff.bridge.handlers import FALSE_ALARM_EMPTY
from handoff.bridge.topics import ICON_CRISIS
from handoff.requests import CrisisSignal, TriageSummary
from tests.fakes.telegram_api import FakeTelegramServer
from tests.support.bridge import GROUP, Env, running_bridge
from tests.support.waiting import eventually

JOKE = "jvais me tuer de rire avec ce prof mdr"


@pytest.fixture
def env(tmp_path: Path, fake_telegram: FakeTelegramServer) -> Iterator[Env]:
    with running_bridge(tmp_path, fake_telegram) as env:
        yield env


def urgent_ticket(env: Env, *, consent: bool, minor: bool = False) -> tuple[int, int]:
    """(the young person's chat id, the urgent ticket)."""
    chat_id, pseudo = env.young_person()
    if not consent:
        env.services.people.record_consent(pseudo, False)
    ref = env.services.handoff.request(
        pseudo,
        TriageSummary(location="Lens"),
        source="crisis",
        urgency=Urgency.crisis,
        crisis_kind="suicide",
        signal=CrisisSignal(JOKE, "high", "pattern", "suicide", detail="me tuer"),
        minor=minor,
    )
    return chat_id, int(ref.ticket_id)


def summary_says(env: Env, ticket_id: int, text: str) -> str:
    return eventually(
        lambda: text in (s := env.summary(ticket_id)["text"]) and s,
        what=f"{text!r} in the summary of ticket {ticket_id}",
    )


def topic_name(env: Env, ticket_id: int) -> str:
    return str(env.tg.topic(GROUP, env.get(ticket_id).topic_id)["name"])


def test_an_urgent_topic_shows_the_alert_then_a_false_alarm_from_the_topic(env: Env) -> None:
    chat_id, ticket_id = urgent_ticket(env, consent=False, minor=True)
    ticket = env.topic_of(ticket_id)
    [topic] = env.tg.topics(GROUP)
    assert topic["icon_color"] == ICON_CRISIS and topic["name"].startswith("🔴 ")
    text = env.summary(ticket_id)["text"]
    for line in (
        f"🔴 URGENCE · Ticket #{ticket_id} · mineur·e",
        "Urgence : oui, idées suicidaires · niveau élevé",
        "Pourquoi : phrase repérée : « me tuer »",
        f"Message d'alerte : « {JOKE} »",  # kept without consent: vital interest
        "Extrait : —",
    ):
        assert line in text, line
    assert ticket.topic_id

    env.counsellor("Camille", 9101)
    env.write(ticket_id, 9101, "/fausse_alerte")
    env.wait_topic_text(ticket_id, FALSE_ALARM_EMPTY)
    env.write(ticket_id, 9101, "/fausse_alerte blague sur un prof")
    env.wait_topic_text(ticket_id, "Prends le ticket avant de le marquer comme fausse alerte.")
    assert env.get(ticket_id).urgency is Urgency.crisis

    env.press(ticket_id, 9101, f"tk:{ticket_id}:claim")
    assert env.get(ticket_id).status is TicketStatus.claimed
    env.write(ticket_id, 9101, "/fausse_alerte@maraude_bot blague sur un prof")
    env.wait_topic_text(
        ticket_id,
        "⚪ Camille : fausse alerte (sur Telegram), raison : « blague sur un prof ». "
        "Le ticket repasse en priorité normale.",
    )
    assert env.get(ticket_id).urgency is Urgency.normal
    eventually(lambda: not topic_name(env, ticket_id).startswith("🔴"), what="the topic renamed")
    text = summary_says(env, ticket_id, "Urgence : non (fausse alerte : idées suicidaires)")
    assert text.startswith(f"📋 Ticket #{ticket_id} · mineur·e")
    assert JOKE not in text  # no consent: the message is not kept once the alarm is over
    # The command was not relayed to the young person.
    assert not any("fausse" in t for t in env.private_texts(chat_id))


def test_a_false_alarm_from_the_dashboard_updates_the_topic(env: Env) -> None:
    _chat, ticket_id = urgent_ticket(env, consent=True)
    env.topic_of(ticket_id)
    manager = env.counsellor("Nadia", None, role=Role.manager)
    env.in_app(env.services.desk.false_alarm(ticket_id, manager, "il parle d'un film", via="web"))
    env.wait_topic_text(
        ticket_id,
        "⚪ Nadia : fausse alerte (sur le tableau de bord), raison : « il parle d'un film ». "
        "Le ticket repasse en priorité normale.",
    )
    eventually(lambda: not topic_name(env, ticket_id).startswith("🔴"), what="the topic renamed")
    summary_says(env, ticket_id, "Statut : 🟢 Nouveau")
    summary_says(env, ticket_id, "Urgence : non (fausse alerte : idées suicidaires)")
