"""Counsellor accounts and API tokens (SQLite and, gated, PostgreSQL), and `maraude user`."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from core.clock import FixedClock
from core.db import Database
from core.models import ApiToken, Counsellor, Role
from handoff.accounts import AccountError, AccountService
from maraude.cli import main
from tests.support import write_config

CLOCK_START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PASSWORD = "un-mot-de-passe-solide"
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture
def accounts(database: Database, clock: FixedClock) -> AccountService:
    return AccountService(database, clock, FAST)


def stored(database: Database, email: str) -> Counsellor:
    with database.transaction() as session:
        row = session.scalar(select(Counsellor).where(Counsellor.email == email))
        assert row is not None
        return row


def test_add_keeps_only_an_argon2_hash(accounts: AccountService, database: Database) -> None:
    ref = accounts.add(
        "  Anna.Martin@Example.org ", " Anna ", PASSWORD, role=Role.manager, team="lille"
    )
    assert (ref.email, ref.first_name, ref.role, ref.team) == (
        "anna.martin@example.org",
        "Anna",
        Role.manager,
        "lille",
    )
    row = stored(database, "anna.martin@example.org")
    assert row.password_hash.startswith("$argon2id$")
    assert PASSWORD not in row.password_hash
    assert FAST.verify(row.password_hash, PASSWORD)
    assert row.created_at == CLOCK_START and row.active
    # The plain password is nowhere in the row.
    assert all(PASSWORD not in str(getattr(row, c.key)) for c in Counsellor.__table__.columns)


def test_authenticate(accounts: AccountService) -> None:
    ref = accounts.add("anna@example.org", "Anna", PASSWORD)
    assert accounts.authenticate("ANNA@example.org ", PASSWORD) == ref
    assert accounts.authenticate("anna@example.org", PASSWORD + "x") is None
    assert accounts.authenticate("anna@example.org", "") is None
    assert accounts.authenticate("nobody@example.org", PASSWORD) is None
    accounts.deactivate(ref.id)
    assert accounts.authenticate("anna@example.org", PASSWORD) is None
    assert accounts.get(ref.id) is None and accounts.by_email("anna@example.org") is None


def test_an_outdated_hash_is_upgraded_at_login(database: Database, clock: FixedClock) -> None:
    AccountService(database, clock, FAST).add("anna@example.org", "Anna", PASSWORD)
    old = stored(database, "anna@example.org").password_hash
    stronger = PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1)
    assert AccountService(database, clock, stronger).authenticate("anna@example.org", PASSWORD)
    new = stored(database, "anna@example.org").password_hash
    assert new != old and not stronger.check_needs_rehash(new)
    assert stronger.verify(new, PASSWORD)


def test_bad_accounts_are_refused(accounts: AccountService) -> None:
    accounts.add("anna@example.org", "Anna", PASSWORD, telegram_user_id=4242)
    with pytest.raises(AccountError, match="existe déjà"):
        accounts.add("Anna@Example.org", "Anna bis", PASSWORD)
    with pytest.raises(AccountError, match="existe déjà"):
        accounts.add("other@example.org", "Other", PASSWORD, telegram_user_id=4242)
    with pytest.raises(AccountError, match="e-mail invalide"):
        accounts.add("anna", "Anna", PASSWORD)
    with pytest.raises(AccountError, match="prénom"):
        accounts.add("bob@example.org", "  ", PASSWORD)
    with pytest.raises(AccountError, match="trop court"):
        accounts.add("bob@example.org", "Bob", "court")
    assert [a.email for a in accounts.list()] == ["anna@example.org"]


def test_lookups_and_list(accounts: AccountService) -> None:
    anna = accounts.add("anna@example.org", "Anna", PASSWORD, team="lille", telegram_user_id=7)
    bruno = accounts.add("bruno@example.org", "Bruno", PASSWORD, team="lens")
    chloe = accounts.add("chloe@example.org", "Chloé", PASSWORD, team="lille")
    assert accounts.by_telegram_user(7) == anna
    assert accounts.by_telegram_user(8) is None
    assert accounts.get(bruno.id) == bruno and accounts.by_email("BRUNO@example.org") == bruno
    assert [a.first_name for a in accounts.list()] == ["Anna", "Bruno", "Chloé"]
    assert accounts.list(team="lille") == [anna, chloe]
    accounts.deactivate(anna.id)
    assert accounts.by_telegram_user(7) is None
    assert accounts.list(team="lille") == [chloe]
    with pytest.raises(AccountError):
        accounts.deactivate(999_999)


def test_set_password(accounts: AccountService) -> None:
    anna = accounts.add("anna@example.org", "Anna", PASSWORD)
    accounts.set_password(anna.id, "un-autre-mot-de-passe")
    assert accounts.authenticate("anna@example.org", PASSWORD) is None
    assert accounts.authenticate("anna@example.org", "un-autre-mot-de-passe") == anna
    with pytest.raises(AccountError, match="trop court"):
        accounts.set_password(anna.id, "x")


def test_api_tokens(accounts: AccountService, database: Database, clock: FixedClock) -> None:
    anna = accounts.add("anna@example.org", "Anna", PASSWORD)
    bruno = accounts.add("bruno@example.org", "Bruno", PASSWORD)
    raw = accounts.create_token(anna.id, "crm")
    other = accounts.create_token(anna.id, "script")
    assert raw.startswith("mrd_") and len(raw) > 40 and raw != other
    with database.transaction() as session:
        rows = session.scalars(select(ApiToken).order_by(ApiToken.id)).all()
        assert [(t.name, t.last_used_at) for t in rows] == [("crm", None), ("script", None)]
        assert all(raw not in t.token_hash and len(t.token_hash) == 64 for t in rows)

    clock.advance(minutes=5)
    assert accounts.authenticate_token(raw) == anna
    with database.transaction() as session:
        used = session.scalar(select(ApiToken).where(ApiToken.name == "crm"))
        assert used is not None and used.last_used_at == clock.now()

    assert accounts.authenticate_token(raw + "x") is None
    assert accounts.authenticate_token(raw.removeprefix("mrd_")) is None
    assert accounts.authenticate_token("mrd_" + "a" * 300) is None
    assert accounts.authenticate_token("") is None

    bruno_token = accounts.create_token(bruno.id, "api")
    assert accounts.revoke_tokens(anna.id) == 2
    assert accounts.revoke_tokens(anna.id) == 0
    assert accounts.authenticate_token(raw) is None and accounts.authenticate_token(other) is None
    assert accounts.authenticate_token(bruno_token) == bruno  # only Anna's were revoked
    accounts.deactivate(bruno.id)
    assert accounts.authenticate_token(bruno_token) is None
    with pytest.raises(AccountError):
        accounts.create_token(999_999, "ghost")


# `maraude user` -------------------------------------------------------------------------------
def run(monkeypatch: pytest.MonkeyPatch, config: Path, *argv: str, stdin: str = "") -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main(["--config", str(config), "user", *argv])


def test_cli_user_add_token_list(
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = write_config(tmp_path, database_url=db_url)
    code = run(
        monkeypatch,
        config,
        "add",
        "anna@example.org",
        "--first-name",
        "Anna",
        "--role",
        "manager",
        "--team",
        "lille",
        "--telegram-id",
        "4242",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "Compte créé : anna@example.org (manager, équipe lille)" in captured.out
    assert PASSWORD not in captured.out + captured.err

    bruno = ("add", "bruno@example.org", "--first-name", "Bruno", "--password-stdin")
    assert run(monkeypatch, config, *bruno, stdin=PASSWORD + "\n") == 0
    capsys.readouterr()

    database = Database.from_url(db_url)
    try:
        accounts = AccountService(database)
        anna = accounts.authenticate("anna@example.org", PASSWORD)
        assert anna is not None and anna.role is Role.manager and anna.team == "lille"
        assert accounts.by_telegram_user(4242) == anna
        assert PASSWORD not in stored(database, "anna@example.org").password_hash

        assert run(monkeypatch, config, "token", "anna@example.org", "--name", "crm") == 0
        out = capsys.readouterr().out
        token = out.strip().splitlines()[-1]
        assert "une seule fois" in out and token.startswith("mrd_")
        assert accounts.authenticate_token(token) == anna

        assert run(monkeypatch, config, "list") == 0
        lines = capsys.readouterr().out.strip().splitlines()
        assert lines == [
            "anna@example.org\tAnna\tmanager\tlille",
            "bruno@example.org\tBruno\tcounsellor\t-",
        ]
    finally:
        database.dispose()


def test_cli_user_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    args = ("add", "anna@example.org", "--first-name", "Anna", "--password-stdin")
    assert run(monkeypatch, config, *args, "--team", "atlantis", stdin=PASSWORD + "\n") == 2
    assert "Équipe inconnue : atlantis" in capsys.readouterr().err
    assert run(monkeypatch, config, *args, stdin="court\n") == 2
    assert "trop court" in capsys.readouterr().err
    assert run(monkeypatch, config, *args, stdin=PASSWORD + "\n") == 0
    assert run(monkeypatch, config, *args, stdin=PASSWORD + "\n") == 2
    err = capsys.readouterr().err
    assert "Compte non créé" in err and "existe déjà" in err
    assert run(monkeypatch, config, "token", "nobody@example.org") == 2
    assert "Aucun compte actif pour nobody@example.org" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        run(monkeypatch, config, "add", "x@example.org")  # --first-name is required
