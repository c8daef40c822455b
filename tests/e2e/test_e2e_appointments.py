"""End to end, an appointment on Telegram: the real app polling the fake Bot API with the real
python-telegram-bot client, the real sweeper every second at a fixed clock the test moves, and
an engine stand-in (tests/handoff/appointments/support.py: /stop runs the real opt-out action).

Proposal -> "Ça me va" -> the .ics document -> the day-before and 2-hour reminders at the right
local times (across a daylight saving change, one moved earlier out of the night) -> /stop keeps
the reminder -> "je peux plus venir" reaches the ticket; a missed one is nudged the next day."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest

from core.clock import FixedClock
from core.models import AppointmentStatus, Channel, EventKind, FollowUpKind
from handoff.accounts import CounsellorRef
from handoff.requests import TriageSummary
from tests.fakes.telegram_api import FakeTelegramServer
from tests.handoff.appointments.support import (
    OPT_OUT_TEXT,
    StandInEngine,
    move_to,
    paris,
    phone,
    visit,
)
from tests.support import TEST_TOKEN, AppServer, free_port, make_settings
from tests.support.telegram import keyboard

T = TypeVar("T")
_chats = itertools.count(762_001)
LENS = TriageSummary(needs=["emploi"], age="19", location="Lens")


@dataclass
class App:
    tg: FakeTelegramServer
    server: AppServer
    clock: FixedClock
    engine: StandInEngine

    @property
    def services(self) -> Any:
        return self.server.services

    def in_app(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a counsellor's operation in the app's event loop (where the bot lives)."""
        assert self.engine.loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self.engine.loop).result(timeout=30)

    def said(self, chat: int, fragment: str, after: int = 0) -> dict[str, Any]:
        """Wait for the bot's message in `chat`, past the first `after`, containing `fragment`."""
        return self.tg.wait_until(
            lambda: next(
                (
                    m
                    for m in self.tg.sent_messages(chat)[after:]
                    if fragment in (m.get("text") or "")
                ),
                None,
            ),
            timeout=30,
            what=f"a message with {fragment!r}",
        )

    def count(self, chat: int) -> int:
        return len(self.tg.sent_messages(chat))

    def press(self, chat: int, message: dict[str, Any], title: str) -> None:
        self.tg.push_callback(chat, message["message_id"], dict(keyboard(message))[title])

    def young_person_with_counsellor(self, chat: int) -> tuple[int, int, CounsellorRef]:
        """A young person who wrote (so the app's loop is known), with a ticket Sam holds."""
        self.tg.push_message(chat, "salut")
        self.said(chat, "réponse à salut")
        people = self.services.people
        person = people.identify(Channel.telegram, str(chat))
        people.record_consent(person.pseudo_id, True)
        ticket = self.services.handoff.request(person.pseudo_id, LENS, source="triage").ticket_id
        team = self.services.tickets.get(ticket).team
        sam = self.services.accounts.add(
            f"sam.{chat}@ml.example", "Sam", "Un-mot-de-passe-vraiment-solide-2026", team=team
        )
        self.in_app(self.services.desk.claim(ticket, sam, "web"))
        return person.id, ticket, sam

    def reminders_due(self, person_id: int) -> list[datetime]:
        return [
            f.due_at
            for f in self.services.followups.pending(person_id)
            if f.kind == FollowUpKind.appointment_reminder
        ]


def serve(folder: Path, start: datetime) -> Iterator[App]:
    clock = FixedClock(start)
    with FakeTelegramServer() as tg:
        settings = make_settings(
            folder,
            telegram_bot_token=TEST_TOKEN,
            telegram_api_base_url=tg.url,
            rasa_url=f"http://127.0.0.1:{free_port()}",  # replaced by the stand-in below
            nudges={"sweep_every": "1s"},  # the repository's quiet hours: 21:00-09:00, Sundays
        )
        with AppServer(settings, clock=clock) as server:
            engine = StandInEngine(server.services.nudge_rules)
            server.services.pipeline.engine = engine
            yield App(tg, server, clock, engine)


@pytest.fixture
def march_2026(tmp_path: Path) -> Iterator[App]:
    yield from serve(tmp_path, datetime(2026, 3, 2, 9, 0, tzinfo=UTC))  # Monday 10:00 in Paris


@pytest.fixture
def march_2027(tmp_path: Path) -> Iterator[App]:
    yield from serve(tmp_path, datetime(2027, 3, 26, 9, 0, tzinfo=UTC))  # Friday 10:00 (CET)


def test_confirmed_reminded_then_cancelled_by_the_young_person(march_2026: App) -> None:
    app, chat = march_2026, next(_chats)
    person_id, ticket, sam = app.young_person_with_counsellor(chat)
    wednesday = paris(2026, 3, 4, 14, 30)
    view = app.in_app(app.services.appointment_desk.propose(ticket, sam, visit(wednesday), "web"))

    proposal = app.said(chat, "Sam te propose un rdv sur place mercredi 4 mars à 14h30")
    assert "Mission Locale de Lens (démo)" in proposal["text"]
    assert [t for t, _ in keyboard(proposal)] == [
        "Ça me va",
        "Pas possible, on change ?",
        "Je sais pas encore",
    ]
    app.press(chat, proposal, "Ça me va")
    app.said(chat, "c'est noté pour mercredi 4 mars à 14h30")
    [ics] = app.tg.wait_until(lambda: app.tg.documents(chat) or None, timeout=30, what="the .ics")
    assert ics["file_name"] == "rendez-vous-2026-03-04-14h30.ics"
    content = ics["content"].decode("utf-8")
    assert "BEGIN:VEVENT" in content and "DTSTART;TZID=Europe/Paris:20260304T143000" in content
    assert app.services.appointments.get(view.id).status == AppointmentStatus.confirmed

    # The day before at 14:30 local, then 2 hours before.
    assert app.reminders_due(person_id) == [paris(2026, 3, 3, 14, 30)]
    before = app.count(chat)
    move_to(app.clock, paris(2026, 3, 3, 14, 30))
    reminder = app.said(chat, "Petit rappel : un rdv sur place demain à 14h30 avec Sam", before)
    assert [t for t, _ in keyboard(reminder)] == ["Je peux plus venir"]
    app.tg.wait_until(
        lambda: app.reminders_due(person_id) == [paris(2026, 3, 4, 12, 30)] or None,
        timeout=30,
        what="the 2-hour reminder planned",
    )
    before = app.count(chat)
    move_to(app.clock, paris(2026, 3, 4, 12, 30))
    app.said(chat, "C'est bientôt : un rdv sur place aujourd'hui à 14h30 avec Sam", before)

    # "je peux plus venir": cancelled at once, the ticket shows it.
    before = app.count(chat)
    app.tg.push_message(chat, "jpeux plus venir dsl")
    app.said(chat, "Ok, j'annule le rdv de aujourd'hui à 14h30 et je préviens Sam", before)
    cancelled = app.services.appointments.get(view.id)
    assert cancelled.status == AppointmentStatus.cancelled and cancelled.cancelled_by == "youth"
    events = app.services.tickets.events(ticket)
    [event] = [e for e in events if e.kind == EventKind.appointment_cancelled]
    assert event.data["by"] == "youth" and event.via == "bot"
    assert "jpeux plus venir dsl" in [m.text for m in app.services.tickets.transcript(ticket)]
    assert app.engine.received == ["salut"]  # none of it went to the engine


def test_across_the_spring_change_quiet_hours_and_stop(march_2027: App) -> None:
    app, chat = march_2027, next(_chats)
    person_id, ticket, sam = app.young_person_with_counsellor(chat)
    # Proposed in winter time for Tuesday 30 March 2027 at 9:30, summer time since Sunday 2:00.
    tuesday = paris(2027, 3, 30, 9, 30)
    view = app.in_app(app.services.appointment_desk.propose(ticket, sam, phone(tuesday), "web"))
    proposal = app.said(chat, "Sam te propose un appel mardi 30 mars à 9h30")
    assert "On t'appelle au 03 21 00 00 00" in proposal["text"]
    app.press(chat, proposal, "Ça me va")
    app.said(chat, "c'est noté pour mardi 30 mars à 9h30")

    # Monday 9:30 summer time (Easter Monday: a holiday, quiet for nudges, fine for a
    # reminder), then the 2-hour one, 7:30 Tuesday in the night's quiet hours, moved to Monday
    # 20:59.
    assert app.reminders_due(person_id) == [paris(2027, 3, 29, 9, 30)]
    assert app.reminders_due(person_id)[0].hour == 7  # 9:30 CEST in UTC (it was CET when set)
    before = app.count(chat)
    move_to(app.clock, paris(2027, 3, 29, 9, 30))
    app.said(chat, "Petit rappel : un appel demain à 9h30 avec Sam", before)
    app.tg.wait_until(
        lambda: app.reminders_due(person_id) == [paris(2027, 3, 29, 20, 59)] or None,
        timeout=30,
        what="the second reminder planned at 20:59",
    )

    # /stop: no more nudges, but the appointment is asked about; "Garder" keeps its reminder.
    before = app.count(chat)
    app.tg.push_message(chat, "/stop")
    app.said(chat, OPT_OUT_TEXT, before)
    question = app.said(chat, "Tu as un rdv demain à 9h30", before)
    app.press(chat, question, "Garder le rdv")
    app.said(chat, "ton rdv est gardé", before)
    assert app.reminders_due(person_id) == [paris(2027, 3, 29, 20, 59)]

    before = app.count(chat)
    move_to(app.clock, paris(2027, 3, 29, 20, 59))
    app.said(chat, "Petit rappel : un appel demain à 9h30 avec Sam", before)
    app.tg.wait_until(
        lambda: app.services.appointments.get(view.id).reminders_sent == 2 or None,
        timeout=30,
        what="two reminders counted",
    )
    assert app.reminders_due(person_id) == []


def test_a_missed_appointment_is_nudged_the_next_day(march_2026: App) -> None:
    app, chat = march_2026, next(_chats)
    person_id, ticket, sam = app.young_person_with_counsellor(chat)
    tuesday = paris(2026, 3, 3, 14, 30)
    view = app.in_app(app.services.appointment_desk.propose(ticket, sam, phone(tuesday), "web"))
    app.press(chat, app.said(chat, "Sam te propose un appel demain à 14h30"), "Ça me va")
    app.said(chat, "c'est noté pour demain à 14h30")

    # An hour after its end, the counsellors are asked on the ticket.
    move_to(app.clock, paris(2026, 3, 3, 16, 15))
    asked = "Rendez-vous de 14h30 passé : dis s'il a eu lieu (venu·e, pas venu·e, reporté)."
    app.tg.wait_until(
        lambda: asked in [n.text for n in app.services.tickets.notes(ticket)] or None,
        timeout=30,
        what="the note asking to mark it",
    )
    app.in_app(app.services.appointment_desk.mark(view.id, sam, "missed", "web"))
    assert app.services.tickets.get(ticket).follow_up_at == paris(2026, 3, 4, 10)

    before = app.count(chat)
    move_to(app.clock, paris(2026, 3, 4, 10))
    app.said(chat, "On s'est loupé·es pour le dernier rdv", before)
    assert person_id
