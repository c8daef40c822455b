"""Ticket search, need to know and a young person's other tickets, on real databases (SQLite
and, gated, PostgreSQL): what a counsellor may find, and above all what they may not."""

from __future__ import annotations

import pytest

from core.clock import FixedClock
from core.db import Database
from core.models import Role, TicketStatus
from handoff.access import may_see
from handoff.accounts import CounsellorRef
from handoff.history import HistoryService
from handoff.search import (
    BAD_PHONE,
    BAD_REFERENCE,
    EMPTY,
    SHORT,
    Search,
    SearchError,
    TicketSearch,
    like_pattern,
    normalise_phone,
    parse_search,
)
from handoff.tickets import SUMMARY_FIELDS, TicketNotFound
from tests.support.tickets import SETTINGS, START, Desk, build, hold


@pytest.fixture
def desk(database: Database) -> Desk:
    return build(database, FixedClock(START))


def search(desk: Desk, who: CounsellorRef, text: str, kind: str = "tout") -> list[int]:
    finder = TicketSearch(desk.db, SETTINGS)
    return sorted(hit.ticket.id for hit in finder.search(who, parse_search(text, kind)))


# Reading what the counsellor typed ----------------------------------------------------------
@pytest.mark.parametrize(
    "typed",
    [
        "0612345678",
        "06 12 34 56 78",
        "06.12.34.56.78",
        "06-12-34-56-78",
        "+33 6 12 34 56 78",
        "+33612345678",
        "0033 6 12 34 56 78",
        "+33 (0)6 12 34 56 78",
        " 06 12\u00a034 56 78 ",
    ],
)
def test_phone_numbers_are_normalised_as_requests_store_them(typed: str) -> None:
    assert normalise_phone(typed) == "0612345678"
    assert parse_search(typed) == Search(
        typed.strip().replace("\u00a0", " "), "tout", phone="0612345678"
    )


@pytest.mark.parametrize("typed", ["06 12 34 56", "0012345678", "+44 7700 900123", "612345678x"])
def test_what_is_not_a_french_number_is_not_one(typed: str) -> None:
    assert normalise_phone(typed) is None


@pytest.mark.parametrize(
    ("typed", "kind", "message"),
    [
        ("", "tout", EMPTY),
        ("   \x00 ", "tout", EMPTY),
        ("#abc", "tout", BAD_REFERENCE),
        ("#0", "tout", BAD_REFERENCE),
        ("#99999999999", "tout", BAD_REFERENCE),
        ("lens", "reference", BAD_REFERENCE),
        ("06 12 34", "tout", BAD_PHONE),
        ("+33 6 12", "tout", BAD_PHONE),
        ("lens", "telephone", BAD_PHONE),
        ("x", "tout", SHORT),
        ("x", "lieu", SHORT),
        ("x", "besoin", SHORT),
    ],
)
def test_bad_input_gets_a_french_message(typed: str, kind: str, message: str) -> None:
    with pytest.raises(SearchError) as error:
        parse_search(typed, kind)
    assert str(error.value) == message


def test_unknown_kinds_and_long_input_are_refused_in_french() -> None:
    with pytest.raises(SearchError, match="Type de recherche inconnu"):
        parse_search("lens", "adresse")
    with pytest.raises(SearchError, match=r"Recherche trop longue \(101 caractères, 100 max\)"):
        parse_search("a" * 101)
    with pytest.raises(SearchError, match="Recherche trop longue"):
        parse_search("a" * 10_000)


def test_the_readings_of_a_search() -> None:
    assert parse_search("#12") == Search("#12", "tout", reference=12)
    assert parse_search("12") == Search("12", "tout", reference=12)
    assert parse_search("59100") == Search("59100", "tout", reference=59100, place="59100")
    assert parse_search("Liévin") == Search("Liévin", "tout", place="Liévin", need="Liévin")
    assert parse_search("12", "lieu") == Search("12", "lieu", place="12")
    assert parse_search("a\x00b") == Search("a b", "tout", place="a b", need="a b")
    assert like_pattern("50%_!") == "%50!%!_!!%"


# Searching the database -----------------------------------------------------------------------
def test_search_by_reference_phone_place_and_need_within_what_one_may_see(desk: Desk) -> None:
    lea = desk.counsellor("Léa", team="lens")
    sam = desk.counsellor("Sam", team="lille")
    boss = desk.counsellor("Nadia", role=Role.manager)
    _, one = desk.person(consent=True)
    lens = desk.request(
        one, "Liévin", needs=["santé", "logement"], phone="0612345678", age="19"
    ).ticket_id
    _, two = desk.person(consent=True)
    lille = desk.request(two, "59100", needs=["emploi"], phone="0698765432").ticket_id
    _, three = desk.person(consent=True)
    odd = desk.request(three, "Lens", needs=["50% de réduction_"]).ticket_id

    # Léa (Lens) finds her team's tickets, whatever way she types it...
    assert search(desk, lea, f"#{lens}") == [lens]
    assert search(desk, lea, str(lens), "reference") == [lens]
    assert search(desk, lea, "06 12 34 56 78") == [lens]
    assert search(desk, lea, "+33 6 12 34 56 78", "telephone") == [lens]
    assert search(desk, lea, "lievin") == [lens]  # no accent typed
    assert search(desk, lea, "LIÉVIN", "lieu") == [lens]
    assert search(desk, lea, "Lens-Liévin", "lieu") == [lens, odd]  # the territory
    assert search(desk, lea, "sante") == [lens]
    assert search(desk, lea, "logement", "besoin") == [lens]
    # ... LIKE wildcards are taken literally
    assert search(desk, lea, "%%") == []
    assert search(desk, lea, "__", "lieu") == []
    assert search(desk, lea, "50%", "besoin") == [odd]
    assert search(desk, lea, "duction_", "besoin") == [odd]
    assert search(desk, lea, "é_", "besoin") == []  # "_" is no wildcard: "éd" is no match

    # ... and never another team's: not by reference, phone, place or need.
    assert search(desk, lea, f"#{lille}") == []
    assert search(desk, lea, "06 98 76 54 32") == []
    assert search(desk, lea, "59100") == []
    assert search(desk, lea, "lille", "lieu") == []
    assert search(desk, lea, "emploi") == []
    assert search(desk, sam, "06 12 34 56 78") == []
    assert search(desk, sam, "59100") == [lille]

    # A ticket she holds she finds, whatever its team; a manager finds everything.
    hold(desk.db, lille, lea)
    assert search(desk, lea, "06 98 76 54 32") == [lille]
    assert search(desk, sam, "06 98 76 54 32") == [lille]  # still a Lille ticket
    assert search(desk, boss, "0612345678") == [lens]
    assert search(desk, boss, "emploi") == [lille]
    # Closed tickets are found too.
    desk.tickets.resolve(lille, lea, "emploi")
    assert search(desk, lea, f"#{lille}") == [lille]


def test_a_counsellor_without_a_team_finds_only_what_they_hold(desk: Desk) -> None:
    free = desk.counsellor("Noé", team=None)
    boss = desk.counsellor("Nadia", role=Role.manager)
    _, pseudo = desk.person(consent=True)
    ticket = desk.request(pseudo, "Lens", phone="0612345678").ticket_id
    assert search(desk, free, "0612345678") == []
    desk.tickets.transfer(ticket, boss, to_counsellor=free)  # stays Lens's, held by Noé
    assert search(desk, free, "0612345678") == [ticket]


def test_need_to_know_rule() -> None:
    lea = CounsellorRef(1, "l@x.fr", "Léa", Role.counsellor, "lens")
    free = CounsellorRef(2, "n@x.fr", "Noé", Role.counsellor, None)
    boss = CounsellorRef(3, "b@x.fr", "Bo", Role.manager, None)
    assert may_see(lea, "lens", None) and may_see(lea, "lille", 1)
    assert not may_see(lea, "lille", None) and not may_see(lea, "lille", 2)
    assert not may_see(free, "lens", None) and may_see(free, "lens", 2)
    assert may_see(boss, "lille", None)


# The summary's new answers and the person's other tickets ------------------------------------
def test_phone_questions_and_writer_are_on_the_ticket(desk: Desk) -> None:
    assert {"phone", "questions", "writer"} <= set(SUMMARY_FIELDS)
    _, pseudo = desk.person(consent=True)
    ticket = desk.request(
        pseudo,
        "Lens",
        phone="0612345678",
        questions=["c'est quoi le CEJ ?"],
        writer="parent",
        excerpt="Bonjour, je suis la maman de Kevin, il a 19 ans et il ne sort plus de sa chambre "
        "depuis des mois, je ne sais plus quoi faire",
    ).ticket_id
    view = desk.tickets.get(ticket)
    assert view.summary["phone"] == "0612345678"
    assert view.summary["questions"] == ["c'est quoi le CEJ ?"]
    assert view.summary["writer"] == "parent"
    excerpt = view.request_excerpt
    assert excerpt.endswith("…") and len(excerpt) <= 80
    assert excerpt == "Bonjour, je suis la maman de Kevin, il a 19 ans et il ne sort plus de sa…"


def test_other_tickets_of_the_person_with_their_notes_on_a_need_to_know_basis(
    desk: Desk,
) -> None:
    lea = desk.counsellor("Léa", team="lens")
    sam = desk.counsellor("Sam", team="lille")
    boss = desk.counsellor("Nadia", role=Role.manager)
    _, pseudo = desk.person(consent=True)
    in_lille = desk.request(pseudo, "Lille", needs=["logement"]).ticket_id
    desk.tickets.claim(in_lille, sam)
    desk.tickets.add_note(in_lille, sam, "secret de l'équipe lilloise")
    desk.tickets.resolve(in_lille, sam, "logement")
    desk.clock.advance(days=3)
    in_lens = desk.request(pseudo, "Lens", needs=["emploi"]).ticket_id
    desk.tickets.claim(in_lens, lea)
    desk.tickets.add_note(in_lens, lea, "rappeler lundi")
    desk.tickets.resolve(in_lens, lea, "emploi")
    desk.clock.advance(days=3)
    now = desk.request(pseudo, "Lens", needs=["formation"]).ticket_id
    history = HistoryService(desk.db)

    # Léa sees her team's earlier ticket, with its notes; the Lille one is not even mentioned.
    seen = history.others(now, lea)
    assert [(o.id, o.later) for o in seen] == [(in_lens, False)]
    (mine,) = seen
    assert (mine.status, mine.outcome, mine.assignee_name, mine.needs) == (
        TicketStatus.resolved,
        "emploi",
        "Léa",
        ["emploi"],
    )
    assert [(n.author_name, n.text) for n in mine.notes] == [("Léa", "rappeler lundi")]

    with pytest.raises(TicketNotFound):  # Sam may not read the Lens ticket itself
        history.others(now, sam)
    by_sam = history.others(in_lille, sam)
    assert by_sam == []  # both others are Lens's
    assert [o.id for o in history.others(now, boss)] == [in_lens, in_lille]
    assert [n.text for n in history.others(now, boss)[1].notes] == ["secret de l'équipe lilloise"]
    later = history.others(in_lille, boss)
    assert [(o.id, o.later) for o in later] == [(now, True), (in_lens, True)]
