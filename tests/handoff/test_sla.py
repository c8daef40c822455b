"""SLA of the hand-off queue and the daily digest (handoff/sla/alerts.py, handoff/sla/policy.py).

Real services on SQLite (and, gated, PostgreSQL) with a FixedClock: no sleeping. The SLA of
a normal ticket counts the team's working minutes (mon-fri 09:00-12:30, 13:30-17:30 in Paris,
closed on public holidays); a crisis counts real minutes. The bridge messages go through the
fake Bot API with the real app.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from itertools import count
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from starlette.testclient import TestClient

from core import migrate
from core.clock import FixedClock
from core.models import Channel, EventKind, FollowUpKind, Role, Urgency
from handoff.requests import CrisisSignal, TriageSummary
from handoff.sla.alerts import check_sla, run_sla_check, send_digest
from handoff.sla.digest import digest_text
from handoff.sla.policy import SlaPolicy, sla_status
from handoff.sla.service import SlaService
from maraude.app import create_app
from maraude.services import build_services
from tests.fakes.telegram_api import FakeTelegramServer
from tests.support import TEST_TOKEN, AppServer, make_settings
from tests.support.bridge import GROUP
from tests.support.dashboard import DashboardClient
from tests.support.html import Element, parse_page
from tests.support.waiting import eventually

PARIS = ZoneInfo("Europe/Paris")
PASSWORD = "un-mot-de-passe-solide"
SLA_KINDS = (EventKind.sla_breached, EventKind.manager_alerted)
_keys = count(1)


def paris(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PARIS)


CLOCK_START = paris(2026, 3, 2, 9, 0)  # a Monday: the `clock` fixture starts there


# Fixtures and helpers ----------------------------------------------------------------------
def set_time(clock: FixedClock, moment: datetime) -> None:
    clock.advance(seconds=(moment - clock.now()).total_seconds())


def quiet_settings(tmp_path: Path, **overrides: Any) -> Any:
    """The repository's settings; no scheduler (the tests run the jobs by hand)."""
    return make_settings(tmp_path, nudges={"enabled": False}, **overrides)


def _services(tmp_path: Path, clock: FixedClock, url: str | None = None) -> Any:
    overrides = {"database_url": url} if url else {}
    settings = quiet_settings(tmp_path, **overrides)
    migrate.upgrade(settings.effective_database_url)
    return build_services(settings, clock)


@pytest.fixture
def services(tmp_path: Path, clock: FixedClock) -> Iterator[Any]:
    built = _services(tmp_path, clock)
    yield built
    built.db.dispose()


def new_ticket(services: Any, *, crisis: bool = False, location: str = "Lens") -> int:
    # A Telegram person: with a token, the simulator's people are simulations, kept out of
    # the SLA alerts and the digest (core/simulations.py).
    person = services.people.identify(Channel.telegram, str(880_000 + next(_keys)))
    services.people.record_consent(person.pseudo_id, True)
    ref = services.handoff.request(
        person.pseudo_id,
        TriageSummary(needs=["emploi"], age="19", location=location),
        source="crisis" if crisis else "triage",
        urgency=Urgency.crisis if crisis else Urgency.normal,
        crisis_kind="crisis_shelter" if crisis else None,
    )
    return int(ref.ticket_id)


def account(services: Any, name: str, role: Role = Role.counsellor, team: str = "lens") -> Any:
    return services.accounts.add(
        f"{name.lower()}.{next(_keys)}@example.org", name, PASSWORD, role=role, team=team
    )


def sla_events(services: Any, ticket_id: int) -> list[tuple[str, datetime]]:
    return [
        (str(e.kind), e.created_at)
        for e in services.tickets.events(ticket_id)
        if e.kind in SLA_KINDS
    ]


def check(services: Any) -> list[tuple[int, str]]:
    """Run the SLA job once; the (ticket, alert) pairs it recorded."""
    return [(a.ticket.id, str(a.kind)) for a in asyncio.run(run_sla_check(services))]


# Working-hours arithmetic through the SLA ---------------------------------------------------
def test_a_normal_ticket_created_friday_evening_breaches_monday_not_saturday(
    services: Any, clock: FixedClock
) -> None:
    policy = SlaPolicy.from_settings(services.settings)
    created = paris(2026, 3, 6, 17, 0)  # Friday 17:00: 30 working minutes left that day

    def status(at: datetime) -> Any:
        return sla_status(policy, Urgency.normal, created, at)

    # 30 min on Friday + 3 h 30 on Monday morning = 4 working hours at Monday 12:30.
    assert status(paris(2026, 3, 7, 12, 0)).deadline == paris(2026, 3, 9, 12, 30)
    saturday = status(paris(2026, 3, 7, 17, 0))  # 24 real hours later: still 30 working min
    assert not saturday.breached and saturday.elapsed == timedelta(minutes=30)
    assert saturday.colour == "green"
    assert status(paris(2026, 3, 9, 11, 0)).colour == "orange"  # 2 h 30 worked
    assert not status(paris(2026, 3, 9, 12, 30)).breached
    monday = status(paris(2026, 3, 9, 13, 5))  # lunch break: not a working minute more
    assert monday.breached and monday.colour == "red"
    assert monday.elapsed == timedelta(hours=4) and not monday.manager_due
    # Manager: 2 x 4 working hours = Monday 17:30.
    assert monday.manager_deadline == paris(2026, 3, 9, 17, 30)
    assert status(paris(2026, 3, 10, 9, 1)).manager_due

    # The same through the job, with the clock moving.
    set_time(clock, created)
    ticket = new_ticket(services)
    for at in (paris(2026, 3, 7, 10, 0), paris(2026, 3, 8, 23, 0), paris(2026, 3, 9, 12, 29)):
        set_time(clock, at)
        assert check(services) == []
    set_time(clock, paris(2026, 3, 9, 13, 31))
    assert check(services) == [(ticket, "sla_breached")]
    assert sla_events(services, ticket) == [("sla_breached", paris(2026, 3, 9, 13, 31))]


def test_public_holidays_do_not_count(services: Any) -> None:
    policy = SlaPolicy.from_settings(services.settings)
    # Friday before Easter 2026 at 17:00; Easter Monday (6 April) is a public holiday.
    status = sla_status(policy, Urgency.normal, paris(2026, 4, 3, 17, 0), paris(2026, 4, 6, 16))
    assert status.elapsed == timedelta(minutes=30) and not status.breached
    assert status.deadline == paris(2026, 4, 7, 12, 30)


def test_a_crisis_breaches_after_15_real_minutes_even_at_night(
    services: Any, clock: FixedClock
) -> None:
    set_time(clock, paris(2026, 3, 7, 2, 0))  # Saturday, 2 a.m.
    ticket = new_ticket(services, crisis=True)
    clock.advance(minutes=14)
    assert check(services) == []
    assert services.tickets.get(ticket).urgency == Urgency.crisis
    clock.advance(minutes=2)
    assert check(services) == [(ticket, "sla_breached")]
    clock.advance(minutes=14)  # 30 min: exactly twice the SLA, not more
    assert check(services) == []
    clock.advance(minutes=1)
    assert check(services) == [(ticket, "manager_alerted")]


def test_an_escalated_ticket_gets_the_whole_crisis_sla_and_its_own_reminders(
    services: Any, clock: FixedClock
) -> None:
    ticket = new_ticket(services)  # Monday 09:00, normal
    person = services.tickets.get(ticket).person_pseudo
    set_time(clock, paris(2026, 3, 2, 14, 1))
    assert check(services) == [(ticket, "sla_breached")]  # 4 working hours: the team reminded
    set_time(clock, paris(2026, 3, 2, 14, 30))
    services.handoff.request(  # then a crisis message, still unclaimed
        person,
        TriageSummary(),
        source="crisis",
        urgency=Urgency.crisis,
        crisis_kind="suicide",
        signal=CrisisSignal("jvais en finir", "high", "pattern", "suicide"),
    )
    assert check(services) == []  # not "late" at once: 15 minutes from the escalation
    clock.advance(minutes=14)
    assert check(services) == []
    clock.advance(minutes=2)
    assert check(services) == [(ticket, "sla_breached")]  # reminded again, as a crisis
    clock.advance(minutes=14)  # 30 min: exactly twice the SLA
    assert check(services) == []
    clock.advance(minutes=1)
    assert check(services) == [(ticket, "manager_alerted")]
    assert check(services) == []
    assert [kind for kind, _ in sla_events(services, ticket)] == [
        "sla_breached",
        "sla_breached",
        "manager_alerted",
    ]


def test_a_claim_stops_the_clock(services: Any, clock: FixedClock) -> None:
    lea = account(services, "Léa")
    in_time = new_ticket(services, crisis=True)
    late = new_ticket(services, crisis=True)
    clock.advance(minutes=10)
    services.tickets.claim(in_time, lea)
    clock.advance(minutes=10)
    assert check(services) == [(late, "sla_breached")]
    services.tickets.claim(late, lea)
    clock.advance(hours=5)
    assert check(services) == []  # claimed: no manager alert, ever
    policy = SlaPolicy.from_settings(services.settings)
    status = policy.status(services.tickets.get(late), clock.now())
    assert status.claimed and status.elapsed == timedelta(minutes=20) and not status.manager_due


# Reminders: once, then a manager once, never repeated --------------------------------------
def test_check_sla_reminds_once_then_alerts_a_manager_once(
    services: Any, clock: FixedClock
) -> None:
    ticket = new_ticket(services)  # Monday 09:00
    set_time(clock, paris(2026, 3, 2, 14, 1))  # 4 working hours at 14:00
    asyncio.run(check_sla(services))
    assert [kind for kind, _ in sla_events(services, ticket)] == ["sla_breached"]
    for _ in range(5):  # every minute: nothing new
        clock.advance(minutes=1)
        asyncio.run(check_sla(services))
    assert [kind for kind, _ in sla_events(services, ticket)] == ["sla_breached"]
    set_time(clock, paris(2026, 3, 3, 9, 31))  # 8 working hours at Tuesday 09:30
    asyncio.run(check_sla(services))
    clock.advance(hours=30)
    asyncio.run(check_sla(services))
    assert sla_events(services, ticket) == [
        ("sla_breached", paris(2026, 3, 2, 14, 1)),
        ("manager_alerted", paris(2026, 3, 3, 9, 31)),
    ]
    # Late by more than twice the SLA at the first look (the app was down): both, once.
    other = new_ticket(services)
    clock.advance(days=7)
    assert check(services) == [(other, "sla_breached"), (other, "manager_alerted")]
    assert check(services) == []


def _race(services_list: list[Any]) -> list[tuple[int, str]]:
    barrier = threading.Barrier(len(services_list))
    results: list[list[tuple[int, str]]] = [[] for _ in services_list]
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            barrier.wait()
            results[index] = check(services_list[index])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(services_list))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    return [alert for result in results for alert in result]


def _two_workers_remind_once(tmp_path: Path, url: str | None) -> None:
    clock = FixedClock(paris(2026, 3, 2, 9, 0))
    first = _services(tmp_path / "a", clock, url)
    second = _services(tmp_path / "b", clock, url or first.settings.effective_database_url)
    try:
        tickets = [new_ticket(first, crisis=i % 2 == 0) for i in range(12)]
        for round_ in range(3):
            clock.advance(minutes=20)  # crises late, then past twice their SLA
            alerts = _race([first, second, first, second])
            expected = {
                0: {(t, "sla_breached") for i, t in enumerate(tickets) if i % 2 == 0},
                1: {(t, "manager_alerted") for i, t in enumerate(tickets) if i % 2 == 0},
                2: set(),
            }[round_]
            assert sorted(alerts) == sorted(expected), f"round {round_}"
        set_time(clock, paris(2026, 3, 3, 10, 0))  # the normal tickets: past twice 4 h
        alerts = _race([first, second, first, second])
        assert len(alerts) == 12 and len(set(alerts)) == 12
        for index, ticket in enumerate(tickets):
            assert sorted(kind for kind, _ in sla_events(first, ticket)) == [
                "manager_alerted",
                "sla_breached",
            ], f"ticket {index}"
    finally:
        first.db.dispose()
        second.db.dispose()


def test_two_workers_on_sqlite_remind_once(tmp_path: Path) -> None:
    _two_workers_remind_once(tmp_path, None)


def test_two_workers_on_postgresql_remind_once(tmp_path: Path, pg_url: str) -> None:
    _two_workers_remind_once(tmp_path, pg_url)


# Digest ------------------------------------------------------------------------------------
def seed_digest(services: Any, clock: FixedClock) -> dict[str, int]:
    """A known week; the digest is read on Wednesday 4 March 2026 at 08:30 (Paris)."""
    lea = account(services, "Léa")
    ids: dict[str, int] = {}
    set_time(clock, paris(2026, 3, 2, 9, 0))  # Monday
    ids["H"] = new_ticket(services)
    for name in ("E", "F", "G"):
        ids[name] = new_ticket(services)
        services.tickets.claim(ids[name], lea)
    services.tickets.set_follow_up(ids["E"], lea, paris(2026, 3, 4, 14, 0))  # Wednesday
    services.tickets.set_follow_up(ids["G"], lea, paris(2026, 3, 5, 9, 0))  # Thursday
    person_f = services.tickets.get(ids["F"]).person_id
    services.followups.schedule(
        person_f, FollowUpKind.counsellor_reminder, paris(2026, 3, 4, 10, 0), ticket_id=ids["F"]
    )
    set_time(clock, paris(2026, 3, 2, 14, 5))
    check(services)  # H late (more than 24 h before the digest)
    clock.advance(minutes=5)
    services.tickets.claim(ids["H"], lea)
    set_time(clock, paris(2026, 3, 3, 9, 0))  # Tuesday
    ids["A"] = new_ticket(services)
    set_time(clock, paris(2026, 3, 3, 10, 0))
    ids["C"] = new_ticket(services, location="Lille")
    set_time(clock, paris(2026, 3, 3, 14, 5))
    assert check(services) == [(ids["A"], "sla_breached")]
    set_time(clock, paris(2026, 3, 3, 17, 31))
    assert check(services) == [(ids["C"], "sla_breached")]
    set_time(clock, paris(2026, 3, 4, 8, 0))  # Wednesday
    ids["B"] = new_ticket(services, crisis=True)
    set_time(clock, paris(2026, 3, 4, 8, 20))
    assert check(services) == [(ids["B"], "sla_breached")]
    set_time(clock, paris(2026, 3, 4, 8, 30))
    return ids


def test_the_digest_lists_unclaimed_tickets_breaches_and_follow_ups(
    services: Any, clock: FixedClock
) -> None:
    ids = seed_digest(services, clock)
    digest = SlaService(services.db, services.settings, clock).digest()

    assert digest.day.isoformat() == "2026-03-04"
    assert [(team.team, [i.ticket.id for i in team.tickets]) for team in digest.unclaimed] == [
        ("lens", [ids["A"], ids["B"]]),  # oldest first
        ("lille", [ids["C"]]),
    ]
    assert digest.unclaimed_count == 3
    [a, b] = digest.unclaimed[0].tickets
    assert a.status.breached and a.waited == "7 h 30 ouvrées" and a.needs == ["emploi"]
    assert b.status.breached and b.waited == "30 min" and not b.status.manager_due
    assert [(x.ticket_id, x.still_waiting) for x in digest.breaches] == [
        (ids["A"], True),
        (ids["C"], True),
        (ids["B"], True),
    ]  # H's breach was more than 24 h ago
    assert [(f.ticket_id, f.due_at, f.reminder) for f in digest.follow_ups] == [
        (ids["F"], paris(2026, 3, 4, 10, 0), True),
        (ids["E"], paris(2026, 3, 4, 14, 0), False),
    ]
    assert digest.follow_ups[0].assignee_name == "Léa"

    text = digest_text(digest, "https://maraude.example", PARIS)
    assert text.startswith("☀️ Synthèse du 04/03/2026")
    assert "Tickets non pris en charge (3)" in text
    assert f"#{ids['A']} (depuis le 03/03 09:00, 7 h 30 ouvrées, emploi) ⚠️ délai dépassé" in text
    assert f"https://maraude.example/tableau/tickets/{ids['C']}" in text
    assert f"• #{ids['F']} à 10:00" in text and f"#{ids['G']} " not in text
    assert text.index(f"#{ids['A']} (") < text.index(f"#{ids['B']} (")


def digest_tickets(section: Element) -> list[int]:
    """The tickets a section of the synthèse lists, in order; each links to its page."""
    tickets = []
    for item in section.all("digest-ticket"):
        ticket = int(item.get("data-ticket") or 0)
        link = item.one("digest-link")
        assert (link.get("href"), link.text) == (f"/tableau/tickets/{ticket}", f"#{ticket}")
        tickets.append(ticket)
    return tickets


def test_the_synthese_page(tmp_path: Path, clock: FixedClock) -> None:
    app = create_app(quiet_settings(tmp_path), clock=clock)
    with TestClient(app) as http:
        services = app.state.services
        ids = seed_digest(services, clock)
        nadia = account(services, "Nadia", role=Role.manager)
        client = DashboardClient(http)
        assert client.login(nadia.email, PASSWORD).status_code == 200

        queue = parse_page(client.get("/tableau").text)
        assert queue.one("nav-synthese").get("href") == "/tableau/synthese"  # in the navigation
        assert queue.one("sla-late-badge").text == "3 en retard"  # A, C and B are past their SLA

        response = client.get("/tableau/synthese")
        assert response.status_code == 200
        page = parse_page(response.text)
        assert "Synthèse du 04/03/2026" in page.text
        unclaimed, breaches, follow_ups = (
            page.one(f"digest-{name}") for name in ("unclaimed", "breaches", "follow-ups")
        )
        assert [(team.get("data-team"), team.text) for team in unclaimed.all("digest-team")] == [
            ("lens", "Équipe Lens-Liévin (2)"),
            ("lille", "Équipe Métropole lilloise (1)"),
        ]
        assert digest_tickets(unclaimed) == [ids["A"], ids["B"], ids["C"]]  # by team, oldest first
        assert digest_tickets(breaches) == [ids["A"], ids["C"], ids["B"]]
        assert digest_tickets(follow_ups) == [ids["F"], ids["E"]]  # 10:00, then 14:00
        for ticket in ("H", "G"):  # H's breach was more than 24 h ago; G is due tomorrow
            assert f"/tableau/tickets/{ids[ticket]}" not in response.text
        banner = page.one("sla-banner").text
        assert banner == "3 tickets en attente au-delà du délai de prise en charge."

        # The ticket page tells what happened.
        events = parse_page(client.ticket_page(ids["A"]).text).one("events").text
        assert "Délai de prise en charge dépassé : équipe relancée" in events

        http.cookies.clear()
        assert "connexion" in str(http.get("/tableau/synthese").url)


# Through the counsellors' Telegram group (fake Bot API) -------------------------------------
def test_reminders_and_digest_in_the_counsellors_group(
    tmp_path: Path, fake_telegram: FakeTelegramServer
) -> None:
    settings = make_settings(
        tmp_path,
        telegram_bot_token=TEST_TOKEN,
        telegram_api_base_url=fake_telegram.url,
        counsellor_group_id=GROUP,
        nudges={"enabled": False},
    )
    with AppServer(settings) as server:
        services = server.services
        bridge = services.bridge
        assert bridge is not None

        def in_app(coro: Any) -> Any:
            return asyncio.run_coroutine_threadsafe(coro, bridge.loop).result(timeout=30)

        account(services, "Nadia", Role.manager, team="lens")
        account(services, "Paul", Role.manager, team="lille")
        ticket_id = new_ticket(services, crisis=True)
        topic = eventually(lambda: services.tickets.get(ticket_id).topic_id, what="the topic")
        start = services.tickets.get(ticket_id).created_at

        def topic_texts() -> list[str]:
            return [m["text"] for m in fake_telegram.sent_messages(GROUP, thread_id=topic)]

        def general_texts() -> list[str]:
            return [
                m["text"]
                for m in fake_telegram.sent_messages(GROUP)
                if not m.get("message_thread_id")
            ]

        later = FixedClock(start + timedelta(minutes=16))
        in_app(check_sla(services, clock=later))
        [reminder] = [t for t in topic_texts() if t.startswith("🔴 Urgence")]
        assert f"#{ticket_id} toujours sans prise en charge" in reminder
        assert "délai : 15 min" in reminder
        assert f"{settings.public_url}/tableau/tickets/{ticket_id}" in reminder
        assert general_texts() == []

        later.advance(minutes=15)  # 31 min: more than twice the SLA
        in_app(check_sla(services, clock=later))
        [alert] = general_texts()
        assert alert.startswith(f"🚨 Urgence #{ticket_id} (Équipe Lens-Liévin)")
        assert "Responsables alerté·es : Nadia." in alert  # the team's manager only
        assert f"/tableau/tickets/{ticket_id}" in alert
        assert alert in topic_texts()

        for _ in range(3):  # never again
            later.advance(minutes=1)
            in_app(check_sla(services, clock=later))
        assert len(general_texts()) == 1
        assert len([t for t in topic_texts() if t.startswith(("🔴 Urgence", "🚨"))]) == 2

        in_app(send_digest(services, clock=later))
        digest = general_texts()[-1]
        assert digest.startswith("☀️ Synthèse du")
        assert f"#{ticket_id} (🔴 urgence" in digest
        assert f"{settings.public_url}/tableau/synthese" in digest
        posted = len(general_texts())
        in_app(send_digest(services, clock=later))  # a second worker, the same day: nothing
        assert len(general_texts()) == posted
