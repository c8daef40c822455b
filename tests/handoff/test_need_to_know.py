"""Need to know, one policy (handoff/permissions.py), through the hand-off desk every entry
point uses: role × verb × own/other team.

A counsellor reads and acts on their team's tickets and the ones they hold; managers and
admins on every team's. Someone else's ticket fails exactly as an id that does not exist: the
same TicketNotFound and message, the same database work, nothing written. Crossing teams is an
explicit transfer, logged with both teams, after which the previous team loses the ticket.
On SQLite, and PostgreSQL when MARAUDE_TEST_POSTGRES_URL is set.
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select

from core.models import Message, Role, TicketNote, TicketStatus, Urgency
from handoff.accounts import CounsellorRef
from handoff.permissions import Action, Refusal, allowed, may_see, refusal
from handoff.requests import CrisisSignal, TriageSummary
from handoff.tickets import TicketForbidden, TicketNotFound, TicketView, refused
from tests.support.tickets import hold
from tests.support.world import World

UNKNOWN = 987_654
VERBS = (
    "read",
    "note",
    "claim",
    "reply",
    "release",
    "transfer",
    "resolve",
    "follow_up",
    "false_alarm",
)
HELD_VERBS = {"reply", "release", "resolve", "false_alarm"}  # need someone holding it


@pytest.fixture
def world_db_url(db_url: str) -> str:
    return db_url


@dataclass
class Cast:
    lea: CounsellorRef  # counsellor, Lens: the tickets' own team
    bilal: CounsellorRef  # counsellor, Lens: a colleague who may hold them
    sam: CounsellorRef  # counsellor, Lille: another team
    noe: CounsellorRef  # counsellor, Lille, holding the Lens ticket (his account moved)
    nadia: CounsellorRef  # manager, no team
    root: CounsellorRef  # admin, no team


def cast_of(world: World) -> Cast:
    return Cast(
        lea=world.counsellor("Léa", team="lens"),
        bilal=world.counsellor("Bilal", team="lens"),
        sam=world.counsellor("Sam", team="lille"),
        noe=world.counsellor("Noé", team="lille"),
        nadia=world.accounts.add(
            "nadia@example.org", "Nadia", "motdepasse-solide", role=Role.manager
        ),
        root=world.accounts.add("root@example.org", "Root", "motdepasse-solide", role=Role.admin),
    )


async def lens_ticket(world: World, *, crisis: bool = False) -> int:
    """A ticket routed to Lens (a crisis one, with its signal, for a false alarm)."""
    _, pseudo = world.person(consent=True)
    summary = TriageSummary(location="Lens", phone="0612345678", excerpt="jcherche un taf")
    if not crisis:
        return await world.ticket(pseudo, summary)
    ref = await world.desk.request(
        pseudo,
        summary,
        source="crisis",
        urgency=Urgency.crisis,
        crisis_kind="suicide",
        signal=CrisisSignal(text="me tuer de rire", tier="high", reason="pattern", kind="suicide"),
    )
    return ref.ticket_id


def run(world: World, verb: str, ticket_id: int, me: CounsellorRef) -> Awaitable[Any]:
    """The verb as every entry point asks the desk (the reads as the dashboard and the API)."""
    desk, tickets = world.desk, world.tickets
    if verb == "read":

        async def read() -> TicketView:
            tickets.notes(ticket_id, viewer=me)
            tickets.transcript(ticket_id, viewer=me)
            tickets.events(ticket_id, viewer=me)
            return tickets.get(ticket_id, viewer=me)

        return read()
    if verb == "note":
        return desk.add_note(ticket_id, me, "rappeler lundi", via="api")
    if verb == "claim":
        return desk.claim(ticket_id, me, via="api")
    if verb == "reply":
        return desk.reply(ticket_id, me, "Salut, c'est moi", via="api")
    if verb == "release":
        return desk.release(ticket_id, me, via="api")
    if verb == "transfer":
        return desk.transfer(ticket_id, me, to_team="montbeliard", via="api")
    if verb == "resolve":
        return desk.resolve(ticket_id, me, "emploi", None, via="api")
    if verb == "follow_up":
        when = world.clock.now() + timedelta(days=2)
        return desk.set_follow_up(ticket_id, me, when, via="api")
    assert verb == "false_alarm"
    return desk.false_alarm(ticket_id, me, "une blague", via="api")


def trace(world: World, ticket_id: int) -> tuple[Any, ...]:
    """Everything a verb could change on the ticket."""
    view = world.tickets.get(ticket_id)
    with world.services.db.transaction() as session:
        notes = session.scalar(select(func.count()).select_from(TicketNote))
        messages = session.scalar(select(func.count()).select_from(Message))
    events = [e.kind for e in world.tickets.events(ticket_id)]
    return (view, notes, messages, events)


@contextmanager
def statements(world: World) -> Iterator[list[str]]:
    """The SQL statements run meanwhile (the work a refusal does before answering)."""
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        seen.append(sql.split()[0].upper())

    engine = world.services.db.engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


async def refused_as_unknown(world: World, verb: str, ticket_id: int, me: CounsellorRef) -> None:
    """`me` gets for the ticket exactly what an unknown id gives, and nothing changes."""
    before = trace(world, ticket_id)
    with statements(world) as work, pytest.raises(TicketNotFound) as refused:
        await run(world, verb, ticket_id, me)
    with statements(world) as unknown_work, pytest.raises(TicketNotFound) as unknown:
        await run(world, verb, UNKNOWN, me)
    assert str(refused.value) == f"Ticket #{ticket_id} introuvable."
    assert str(unknown.value) == f"Ticket #{UNKNOWN} introuvable."
    assert work == unknown_work, verb  # the same queries, nothing more
    assert trace(world, ticket_id) == before, verb


# The matrix ---------------------------------------------------------------------------------
@pytest.mark.parametrize("verb", VERBS)
async def test_another_teams_counsellor_gets_what_an_unknown_id_gets(
    world: World, verb: str
) -> None:
    cast = cast_of(world)
    ticket_id = await lens_ticket(world, crisis=verb == "false_alarm")
    if verb in HELD_VERBS:
        await world.desk.claim(ticket_id, cast.lea, via="web")
    await refused_as_unknown(world, verb, ticket_id, cast.sam)
    await refused_as_unknown(world, verb, ticket_id, cast.noe)  # Lille's too, holds nothing


@pytest.mark.parametrize("verb", VERBS)
async def test_the_own_team_acts_as_the_policy_allows(world: World, verb: str) -> None:
    cast = cast_of(world)
    ticket_id = await lens_ticket(world, crisis=verb == "false_alarm")
    if verb in HELD_VERBS:
        await world.desk.claim(ticket_id, cast.lea, via="web")
    await run(world, verb, ticket_id, cast.lea)
    if verb in HELD_VERBS - {"release"}:  # a colleague of her team: refused as a colleague's
        other = await lens_ticket(world, crisis=verb == "false_alarm")
        await world.desk.claim(other, cast.bilal, via="web")
        with pytest.raises(TicketForbidden, match="suivi par un·e collègue"):
            await run(world, verb, other, cast.lea)


@pytest.mark.parametrize("verb", VERBS)
async def test_a_counsellor_acts_on_another_teams_ticket_they_hold(world: World, verb: str) -> None:
    cast = cast_of(world)
    ticket_id = await lens_ticket(world, crisis=verb == "false_alarm")
    hold(world.services.db, ticket_id, cast.noe)
    result = await run(world, verb, ticket_id, cast.noe)  # claim: already his, a no-op
    if verb == "claim":
        assert result.assignee_id == cast.noe.id


@pytest.mark.parametrize("verb", VERBS)
@pytest.mark.parametrize("role", ["manager", "admin"])
async def test_managers_and_admins_see_every_team(world: World, verb: str, role: str) -> None:
    cast = cast_of(world)
    me = cast.nadia if role == "manager" else cast.root
    ticket_id = await lens_ticket(world, crisis=verb == "false_alarm")
    if verb in HELD_VERBS:
        await world.desk.claim(ticket_id, cast.lea, via="web")
    if verb == "reply":  # not even a manager writes in a colleague's conversation
        with pytest.raises(TicketForbidden):
            await run(world, verb, ticket_id, me)
        return
    await run(world, verb, ticket_id, me)


# Lists and transfers ------------------------------------------------------------------------
async def test_lists_hold_only_what_one_may_read(world: World) -> None:
    cast = cast_of(world)
    lens = await lens_ticket(world)
    _, pseudo = world.person(consent=True)
    lille = await world.ticket(pseudo, TriageSummary(location="Lille"))
    held = await world.ticket(world.person(consent=True)[1], TriageSummary(location="Lille"))
    hold(world.services.db, held, cast.lea)

    def queue(me: CounsellorRef) -> list[int]:
        return [t.id for t in world.tickets.queue(viewer=me)]

    assert queue(cast.lea) == [lens, held]
    assert queue(cast.sam) == [lille, held]  # Lille's, whoever holds it
    assert queue(cast.nadia) == queue(cast.root) == [lens, lille, held]
    assert world.tickets.readable([lens, lille, held, UNKNOWN], cast.lea) == {lens, held}
    assert world.tickets.readable([lens, lille], cast.nadia) == {lens, lille}


async def test_crossing_teams_is_a_logged_transfer_that_moves_access(world: World) -> None:
    cast = cast_of(world)
    ticket_id = await lens_ticket(world)
    await world.desk.claim(ticket_id, cast.lea, via="web")

    # To a colleague of another team: the ticket goes to Lille with him.
    moved = await world.desk.transfer(ticket_id, cast.lea, to_counsellor=cast.sam, via="web")
    assert (moved.team, moved.assignee_id) == ("lille", cast.sam.id)
    with pytest.raises(TicketNotFound):
        world.tickets.get(ticket_id, viewer=cast.lea)  # Lens lost it
    with pytest.raises(TicketNotFound):
        await world.desk.add_note(ticket_id, cast.bilal, "encore là ?", via="web")
    assert world.tickets.get(ticket_id, viewer=cast.sam).id == ticket_id

    # To another team's queue: nobody holds it, Lille loses it, Montbéliard has it.
    back = await world.desk.transfer(ticket_id, cast.sam, to_team="montbeliard", via="api")
    assert (back.team, back.status, back.assignee_id) == ("montbeliard", TicketStatus.new, None)
    with pytest.raises(TicketNotFound):
        world.tickets.get(ticket_id, viewer=cast.sam)
    chloe = world.counsellor("Chloé", team="montbeliard")
    assert [t.id for t in world.tickets.queue(viewer=chloe)] == [ticket_id]

    transfers = [e for e in world.tickets.events(ticket_id) if e.kind == "transferred"]
    assert [(e.actor_name, e.via, e.data) for e in transfers] == [
        ("Léa", "web", {"to_counsellor": cast.sam.id, "from_team": "lens", "to_team": "lille"}),
        ("Sam", "api", {"from_team": "lille", "to_team": "montbeliard"}),
    ]


# The policy itself ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Facts:
    status: TicketStatus
    team: str | None = "lens"
    assignee_id: int | None = None
    urgency: Urgency = Urgency.crisis
    id: int = 7


LEA = CounsellorRef(1, "lea@x.fr", "Léa", Role.counsellor, "lens")
SAM = CounsellorRef(2, "sam@x.fr", "Sam", Role.counsellor, "lille")
FREE = CounsellorRef(3, "noe@x.fr", "Noé", Role.counsellor, None)
BOSS = CounsellorRef(4, "boss@x.fr", "Nadia", Role.manager, None)
ROOT = CounsellorRef(5, "root@x.fr", "Root", Role.admin, None)


@pytest.mark.parametrize("status", list(TicketStatus))
def test_reading_comes_first_for_every_action(status: TicketStatus) -> None:
    for holder in (None, LEA.id):
        theirs = Facts(status, team="lens", assignee_id=holder)
        for action in Action:
            assert refusal(SAM, theirs, action) == Refusal.need_to_know
            assert refusal(FREE, theirs, action) == (
                None if holder == FREE.id else Refusal.need_to_know
            )
        assert not any(allowed(SAM, theirs).__dict__.values())
        for boss in (BOSS, ROOT):
            assert allowed(boss, theirs).read
    mine = Facts(status, team="lille", assignee_id=LEA.id)
    assert allowed(LEA, mine).read and may_see(LEA, "lille", LEA.id)


def test_what_a_refusal_does_not_say() -> None:
    """The refusal of another team's ticket names neither the team nor who holds it."""
    for action in Action:
        error = refused(SAM, Facts(TicketStatus.claimed, assignee_id=LEA.id), action, "Léa")
        assert isinstance(error, TicketNotFound)
        assert str(error) == "Ticket #7 introuvable."
