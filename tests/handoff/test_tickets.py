"""The hand-off core on real databases: tickets from requests, the queue, every counsellor
action, permissions, the event log, and simultaneous claims (SQLite and, gated, PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from core.clock import FixedClock
from core.db import Database
from core.models import (
    Channel,
    ConsentStatus,
    Direction,
    EventKind,
    Message,
    Origin,
    Role,
    Ticket,
    TicketStatus,
    Urgency,
)
from core.people import LoggedMessage
from handoff.tickets import (
    QueueFilter,
    TicketConflict,
    TicketForbidden,
    TicketInvalid,
    TicketNotFound,
)
from tests.support.tickets import START, Desk, build


@pytest.fixture
def desk(database: Database) -> Desk:
    return build(database, FixedClock(START))


def kinds(desk: Desk, ticket_id: int) -> list[EventKind]:
    return [e.kind for e in desk.tickets.events(ticket_id)]


# Requests become routed tickets -------------------------------------------------------------
@pytest.mark.parametrize(
    ("location", "team", "territory"),
    [
        ("59100", "lille", "Métropole lilloise"),
        ("Lens", "lens", "Lens-Liévin"),
        ("le 25", "montbeliard", "Pays de Montbéliard"),
        ("Tombouctou", "accueil", None),
        (None, "accueil", None),
    ],
)
def test_a_request_opens_a_routed_ticket(
    desk: Desk, location: str | None, team: str, territory: str | None
) -> None:
    _, pseudo = desk.person()
    ref = desk.request(pseudo, location, needs=["need_job"], age="19")
    assert ref.created and ref.ticket_created
    ticket = desk.tickets.get(ref.ticket_id)
    assert (ticket.team, ticket.territory) == (team, territory)
    assert ticket.status is TicketStatus.new and ticket.assignee_id is None
    assert (ticket.urgency, ticket.priority) == (Urgency.normal, 1)
    assert ticket.summary["needs"] == ["need_job"] and ticket.summary["age"] == "19"
    assert ticket.created_at == START and ticket.source == "triage"
    [created] = desk.tickets.events(ref.ticket_id)
    assert created.kind is EventKind.created and created.data == {"source": "triage"}


def test_a_second_request_updates_the_same_open_ticket(desk: Desk) -> None:
    _, pseudo = desk.person()
    first = desk.request(pseudo, None, needs=["need_job"])
    desk.clock.advance(minutes=5)
    second = desk.request(pseudo, "62300", age="20")
    assert second.ticket_id == first.ticket_id and second.id == first.id
    assert not second.created and not second.ticket_created
    ticket = desk.tickets.get(first.ticket_id)
    # The place came later: the still unclaimed ticket moves to the team serving it.
    assert (ticket.team, ticket.territory) == ("lens", "Lens-Liévin")
    assert ticket.summary["needs"] == ["need_job"] and ticket.summary["age"] == "20"
    assert len(desk.tickets.queue()) == 1
    assert kinds(desk, first.ticket_id) == [EventKind.created]


def test_a_crisis_escalates_the_open_ticket_and_nothing_downgrades_it(desk: Desk) -> None:
    _, pseudo = desk.person()
    ref = desk.request(pseudo, "59000")
    desk.clock.advance(minutes=1)
    crisis = desk.request(pseudo, urgency=Urgency.crisis, excerpt="jveux mourir")
    assert crisis.ticket_id == ref.ticket_id and crisis.urgency is Urgency.crisis
    ticket = desk.tickets.get(ref.ticket_id)
    assert (ticket.urgency, ticket.priority, ticket.crisis_kind) == (Urgency.crisis, 0, "suicide")
    events = desk.tickets.events(ref.ticket_id)
    assert [e.kind for e in events] == [EventKind.created, EventKind.escalated]
    assert events[1].data == {"crisis_kind": "suicide"} and events[1].via == "system"

    desk.request(pseudo, "59000", needs=["need_money"])
    again = desk.tickets.get(ref.ticket_id)
    assert (again.urgency, again.priority) == (Urgency.crisis, 0)
    assert kinds(desk, ref.ticket_id) == [EventKind.created, EventKind.escalated]


def test_a_first_request_in_crisis_opens_a_top_priority_ticket(desk: Desk) -> None:
    _, pseudo = desk.person()
    ref = desk.request(pseudo, urgency=Urgency.crisis)
    ticket = desk.tickets.get(ref.ticket_id)
    assert (ticket.urgency, ticket.priority, ticket.source) == (Urgency.crisis, 0, "crisis")
    assert kinds(desk, ref.ticket_id) == [EventKind.created]


def test_without_consent_the_excerpt_is_not_kept(desk: Desk) -> None:
    _, silent = desk.person()
    _, agreed = desk.person(consent=True)
    a = desk.request(silent, excerpt="mes mots")
    b = desk.request(agreed, excerpt="mes mots")
    assert desk.tickets.get(a.ticket_id).summary["excerpt"] is None
    assert desk.tickets.get(b.ticket_id).summary["excerpt"] == "mes mots"


def test_after_resolve_a_new_request_opens_a_new_ticket(desk: Desk) -> None:
    anna = desk.counsellor("Anna")
    _, pseudo = desk.person()
    first = desk.request(pseudo).ticket_id
    desk.tickets.claim(first, anna)
    desk.tickets.resolve(first, anna, "mission_locale")
    second = desk.request(pseudo)
    assert second.ticket_created and second.ticket_id != first
    assert desk.tickets.get(first).status is TicketStatus.resolved


def test_unknown_person_or_ticket(desk: Desk) -> None:
    with pytest.raises(LookupError):
        desk.request("ynobody")
    with pytest.raises(TicketNotFound) as exc:
        desk.tickets.get(999_999)
    assert "#999999" in str(exc.value)


# Queue --------------------------------------------------------------------------------------
def test_queue_puts_crises_first_then_the_longest_waiting(desk: Desk) -> None:
    old = desk.ticket("59100")
    desk.clock.advance(minutes=10)
    newer = desk.ticket("62300")
    desk.clock.advance(minutes=10)
    crisis_pseudo = desk.person()[1]
    crisis = desk.request(crisis_pseudo, urgency=Urgency.crisis).ticket_id
    desk.clock.advance(minutes=10)
    late_pseudo = desk.person()[1]
    late = desk.request(late_pseudo, "59100").ticket_id
    desk.request(late_pseudo, urgency=Urgency.crisis)  # escalated later, still before normals
    assert [t.id for t in desk.tickets.queue()] == [crisis, late, old, newer]

    assert [t.id for t in desk.tickets.queue(QueueFilter(team="lille"))] == [late, old]
    anna = desk.counsellor("Anna", team="lens")
    desk.tickets.claim(newer, anna)
    assert [t.id for t in desk.tickets.queue(QueueFilter(assignee_id=anna.id))] == [newer]
    only_new = QueueFilter(statuses=(TicketStatus.new,))
    assert newer not in [t.id for t in desk.tickets.queue(only_new)]
    desk.tickets.resolve(newer, anna, "autre")
    assert newer not in [t.id for t in desk.tickets.queue()]
    view = desk.tickets.get(old)
    assert view.waiting_minutes(desk.clock.now()) == 30
    assert view.status_label == "Nouveau" and view.reference == f"#{old}"


# Counsellor actions -------------------------------------------------------------------------
def test_claim_then_a_colleague_gets_a_clear_conflict(desk: Desk) -> None:
    anna, bruno = desk.counsellor("Anna"), desk.counsellor("Bruno")
    ticket_id = desk.ticket()
    desk.clock.advance(minutes=7)
    view = desk.tickets.claim(ticket_id, anna, via="telegram")
    assert view.status is TicketStatus.claimed and view.assignee_id == anna.id
    assert view.assignee_name == "Anna" and view.claimed_at == desk.clock.now()
    assert view.relaying and view.waiting_minutes(desk.clock.now() + timedelta(hours=1)) == 7
    # A double click by the holder is harmless.
    assert desk.tickets.claim(ticket_id, anna).assignee_id == anna.id
    with pytest.raises(TicketConflict) as exc:
        desk.tickets.claim(ticket_id, bruno)
    assert str(exc.value) == f"Trop tard : Anna a déjà pris le ticket #{ticket_id}."
    claims = [e for e in desk.tickets.events(ticket_id) if e.kind is EventKind.claimed]
    assert [(e.actor_name, e.via) for e in claims] == [("Anna", "telegram")]


def test_release_puts_the_ticket_back_and_only_the_holder_or_a_manager_may(desk: Desk) -> None:
    anna, bruno = desk.counsellor("Anna"), desk.counsellor("Bruno")
    chef = desk.counsellor("Chloé", role=Role.manager)
    ticket_id = desk.ticket()
    with pytest.raises(TicketConflict, match="n'est pris par personne"):
        desk.tickets.release(ticket_id, anna)
    desk.tickets.claim(ticket_id, anna)
    with pytest.raises(TicketForbidden) as exc:
        desk.tickets.release(ticket_id, bruno)
    assert "collègue" in str(exc.value)
    view = desk.tickets.release(ticket_id, anna)
    assert view.status is TicketStatus.new and view.assignee_id is None
    desk.tickets.claim(ticket_id, bruno)
    assert desk.tickets.release(ticket_id, chef, via="api").status is TicketStatus.new
    released = [e for e in desk.tickets.events(ticket_id) if e.kind is EventKind.released]
    assert [(e.actor_name, e.via) for e in released] == [("Anna", "web"), ("Chloé", "api")]


def test_transfer_to_a_colleague_and_to_a_team(desk: Desk) -> None:
    anna = desk.counsellor("Anna", team="lille")
    bruno = desk.counsellor("Bruno", team="lens")
    ticket_id = desk.ticket("59100")
    desk.tickets.claim(ticket_id, anna)

    view = desk.tickets.transfer(ticket_id, anna, to_counsellor=bruno)
    assert view.assignee_id == bruno.id and view.status is TicketStatus.claimed
    assert view.team == "lens"  # follows the colleague
    with pytest.raises(TicketNotFound):  # now Lens's: Lille no longer sees it
        desk.tickets.transfer(ticket_id, anna, to_team="lille")

    view = desk.tickets.transfer(ticket_id, bruno, to_team="montbeliard", via="api")
    assert (view.team, view.status, view.assignee_id) == ("montbeliard", TicketStatus.new, None)

    # An unclaimed ticket may be handed straight to someone, who then holds it.
    chloe = desk.counsellor("Chloé", team="montbeliard")
    view = desk.tickets.transfer(ticket_id, chloe, to_counsellor=bruno)
    assert (view.status, view.assignee_id) == (TicketStatus.claimed, bruno.id)
    assert view.claimed_at is not None

    with pytest.raises(TicketInvalid):
        desk.tickets.transfer(ticket_id, bruno)
    with pytest.raises(TicketInvalid):
        desk.tickets.transfer(ticket_id, bruno, to_counsellor=anna, to_team="lille")
    with pytest.raises(TicketInvalid, match="Équipe inconnue"):
        desk.tickets.transfer(ticket_id, bruno, to_team="atlantis")
    transfers = [e for e in desk.tickets.events(ticket_id) if e.kind is EventKind.transferred]
    assert [e.data for e in transfers] == [
        {"to_counsellor": bruno.id, "from_team": "lille", "to_team": "lens"},
        {"from_team": "lens", "to_team": "montbeliard"},
        {"to_counsellor": bruno.id, "from_team": "montbeliard", "to_team": "lens"},
    ]
    assert [(e.actor_name, e.via) for e in transfers] == [
        ("Anna", "web"),
        ("Bruno", "api"),
        ("Chloé", "web"),
    ]


def test_reply_is_stored_and_returned_for_delivery(desk: Desk) -> None:
    anna, bruno = desk.counsellor("Anna"), desk.counsellor("Bruno")
    person_id, pseudo = desk.person()
    tid = desk.request(pseudo).ticket_id
    with pytest.raises(TicketConflict, match="Prends le ticket"):
        desk.tickets.reply(tid, anna, "Salut")
    desk.tickets.claim(tid, anna)
    with pytest.raises(TicketForbidden):
        desk.tickets.reply(tid, bruno, "Salut")
    with pytest.raises(TicketInvalid, match="vide"):
        desk.tickets.reply(tid, anna, "   ")
    with pytest.raises(TicketInvalid, match="trop long"):
        desk.tickets.reply(tid, anna, "a" * 5000)

    desk.clock.advance(minutes=3)
    delivery = desk.tickets.reply(tid, anna, "  Salut, je regarde ta demande.  ", via="api")
    assert delivery.text == "Salut, je regarde ta demande."
    assert delivery.counsellor_name == "Anna" and delivery.channel == "telegram"
    assert delivery.channel_user_id
    assert delivery.ticket.status is TicketStatus.waiting_youth
    assert delivery.ticket.first_reply_at == desk.clock.now()
    assert delivery.ticket.last_counsellor_at == desk.clock.now()
    with desk.db.transaction() as session:
        stored = session.get(Message, delivery.message_id)
        assert stored is not None
        assert (stored.ticket_id, stored.counsellor_id) == (tid, anna.id)
        assert (stored.direction, stored.origin) == (Direction.outgoing, Origin.counsellor)
        assert stored.person_id == person_id and stored.text == delivery.text

    first = desk.clock.now()
    desk.clock.advance(minutes=3)
    later = desk.tickets.reply(tid, anna, "Tu es là ?")
    assert later.ticket.first_reply_at == first
    assert later.ticket.last_counsellor_at == desk.clock.now()
    replied = [e for e in desk.tickets.events(tid) if e.kind is EventKind.replied]
    assert [e.data["message"] for e in replied] == [delivery.message_id, later.message_id]
    assert [e.via for e in replied] == ["api", "web"]


def test_youth_message_goes_to_the_ticket(desk: Desk) -> None:
    anna = desk.counsellor("Anna")
    ticket_id = desk.ticket()
    with pytest.raises(TicketConflict):
        desk.tickets.youth_message(ticket_id, "allo ?")  # nobody holds it yet
    desk.tickets.claim(ticket_id, anna)
    desk.tickets.reply(ticket_id, anna, "Salut")
    desk.clock.advance(minutes=2)
    view = desk.tickets.youth_message(ticket_id, "wesh merci")
    assert view.status is TicketStatus.waiting_counsellor
    assert view.last_youth_at == desk.clock.now()
    item = desk.tickets.transcript(ticket_id)[-1]
    assert (item.origin, item.direction, item.text) == (Origin.youth, "in", "wesh merci")
    assert item.in_ticket and item.counsellor_name is None
    assert kinds(desk, ticket_id)[-1] is EventKind.youth_message
    assert desk.tickets.events(ticket_id)[-1].via == "bot"


def test_notes_and_follow_up(desk: Desk) -> None:
    anna, bruno = desk.counsellor("Anna"), desk.counsellor("Bruno")
    ticket_id = desk.ticket()
    note = desk.tickets.add_note(ticket_id, anna, "  Appelle sa mère d'abord.  ")
    desk.clock.advance(minutes=1)
    desk.tickets.add_note(ticket_id, bruno, "<b>pas du HTML</b>", via="telegram")
    assert note.text == "Appelle sa mère d'abord." and note.author_name == "Anna"
    assert [(n.author_name, n.text) for n in desk.tickets.notes(ticket_id)] == [
        ("Anna", "Appelle sa mère d'abord."),
        ("Bruno", "<b>pas du HTML</b>"),
    ]
    with pytest.raises(TicketInvalid):
        desk.tickets.add_note(ticket_id, anna, " ")
    with pytest.raises(TicketInvalid):
        desk.tickets.add_note(ticket_id, anna, "x" * 10_001)

    when = desk.clock.now() + timedelta(days=3)
    assert desk.tickets.set_follow_up(ticket_id, anna, when).follow_up_at == when
    with pytest.raises(TicketInvalid, match="futur"):
        desk.tickets.set_follow_up(ticket_id, anna, desk.clock.now() - timedelta(minutes=1))
    with pytest.raises(TicketInvalid, match="fuseau"):
        desk.tickets.set_follow_up(ticket_id, anna, datetime(2030, 1, 1, 9, 0))  # naive on purpose
    assert desk.tickets.get(ticket_id).follow_up_at == when
    assert desk.tickets.set_follow_up(ticket_id, anna, None).follow_up_at is None
    follow_ups = [e.data for e in desk.tickets.events(ticket_id) if e.kind.value == "follow_up_set"]
    assert follow_ups == [{"at": when.isoformat()}, {"at": None}]


def test_resolve_with_an_outcome(desk: Desk) -> None:
    anna = desk.counsellor("Anna")
    good, bad = desk.ticket(), desk.ticket()
    for ticket_id in (good, bad):
        desk.tickets.claim(ticket_id, anna)
    with pytest.raises(TicketInvalid, match="Issue inconnue"):
        desk.tickets.resolve(good, anna, "lune")
    desk.clock.advance(hours=1)
    view = desk.tickets.resolve(good, anna, "cej", comment="  Signé lundi. ")
    assert (view.status, view.outcome, view.outcome_comment) == (
        TicketStatus.resolved,
        "cej",
        "Signé lundi.",
    )
    assert view.resolved_at == desk.clock.now() and not view.is_open and not view.relaying
    desk.tickets.resolve(bad, anna, "refus")
    [positive] = [e for e in desk.tickets.events(good) if e.kind is EventKind.resolved]
    [negative] = [e for e in desk.tickets.events(bad) if e.kind is EventKind.resolved]
    assert positive.data == {"outcome": "cej", "positive": True}
    assert negative.data == {"outcome": "refus", "positive": False}
    with pytest.raises(TicketConflict, match="déjà clôturé"):
        desk.tickets.resolve(good, anna, "cej")
    with pytest.raises(TicketConflict, match="déjà clôturé"):
        desk.tickets.claim(good, anna)
    with pytest.raises(TicketConflict):
        desk.tickets.reply(good, anna, "encore là ?")
    with pytest.raises(TicketConflict):
        desk.tickets.set_follow_up(good, anna, desk.clock.now() + timedelta(days=1))


def test_close_unreachable(desk: Desk) -> None:
    anna = desk.counsellor("Anna")
    ticket_id = desk.ticket()
    desk.tickets.claim(ticket_id, anna)
    view = desk.tickets.close_unreachable(ticket_id, anna, via="web")
    assert view.status is TicketStatus.closed_unreachable and view.outcome == "sans_reponse"
    assert view.resolved_at == desk.clock.now() and view.status_label.startswith("Clôturé")
    assert desk.tickets.events(ticket_id)[-1].kind is EventKind.closed_unreachable
    with pytest.raises(TicketConflict):
        desk.tickets.close_unreachable(ticket_id)
    system = desk.ticket()
    desk.tickets.close_unreachable(system)
    last = desk.tickets.events(system)[-1]
    assert (last.actor_name, last.via) == (None, "system")


def test_only_the_holder_or_a_manager_resolves(desk: Desk) -> None:
    anna, bruno = desk.counsellor("Anna"), desk.counsellor("Bruno")
    chef = desk.counsellor("Chloé", role=Role.manager)
    admin = desk.counsellor("Dan", role=Role.admin)
    held, waiting = desk.ticket(), desk.ticket()
    desk.tickets.claim(held, anna)
    with pytest.raises(TicketForbidden):
        desk.tickets.resolve(held, bruno, "autre")
    with pytest.raises(TicketConflict):
        desk.tickets.resolve(waiting, anna, "autre")  # nobody holds it: claim first
    assert desk.tickets.get(held).status is TicketStatus.claimed
    assert desk.tickets.resolve(held, chef, "emploi").status is TicketStatus.resolved
    # A manager may close an unclaimed ticket too (e.g. a duplicate).
    assert desk.tickets.resolve(waiting, admin, "autre").status is TicketStatus.resolved
    assert chef.can_manage and admin.can_manage and not anna.can_manage


def test_the_event_log_records_every_step_with_actor_and_via(desk: Desk) -> None:
    anna, bruno = desk.counsellor("Anna"), desk.counsellor("Bruno")
    _, pseudo = desk.person()
    ticket_id = desk.request(pseudo).ticket_id
    desk.request(pseudo, urgency=Urgency.crisis)
    desk.tickets.claim(ticket_id, anna, via="web")
    desk.tickets.release(ticket_id, anna, via="telegram")
    desk.tickets.claim(ticket_id, anna, via="api")
    desk.tickets.transfer(ticket_id, anna, to_counsellor=bruno, via="web")
    desk.tickets.reply(ticket_id, bruno, "Salut", via="telegram")
    desk.tickets.youth_message(ticket_id, "slt")
    desk.tickets.add_note(ticket_id, bruno, "rappeler", via="web")
    desk.tickets.set_follow_up(ticket_id, bruno, START + timedelta(days=2), via="api")
    desk.tickets.resolve(ticket_id, bruno, "formation", via="web")
    log = [(e.kind.value, e.actor_name, e.via) for e in desk.tickets.events(ticket_id)]
    assert log == [
        ("created", None, "system"),
        ("escalated", None, "system"),
        ("claimed", "Anna", "web"),
        ("released", "Anna", "telegram"),
        ("claimed", "Anna", "api"),
        ("transferred", "Anna", "web"),
        ("replied", "Bruno", "telegram"),
        ("youth_message", None, "bot"),
        ("noted", "Bruno", "web"),
        ("follow_up_set", "Bruno", "api"),
        ("resolved", "Bruno", "web"),
    ]
    assert all(e.created_at.tzinfo is not None for e in desk.tickets.events(ticket_id))


def test_transcript_shows_the_whole_conversation_with_names(desk: Desk) -> None:
    anna = desk.counsellor("Anna")
    person_id, pseudo = desk.person(consent=True)
    desk.people.log_messages(
        person_id,
        [
            LoggedMessage(Direction.incoming, Origin.youth, "jcherche un taf"),
            LoggedMessage(Direction.outgoing, Origin.bot, "Tu veux parler à quelqu'un ?"),
        ],
    )
    ticket_id = desk.request(pseudo).ticket_id
    desk.tickets.claim(ticket_id, anna)
    desk.tickets.log_bot_message(ticket_id, "Anna, conseiller·e, a pris ta demande.")
    delivery = desk.tickets.reply(ticket_id, anna, "<script>alert(1)</script> salut")
    desk.tickets.youth_message(ticket_id, "ok")
    items = desk.tickets.transcript(ticket_id)
    assert [(i.origin.value, i.text, i.in_ticket, i.counsellor_name) for i in items] == [
        ("youth", "jcherche un taf", False, None),
        ("bot", "Tu veux parler à quelqu'un ?", False, None),
        ("bot", "Anna, conseiller·e, a pris ta demande.", True, None),
        ("counsellor", "<script>alert(1)</script> salut", True, "Anna"),
        ("youth", "ok", True, None),
    ]
    assert [i.text for i in desk.tickets.transcript(ticket_id, after_id=delivery.message_id)] == [
        "ok"
    ]
    # Another person's messages never show up.
    other = desk.ticket()
    assert desk.tickets.transcript(other) == []


def test_contact_of_is_none_once_the_person_blocked_the_bot(desk: Desk) -> None:
    ref = desk.people.identify(Channel.telegram, "555")
    ticket_id = desk.request(ref.pseudo_id).ticket_id
    assert desk.tickets.contact_of(ticket_id) == ("telegram", "555")
    desk.people.mark_blocked(Channel.telegram, "555")
    assert desk.tickets.contact_of(ticket_id) is None
    anna = desk.counsellor("Anna")
    desk.tickets.claim(ticket_id, anna)
    with pytest.raises(TicketConflict, match="bloqué le bot"):
        desk.tickets.reply(ticket_id, anna, "Salut")
    assert desk.tickets.transcript(ticket_id) == []


def test_consent_does_not_change_ticket_messages(desk: Desk) -> None:
    """Messages of the hand-off are kept for the counsellor even without consent."""
    anna = desk.counsellor("Anna")
    person_id, pseudo = desk.person()
    assert desk.people.get(pseudo).consent is ConsentStatus.unknown  # type: ignore[union-attr]
    ticket_id = desk.request(pseudo).ticket_id
    desk.tickets.claim(ticket_id, anna)
    desk.tickets.reply(ticket_id, anna, "Salut")
    assert [i.text for i in desk.tickets.transcript(ticket_id)] == ["Salut"]


# Concurrency --------------------------------------------------------------------------------
def _race(n: int, work: Any) -> list[Any]:
    """Run work(i) in n threads released at once; return each result or exception."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = work(i)
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(t.is_alive() for t in threads)
    return results


def test_twenty_simultaneous_claims_have_exactly_one_winner(db_url: str) -> None:
    from core import migrate

    migrate.upgrade(db_url)
    # A pool as large as the crowd, so every claim really runs in its own transaction.
    from core.db import make_engine

    database = Database(make_engine(db_url, pool_size=25, max_overflow=0))
    try:
        desk = build(database, FixedClock(START))
        crowd = [desk.counsellor(f"C{i}") for i in range(20)]
        ticket_id = desk.ticket()
        results = _race(20, lambda i: desk.tickets.claim(ticket_id, crowd[i]))
        winners = [r for r in results if not isinstance(r, Exception)]
        losers = [r for r in results if isinstance(r, Exception)]
        assert len(winners) == 1, results
        assert len(losers) == 19 and all(isinstance(e, TicketConflict) for e in losers), losers
        winner = winners[0].assignee_name
        assert all(
            str(e) == f"Trop tard : {winner} a déjà pris le ticket #{ticket_id}." for e in losers
        )
        view = desk.tickets.get(ticket_id)
        assert view.assignee_name == winner and view.status is TicketStatus.claimed
        claims = [e for e in desk.tickets.events(ticket_id) if e.kind is EventKind.claimed]
        assert [e.actor_name for e in claims] == [winner]
    finally:
        database.dispose()


def test_parallel_requests_for_one_person_open_one_ticket(pg_url: str) -> None:
    from core import migrate
    from core.db import make_engine

    migrate.upgrade(pg_url)
    database = Database(make_engine(pg_url, pool_size=12, max_overflow=0))
    try:
        desk = build(database, FixedClock(START))
        for _round in range(5):
            person_id, pseudo = desk.person()
            results = _race(
                8,
                lambda i, pseudo=pseudo: desk.request(
                    pseudo, urgency=Urgency.crisis if i % 2 else Urgency.normal
                ),
            )
            assert not [r for r in results if isinstance(r, Exception)], results
            assert len({r.ticket_id for r in results}) == 1, results
            assert sum(r.ticket_created for r in results) == 1
            assert sum(r.created for r in results) == 1
            with database.transaction() as session:
                tickets = session.scalar(
                    select(func.count()).select_from(Ticket).where(Ticket.person_id == person_id)
                )
                assert tickets == 1
            view = desk.tickets.get(results[0].ticket_id)
            assert (view.urgency, view.priority) == (Urgency.crisis, 0)
    finally:
        database.dispose()


def test_a_colleague_cannot_schedule_a_follow_up_on_someone_elses_ticket(desk: Desk) -> None:
    ticket_id = desk.ticket()
    lea, sam = desk.counsellor("Léa"), desk.counsellor("Sam")
    boss = desk.counsellor("Chef", role=Role.manager)
    desk.tickets.claim(ticket_id, lea)
    later = START + timedelta(days=14)
    with pytest.raises(TicketForbidden):
        desk.tickets.set_follow_up(ticket_id, sam, later)
    assert desk.tickets.set_follow_up(ticket_id, boss, later).follow_up_at == later
    assert desk.tickets.set_follow_up(ticket_id, lea, None).follow_up_at is None


def test_text_no_database_can_store_is_cleaned_not_fatal(desk: Desk) -> None:
    ticket_id = desk.ticket()
    lea = desk.counsellor("Léa")
    desk.tickets.claim(ticket_id, lea)
    desk.tickets.youth_message(ticket_id, "sa\x00lut \ud800!")
    desk.tickets.reply(ticket_id, lea, "re\x00coucou")
    desk.tickets.add_note(ticket_id, lea, "no\x00te")
    texts = [item.text for item in desk.tickets.transcript(ticket_id)]
    assert texts == ["salut ?!", "recoucou"]
    assert [n.text for n in desk.tickets.notes(ticket_id)] == ["note"]


def test_a_stale_topic_reservation_is_taken_over(desk: Desk) -> None:
    ticket_id = desk.ticket()
    assert [t.id for t in desk.tickets.without_topic()] == [ticket_id]
    assert desk.tickets.reserve_topic(ticket_id)
    assert not desk.tickets.reserve_topic(ticket_id)  # another worker is opening it
    assert desk.tickets.without_topic() == []
    desk.clock.advance(minutes=6)  # that worker died before recording the topic
    assert [t.id for t in desk.tickets.without_topic()] == [ticket_id]
    assert desk.tickets.reserve_topic(ticket_id)
    desk.tickets.set_topic(ticket_id, 42, 7)
    desk.clock.advance(minutes=60)
    assert desk.tickets.without_topic() == []
    assert not desk.tickets.reserve_topic(ticket_id)
