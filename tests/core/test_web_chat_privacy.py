"""Personal data of the web chat (web_chat_state, web_outbox) through the real services, on
SQLite and (gated) PostgreSQL: /mesdonnees says what it keeps (the notification address and
when, the messages waiting for the page, never the channel address), and /oubli and the
retention purge remove both tables' rows of the person, and only theirs (cascade); the privacy
notice (/confidentialite) says it, in its version 2026-12e."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from bot.messages import Button, Reply
from core.models import Channel, WebChatState, WebOutboxItem
from core.people import NOTICE_VERSION
from maraude.app import create_app
from tests.support import make_settings
from tests.support.world import World


@pytest.fixture
def world_db_url(db_url: str) -> str:
    return db_url


def rows_of(world: World, model: Any, person_id: int) -> int:
    with world.services.db.transaction() as session:
        query = select(func.count()).select_from(model).where(model.person_id == person_id)
        return int(session.scalar(query) or 0)


def web_person(world: World, key: str, email: str | None = None) -> tuple[int, str]:
    """A web chat young person with two messages waiting (one read) and maybe an address."""
    person_id, pseudo = world.person(key, channel=Channel.web, consent=True)
    store = world.services.webchat_store
    first, *_ = store.push(person_id, [Reply("Salut, c'est Awa.")], sender="Awa (conseiller·e)")
    store.push(
        person_id,
        [Reply("Rdv mercredi ?", buttons=(Button("Ça me va", "/rdv_ok"),))],
        sender="Awa (conseiller·e)",
    )
    store.mark_seen(person_id, first)
    if email:
        store.set_contact(person_id, email)
    assert rows_of(world, WebOutboxItem, person_id) == 2
    assert rows_of(world, WebChatState, person_id) == 1
    return person_id, pseudo


async def test_the_export_says_what_the_web_chat_keeps(world: World) -> None:
    person_id, pseudo = web_person(world, "hash-of-a-token", "lina@example.org")
    exporter = world.services.pipeline.rights.exporter  # type: ignore[union-attr]
    data = exporter.export(pseudo)
    assert data is not None
    exported = json.loads(data.as_json())
    web = exported["web_chat"]
    assert web["email"] == "lina@example.org" and web["email_at"]
    assert web["pending_messages"] == 1 and web["read_messages_kept"] == 1
    assert [(m["from"], m["text"]) for m in web["pending"]] == [
        ("Awa (conseiller·e)", "Rdv mercredi ?")
    ]
    assert "web_outbox" not in exported["other"] and "web_chat_state" not in exported["other"]
    # The channel address (a keyed hash of the browser's token) is never written out.
    assert "hash-of-a-token" not in data.as_json()
    readable = data.as_text()
    assert "hash-of-a-token" not in readable
    for expected in (
        "Tu nous écris sur : le chat du site",
        "== Le chat du site ==",
        "jamais la conversation elle-même",
        "Ton adresse e-mail pour être prévenu·e d'une réponse (sans son contenu) : "
        "lina@example.org",
        "Messages qui t'attendent sur la page du chat : 1",
        "Awa (conseiller·e) : Rdv mercredi ?",
    ):
        assert expected in readable, expected

    # Without an address, the export says so; a Telegram young person has no such section.
    world.services.webchat_store.set_contact(person_id, None)
    again = exporter.export(pseudo)
    assert again is not None and again.data["web_chat"]["email"] is None
    assert "Pas d'adresse e-mail" in again.as_text()
    _, telegram = world.person("5555", consent=True)
    other = exporter.export(telegram)
    assert other is not None and other.data["web_chat"] is None
    assert "Le chat du site" not in other.as_text()


async def test_oubli_removes_the_web_chat_rows_of_the_person_only(world: World) -> None:
    gone, pseudo = web_person(world, "token-a", "a@example.org")
    kept, _ = web_person(world, "token-b", "b@example.org")
    await world.desk.forget(pseudo, world.services.erasure.erase_app)
    assert world.people.get(pseudo) is None
    assert rows_of(world, WebOutboxItem, gone) == 0
    assert rows_of(world, WebChatState, gone) == 0
    assert rows_of(world, WebOutboxItem, kept) == 2
    assert world.services.webchat_store.contact(kept) == "b@example.org"


async def test_the_retention_purge_removes_the_web_chat_rows(world: World) -> None:
    person_id, _ = web_person(world, "token-c", "c@example.org")
    retention = world.services.retention
    assert retention is not None
    dry = await retention.purge(
        world.services.desk.forget, retention.as_of_day(date(2030, 1, 1)), dry_run=True
    )
    assert dry.people == 1 and rows_of(world, WebOutboxItem, person_id) == 2
    report = await retention.purge(
        world.services.desk.forget, retention.as_of_day(date(2030, 1, 1))
    )
    assert report.people == 1
    assert rows_of(world, WebOutboxItem, person_id) == 0
    assert rows_of(world, WebChatState, person_id) == 0


def test_the_notice_tells_what_the_web_chat_keeps(tmp_path: Path) -> None:
    assert NOTICE_VERSION == "2026-12e"  # the notice changed: consents say which one
    plain = make_settings(tmp_path / "plain")
    with TestClient(create_app(plain)) as client:
        page = client.get("/confidentialite").text
    assert 'id="chat-web"' in page
    for fact in ("jeton tiré au hasard", "jamais la conversation elle-même", "sans son contenu"):
        assert fact in page, fact
    assert "« Quitter vite »" in page
    assert "service qui envoie les e-mails" not in page  # no e-mail notices configured
    mailing = make_settings(
        tmp_path / "mail",
        webchat={"email": {"smtp_host": "smtp.example.org", "sender": "maraude@example.org"}},
    )
    with TestClient(create_app(mailing)) as client:
        assert "service qui envoie les e-mails" in client.get("/confidentialite").text
