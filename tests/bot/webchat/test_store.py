"""The web chat's store (bot/webchat/store.py) on SQLite and PostgreSQL: the outbox a page
reads, the read mark, the e-mail notice's schedule and claim, the purge, the history on
return, and erasure."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select

from bot.messages import Button, Document, Reply
from bot.webchat.store import READ_KEPT, WebChatStore
from core.clock import FixedClock
from core.db import Database
from core.erasure import ErasureService
from core.models import (
    Channel,
    Counsellor,
    Direction,
    Message,
    Origin,
    WebChatState,
    WebOutboxItem,
    YoungPerson,
)
from core.people import PeopleService

AFTER = timedelta(minutes=10)
EMAIL = "lea@example.org"


def person(database: Database, clock: FixedClock, key: str = "page-1") -> tuple[int, str]:
    ref = PeopleService(database, "secret", clock).identify(Channel.web, key)
    return ref.id, ref.pseudo_id


def store(database: Database, clock: FixedClock) -> WebChatStore:
    return WebChatStore(database, clock, AFTER)


def state(database: Database, person_id: int) -> WebChatState | None:
    with database.transaction() as session:
        found = session.get(WebChatState, person_id)
        if found is not None:
            session.expunge(found)
        return found


def due_at(database: Database, person_id: int) -> datetime | None:
    found = state(database, person_id)
    assert found is not None
    return found.notify_due_at


def seen_id(database: Database, person_id: int) -> int:
    found = state(database, person_id)
    assert found is not None
    return found.seen_id


def count(database: Database, model: type) -> int:
    with database.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


# The outbox --------------------------------------------------------------------------------
def test_push_and_since_keep_the_order_the_person_and_the_limit(
    database: Database, clock: FixedClock
) -> None:
    webchat = store(database, clock)
    me, _ = person(database, clock)
    other, _ = person(database, clock, "page-2")
    assert webchat.last_id(me) == 0 and webchat.since(me, 0) == []
    proposal = Reply(
        "Rendez-vous mardi ?", (Button("Oui", "/appt_yes{}"),), (Document("rdv.ics", "X"),)
    )
    first = webchat.push(me, [Reply("un"), proposal], origin=Origin.counsellor, sender="Lina")
    webchat.push(other, [Reply("pas pour toi")])
    [third] = webchat.push(me, [Reply("trois")])

    items = webchat.since(me, 0)
    assert [v.id for v in items] == [*first, third] and first[0] < first[1] < third
    assert [v.reply.text for v in items] == ["un", "Rendez-vous mardi ?", "trois"]
    assert items[1].reply == proposal  # buttons and documents come back as they went
    assert items[0].origin == "counsellor" and items[0].sender == "Lina"
    assert items[2].origin == "bot" and items[2].sender is None
    assert items[0].to_dict()["from"] == "Lina" and items[0].created_at == clock.now()
    assert [v.reply.text for v in webchat.since(me, first[1])] == ["trois"]
    assert webchat.since(me, third) == []
    assert [v.reply.text for v in webchat.since(me, 0, limit=2)] == ["un", "Rendez-vous mardi ?"]
    assert len(webchat.since(me, 0, limit=0)) == 1  # at least one, never a silent nothing
    assert webchat.last_id(me) == third
    assert [v.reply.text for v in webchat.since(other, 0)] == ["pas pour toi"]


def test_a_read_is_capped_at_max_items(database: Database, clock: FixedClock) -> None:
    webchat = store(database, clock)
    me, _ = person(database, clock)
    webchat.push(me, [Reply(str(n)) for n in range(205)])
    assert len(webchat.since(me, 0, limit=10_000)) == 200


# The notice's schedule ---------------------------------------------------------------------
def test_a_human_answer_schedules_the_notice_only_with_an_address_and_none_scheduled(
    database: Database, clock: FixedClock
) -> None:
    webchat = store(database, clock)
    me, _ = person(database, clock)
    webchat.push(me, [Reply("sans adresse")], human=True)
    assert state(database, me) is None  # no address: nothing to schedule

    webchat.set_contact(me, EMAIL)
    webchat.push(me, [Reply("un rappel du bot")])  # not an answer from a person
    assert due_at(database, me) is None

    start = clock.now()
    webchat.push(me, [Reply("Salut, c'est Lina")], origin=Origin.counsellor, human=True)
    assert due_at(database, me) == start + AFTER
    clock.advance(minutes=5)
    webchat.push(me, [Reply("Tu es là ?")], origin=Origin.counsellor, human=True)
    assert due_at(database, me) == start + AFTER  # the first one stands

    webchat.set_contact(me, None)  # the address removed: no notice any more
    after = state(database, me)
    assert after is not None and after.email is None and after.notify_due_at is None
    webchat.push(me, [Reply("encore")], human=True)
    assert due_at(database, me) is None
    assert webchat.contact(me) is None


def test_mark_seen_clears_the_notice_only_once_every_answer_is_read(
    database: Database, clock: FixedClock
) -> None:
    webchat = store(database, clock)
    me, _ = person(database, clock)
    webchat.set_contact(me, EMAIL)
    [first] = webchat.push(me, [Reply("un")], human=True)
    [second] = webchat.push(me, [Reply("deux")], human=True)
    [bot] = webchat.push(me, [Reply("un rappel")])

    webchat.mark_seen(me, first)
    seen = state(database, me)
    assert seen is not None and seen.seen_id == first and seen.notify_due_at is not None
    webchat.mark_seen(me, 0)  # a late page never moves the mark back
    assert seen_id(database, me) == first
    webchat.mark_seen(me, second)
    seen = state(database, me)
    assert seen is not None and seen.seen_id == second and seen.notify_due_at is None
    webchat.mark_seen(me, bot)
    assert seen_id(database, me) == bot


# The notice's claim ------------------------------------------------------------------------
def test_due_notices_claims_a_due_unread_answer_once(database: Database, clock: FixedClock) -> None:
    webchat = store(database, clock)
    me, _ = person(database, clock)
    webchat.set_contact(me, EMAIL)
    webchat.push(me, [Reply("Salut")], human=True)
    assert webchat.due_notices() == []  # not yet due
    clock.advance(seconds=AFTER.total_seconds() - 1)
    assert webchat.due_notices() == []
    clock.advance(seconds=1)
    [notice] = webchat.due_notices()
    assert (notice.person_id, notice.email, notice.last_notified) == (me, EMAIL, None)
    assert webchat.due_notices() == []  # claimed: not again
    assert webchat.last_notified(me) is None  # nothing sent yet: the sender says so
    webchat.notified(me)
    assert webchat.last_notified(me) == clock.now()


def test_two_workers_claiming_at_once_get_each_notice_once(
    database: Database, clock: FixedClock
) -> None:
    ids = []
    for n in range(6):
        me, _ = person(database, clock, f"page-{n}")
        ids.append(me)
        store(database, clock).set_contact(me, f"p{n}@example.org")
        store(database, clock).push(me, [Reply("Salut")], human=True)
    clock.advance(seconds=AFTER.total_seconds())
    workers = [store(database, clock), store(database, clock)]  # two processes' stores
    results: list[list[int]] = [[], []]
    barrier = threading.Barrier(2)

    def claim(index: int) -> None:
        barrier.wait()
        results[index] = [n.person_id for n in workers[index].due_notices()]

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results[0] + results[1]) == sorted(ids)  # each once, none lost


def test_due_notices_skips_a_blocked_person_and_a_read_answer(
    database: Database, clock: FixedClock
) -> None:
    webchat = store(database, clock)
    blocked, _ = person(database, clock, "blocked")
    read, _ = person(database, clock, "read")
    waiting, _ = person(database, clock, "waiting")
    for who in (blocked, read, waiting):
        webchat.set_contact(who, EMAIL)
        webchat.push(who, [Reply("Salut")], human=True)
    with database.transaction() as session:
        session.get(YoungPerson, blocked).blocked_at = clock.now()  # type: ignore[union-attr]
        # Read by a page that left the notice scheduled (an old page, a race with the push).
        session.get(WebChatState, read).seen_id = 10**9  # type: ignore[union-attr]
    clock.advance(seconds=AFTER.total_seconds())
    assert [n.person_id for n in webchat.due_notices()] == [waiting]
    assert webchat.due_notices() == []  # the skipped ones are not retried either
    assert webchat.last_notified(blocked) is None and webchat.last_notified(read) is None


def test_postpone_puts_the_notice_back_at_the_given_time(
    database: Database, clock: FixedClock
) -> None:
    webchat = store(database, clock)
    me, _ = person(database, clock)
    nobody, _ = person(database, clock, "no-address")
    webchat.set_contact(me, EMAIL)
    webchat.push(me, [Reply("Salut")], human=True)
    clock.advance(seconds=AFTER.total_seconds())
    [notice] = webchat.due_notices()
    webchat.postpone(notice.person_id, clock.now() + timedelta(minutes=15))
    assert webchat.due_notices() == []
    clock.advance(minutes=15)
    assert [n.person_id for n in webchat.due_notices()] == [me]
    webchat.postpone(nobody, clock.now())  # no address: nothing to put back
    assert state(database, nobody) is None and webchat.due_notices() == []


# The purge ---------------------------------------------------------------------------------
def test_purge_read_drops_only_read_items_older_than_a_day(
    database: Database, clock: FixedClock
) -> None:
    webchat = store(database, clock)
    me, _ = person(database, clock)
    never_read, _ = person(database, clock, "never-read")
    [old_read, old_unread] = webchat.push(me, [Reply("lu"), Reply("pas lu")])
    webchat.push(never_read, [Reply("jamais lu")])
    webchat.mark_seen(me, old_read)
    clock.advance(seconds=(READ_KEPT - timedelta(minutes=1)).total_seconds())
    [recent_read] = webchat.push(me, [Reply("lu récemment")])
    webchat.mark_seen(me, old_read)
    assert webchat.purge_read() == 0  # read, but not a day ago
    clock.advance(minutes=2)
    webchat.mark_seen(me, recent_read)  # everything read; the last one only just pushed
    assert webchat.purge_read() == 2
    assert [v.reply.text for v in webchat.since(me, 0)] == ["lu récemment"]
    assert [v.reply.text for v in webchat.since(never_read, 0)] == ["jamais lu"]
    assert old_unread  # the cursor of a page still counts from the kept ids
    assert webchat.last_id(me) == recent_read


# History on return -------------------------------------------------------------------------
def add_log(
    database: Database,
    person_id: int,
    entries: list[tuple[Direction, Origin, str, int | None]],
    clock: FixedClock,
) -> None:
    with database.transaction() as session:
        for direction, origin, text, counsellor in entries:
            session.add(
                Message(
                    person_id=person_id,
                    direction=direction,
                    origin=origin,
                    text=text,
                    counsellor_id=counsellor,
                    created_at=clock.now(),
                )
            )
            clock.advance(seconds=1)


def counsellor(database: Database, name: str = "Lina") -> int:
    with database.transaction() as session:
        row = Counsellor(email=f"{name.lower()}@example.org", first_name=name, password_hash="x")
        session.add(row)
        session.flush()
        return row.id


def test_history_is_the_kept_log_with_names_and_the_buttons_still_open(
    database: Database, clock: FixedClock
) -> None:
    webchat = store(database, clock)
    me, _ = person(database, clock)
    lina = counsellor(database)
    old_offer = Reply("Rendez-vous lundi ?", (Button("Oui", "/appt_yes{}"),))
    open_offer = Reply("Rendez-vous mardi ?", (Button("Oui", "/appt_yes2"),))
    webchat.push(me, [old_offer], origin=Origin.counsellor, human=True)
    webchat.push(me, [open_offer], origin=Origin.counsellor, human=True)
    out, inc = Direction.outgoing, Direction.incoming
    add_log(
        database,
        me,
        [
            (inc, Origin.youth, "salut", None),
            (out, Origin.counsellor, "Rendez-vous lundi ?", lina),
            (inc, Origin.youth, "non lundi je peux pas", None),
            (out, Origin.counsellor, "Rendez-vous mardi ?", lina),
            (out, Origin.bot, "Tu peux répondre avec les boutons", None),
        ],
        clock,
    )
    items = webchat.history(me, limit=200)
    assert [(h.direction, h.text, h.sender) for h in items] == [
        ("incoming", "salut", None),
        ("outgoing", "Rendez-vous lundi ?", "Lina"),
        ("incoming", "non lundi je peux pas", None),
        ("outgoing", "Rendez-vous mardi ?", "Lina"),
        ("outgoing", "Tu peux répondre avec les boutons", None),
    ]
    # The answered proposal (before the person's last message) shows no buttons any more.
    assert [h.buttons for h in items] == [(), (), (), open_offer.buttons, ()]
    assert items[3].to_dict()["buttons"] == [{"title": "Oui", "payload": "/appt_yes2"}]
    # The last `limit` messages, oldest first.
    assert [h.text for h in webchat.history(me, limit=2)] == [
        "Rendez-vous mardi ?",
        "Tu peux répondre avec les boutons",
    ]


def test_history_without_a_kept_log_is_the_outbox(database: Database, clock: FixedClock) -> None:
    webchat = store(database, clock)
    me, _ = person(database, clock)
    offer = Reply("Rendez-vous mardi ?", (Button("Oui", "/appt_yes2"),))
    webchat.push(me, [Reply("Salut, c'est Lina"), offer], origin=Origin.counsellor, sender="Lina")
    items = webchat.history(me, limit=200)
    assert [(h.direction, h.origin, h.text, h.sender, h.buttons) for h in items] == [
        ("outgoing", "counsellor", "Salut, c'est Lina", "Lina", ()),
        ("outgoing", "counsellor", "Rendez-vous mardi ?", "Lina", offer.buttons),
    ]
    other, _ = person(database, clock, "page-2")
    assert webchat.history(other, limit=200) == []


# Erasure -----------------------------------------------------------------------------------
def test_erasing_the_person_erases_their_outbox_and_state(
    database: Database, clock: FixedClock, tmp_path: object
) -> None:
    webchat = store(database, clock)
    me, pseudo = person(database, clock)
    other, _ = person(database, clock, "page-2")
    for who in (me, other):
        webchat.set_contact(who, EMAIL)
        webchat.push(who, [Reply("Salut")], human=True)
    tracker = Database.from_url(f"sqlite:///{tmp_path}/tracker.db")
    try:
        assert ErasureService(database, tracker, clock).erase_app(pseudo)
    finally:
        tracker.dispose()
    assert webchat.since(me, 0) == [] and state(database, me) is None
    assert count(database, WebOutboxItem) == 1 and count(database, WebChatState) == 1
    with database.transaction() as session:  # a plain delete cascades as well
        session.execute(delete(YoungPerson).where(YoungPerson.id == other))
    assert count(database, WebOutboxItem) == 0 and count(database, WebChatState) == 0
