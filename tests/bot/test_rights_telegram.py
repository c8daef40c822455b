"""/mesdonnees and /corriger on Telegram: the real app polling the fake Bot API with the real
python-telegram-bot client, the engine down (both work without it)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from core.models import Channel, Direction, FollowUpKind, Origin
from core.people import LoggedMessage
from handoff.requests import TriageSummary
from tests.fakes.telegram_api import FakeTelegramServer
from tests.support import TEST_TOKEN, AppServer, free_port, make_settings
from tests.support.dashboard import DashboardClient
from tests.support.telegram import keyboard

PASSWORD = "Un-mot-de-passe-vraiment-solide-2026"


@dataclass
class Bot:
    tg: FakeTelegramServer
    server: AppServer

    @property
    def services(self) -> Any:
        return self.server.services

    def said(self, chat: int, fragment: str) -> dict[str, Any]:
        """Wait for the bot's message in `chat` that contains `fragment`."""
        return self.tg.wait_until(
            lambda: next(
                (m for m in self.tg.sent_messages(chat) if fragment in (m.get("text") or "")),
                None,
            ),
            timeout=30,
            what=f"a message with {fragment!r}",
        )

    def texts(self, chat: int) -> list[str]:
        return [m.get("text") or "" for m in self.tg.sent_messages(chat)]

    def young_person(self, chat: int, summary: TriageSummary | None = None) -> tuple[str, int]:
        """A young person who said yes, wrote, and (with `summary`) has an open ticket."""
        people = self.services.people
        person = people.identify(Channel.telegram, str(chat))
        people.record_consent(person.pseudo_id, True)
        people.log_messages(
            person.id,
            [
                LoggedMessage(Direction.incoming, Origin.youth, "jcherche un appart à Lille"),
                LoggedMessage(Direction.outgoing, Origin.bot, "Ok, on regarde ça ensemble."),
            ],
        )
        ticket = 0
        if summary is not None:
            ref = self.services.handoff.request(person.pseudo_id, summary, source="triage")
            ticket = ref.ticket_id
        return person.pseudo_id, ticket


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bot]:
    folder = tmp_path_factory.mktemp("rights")
    with FakeTelegramServer() as tg:
        settings = make_settings(
            folder,
            telegram_bot_token=TEST_TOKEN,
            telegram_api_base_url=tg.url,
            rasa_url=f"http://127.0.0.1:{free_port()}",  # nothing listens: the engine is down
        )
        with AppServer(settings) as server:
            yield Bot(tg, server)


LILLE = TriageSummary(needs=["logement"], age="18", location="Lille", phone="0612345678")


def test_mesdonnees_sends_a_readable_file_and_a_json_file(bot: Bot) -> None:
    chat = 731_001
    pseudo, ticket = bot.young_person(chat, LILLE)
    person_id = bot.services.people.get(pseudo).id
    bot.services.followups.schedule(
        person_id,
        FollowUpKind.youth_followup,
        bot.services.clock.now() + timedelta(days=2),
        ticket_id=ticket,
        payload={"text": "Awa (conseiller·e) :\nTu as trouvé ?"},
    )
    bot.tg.push_message(chat, "/mesdonnees")
    files = bot.tg.wait_until(
        lambda: d if len(d := bot.tg.documents(chat)) >= 2 else None,
        timeout=30,
        what="the two files",
    )
    intro = bot.said(chat, "tout ce qu'on garde sur toi")
    assert intro["message_id"] < files[0]["message_id"]  # the message comes before the files
    readable, portable = files
    assert readable["file_name"].endswith(".txt") and portable["file_name"].endswith(".json")
    text = readable["content"].decode("utf-8")
    for expected in (
        "jcherche un appart à Lille",  # messages
        "Ok, on regarde ça ensemble.",
        "Où tu habites : Lille",  # triage answers
        "Ton âge : 18",
        f"Demande n°{ticket}",  # the ticket and its status
        "en attente d'un·e conseiller·e",
        "Ton accord pour garder la conversation : d'accord",  # consent
        "message prévu par ton/ta conseiller·e",  # follow-ups
        "Tu as trouvé ?",
    ):
        assert expected in text, expected
    data = json.loads(portable["content"])
    assert data["person"]["pseudo_id"] == pseudo
    assert [m["text"] for m in data["messages"]][:1] == ["jcherche un appart à Lille"]
    assert data["handoff_requests"][0]["location"] == "Lille"
    assert data["tickets"][0]["status"] == "new"
    assert [c["status"] for c in data["consents"]] == ["granted"]
    assert "youth_followup" in {f["kind"] for f in data["follow_ups"]}
    # Nothing of it is logged as conversation: the command is not a message of the triage.
    logged = [m.text for m in bot.services.people.transcript(pseudo)]
    assert "/mesdonnees" not in logged


def test_corriger_puts_the_correction_on_the_ticket_for_the_counsellor(bot: Bot) -> None:
    chat = 731_002
    _pseudo, ticket = bot.young_person(chat, LILLE)
    bot.tg.push_message(chat, "/corriger")
    ask = bot.said(chat, "Voilà ce que ton ou ta conseiller·e voit")
    assert "Où tu habites : Lille" in ask["text"] and "Ton âge : 18" in ask["text"]
    assert keyboard(ask) == [("Laisser comme ça", "/corriger_annuler")]
    bot.tg.push_message(chat, "jsuis à Roubaix maintenant, pas Lille")
    bot.said(chat, "j'ai transmis ta correction")
    note = "Corrigé par le/la jeune : « jsuis à Roubaix maintenant, pas Lille »"
    assert note in [n.text for n in bot.services.tickets.notes(ticket)]
    # The counsellor of the ticket's team reads it on the ticket page.
    team = bot.services.tickets.get(ticket).team
    bot.services.accounts.add(f"nadia.{team}@ml.fr", "Nadia", PASSWORD, team=team)
    dashboard = DashboardClient.connect(bot.server.url)
    dashboard.login(f"nadia.{team}@ml.fr", PASSWORD)
    page = dashboard.ticket_page(ticket)
    assert page.status_code == 200
    assert "Corrigé par le/la jeune" in page.text and "Roubaix" in page.text
    # In one message too.
    bot.tg.push_message(chat, "/corriger mon tel c'est le 0699999999")
    bot.tg.wait_until(
        lambda: len([t for t in bot.texts(chat) if "j'ai transmis ta correction" in t]) == 2,
        timeout=30,
        what="the second confirmation",
    )
    assert any("0699999999" in n.text for n in bot.services.tickets.notes(ticket))


def test_leaving_it_as_is_stores_nothing_and_the_next_message_is_a_message(bot: Bot) -> None:
    chat = 731_003
    _pseudo, ticket = bot.young_person(chat, LILLE)
    bot.tg.push_message(chat, "/corriger")
    ask = bot.said(chat, "Voilà ce que ton ou ta conseiller·e voit")
    bot.tg.push_callback(chat, ask["message_id"], "/corriger_annuler")
    bot.said(chat, "je ne change rien")
    bot.tg.push_message(chat, "merci")
    bot.said(chat, "Petit souci technique")  # the usual way: the engine is down
    assert bot.services.tickets.notes(ticket) == []


def test_a_crisis_message_is_never_taken_for_a_correction(bot: Bot) -> None:
    chat = 731_004
    _pseudo, ticket = bot.young_person(chat, LILLE)
    bot.tg.push_message(chat, "/corriger")
    bot.said(chat, "Voilà ce que ton ou ta conseiller·e voit")
    bot.tg.push_message(chat, "jveux mourir")
    bot.said(chat, "3114")
    assert not any("Corrigé" in n.text for n in bot.services.tickets.notes(ticket))
    assert bot.services.tickets.get(ticket).urgency == "crisis"


def test_nothing_to_correct_without_an_open_request(bot: Bot) -> None:
    chat = 731_005
    bot.young_person(chat)
    bot.tg.push_message(chat, "/corriger")
    answer = bot.said(chat, "rien à corriger")
    assert "/mesdonnees" in answer["text"]
    bot.tg.push_message(chat, "/corriger j'ai 19 ans")
    bot.tg.wait_until(
        lambda: len([t for t in bot.texts(chat) if "rien à corriger" in t]) == 2,
        timeout=30,
        what="the second answer",
    )


def test_the_command_menu_offers_the_rights(bot: Bot) -> None:
    commands = {c["command"] for c in bot.tg.my_commands()}
    assert {"mesdonnees", "corriger", "oubli", "stop"} <= commands
