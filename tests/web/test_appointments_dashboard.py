"""Appointments on the dashboard's ticket page (issue 22): the "Rendez-vous" section, the
proposal form (values kept after a refusal, "proposer quand même" outside opening hours),
cancel, attendance once the time has come, the counsellor's .ics, and every refusal (need to
know, a colleague's ticket, unclaimed, CSRF, forged ids, bad dates, huge fields)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from core.clock import FixedClock
from core.models import AppointmentStatus, Role
from maraude.app import create_app
from tests.support import make_settings
from tests.support.dashboard import PASSWORD, DashboardClient, account, logged_in
from tests.support.html import parse_page
from tests.web.test_dashboard import new_ticket

# Monday 2 March 2026, 10:00 in Paris: Wednesday 4 March is two days ahead.
CLOCK_START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
IN_HOURS = {"jour": "2026-03-04", "heure": "14:30"}  # 13:30 UTC
PHONE = {"type": "phone", "appel_depuis": "03.21.00.00.00", **IN_HOURS}


@pytest.fixture
def http(tmp_path: Path, clock: FixedClock) -> Iterator[TestClient]:
    app = create_app(make_settings(tmp_path), clock=clock)
    with TestClient(app) as client:
        yield client


@pytest.fixture
def services(http: TestClient) -> Any:
    return http.app.state.services  # type: ignore[attr-defined]


def held_ticket(http: TestClient, services: Any, name: str = "Léa") -> tuple[DashboardClient, int]:
    me = account(services, name)
    client = logged_in(http, services, me)
    ticket_id = new_ticket(services)
    client.claim(ticket_id)
    return client, ticket_id


def propose(client: DashboardClient, ticket_id: int, **fields: str) -> Any:
    client.ticket_page(ticket_id)
    return client.post(f"/tableau/tickets/{ticket_id}/rendez-vous", **fields)


def appointments(response: Any) -> list[Any]:
    return parse_page(response.text).all("appointment")


def test_propose_then_listed_with_history_and_ics(http: TestClient, services: Any) -> None:
    client, ticket_id = held_ticket(http, services)
    page = client.ticket_page(ticket_id)
    assert "Aucun rendez-vous pour ce ticket." in page.text
    assert 'id="appointment-form"' in page.text
    sites = parse_page(page.text)  # the team's own sites first (Lens: lens, henin)
    assert page.text.index('value="lens"') < page.text.index('value="lille"')
    assert sites is not None

    done = propose(client, ticket_id, **PHONE, mot="Prépare ton CV si tu l'as.")
    assert done.status_code == 200
    assert any(
        "Rendez-vous proposé au jeune pour le 04/03/2026 à 14:30" in f for f in client.flashes(done)
    )
    [line] = appointments(done)
    assert line.get("data-status") == "proposed"
    text = line.text
    assert "04/03/2026 à 14:30" in text and "Appel téléphonique" in text
    assert "appel depuis le 03 21 00 00 00" in text
    assert "Prépare ton CV si tu l'as." in text and "Proposé, sans réponse" in text
    assert "proposé par Léa" in text
    history = parse_page(done.text).one("events").text
    assert "Rendez-vous proposé : appel téléphonique le 04/03/2026 14:30 · Léa" in history

    [view] = services.appointments.for_ticket(ticket_id)
    assert view.starts_at == datetime(2026, 3, 4, 13, 30, tzinfo=UTC)
    ics = client.get(f"/tableau/tickets/{ticket_id}/rendez-vous/{view.id}.ics")
    assert ics.status_code == 200
    assert ics.headers["content-type"].startswith("text/calendar")
    assert "attachment" in ics.headers["content-disposition"]
    assert "BEGIN:VEVENT" in ics.text and "Europe/Paris" in ics.text

    # The young person's availability, once they asked for a change, is shown to the counsellor.
    services.appointments.answer(view.person_id, view.id, "change")
    services.appointments.youth_reply(view.person_id, view.id, "plutôt jeudi matin")
    page = client.ticket_page(ticket_id)
    [line] = appointments(page)
    assert "Le jeune demande un autre créneau" in line.text
    assert parse_page(page.text).one("youth-availability").text == (
        "Ses disponibilités : « plutôt jeudi matin »"
    )


def test_outside_opening_hours_warns_keeps_values_then_confirmed(
    http: TestClient, services: Any
) -> None:
    client, ticket_id = held_ticket(http, services)
    late = {"type": "in_person", "lieu": "henin", "jour": "2026-03-04", "heure": "19:00"}
    refused = propose(client, ticket_id, **late, detail="bureau 4", mot="à bientôt")
    assert refused.status_code == 422
    assert "en dehors des horaires d'ouverture" in parse_page(refused.text).text
    assert 'value="19:00"' in refused.text and 'value="2026-03-04"' in refused.text
    assert 'value="bureau 4"' in refused.text and ">à bientôt</textarea>" in refused.text
    assert '<option value="henin" selected>' in refused.text
    assert 'id="appointment-anyway"' in refused.text and "Proposer quand même" in refused.text
    assert services.appointments.for_ticket(ticket_id) == []

    confirmed = client.post(
        f"/tableau/tickets/{ticket_id}/rendez-vous", **late, detail="bureau 4", quand_meme="1"
    )
    assert confirmed.status_code == 200
    [line] = appointments(confirmed)
    assert "hors horaires d'ouverture" in line.text and "Antenne d'Hénin-Beaumont" in line.text
    assert "bureau 4" in line.text
    [view] = services.appointments.for_ticket(ticket_id)
    assert view.outside_hours and view.site_id == "henin"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({**PHONE, "jour": "2026-02-30"}, "Date ou heure du rendez-vous invalide"),
        ({**PHONE, "jour": "２０２６-03-04"}, "Date ou heure du rendez-vous invalide"),
        ({**PHONE, "heure": "25:00"}, "Date ou heure du rendez-vous invalide"),
        ({**PHONE, "heure": "１４:30"}, "Date ou heure du rendez-vous invalide"),
        ({**PHONE, "jour": ""}, "Date ou heure du rendez-vous invalide"),
        ({**PHONE, "jour": "2026-03-01"}, "doit être dans le futur"),
        ({**PHONE, "jour": "2027-03-04"}, "dans les 6 prochains mois"),
        ({**PHONE, "appel_depuis": "pas un numéro"}, "Indique le numéro d'où tu appelleras"),
        ({**PHONE, "appel_depuis": "０３ 21 00 00 00"}, "Indique le numéro d'où tu appelleras"),
        ({**PHONE, "type": "teleportation"}, "Choisis le type de rendez-vous."),
        ({**PHONE, "duree": "5"}, "La durée doit être entre 10 minutes et 8 heures."),
        ({**PHONE, "duree": "４５"}, "La durée doit être un nombre de minutes."),
        ({**IN_HOURS, "type": "in_person", "lieu": "nulle-part"}, "Choisis un des lieux"),
        ({**IN_HOURS, "type": "video", "detail": "http://x"}, "doit commencer par https://"),
        ({**PHONE, "mot": "a" * 501}, "dépasse 500 caractères"),
    ],
)
def test_invalid_proposals_are_refused_in_french(
    http: TestClient, services: Any, fields: dict[str, str], message: str
) -> None:
    client, ticket_id = held_ticket(http, services)
    response = propose(client, ticket_id, **fields)
    assert response.status_code == 422
    [error] = client.errors(response)
    assert message in error
    assert services.appointments.for_ticket(ticket_id) == []


def test_nul_bytes_and_huge_fields_never_500(http: TestClient, services: Any) -> None:
    client, ticket_id = held_ticket(http, services)
    ok = propose(client, ticket_id, **PHONE, mot="avec\x00nul", detail="ici\x00")
    assert ok.status_code == 200
    [view] = services.appointments.for_ticket(ticket_id)
    assert "\x00" not in (view.note or "")
    huge = client.post(f"/tableau/tickets/{ticket_id}/rendez-vous", **PHONE, mot="x" * 30_000)
    assert huge.status_code == 422
    huge_day = client.post(
        f"/tableau/tickets/{ticket_id}/rendez-vous", **PHONE | {"jour": "9" * 500}
    )
    assert huge_day.status_code == 422
    assert len(services.appointments.for_ticket(ticket_id)) == 1


def test_refusals(http: TestClient, services: Any) -> None:
    client, ticket_id = held_ticket(http, services)
    propose(client, ticket_id, **PHONE)
    [view] = services.appointments.for_ticket(ticket_id)
    base = f"/tableau/tickets/{ticket_id}/rendez-vous"

    # Anonymous: the login page, nothing done.
    anonymous = TestClient(http.app)
    response = anonymous.post(base, data=PHONE, follow_redirects=False)
    assert response.status_code == 303 and "/tableau/connexion" in response.headers["location"]
    assert anonymous.get(f"{base}/{view.id}.ics", follow_redirects=False).status_code == 303

    # CSRF missing or wrong: 403, nothing done.
    assert client.http.post(base, data=PHONE).status_code == 403
    assert (
        client.http.post(f"{base}/{view.id}/annuler", data={"csrf_token": "x"}).status_code == 403
    )

    # Another team's counsellor: as if neither the ticket nor the appointment existed.
    other = logged_in(TestClient(http.app), services, account(services, "Omar", team="lille"))
    assert other.ticket_page(ticket_id).status_code == 404
    assert other.get(f"{base}/{view.id}.ics").status_code == 404
    other.get("/tableau")
    gone = other.post(base, **PHONE)
    assert str(gone.url).endswith("/tableau")
    assert f"Ticket #{ticket_id} introuvable." in other.flashes(gone)
    gone = other.post(f"{base}/{view.id}/annuler")
    assert str(gone.url).endswith("/tableau") and "introuvable" in " ".join(other.flashes(gone))

    # A colleague of the team: may read, but not propose, cancel or mark (and sees no button).
    colleague = logged_in(TestClient(http.app), services, account(services, "Nina"))
    page = colleague.ticket_page(ticket_id)
    assert page.status_code == 200 and 'id="appointment-form"' not in page.text
    assert "appointment-cancel" not in page.text
    refused = colleague.post(base, **PHONE)
    assert str(refused.url).endswith(f"/tableau/tickets/{ticket_id}")
    assert colleague.errors(refused) and "collègue" in colleague.errors(refused)[0]
    refused = colleague.post(f"{base}/{view.id}/annuler")
    assert colleague.errors(refused)
    assert len(services.appointments.for_ticket(ticket_id)) == 1

    # Unclaimed: take it first.
    unclaimed = new_ticket(services)
    client.ticket_page(unclaimed)
    response = client.post(f"/tableau/tickets/{unclaimed}/rendez-vous", **PHONE)
    assert "Prends le ticket avant de proposer un rendez-vous." in client.errors(response)
    assert "Prends le ticket pour proposer un rendez-vous." in client.ticket_page(unclaimed).text

    # Forged ids: another ticket's appointment, unknown, huge, not a number.
    second, second_id = client, new_ticket(services)
    second.claim(second_id)
    forged = client.post(f"/tableau/tickets/{second_id}/rendez-vous/{view.id}/annuler")
    assert "Rendez-vous" in " ".join(client.flashes(forged)) and str(forged.url).endswith(
        "/tableau"
    )
    assert client.get(f"/tableau/tickets/{second_id}/rendez-vous/{view.id}.ics").status_code == 404
    assert client.get(f"{base}/999999.ics").status_code == 404
    assert client.post(f"{base}/99999999999999999999/annuler").status_code == 422
    assert client.post(f"{base}/abc/presence", statut="attended").status_code == 422
    assert services.appointments.get(view.id).status == AppointmentStatus.proposed


def test_cancel_then_attendance_once_the_time_has_come(
    http: TestClient, services: Any, clock: FixedClock
) -> None:
    client, ticket_id = held_ticket(http, services)
    propose(client, ticket_id, **PHONE)
    [first] = services.appointments.for_ticket(ticket_id)
    cancelled = client.post(f"/tableau/tickets/{ticket_id}/rendez-vous/{first.id}/annuler")
    assert "Rendez-vous annulé : le jeune est prévenu." in client.flashes(cancelled)
    again = client.post(f"/tableau/tickets/{ticket_id}/rendez-vous/{first.id}/annuler")
    assert "Ce rendez-vous n'est plus à venir." in client.errors(again)

    propose(client, ticket_id, **PHONE | {"heure": "15:00"})
    second = services.appointments.for_ticket(ticket_id)[0]
    mark = f"/tableau/tickets/{ticket_id}/rendez-vous/{second.id}/presence"
    page = client.ticket_page(ticket_id)
    assert "mark-attended" not in page.text  # not yet
    early = client.post(mark, statut="attended")
    assert "pas encore eu lieu" in client.errors(early)[0]

    clock.advance(days=3)
    client.login("léa@example.org", PASSWORD)  # the session went idle meanwhile
    page = client.ticket_page(ticket_id)
    assert parse_page(page.text).one("attendance").text.endswith("Venu·e Pas venu·e Reporté")
    odd = client.post(mark, statut="cancelled")
    assert "Choisis : venu·e, pas venu·e ou reporté." in client.errors(odd)
    # The ticket closed meanwhile: attendance may still be said.
    client.resolve(ticket_id, next(iter(services.tickets.outcomes)))
    done = client.post(mark, statut="missed")
    assert "Rendez-vous marqué : Pas venu·e." in client.flashes(done)
    [line, _] = appointments(done)
    assert line.get("data-status") == "missed" and "marqué par Léa" in line.text
    assert "Présence au rendez-vous : Pas venu·e" in parse_page(done.text).one("events").text


def test_a_manager_may_propose_on_a_ticket_held_by_a_counsellor(
    http: TestClient, services: Any
) -> None:
    _, ticket_id = held_ticket(http, services)
    boss = logged_in(TestClient(http.app), services, account(services, "Sam", role=Role.manager))
    done = propose(boss, ticket_id, **PHONE)
    assert done.status_code == 200 and len(appointments(done)) == 1
