"""People service and migrations, on SQLite and (gated) PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import select

from core import migrate
from core.clock import FixedClock
from core.db import Database
from core.models import (
    Base,
    Channel,
    ConsentStatus,
    Direction,
    Message,
    Origin,
    YoungPerson,
)
from core.people import LoggedMessage, PeopleService, pseudonymise

SECRET = "s" * 40
HEAD = ScriptDirectory.from_config(migrate.alembic_config("sqlite://")).get_current_head()


def test_migrations_match_models(database: Database) -> None:
    with database.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    url = database.engine.url.render_as_string(hide_password=False)
    assert migrate.current(url) == HEAD


def test_migrations_downgrade_and_upgrade_again(db_url: str) -> None:
    migrate.upgrade(db_url)
    from alembic import command

    command.downgrade(migrate.alembic_config(db_url), "base")
    assert migrate.current(db_url) is None
    migrate.upgrade(db_url)
    assert migrate.current(db_url) == HEAD


def test_identify_is_stable_and_pseudonymous(database: Database) -> None:
    people = PeopleService(database, SECRET)
    first = people.identify(Channel.telegram, "987654321")
    again = people.identify(Channel.telegram, "987654321")
    other_channel = people.identify(Channel.simulator, "987654321")
    assert first.id == again.id
    assert first.pseudo_id == again.pseudo_id == pseudonymise(SECRET, Channel.telegram, "987654321")
    assert "987654321" not in first.pseudo_id
    assert other_channel.pseudo_id != first.pseudo_id
    assert pseudonymise("t" * 40, Channel.telegram, "1") != pseudonymise(
        SECRET, Channel.telegram, "1"
    )
    assert first.consent is ConsentStatus.unknown


def test_messages_kept_only_with_consent(database: Database) -> None:
    clock = FixedClock(datetime(2026, 11, 22, 10, 0, tzinfo=UTC))
    people = PeopleService(database, SECRET, clock)
    person = people.identify(Channel.telegram, "42")
    hello = [LoggedMessage(Direction.incoming, Origin.youth, "slt")]
    assert people.log_messages(person.id, hello) == 0
    assert people.transcript(person.pseudo_id) == []

    people.record_consent(person.pseudo_id, granted=True)
    assert people.get(person.pseudo_id).consent is ConsentStatus.granted  # type: ignore[union-attr]
    kept = people.log_messages(
        person.id, hello + [LoggedMessage(Direction.outgoing, Origin.bot, "Salut !")]
    )
    assert kept == 2
    assert [m.text for m in people.transcript(person.pseudo_id)] == ["slt", "Salut !"]
    with database.transaction() as session:
        stored = session.scalars(select(Message)).all()
        assert all(m.created_at == clock.now() and m.created_at.tzinfo for m in stored)


def test_refusing_consent_drops_the_transcript_and_keeps_the_decision(database: Database) -> None:
    people = PeopleService(database, SECRET)
    person = people.identify(Channel.simulator, "browser-1")
    people.record_consent(person.pseudo_id, granted=True)
    people.log_messages(
        person.id, [LoggedMessage(Direction.incoming, Origin.youth, "jcherche du taf")]
    )
    people.record_consent(person.pseudo_id, granted=False)
    assert people.transcript(person.pseudo_id) == []
    assert [s for s, _ in people.consent_history(person.pseudo_id)] == [
        ConsentStatus.granted,
        ConsentStatus.refused,
    ]


def test_consent_for_unknown_person_is_an_error(database: Database) -> None:
    with pytest.raises(LookupError):
        PeopleService(database, SECRET).record_consent("ynobody", granted=True)


def test_blocked_bot_is_remembered_until_they_come_back(database: Database) -> None:
    people = PeopleService(database, SECRET)
    person = people.identify(Channel.telegram, "77")
    people.mark_blocked(Channel.telegram, "77")
    with database.transaction() as session:
        row = session.get(YoungPerson, person.id)
        assert row is not None and row.blocked_at is not None
    people.identify(Channel.telegram, "77")
    with database.transaction() as session:
        row = session.get(YoungPerson, person.id)
        assert row is not None and row.blocked_at is None


def test_naive_datetimes_are_refused(database: Database) -> None:
    with pytest.raises(Exception, match="naive datetime"):
        with database.transaction() as session:
            session.add(
                YoungPerson(
                    pseudo_id="ynaive",
                    channel=Channel.terminal,
                    channel_user_id="x",
                    created_at=datetime(2026, 1, 1),
                    last_seen_at=datetime(2026, 1, 1),
                )
            )
