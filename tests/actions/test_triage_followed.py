"""The triage's "already followed by a structure?" answer kept on the person when the summary
is shown (actions/triage.py, core/people.py `record_followed`): the "invisible" share of the
campaigns' results. Real rasa_sdk Tracker and CollectingDispatcher, real PeopleService on
SQLite and (gated) PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import func, select

from actions.triage import ActionTriageSummary
from actions.triage_parsing import MISSING
from core.db import Database
from core.models import Channel, Milestone, PersonEvent, YoungPerson
from core.people import PeopleService, followed_value
from core.vocabulary import SKIPPED, UNDER_15
from tests.support.trackers import tracker

FULL = {
    "needs": ["emploi"],
    "age": "19",
    "location": "Lens",
    "situation": "rien",
    "followed": "non",
    "contact": "ici, par message",
}
SUMMARY_SHOWN = [{"event": "action", "name": "action_triage_summary"}]


@pytest.fixture
def people(database: Database) -> PeopleService:
    return PeopleService(database, "f" * 40)


def followed_of(database: Database, pseudo: str) -> str | None:
    with database.transaction() as session:
        return session.scalar(select(YoungPerson.followed).where(YoungPerson.pseudo_id == pseudo))


def completed(database: Database) -> int:
    with database.transaction() as session:
        query = select(func.count()).select_from(PersonEvent)
        return int(session.scalar(query.where(PersonEvent.kind == Milestone.triage_completed)) or 0)


async def summary(
    people: PeopleService, pseudo: str, followed: object, events: list[dict[str, Any]] | None = None
) -> None:
    dispatcher = CollectingDispatcher()
    slots = {**FULL, "followed": followed}
    await ActionTriageSummary(people).run(
        dispatcher, tracker(slots=slots, sender=pseudo, active_loop=None, events=events), {}
    )


@pytest.mark.parametrize(
    ("answer", "kept"),
    [
        ("oui", "oui"),
        ("oui (mission locale)", "oui"),
        ("Oui (france travail)", "oui"),
        ("non", "non"),
        (" Non ", "non"),
        ("ne sait pas", None),
        (SKIPPED, None),
        (MISSING, None),
        ("nan mais g un educ", None),  # their words: not a plain "non"
        ("", None),
        (None, None),
    ],
)
def test_followed_value(answer: str | None, kept: str | None) -> None:
    assert followed_value(answer) == kept


async def test_the_first_summary_keeps_the_answer_and_marks_the_triage_completed(
    people: PeopleService, database: Database
) -> None:
    for key, (answer, kept) in enumerate([("oui (mission locale)", "oui"), ("non", "non")]):
        person = people.identify(Channel.telegram, f"300{key}")
        await summary(people, person.pseudo_id, answer)
        assert followed_of(database, person.pseudo_id) == kept
    assert completed(database) == 2


async def test_an_answer_that_says_nothing_keeps_nothing(
    people: PeopleService, database: Database
) -> None:
    person = people.identify(Channel.telegram, "3012")
    await summary(people, person.pseudo_id, SKIPPED)
    assert followed_of(database, person.pseudo_id) is None
    assert completed(database) == 1


async def test_a_correction_shown_again_updates_the_answer_not_the_milestone(
    people: PeopleService, database: Database
) -> None:
    person = people.identify(Channel.telegram, "3003")
    await summary(people, person.pseudo_id, "non")
    await summary(people, person.pseudo_id, "oui (mission locale)", events=SUMMARY_SHOWN)
    assert followed_of(database, person.pseudo_id) == "oui"
    assert completed(database) == 1  # the same triage


async def test_under_15_nothing_is_kept(people: PeopleService, database: Database) -> None:
    person = people.identify(Channel.telegram, "3004")
    people.record_age_band(person.pseudo_id, UNDER_15)
    await summary(people, person.pseudo_id, "oui (mission locale)")
    assert followed_of(database, person.pseudo_id) is None
    assert people.record_followed(person.pseudo_id, "non") is None
    assert followed_of(database, person.pseudo_id) is None


async def test_an_age_under_15_said_afterwards_drops_the_answer(
    people: PeopleService, database: Database
) -> None:
    person = people.identify(Channel.telegram, "3005")
    await summary(people, person.pseudo_id, "non")
    assert followed_of(database, person.pseudo_id) == "non"
    people.record_age_band(person.pseudo_id, UNDER_15)
    assert followed_of(database, person.pseudo_id) is None


async def test_an_unfinished_form_or_an_unknown_person_keeps_nothing(
    people: PeopleService, database: Database
) -> None:
    person = people.identify(Channel.telegram, "3006")
    await summary(people, person.pseudo_id, None)  # the form stopped before "followed"
    assert followed_of(database, person.pseudo_id) is None and completed(database) == 0
    await summary(people, "y" + "q" * 24, "non")  # no such person: no error
    assert people.record_followed("y" + "q" * 24, "non") is None


async def test_without_people_service_the_summary_is_still_shown() -> None:
    dispatcher = CollectingDispatcher()
    await ActionTriageSummary().run(dispatcher, tracker(slots=FULL, active_loop=None), {})
    assert [m["response"] for m in dispatcher.messages] == ["utter_triage_summary"]
