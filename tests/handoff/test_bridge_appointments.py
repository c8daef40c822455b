"""Appointments in the counsellors' Telegram group (issue 22), through the fake Bot API with
the real app: `/rdv` in a ticket's topic (good and bad commands, outside opening hours then
`/rdv!`), each appointment event posted in the topic, and the attendance buttons (pressed →
marked, strangers, colleagues, forged and stale data refused, a double press marks once)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from core.clock import FixedClock
from core.models import AppointmentStatus, EventKind
from handoff.bridge.appointment_handlers import BUTTON_INVALID
from handoff.bridge.handlers import NOT_REGISTERED
from tests.fakes.telegram_api import FakeTelegramServer
from tests.support.bridge import GROUP, Env, running_bridge
from tests.support.waiting import eventually

CLOCK_START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # Monday 2 March 2026, 10:00 in Paris
PROPOSED = (
    "📆 Camille propose un rendez-vous (sur Telegram) : Appel téléphonique le 04/03/2026 à "
    "14:30 (appel depuis le 03 21 00 00 00).\nMot pour le jeune : « pense à ton CV »\n"
    "En attente de la réponse du jeune."
)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(CLOCK_START)


@pytest.fixture
def env(tmp_path: Path, fake_telegram: FakeTelegramServer, clock: FixedClock) -> Iterator[Env]:
    with running_bridge(tmp_path, fake_telegram, clock) as env:
        yield env


def held_ticket(env: Env) -> tuple[int, int]:
    chat_id, pseudo = env.young_person()
    ticket_id = env.ticket(pseudo)
    env.topic_of(ticket_id)
    env.counsellor("Camille", 9001)
    env.press(ticket_id, 9001, f"tk:{ticket_id}:claim")
    env.wait_topic_text(ticket_id, "✋ Camille prend le ticket (sur Telegram).")
    return chat_id, ticket_id


def wait_text_with(env: Env, ticket_id: int, part: str) -> Any:
    return eventually(
        lambda: next((t for t in env.topic_texts(ticket_id) if part in t), None),
        what=f"a post with {part!r} in the topic of ticket {ticket_id}",
    )


def keyboard(message: dict[str, Any]) -> list[tuple[str, str]]:
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    return [(b["text"], b["callback_data"]) for row in rows for b in row]


def press_on(env: Env, message_id: int, user: int, data: str, name: str = "Camille") -> Any:
    query = env.tg.push_group_callback(GROUP, user, message_id, data, first_name=name)
    return eventually(
        lambda: next((a for a in env.tg.callback_answers if a["callback_query_id"] == query), None),
        what=f"the answer to {data!r}",
    )


def test_rdv_proposes_and_the_young_person_is_asked(env: Env) -> None:
    chat_id, ticket_id = held_ticket(env)
    env.write(ticket_id, 9001, "/rdv 04/03 14h30 tel 03.21.00.00.00 pense à ton CV")
    assert wait_text_with(env, ticket_id, "📆 Camille propose") == PROPOSED
    [view] = env.services.appointments.for_ticket(ticket_id)
    assert view.starts_at == datetime(2026, 3, 4, 13, 30, tzinfo=UTC)
    assert view.call_from == "03 21 00 00 00" and view.note == "pense à ton CV"
    # The young person got the proposal with its three buttons, in their private chat.
    proposal: Any = eventually(
        lambda: next((m for m in env.tg.sent_messages(chat_id) if keyboard(m)), None),
        what="the proposal in the young person's chat",
    )
    assert len(keyboard(proposal)) == 3

    # Outside opening hours: told how to go on, then /rdv! proposes it (replacing the first).
    env.write(ticket_id, 9001, "/rdv 04/03 19h lens  ramène ta carte Vitale")
    warning = wait_text_with(env, ticket_id, "en dehors des horaires d'ouverture")
    assert warning.endswith("/rdv! 04/03 19h lens ramène ta carte Vitale")
    assert len(env.services.appointments.for_ticket(ticket_id)) == 1
    env.write(ticket_id, 9001, "/rdv! 04/03 19h lens ramène ta carte Vitale")
    wait_text_with(env, ticket_id, "Sur place le 04/03/2026 à 19:00 (Mission Locale de Lens")
    wait_text_with(env, ticket_id, "🔁 Le rendez-vous du 04/03/2026 à 14:30 est remplacé")
    first, second = sorted(env.services.appointments.for_ticket(ticket_id), key=lambda v: v.id)
    assert first.status == AppointmentStatus.rescheduled and first.replaced_by_id == second.id
    assert second.outside_hours and second.site_id == "lens"

    # A video call with its link.
    env.write(ticket_id, 9001, "/rdv 05/03 10h visio https://visio.example.org/abc")
    wait_text_with(env, ticket_id, "Appel vidéo le 05/03/2026 à 10:00 (appel vidéo : https://")


@pytest.mark.parametrize(
    ("command", "why"),
    [
        ("/rdv", "Il manque la date"),
        ("/rdv 04/03 14h30", "Il manque la date"),
        ("/rdv 31/02 14h tel 03 21 00 00 00", "Le 31/02 n'existe pas."),
        ("/rdv 04-03 14h tel 03 21 00 00 00", "Date illisible"),
        ("/rdv ０４/03 14h tel 03 21 00 00 00", "Date illisible"),
        ("/rdv 04/03 25h tel 03 21 00 00 00", "L'heure 25h n'existe pas."),
        ("/rdv 04/03 midi tel 03 21 00 00 00", "Heure illisible"),
        ("/rdv 04/03 14h tel", "Après « tel », écris le numéro"),
        ("/rdv 04/03 14h tel 12 34", "Après « tel », écris le numéro"),
        ("/rdv 04/03 14h atlantis", "« atlantis » : ni tel, ni visio"),
    ],
)
def test_rdv_usage_on_bad_input(env: Env, command: str, why: str) -> None:
    _, ticket_id = held_ticket(env)
    env.write(ticket_id, 9001, command)
    answer = wait_text_with(env, ticket_id, "Pour proposer un rendez-vous : /rdv JJ/MM HHhMM")
    assert answer.startswith(why)
    assert "lens, henin" in answer  # the team's sites first
    assert env.services.appointments.for_ticket(ticket_id) == []


def test_rdv_refusals(env: Env) -> None:
    _, pseudo = env.young_person()
    ticket_id = env.ticket(pseudo)
    env.topic_of(ticket_id)
    env.counsellor("Camille", 9001)
    env.counsellor("Dominique", 9002)
    env.write(ticket_id, 9001, "/rdv 04/03 14h30 tel 03 21 00 00 00")
    wait_text_with(env, ticket_id, "Prends le ticket avant de proposer un rendez-vous.")
    env.press(ticket_id, 9001, f"tk:{ticket_id}:claim")
    env.write(ticket_id, 9002, "/rdv 04/03 14h30 tel 03 21 00 00 00", first_name="Dominique")
    wait_text_with(env, ticket_id, "collègue")
    env.write(ticket_id, 6666, "/rdv 04/03 14h30 tel 03 21 00 00 00", first_name="Intrus")
    wait_text_with(env, ticket_id, NOT_REGISTERED)
    env.write(ticket_id, 9001, "/rdv 01/03/2026 14h30 tel 03 21 00 00 00")  # in the past
    wait_text_with(env, ticket_id, "doit être dans le futur")
    assert env.services.appointments.for_ticket(ticket_id) == []


def test_events_from_the_young_person_and_the_web_are_posted(env: Env) -> None:
    _, ticket_id = held_ticket(env)
    env.write(ticket_id, 9001, "/rdv 04/03 14h30 tel 03 21 00 00 00")
    wait_text_with(env, ticket_id, "📆 Camille propose")
    [view] = env.services.appointments.for_ticket(ticket_id)
    desk = env.services.appointment_desk

    env.in_app(desk.youth_answer(view.person_id, view.id, "unsure"))
    wait_text_with(env, ticket_id, "🤷 Le jeune ne sait pas encore pour le rendez-vous du 04/03")
    env.in_app(desk.youth_answer(view.person_id, view.id, "change"))
    wait_text_with(env, ticket_id, "🔁 Le jeune demande un autre créneau")
    waiting = env.in_app(desk.awaiting_availability(view.person_id))
    env.in_app(desk.youth_availability(waiting, "plutôt jeudi matin"))
    assert wait_text_with(env, ticket_id, "Disponibilités du jeune").endswith(
        "« plutôt jeudi matin »"
    )
    env.in_app(desk.youth_answer(view.person_id, view.id, "ok"))
    wait_text_with(env, ticket_id, "✅ Le jeune confirme le rendez-vous du 04/03/2026 à 14:30.")
    env.in_app(desk.youth_cancel(view.person_id))
    wait_text_with(
        env, ticket_id, "⚠️ Rendez-vous du 04/03/2026 à 14:30 annulé par le jeune : le créneau"
    )

    camille = env.services.accounts.by_telegram_user(9001)
    env.write(ticket_id, 9001, "/rdv 05/03 9h30 henin")
    wait_text_with(env, ticket_id, "Antenne d'Hénin-Beaumont")
    newest = env.services.appointments.for_ticket(ticket_id)[0]
    env.in_app(desk.cancel(newest.id, camille, via="web"))
    wait_text_with(
        env, ticket_id, "❌ Camille annule le rendez-vous du 05/03/2026 à 09:30 (sur le tableau"
    )


def test_attendance_buttons(env: Env, clock: FixedClock) -> None:
    _, ticket_id = held_ticket(env)
    env.counsellor("Dominique", 9002)
    env.write(ticket_id, 9001, "/rdv 04/03 14h30 tel 03 21 00 00 00")
    wait_text_with(env, ticket_id, "📆 Camille propose")
    [view] = env.services.appointments.for_ticket(ticket_id)
    clock.advance(days=2, hours=6)  # Wednesday 16:00 in Paris: it has passed
    ticket = env.get(ticket_id)
    env.in_app(env.services.desk.notify("appointment_unmarked", ticket, None, appointment=view))
    wait_text_with(env, ticket_id, "⏰ Le rendez-vous est passé : Appel téléphonique le 04/03")
    topic = env.get(ticket_id).topic_id
    [question] = [
        m
        for m in env.tg.sent_messages(GROUP, thread_id=topic)
        if m["text"].startswith("⏰ Le rendez-vous est passé")
    ]
    assert keyboard(question) == [
        ("Venu·e", f"rv:{view.id}:a"),
        ("Pas venu·e", f"rv:{view.id}:m"),
        ("Reporté", f"rv:{view.id}:r"),
    ]
    qid = question["message_id"]

    # Refused: a stranger, a colleague who does not hold it, forged or misplaced data.
    assert press_on(env, qid, 6666, f"rv:{view.id}:a", "Intrus")["text"] == NOT_REGISTERED
    refused = press_on(env, qid, 9002, f"rv:{view.id}:a", "Dominique")
    assert refused["show_alert"] and "collègue" in refused["text"]
    for forged in (f"rv:{view.id + 1}:a", f"rv:{view.id}:x", "rv:abc:a", f"rv:{view.id}:"):
        assert press_on(env, qid, 9001, forged)["text"] == BUTTON_INVALID
    summary = env.get(ticket_id).topic_message_id
    assert press_on(env, summary, 9001, f"rv:{view.id}:a")["text"] == BUTTON_INVALID
    assert env.services.appointments.get(view.id).status == AppointmentStatus.proposed

    # Two presses at once: marked once.
    answers: list[dict] = []
    presses = [
        threading.Thread(target=lambda: answers.append(press_on(env, qid, 9001, f"rv:{view.id}:a")))
        for _ in range(2)
    ]
    for press in presses:
        press.start()
    for press in presses:
        press.join()
    assert sorted(a["text"] for a in answers) == [
        "Déjà marqué : Venu·e.",
        "Rendez-vous marqué : Venu·e.",
    ]
    marked = env.services.appointments.get(view.id)
    assert marked.status == AppointmentStatus.attended
    events = env.services.tickets.events(ticket_id)
    assert [e.kind for e in events].count(EventKind.appointment_marked) == 1
    edited: Any = eventually(
        lambda: next(
            (
                m
                for m in env.tg.sent_messages(GROUP, thread_id=topic)
                if m["message_id"] == qid and not keyboard(m)
            ),
            None,
        ),
        what="the question without its buttons",
    )
    assert edited["text"].endswith("✅ Venu·e (par Camille)")

    # Marked on the web afterwards: posted in the topic.
    camille = env.services.accounts.by_telegram_user(9001)
    env.in_app(env.services.appointment_desk.mark(view.id, camille, "missed", via="web"))
    wait_text_with(
        env, ticket_id, "📋 Camille : rendez-vous du 04/03/2026 à 14:30 marqué « Pas venu·e »"
    )
