"""The counsellors' Telegram bridge driven through the fake Bot API with the real app:
`running_bridge(folder, telegram)` serves the app with the bridge on, `Env` makes young people,
tickets and counsellors and reads and writes in the counsellors' group."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from core.clock import Clock
from core.models import Channel
from handoff.accounts import CounsellorRef
from handoff.bridge.service import TelegramBridge
from handoff.requests import TriageSummary
from tests.fakes.telegram_api import FakeTelegramServer
from tests.support import TEST_TOKEN, AppServer, make_settings
from tests.support.waiting import eventually

GROUP = -1001234567890
T = TypeVar("T")
_ids = itertools.count(880_001)

SUMMARY_TEAM = "lens"  # where SUMMARY's place routes the ticket (maraude.yml)
SUMMARY = TriageSummary(
    needs=["logement", "emploi"],
    age="19",
    location="Lens",
    situation="sans emploi",
    followed="non",
    contact="ici sur Telegram",
    availability="le matin",
    phone="0612345678",
    questions=["c'est quoi la garantie jeunes ?"],
    writer="proche",
    excerpt="je dors chez un pote en ce moment",
)


@dataclass
class Env:
    """The app served with its bridge on, and the fake Bot API it talks to."""

    server: AppServer
    tg: FakeTelegramServer

    @property
    def services(self) -> Any:
        return self.server.services

    @property
    def bridge(self) -> TelegramBridge:
        bridge = self.services.bridge
        assert bridge is not None
        return bridge

    def in_app(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine in the app's event loop (where the desk and the bot live)."""
        assert self.bridge.loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self.bridge.loop).result(timeout=30)

    def young_person(self) -> tuple[int, str]:
        chat_id = next(_ids)
        person = self.services.people.identify(Channel.telegram, str(chat_id))
        self.services.people.record_consent(person.pseudo_id, True)
        return chat_id, person.pseudo_id

    def ticket(self, pseudo: str, summary: TriageSummary = SUMMARY, **kwargs: Any) -> int:
        ref = self.services.handoff.request(pseudo, summary, source="triage", **kwargs)
        return int(ref.ticket_id)

    def counsellor(self, first_name: str, tg_user: int | None, **kwargs: Any) -> CounsellorRef:
        """An account linked to a Telegram user, by default in the team of SUMMARY's place
        (need to know: a counsellor acts on their team's tickets and the ones they hold)."""
        kwargs.setdefault("team", SUMMARY_TEAM)
        email = f"{first_name.lower()}.{next(_ids)}@example.org"
        return self.services.accounts.add(
            email, first_name, "mot-de-passe-solide", telegram_user_id=tg_user, **kwargs
        )

    def get(self, ticket_id: int) -> Any:
        return self.services.tickets.get(ticket_id)

    def topic_of(self, ticket_id: int) -> Any:
        """The ticket once its topic is opened (topic id and summary message id set)."""
        return eventually(
            lambda: (t := self.get(ticket_id)).topic_id and t.topic_message_id and t,
            what=f"the topic of ticket {ticket_id}",
        )

    def summary(self, ticket_id: int) -> dict[str, Any]:
        ticket = self.get(ticket_id)
        [message] = [
            m
            for m in self.tg.sent_messages(GROUP, thread_id=ticket.topic_id)
            if m["message_id"] == ticket.topic_message_id
        ]
        return message

    def topic_texts(self, ticket_id: int) -> list[str]:
        topic = self.get(ticket_id).topic_id
        return [m["text"] for m in self.tg.sent_messages(GROUP, thread_id=topic)]

    def wait_topic_text(self, ticket_id: int, text: str) -> list[str]:
        return eventually(
            lambda: text in (texts := self.topic_texts(ticket_id)) and texts,
            what=f"{text!r} in the topic of ticket {ticket_id}",
        )

    def private_texts(self, chat_id: int) -> list[str]:
        return [m["text"] for m in self.tg.sent_messages(chat_id)]

    def press(self, ticket_id: int, user: int, data: str, first_name: str = "Camille") -> dict:
        """A group member presses a button on the ticket's summary; returns the answer."""
        message_id = self.get(ticket_id).topic_message_id
        query = self.tg.push_group_callback(GROUP, user, message_id, data, first_name=first_name)
        return eventually(
            lambda: next(
                (a for a in self.tg.callback_answers if a["callback_query_id"] == query), None
            ),
            what=f"the answer to {data!r}",
        )

    def write(self, ticket_id: int, user: int, text: str, first_name: str = "Camille") -> None:
        topic = self.get(ticket_id).topic_id
        self.tg.push_group_message(GROUP, user, text, thread_id=topic, first_name=first_name)


@contextmanager
def running_bridge(
    folder: Path, telegram: FakeTelegramServer, clock: Clock | None = None
) -> Iterator[Env]:
    """The real app (var/ in `folder`) polling `telegram`, its bridge on the group `GROUP`
    (`clock`: the app's clock, e.g. a FixedClock for appointments)."""
    settings = make_settings(
        folder,
        telegram_bot_token=TEST_TOKEN,
        telegram_api_base_url=telegram.url,
        counsellor_group_id=GROUP,
    )
    with AppServer(settings, clock=clock) as server:
        yield Env(server, telegram)
