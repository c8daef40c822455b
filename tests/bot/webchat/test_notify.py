"""The e-mail telling a web chat young person that an answer waits (bot/webchat/notify.py),
through the real services and the job of maraude/jobs.py, to a real SMTP server (aiosmtpd on
a free local port)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from core.clock import FixedClock
from core.models import Channel
from maraude.jobs import (
    WEBCHAT_NOTICES_JOB,
    purge_retention,
    send_webchat_notices,
    webchat_notices,
)
from tests.support import free_port
from tests.support.world import World

# Monday 2 March 2026, 16:00 in Paris (winter time): a working afternoon.
CLOCK_START = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
ADDRESS = "lea.martin@example.org"
SECRET_WORDS = "Ton rendez-vous avec la Mission Locale est jeudi, appelle-moi au 06"
PUBLIC_URL = "https://chat.mission-locale.example"
USER = "page-of-lea"


class Inbox:
    """An aiosmtpd handler keeping what it received: (recipients, parsed message)."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.original_content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.received.append((list(envelope.rcpt_tos), parsed))
        return "250 OK"


class Logins:
    """Accepts one login (the account of `webchat.email.username` and SMTP_PASSWORD)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def __call__(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        pair = (data.login.decode(), data.password.decode())
        self.seen.append(pair)
        return AuthResult(success=pair == ("maraude", "mot-de-passe-smtp"))


class MailServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.inbox = Inbox()
        self.logins = Logins()
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(
            self.inbox,
            hostname="127.0.0.1",
            port=self.port,
            authenticator=self.logins,
            auth_require_tls=False,  # a local relay in the test; STARTTLS is off there
        )
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@pytest.fixture
def mail() -> Iterator[MailServer]:
    server = MailServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def world(tmp_path: Path, clock: FixedClock, mail: MailServer) -> AsyncIterator[World]:
    built = World(
        tmp_path,
        clock,
        server={"public_url": PUBLIC_URL},
        smtp_password="mot-de-passe-smtp",
        webchat={
            "notify_after": "10m",
            "notify_every": "12h",
            "email": {
                "smtp_host": "127.0.0.1",
                "smtp_port": mail.port,
                "starttls": False,
                "username": "maraude",
                "sender": "Mission Locale <ne-pas-repondre@ml.example>",
            },
        },
    )
    yield built
    await built.close()


def web_person(world: World, email: str | None = ADDRESS) -> int:
    person_id, _ = world.person(USER, channel=Channel.web, consent=True)
    if email:
        world.services.webchat_store.set_contact(person_id, email)
    return person_id


async def counsellor_answers(world: World, text: str = SECRET_WORDS) -> None:
    """What the desk does with a counsellor's message to a web chat young person."""
    assert await world.services.webchat.send_texts(USER, [f"Lina (conseillère) : {text}"])


async def run_job(world: World) -> None:
    await send_webchat_notices(webchat_notices(world.services))


def minutes(clock: FixedClock, value: float) -> None:
    clock.advance(minutes=value)


async def test_one_neutral_email_after_notify_after_with_the_link_and_no_content(
    world: World, clock: FixedClock, mail: MailServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    person_id = web_person(world)
    job = world.services.scheduler.get_job(WEBCHAT_NOTICES_JOB)  # type: ignore[union-attr]
    assert job is not None and job.trigger.interval.total_seconds() == 60

    await counsellor_answers(world)
    await run_job(world)
    minutes(clock, 9)
    await run_job(world)
    assert mail.inbox.received == []  # not before notify_after
    minutes(clock, 1)
    await run_job(world)

    [(recipients, message)] = mail.inbox.received
    assert recipients == [ADDRESS] and message["To"] == ADDRESS
    assert message["From"] == "Mission Locale <ne-pas-repondre@ml.example>"
    assert message["Subject"] == "Nouveau message"
    body = message.get_content()
    assert f"{PUBLIC_URL}/chat" in body
    assert "Tu as une réponse" in body and "/oubli" in body and "adresse" in body
    for secret in ("rendez-vous", "Lina", "06", "Mission Locale est"):
        assert secret not in body and secret not in str(message["Subject"])
    assert mail.logins.seen == [("maraude", "mot-de-passe-smtp")]
    assert world.services.webchat_store.last_notified(person_id) == clock.now()
    # Neither the address nor the words in any log line; the person's id is.
    logged = "\n".join(  # the app's records (the test's SMTP server logs its dialogue)
        r.getMessage() for r in caplog.records if not r.name.startswith("mail.")
    )
    assert ADDRESS not in logged and "rendez-vous" not in logged
    assert f"person {person_id}" in logged

    minutes(clock, 60)
    await run_job(world)
    assert len(mail.inbox.received) == 1  # one notice per answer waiting, not one a minute


async def test_a_second_answer_within_notify_every_waits_for_the_period(
    world: World, clock: FixedClock, mail: MailServer
) -> None:
    web_person(world)
    await counsellor_answers(world)
    minutes(clock, 10)
    await run_job(world)
    assert len(mail.inbox.received) == 1
    minutes(clock, 60)
    await counsellor_answers(world, "Tu es toujours là ?")
    minutes(clock, 10)
    await run_job(world)
    minutes(clock, 60)
    await run_job(world)
    assert len(mail.inbox.received) == 1  # 12 h after the first one, not before
    # 17:10 + 12 h = 05:10 the next day: quiet hours, so 09:00.
    clock.advance(hours=12)
    await run_job(world)
    assert len(mail.inbox.received) == 1
    nine = datetime(2026, 3, 3, 8, 0, tzinfo=UTC)  # 09:00 in Paris
    clock.advance(seconds=(nine - clock.now()).total_seconds() - 60)
    await run_job(world)
    assert len(mail.inbox.received) == 1
    minutes(clock, 1)
    await run_job(world)
    assert len(mail.inbox.received) == 2


async def test_quiet_hours_postpone_the_notice_to_the_morning(
    world: World, clock: FixedClock, mail: MailServer
) -> None:
    web_person(world)
    clock.advance(hours=4, minutes=55)  # 20:55 in Paris
    await counsellor_answers(world)
    minutes(clock, 10)  # due at 21:05: quiet
    await run_job(world)
    assert mail.inbox.received == []
    clock.advance(hours=11, minutes=54)  # 08:59
    await run_job(world)
    assert mail.inbox.received == []
    minutes(clock, 1)  # 09:00
    await run_job(world)
    assert len(mail.inbox.received) == 1


async def test_a_mail_server_down_is_tried_again_15_minutes_later(
    world: World, clock: FixedClock, mail: MailServer, caplog: pytest.LogCaptureFixture
) -> None:
    person_id = web_person(world)
    mail.stop()
    await counsellor_answers(world)
    minutes(clock, 10)
    await run_job(world)  # refused: postponed, not lost
    assert world.services.webchat_store.last_notified(person_id) is None
    assert ADDRESS not in caplog.text and "not sent (ConnectionRefusedError)" in caplog.text
    mail.start()
    minutes(clock, 14)
    await run_job(world)
    assert mail.inbox.received == []
    minutes(clock, 1)
    await run_job(world)
    [(recipients, _)] = mail.inbox.received
    assert recipients == [ADDRESS]


async def test_a_wrong_password_is_a_failure_tried_again(
    world: World, clock: FixedClock, mail: MailServer
) -> None:
    web_person(world)
    world.settings.smtp_password = None
    await counsellor_answers(world)
    minutes(clock, 10)
    await run_job(world)
    assert mail.inbox.received == [] and mail.logins.seen == [("maraude", "")]


async def test_a_read_answer_sends_nothing(
    world: World, clock: FixedClock, mail: MailServer
) -> None:
    person_id = web_person(world)
    store = world.services.webchat_store
    await counsellor_answers(world)
    minutes(clock, 5)
    store.mark_seen(person_id, store.last_id(person_id))  # the page showed it
    minutes(clock, 10)
    await run_job(world)
    assert mail.inbox.received == []


async def test_no_address_or_a_removed_one_sends_nothing(
    world: World, clock: FixedClock, mail: MailServer
) -> None:
    person_id = web_person(world, email=None)
    await counsellor_answers(world)
    minutes(clock, 10)
    await run_job(world)
    world.services.webchat_store.set_contact(person_id, ADDRESS)
    world.services.webchat_store.set_contact(person_id, None)
    await counsellor_answers(world)
    minutes(clock, 10)
    await run_job(world)
    assert mail.inbox.received == []


async def test_no_job_without_a_mail_server(tmp_path: Path, clock: FixedClock) -> None:
    plain = World(tmp_path, clock)  # the repository's settings: no webchat.email
    try:
        assert plain.services.scheduler is not None
        assert plain.services.scheduler.get_job(WEBCHAT_NOTICES_JOB) is None
    finally:
        await plain.close()


async def test_the_daily_retention_job_purges_the_read_outbox(
    world: World, clock: FixedClock
) -> None:
    person_id = web_person(world)
    store = world.services.webchat_store
    await counsellor_answers(world, "lu")
    store.mark_seen(person_id, store.last_id(person_id))
    await counsellor_answers(world, "pas encore lu")
    clock.advance(days=2)
    await purge_retention(world.services)
    assert [v.reply.text for v in store.since(person_id, 0)] == [
        "Lina (conseillère) : pas encore lu"
    ]
