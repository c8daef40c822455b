"""Appointments in the daily digest (issue 22): those of the day by team (time, kind, ticket,
confirmed or not yet) and those passed and not marked yet, in the Telegram text and on
/tableau/synthese (need to know: a counsellor sees only their team's)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from core.clock import FixedClock
from core.models import AppointmentKind, Role
from handoff.appointments import AppointmentDraft
from handoff.sla.digest import digest_text
from handoff.sla.service import SlaService
from maraude.app import create_app
from tests.handoff.test_sla import (
    PARIS,
    PASSWORD,
    account,
    new_ticket,
    paris,
    quiet_settings,
    set_time,
)
from tests.support.dashboard import DashboardClient
from tests.support.html import parse_page

CLOCK_START = paris(2026, 3, 2, 9, 0)  # a Monday


def phone(at: Any) -> AppointmentDraft:
    return AppointmentDraft(kind=AppointmentKind.phone, starts_at=at, call_from="0321000000")


def seed(services: Any, clock: FixedClock) -> dict[str, int]:
    """Read on Wednesday 4 March 2026 at 08:30 (Paris)."""
    lea, omar = account(services, "Léa"), account(services, "Omar", team="lille")
    tickets = {name: new_ticket(services) for name in ("today", "past", "cancelled", "marked")}
    tickets["lille"] = new_ticket(services, location="Lille")
    for name, ticket_id in tickets.items():
        services.tickets.claim(ticket_id, omar if name == "lille" else lea)
    book = services.appointments
    ids = {
        "today": book.propose(tickets["today"], lea, phone(paris(2026, 3, 4, 10, 0)))[0].id,
        "past": book.propose(tickets["past"], lea, phone(paris(2026, 3, 3, 11, 0)))[0].id,
        "cancelled": book.propose(tickets["cancelled"], lea, phone(paris(2026, 3, 4, 15, 0)))[0].id,
        "marked": book.propose(tickets["marked"], lea, phone(paris(2026, 3, 3, 9, 30)))[0].id,
    }
    lille = AppointmentDraft(
        kind=AppointmentKind.in_person, starts_at=paris(2026, 3, 4, 14, 0), site_id="lille"
    )
    ids["lille"] = book.propose(tickets["lille"], omar, lille)[0].id
    book.answer(services.tickets.get(tickets["lille"]).person_id, ids["lille"], "ok")
    book.cancel(ids["cancelled"], lea)
    set_time(clock, paris(2026, 3, 3, 12, 0))
    book.mark(ids["marked"], lea, "attended")
    set_time(clock, paris(2026, 3, 4, 8, 30))
    return tickets


def test_the_digest_lists_todays_appointments_and_the_unmarked(
    tmp_path: Path, clock: FixedClock
) -> None:
    app = create_app(quiet_settings(tmp_path), clock=clock)
    with TestClient(app) as http:
        services = app.state.services
        tickets = seed(services, clock)
        digest = SlaService(services.db, services.settings, clock).digest()
        assert [(a.ticket_id, a.team, a.state) for a in digest.appointments] == [
            (tickets["today"], "lens", "pas encore confirmé"),
            (tickets["lille"], "lille", "confirmé"),
        ]
        assert [a.ticket_id for a in digest.unmarked] == [tickets["past"]]

        text = digest_text(digest, "https://maraude.example", PARIS)
        link = "https://maraude.example/tableau/tickets/"
        assert "📆 Rendez-vous du jour (2) :" in text
        assert (
            f"• Équipe Lens-Liévin (1)\n  10:00 appel, #{tickets['today']} "
            f"(pas encore confirmé, Léa) {link}{tickets['today']}"
        ) in text
        assert f"  14:00 sur place, #{tickets['lille']} (confirmé, Omar)" in text
        assert "📋 Rendez-vous passés à marquer (1) :" in text
        assert f"  03/03 11:00 appel, #{tickets['past']}, Léa : venu·e ou pas ?" in text
        for name in ("cancelled", "marked"):
            assert f"#{tickets[name]}" not in text

        # The page: a manager sees both teams, a Lille counsellor only Lille's.
        boss = DashboardClient(http)
        nadia = account(services, "Nadia", Role.manager)
        assert boss.login(nadia.email, PASSWORD).status_code == 200
        section = parse_page(boss.get("/tableau/synthese").text).one("digest-appointments")
        shown = [int(item.get("data-ticket") or 0) for item in section.all("digest-appointment")]
        assert shown == [tickets["today"], tickets["lille"], tickets["past"]]
        assert "10:00 · appel" in section.text and "confirmé · Omar" in section.text
        assert "Rendez-vous passés, à marquer" in section.text

        http.cookies.clear()
        lille = DashboardClient(http)
        paul = account(services, "Paul", team="lille")
        assert lille.login(paul.email, PASSWORD).status_code == 200
        section = parse_page(lille.get("/tableau/synthese").text).one("digest-appointments")
        shown = [int(item.get("data-ticket") or 0) for item in section.all("digest-appointment")]
        assert shown == [tickets["lille"]]


def test_no_appointment_is_said(tmp_path: Path, clock: FixedClock) -> None:
    app = create_app(quiet_settings(tmp_path), clock=clock)
    with TestClient(app) as http:
        digest = SlaService(app.state.services.db, app.state.services.settings, clock).digest()
        assert digest.appointments == [] and digest.unmarked == []
        assert "📆 Aucun rendez-vous aujourd'hui." in digest_text(digest, "https://x", PARIS)
        assert http is not None
