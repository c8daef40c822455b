"""Erasure service on SQLite and (gated) PostgreSQL, with a tracker table shaped like Rasa's."""

from __future__ import annotations

from sqlalchemy import func, select

from core.db import Database
from core.erasure import ErasureService
from core.models import Channel, ConsentRecord, Direction, Message, Origin
from core.people import LoggedMessage, PeopleService
from tests.support.trackers_store import events, metadata


def test_erase_removes_the_person_everywhere_and_nobody_else(database: Database) -> None:
    metadata.create_all(database.engine)
    people = PeopleService(database, "e" * 40)
    alice = people.identify(Channel.telegram, "1")
    bob = people.identify(Channel.telegram, "2")
    for person in (alice, bob):
        people.record_consent(person.pseudo_id, granted=True)
        people.log_messages(person.id, [LoggedMessage(Direction.incoming, Origin.youth, "slt")])
    with database.transaction() as session:
        for sender in (alice.pseudo_id, alice.pseudo_id, bob.pseudo_id):
            session.execute(events.insert().values(sender_id=sender, type_name="user"))

    report = ErasureService(database, database).erase(alice.pseudo_id)

    assert report.person_erased and report.tracker_events_erased == 2
    assert people.get(alice.pseudo_id) is None
    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Message)) == 1
        assert session.scalar(select(func.count()).select_from(ConsentRecord)) == 1
        remaining = session.execute(select(events.c.sender_id)).scalars().all()
    assert remaining == [bob.pseudo_id]
    assert people.transcript(bob.pseudo_id)


def test_erase_without_tracker_table_still_erases_the_app_side(database: Database) -> None:
    people = PeopleService(database, "e" * 40)
    person = people.identify(Channel.simulator, "browser-x")
    report = ErasureService(database, database).erase(person.pseudo_id)
    assert report.person_erased and report.tracker_events_erased == 0
    assert people.get(person.pseudo_id) is None


def test_erase_removes_tickets_notes_events_and_relayed_messages(database: Database) -> None:
    from core.models import HandoffRequest, Role, Ticket, TicketEvent, TicketNote
    from core.settings import load_settings
    from handoff.accounts import AccountService
    from handoff.requests import HandoffService, TriageSummary
    from handoff.tickets import TicketService
    from tests.support import ROOT, repo_router

    settings = load_settings(ROOT / "maraude.yml")
    people = PeopleService(database, "e" * 40)
    handoff = HandoffService(database, repo_router())
    tickets = TicketService(database, settings.handoff, repo_router())
    lea = AccountService(database).add(
        "lea@example.org", "Léa", "tournesol-velo-47", role=Role.manager
    )
    kept, erased = people.identify(Channel.telegram, "1"), people.identify(Channel.telegram, "2")
    for person in (kept, erased):
        ref = handoff.request(person.pseudo_id, TriageSummary(needs=["emploi"]), source="triage")
        tickets.claim(ref.ticket_id, lea)
        tickets.reply(ref.ticket_id, lea, "Salut, c'est Léa")
        tickets.youth_message(ref.ticket_id, "ok merci")
        tickets.add_note(ref.ticket_id, lea, "Rappeler lundi")

    ErasureService(database, database).erase(erased.pseudo_id)

    with database.transaction() as session:
        for model in (Ticket, HandoffRequest, TicketNote):
            assert session.scalar(select(func.count()).select_from(model)) == 1, model
        assert session.scalar(select(func.count()).select_from(Message)) == 2
        ticket_ids = set(session.scalars(select(TicketEvent.ticket_id)))
        assert ticket_ids == {session.scalar(select(Ticket.id))}
    assert AccountService(database).get(lea.id) is not None  # the counsellor stays
