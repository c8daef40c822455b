"""Server-side dashboard sessions, API token expiry and names, and the password policy of the
account service (SQLite and, gated, PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from core.clock import FixedClock
from core.db import Database
from core.models import ApiToken, DashboardSession
from handoff.accounts import AccountError, AccountService
from handoff.passwords import common_passwords, weakness

CLOCK_START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PASSWORD = "un-mot-de-passe-solide"
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture
def accounts(database: Database, clock: FixedClock) -> AccountService:
    return AccountService(
        database,
        clock,
        FAST,
        session_idle=timedelta(hours=2),
        session_lifetime=timedelta(hours=12),
        token_lifetime=timedelta(days=90),
    )


# Sessions --------------------------------------------------------------------------------------
def test_a_session_is_a_random_key_of_which_only_the_hash_is_kept(
    accounts: AccountService, database: Database
) -> None:
    anna = accounts.add("anna@example.org", "Anna", PASSWORD)
    key = accounts.open_session(anna.id, "Mozilla/5.0 " + "x" * 300)
    other = accounts.open_session(anna.id)
    assert key != other and len(key) >= 40
    assert accounts.session_account(key) == anna == accounts.session_account(other)
    with database.transaction() as session:
        rows = session.scalars(select(DashboardSession).order_by(DashboardSession.id)).all()
        assert [len(row.key_hash) for row in rows] == [64, 64]
        assert all(key not in row.key_hash for row in rows)
        assert rows[0].user_agent is not None and len(rows[0].user_agent) == 120
        assert rows[0].expires_at == CLOCK_START + timedelta(hours=12)
    for bad in ("", "x", key + "x", key[:-1], "k" * 500):
        assert accounts.session_account(bad) is None


def test_logout_ends_only_that_session(accounts: AccountService) -> None:
    anna = accounts.add("anna@example.org", "Anna", PASSWORD)
    laptop, phone = accounts.open_session(anna.id), accounts.open_session(anna.id)
    accounts.close_session(laptop)
    assert accounts.session_account(laptop) is None
    assert accounts.session_account(phone) == anna
    accounts.close_session(laptop)  # twice, or an unknown key: nothing happens
    accounts.close_session("unknown")
    assert len(accounts.sessions(anna.id)) == 1


def test_sessions_end_when_idle_and_at_their_lifetime(
    accounts: AccountService, clock: FixedClock
) -> None:
    anna = accounts.add("anna@example.org", "Anna", PASSWORD)
    idle = accounts.open_session(anna.id)
    busy = accounts.open_session(anna.id)
    for _ in range(5):  # 10 hours of clicks every 2 hours: the busy one lives on
        clock.advance(hours=2)
        assert accounts.session_account(busy) == anna
    assert accounts.session_account(idle) is None  # 2 hours without a click
    clock.advance(hours=1, minutes=59)  # 11:59 after login
    assert accounts.session_account(busy) == anna
    clock.advance(minutes=1)  # 12 hours: over, however busy
    assert accounts.session_account(busy) is None
    assert accounts.sessions(anna.id) == []


def test_deactivation_and_password_change_end_every_session(
    accounts: AccountService, clock: FixedClock
) -> None:
    anna = accounts.add("anna@example.org", "Anna", PASSWORD)
    bruno = accounts.add("bruno@example.org", "Bruno", PASSWORD)
    first, second = accounts.open_session(anna.id), accounts.open_session(anna.id)
    brunos = accounts.open_session(bruno.id)
    assert [s.created_at for s in accounts.sessions(anna.id)] == [CLOCK_START] * 2

    assert accounts.set_password(anna.id, "une-phrase-toute-neuve") == 2
    assert accounts.session_account(first) is None and accounts.session_account(second) is None
    assert accounts.session_account(brunos) == bruno  # someone else's: untouched
    again = accounts.open_session(anna.id)  # the new password gives a new session
    assert accounts.session_account(again) == anna

    token = accounts.create_token(bruno.id, "crm")
    assert accounts.deactivate(bruno.id) is True
    assert accounts.session_account(brunos) is None
    assert accounts.authenticate_token(token) is None
    assert accounts.deactivate(bruno.id) is False  # already off
    assert accounts.revoke_sessions(anna.id) == 1
    assert accounts.session_account(again) is None


def test_ended_sessions_are_deleted_at_the_next_login(
    accounts: AccountService, database: Database, clock: FixedClock
) -> None:
    anna = accounts.add("anna@example.org", "Anna", PASSWORD)
    for _ in range(3):
        accounts.close_session(accounts.open_session(anna.id))
    accounts.open_session(anna.id)
    clock.advance(hours=3)  # idle
    accounts.open_session(anna.id)
    with database.transaction() as session:
        assert len(session.scalars(select(DashboardSession)).all()) == 1


# API tokens ------------------------------------------------------------------------------------
def test_tokens_expire_and_are_revoked_by_name(
    accounts: AccountService, database: Database, clock: FixedClock
) -> None:
    anna = accounts.add("anna@example.org", "Anna", PASSWORD)
    crm = accounts.create_token(anna.id, "  crm ")
    script = accounts.create_token(anna.id, "script", lifetime=timedelta(days=7))
    with database.transaction() as session:
        rows = session.scalars(select(ApiToken).order_by(ApiToken.id)).all()
        assert [(t.name, t.expires_at) for t in rows] == [
            ("crm", CLOCK_START + timedelta(days=90)),
            ("script", CLOCK_START + timedelta(days=7)),
        ]
    clock.advance(days=6, hours=23)
    assert accounts.authenticate_token(script) == anna
    clock.advance(hours=1)  # 7 days: the script's token is refused from now on
    assert accounts.authenticate_token(script) is None
    assert accounts.authenticate_token(crm) == anna
    listed = {t.name: t for t in accounts.tokens(anna.id)}
    assert not listed["script"].live(clock.now()) and listed["crm"].live(clock.now())
    assert listed["crm"].last_used_at == clock.now()

    other = accounts.create_token(anna.id, "crm-bis")
    assert accounts.revoke_tokens(anna.id, "crm") == 1
    assert accounts.authenticate_token(crm) is None
    assert accounts.authenticate_token(other) == anna  # another name: kept
    clock.advance(days=90)
    assert accounts.authenticate_token(other) is None  # 90 days by default

    with pytest.raises(AccountError, match="nom"):
        accounts.create_token(anna.id, "   ")
    with pytest.raises(AccountError, match="positive"):
        accounts.create_token(anna.id, "x", lifetime=timedelta(0))


# Password policy -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("court", "trop court"),
        ("azerty", "trop court"),
        ("motdepasse1", "trop court"),
        ("Azerty2024!!!", "trop courant"),
        ("P@ssw0rd123456", "trop courant"),
        ("qwertyuiop123", "trop courant"),
        ("Motdepasse2024!", "trop courant"),
        ("soleil-soleil!", "trop courant"),
        ("aaaaaaaaaaaaaa", "répétitif"),
        ("abababababababab", "répétitif"),
        ("123456789012", "chiffres"),
        ("12-34-56-78-90", "chiffres"),
        ("anna-martin-2026", "prénom"),
        ("Annabelle-du-nord", "prénom"),
        ("mon-Anna.Martin-a-moi", "prénom"),  # the e-mail
        ("x" * 1025 + "abcde", "trop long"),
    ],
)
def test_weak_passwords_are_refused(password: str, why: str) -> None:
    problem = weakness(password, email="anna.martin@example.org", first_name="Anna")
    assert problem is not None and why in problem


@pytest.mark.parametrize(
    "password",
    [PASSWORD, "correct horse battery staple", "la-mer-est-calme-ce-soir", "Tr0mb0ne&Kiwi!"],
)
def test_good_passwords_and_passphrases_pass(password: str) -> None:
    assert weakness(password, email="anna.martin@example.org", first_name="Anna") is None


def test_the_email_is_refused_too() -> None:
    problem = weakness("chez-J.Martin-2026", email="j.martin@example.org", first_name="Jean")
    assert problem is not None and "e-mail" in problem


def test_the_shipped_list() -> None:
    words = common_passwords()
    assert len(words) > 10_000
    assert {"123456", "password", "azerty", "motdepasse", "soleil", "marseille"} <= words


def test_the_policy_applies_to_new_accounts_and_new_passwords(accounts: AccountService) -> None:
    with pytest.raises(AccountError, match="trop courant"):
        accounts.add("bob@example.org", "Bob", "Azerty2024!!!")
    with pytest.raises(AccountError, match="prénom"):
        accounts.add("bob@example.org", "Roberto", "roberto-le-magnifique")
    anna = accounts.add("anna@example.org", "Anna", PASSWORD)
    with pytest.raises(AccountError, match="trop courant"):
        accounts.set_password(anna.id, "Password123456")
    with pytest.raises(AccountError, match="prénom"):
        accounts.set_password(anna.id, "anna-et-ses-chats")
    key = accounts.open_session(anna.id)
    assert accounts.session_account(key) == anna  # a refused change ends nothing
    assert accounts.authenticate("anna@example.org", PASSWORD) == anna
