"""Campaign deep links (`t.me/<bot>?start=<code>`, bot/start_codes.py) on Telegram: the real app
polling the fake Bot API with the real python-telegram-bot client, an echo engine over real HTTP
(tests/support/echo_engine.py: what the engine was sent is the point, not the dialogue) and a
real SQLite database.

A known code attributes the person (first touch, then touches); an unknown or malformed one is
a plain /start: the same answer, nothing recorded, nothing logged; the engine only ever gets
"/start"."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from core.campaigns import CampaignDraft, CampaignView
from core.models import CampaignChannel, CampaignTouch, Channel, YoungPerson
from core.people import pseudonymise
from handoff.requests import TriageSummary
from tests.fakes.telegram_api import FakeTelegramServer
from tests.support import TEST_TOKEN, AppServer, make_settings
from tests.support.echo_engine import EchoEngine, answer

_chats = itertools.count(742_001)
APP_PACKAGES = {"core", "bot", "handoff", "nudges", "studio", "actions", "web", "maraude"}
PLAIN = answer("/start")  # what a plain /start gets from the echo engine
# Anything a link or a typed message could carry after /start that is not a campaign code.
MALFORMED = [
    "k" * 65,  # one character too many for a start parameter
    "tiktok!rentree",
    "flyers/gare",
    "x'; DROP TABLE campaign_touch;--",
    "' OR 1=1 --",
    "rentrée-🎉",
    "ﬂyers",  # a ligature: not ASCII
    "%27%3B",
]


def logged(record: logging.LogRecord) -> bool:
    """A record a deployment writes: the app's own at any level, the libraries' from INFO (the
    Telegram library's DEBUG lines quote every update, whatever the app does)."""
    return record.levelno >= logging.INFO or record.name.split(".")[0] in APP_PACKAGES


@dataclass
class Bot:
    tg: FakeTelegramServer
    engine: EchoEngine
    server: AppServer

    @property
    def services(self) -> Any:
        return self.server.services

    def pseudo(self, chat: int) -> str:
        return pseudonymise(self.server.services.settings.secret_key, Channel.telegram, str(chat))

    def send(self, chat: int, text: str) -> str:
        """`text` sent by the young person of `chat`; the bot's answer."""
        before = len(self.tg.sent_messages(chat))
        self.tg.push_message(chat, text)
        return str(self.tg.wait_for_messages(chat, before + 1, timeout=30)[before]["text"])

    def campaign(self, name: str, channel: CampaignChannel) -> CampaignView:
        return self.services.campaigns.create(CampaignDraft(name, channel))

    def touches(self, chat: int) -> list[int]:
        """The campaigns that reached the person of `chat`, first first."""
        return [c.id for c, _ in self.services.campaigns.touches(self.pseudo(chat))]

    def first(self, chat: int) -> int | None:
        first = self.services.campaigns.first_touch(self.pseudo(chat))
        return None if first is None else int(first.id)

    def touch_rows(self) -> int:
        with self.services.db.transaction() as session:
            return int(session.scalar(select(func.count()).select_from(CampaignTouch)) or 0)


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bot]:
    folder = tmp_path_factory.mktemp("start-codes")
    with FakeTelegramServer() as tg, EchoEngine() as engine:
        settings = make_settings(
            folder,
            telegram_bot_token=TEST_TOKEN,
            telegram_api_base_url=tg.url,
            rasa_url=engine.url,
        )
        with AppServer(settings) as server:
            yield Bot(tg, engine, server)


def test_a_campaign_link_attributes_the_person_and_the_engine_gets_a_plain_start(
    bot: Bot,
) -> None:
    tiktok = bot.campaign("Rentrée TikTok", CampaignChannel.tiktok)
    chat = next(_chats)
    assert bot.send(chat, f"/start {tiktok.code}") == PLAIN
    assert bot.first(chat) == tiktok.id and bot.touches(chat) == [tiktok.id]
    assert bot.engine.messages(bot.pseudo(chat)) == ["/start"]  # never the code


def test_the_command_addressed_to_the_bot_by_name_attributes_too(bot: Bot) -> None:
    flyers = bot.campaign("Flyers abribus", CampaignChannel.flyer)
    chat = next(_chats)
    assert bot.send(chat, f"/start@{bot.tg.username} {flyers.code}") == PLAIN
    assert bot.first(chat) == flyers.id
    assert bot.engine.messages(bot.pseudo(chat)) == ["/start"]


def test_two_campaigns_keep_the_first_touch_and_record_both(bot: Bot) -> None:
    tiktok = bot.campaign("TikTok mars", CampaignChannel.tiktok)
    flyers = bot.campaign("Flyers gare", CampaignChannel.flyer)
    chat = next(_chats)
    assert bot.send(chat, f"/start {tiktok.code}") == PLAIN
    assert bot.send(chat, f"/start {flyers.code}") == PLAIN
    assert bot.send(chat, f"/start {tiktok.code}") == PLAIN  # the first link again
    assert bot.first(chat) == tiktok.id
    assert bot.touches(chat) == [tiktok.id, flyers.id]
    assert bot.engine.messages(bot.pseudo(chat)) == ["/start"] * 3


def test_a_plain_start_records_nothing(bot: Bot) -> None:
    before = bot.touch_rows()
    chat = next(_chats)
    assert bot.send(chat, "/start") == PLAIN
    assert bot.first(chat) is None and bot.touches(chat) == []
    assert bot.touch_rows() == before


def test_unknown_and_malformed_codes_are_a_plain_start_recorded_and_logged_nowhere(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    known = bot.campaign("Discord serveur quartier", CampaignChannel.discord)
    unknown = known.code[:-1] + ("a" if known.code[-1] != "a" else "b")  # one character off
    before = bot.touch_rows()
    caplog.set_level(logging.DEBUG)
    for text in [unknown, known.code.upper(), f"{known.code} merci", *MALFORMED]:
        chat = next(_chats)
        assert bot.send(chat, f"/start {text}") == PLAIN, text
        assert bot.engine.messages(bot.pseudo(chat)) == ["/start"], text
        assert bot.first(chat) is None and bot.touches(chat) == [], text
        # Nothing said about it, and what followed /start is in no log line.
        assert len(bot.tg.sent_messages(chat)) == 1, text
        assert not [r for r in caplog.records if logged(r) and text in r.getMessage()], text
    assert bot.touch_rows() == before
    with bot.services.db.transaction() as session:  # the database took no harm
        assert session.scalar(select(func.count()).select_from(YoungPerson)) >= len(MALFORMED)
    assert bot.services.campaigns.by_code(known.code) == known


def test_a_person_talking_with_a_counsellor_who_opens_a_campaign_link_is_attributed(
    bot: Bot,
) -> None:
    event = bot.campaign("Forum jeunesse", CampaignChannel.event)
    chat = next(_chats)
    services = bot.services
    person = services.people.identify(Channel.telegram, str(chat))
    ticket = services.handoff.request(
        person.pseudo_id, TriageSummary(needs=["emploi"]), source="triage"
    ).ticket_id
    team = services.tickets.get(ticket).team
    awa = services.accounts.add(
        f"awa.{chat}@ml.example.org", "Awa", "Un-mot-de-passe-bien-long-2026", team=team
    )
    services.tickets.claim(ticket, awa, "web")
    assert services.tickets.relaying_ticket(person.id) is not None

    bot.send(chat, f"/start {event.code}")
    assert bot.first(chat) == event.id and bot.touches(chat) == [event.id]
    assert bot.engine.messages(person.pseudo_id) == ["/start"]


def test_the_code_is_not_kept_in_the_conversation(bot: Bot) -> None:
    """With consent the conversation is logged: "/start", not the code (it is a campaign touch,
    not something the young person said)."""
    tiktok = bot.campaign("TikTok avril", CampaignChannel.tiktok)
    chat = next(_chats)
    person = bot.services.people.identify(Channel.telegram, str(chat))
    bot.services.people.record_consent(person.pseudo_id, True)
    bot.send(chat, f"/start {tiktok.code}")
    logged = [m.text for m in bot.services.people.transcript(person.pseudo_id)]
    assert logged == ["/start", PLAIN]
    assert bot.first(chat) == tiktok.id
