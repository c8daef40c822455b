"""The export of everything kept about a person (core/export.py): what it holds, what it never
shows (counsellors' e-mails and ids, a simulator session's cookie), and tables it does not know."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, text

from core.models import Channel, Direction, FollowUpKind, Origin
from core.people import LoggedMessage
from handoff.requests import TriageSummary
from tests.support.world import World


@pytest.fixture
def world_db_url(db_url: str) -> str:
    """The export reads every table: on SQLite and on PostgreSQL (where gated)."""
    return db_url


def tracker_events(url: str, sender: str, events: list[tuple[str, dict[str, object]]]) -> None:
    """Rasa's SQLTrackerStore table, with `events` (type, data) of `sender`."""
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, sender_id TEXT, "
                "type_name TEXT, timestamp REAL, intent_name TEXT, action_name TEXT, data TEXT)"
            )
        )
        for type_name, data in events:
            conn.execute(
                text(
                    "INSERT INTO events (sender_id, type_name, timestamp, data) "
                    "VALUES (:s, :t, 1796547600.0, :d)"
                ),
                {"s": sender, "t": type_name, "d": json.dumps({"event": type_name, **data})},
            )
    engine.dispose()


async def test_everything_kept_is_in_both_copies(world: World) -> None:
    person_id, pseudo = world.person("700001", consent=True)
    world.people.log_messages(
        person_id,
        [
            LoggedMessage(Direction.incoming, Origin.youth, "jcherche un taf à Lens"),
            LoggedMessage(Direction.outgoing, Origin.bot, "Ok, je t'aide à chercher."),
        ],
    )
    summary = TriageSummary(needs=["emploi"], age="19", location="Lens", phone="0612345678")
    ticket = await world.ticket(pseudo, summary)
    team = world.tickets.get(ticket).team
    awa = world.counsellor("Awa", team=team)
    await world.desk.add_note(ticket, awa, "Rappeler mardi, motivé·e", via="web")
    world.followups.schedule(
        person_id,
        FollowUpKind.youth_followup,
        world.clock.now() + timedelta(days=3),
        ticket_id=ticket,
        payload={"text": "Awa (conseiller·e) :\nOn se voit jeudi ?"},
    )
    tracker_events(
        world.settings.tracker_store_url,
        pseudo,
        [
            ("user", {"text": "jcherche un taf à Lens"}),
            ("slot", {"name": "age", "value": "19"}),
            ("slot", {"name": "situation", "value": "rien en ce moment"}),
        ],
    )

    data = world.services.pipeline.rights.exporter.export(pseudo)  # type: ignore[union-attr]
    assert data is not None
    exported = json.loads(data.as_json())
    assert exported["person"]["pseudo_id"] == pseudo
    assert exported["person"]["channel_user_id"] == "700001"
    assert [c["status"] for c in exported["consents"]] == ["granted"]
    assert [m["text"] for m in exported["messages"]] == [
        "jcherche un taf à Lens",
        "Ok, je t'aide à chercher.",
    ]
    [request] = exported["handoff_requests"]
    assert (request["age"], request["location"], request["phone"]) == ("19", "Lens", "0612345678")
    [kept] = exported["tickets"]
    assert (kept["id"], kept["status"]) == (ticket, "new")
    assert [(n["author"], n["text"]) for n in kept["notes"]] == [
        ("Awa", "Rappeler mardi, motivé·e")
    ]
    assert "created" in [e["kind"] for e in kept["history"]]
    kinds = {f["kind"] for f in exported["follow_ups"]}
    assert "youth_followup" in kinds
    assert exported["engine_tracker"]["slots"] == {"age": "19", "situation": "rien en ce moment"}
    assert exported["controller"]["dpo_contact"] == world.settings.organisation.dpo_contact
    # Counsellors by first name only: no account id or e-mail leaves the app.
    assert awa.email not in data.as_json()
    assert "author_id" not in json.dumps(kept) and "assignee_id" not in json.dumps(kept)

    readable = data.as_text()
    for expected in (
        "jcherche un taf à Lens",
        "Ton âge : 19",
        "Ce que tu fais en ce moment : rien en ce moment",
        f"Demande n°{ticket}",
        "en attente d'un·e conseiller·e",
        "Ton téléphone : 0612345678",
        "Awa : Rappeler mardi, motivé·e",
        "message prévu par ton/ta conseiller·e",
        "On se voit jeudi ?",
        "d'accord",
        "cnil.fr",
        "/oubli",
    ):
        assert expected in readable, expected
    assert awa.email not in readable


async def test_a_person_never_seen_has_no_export(world: World) -> None:
    exporter = world.services.pipeline.rights.exporter  # type: ignore[union-attr]
    assert exporter.export("y" + "a" * 24) is None
    assert exporter.pseudo_of_ticket(424242) is None


async def test_a_simulator_session_id_is_never_written(world: World) -> None:
    cookie = "sessioncookie-abcdefghijklmnop"
    ref = world.people.identify(Channel.simulator, cookie)
    data = world.services.pipeline.rights.exporter.export(ref.pseudo_id)  # type: ignore[union-attr]
    assert data is not None
    assert cookie not in data.as_json() and cookie not in data.as_text()
    # Nothing stored yet: every section still says so.
    assert "Rien." in data.as_text()
    assert json.loads(data.as_json())["engine_tracker"]["available"] is False
