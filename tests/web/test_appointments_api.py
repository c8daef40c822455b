"""Appointments through the REST API (issue 22): list, propose (outside opening hours: 409
with a code, then re-sent with allow_outside_hours), cancel, attendance, .ics, and the
refusals with their French messages (no token, another team, a colleague's ticket,
unclaimed, forged ids, invalid bodies)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.models import Role
from tests.web.test_api import Api, _api

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # Monday, 10:00 in Paris
IN_HOURS = "2026-03-04T14:30:00+01:00"
LATE = "2026-03-04T19:00:00+01:00"
PHONE = {"kind": "phone", "starts_at": IN_HOURS, "call_from": "03 21 00 00 00"}


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    yield from _api(tmp_path)


@pytest.fixture
def api_any(tmp_path: Path, db_url: str) -> Iterator[Api]:
    """On SQLite and on PostgreSQL (skipped without MARAUDE_TEST_POSTGRES_URL)."""
    yield from _api(tmp_path, db_url)


def held(api: Api) -> tuple[int, dict[str, str]]:
    me, headers = api.account("Awa")
    ticket_id = api.ticket()
    api.services.tickets.claim(ticket_id, me)
    return ticket_id, headers


def test_propose_list_cancel_and_ics(api_any: Api) -> None:
    api = api_any
    ticket_id, headers = held(api)
    url = f"/api/v1/tickets/{ticket_id}/appointments"
    assert api.client.get(url, headers=headers).json() == []
    created = api.client.post(url, json={**PHONE, "note": "à jeudi"}, headers=headers)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["status"] == "proposed" and body["status_label"] == "Proposé, sans réponse"
    assert body["kind_label"] == "Appel téléphonique" and body["call_from"] == "03 21 00 00 00"
    assert datetime.fromisoformat(body["starts_at"]) == datetime(2026, 3, 4, 13, 30, tzinfo=UTC)
    assert body["duration_minutes"] == 45
    assert body["counsellor_name"] == "Awa" and body["note"] == "à jeudi"
    [listed] = api.client.get(url, headers=headers).json()
    assert listed["id"] == body["id"]

    ics = api.client.get(f"/api/v1/appointments/{body['id']}.ics", headers=headers)
    assert ics.status_code == 200 and ics.headers["content-type"].startswith("text/calendar")
    assert "BEGIN:VEVENT" in ics.text and "TZID=Europe/Paris" in ics.text

    cancelled = api.client.post(f"/api/v1/appointments/{body['id']}/cancel", headers=headers)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = api.client.post(f"/api/v1/appointments/{body['id']}/cancel", headers=headers)
    assert again.status_code == 409
    assert again.json()["detail"] == "Ce rendez-vous n'est plus à venir."


def test_outside_opening_hours_then_allowed(api: Api) -> None:
    ticket_id, headers = held(api)
    url = f"/api/v1/tickets/{ticket_id}/appointments"
    late = {"kind": "in_person", "starts_at": LATE, "site_id": "lens"}
    refused = api.client.post(url, json=late, headers=headers)
    assert refused.status_code == 409
    assert refused.json()["code"] == "outside_opening_hours"
    assert "en dehors des horaires d'ouverture" in refused.json()["detail"]
    assert api.client.get(url, headers=headers).json() == []
    done = api.client.post(url, json={**late, "allow_outside_hours": True}, headers=headers)
    assert done.status_code == 201 and done.json()["outside_hours"] is True


def test_attendance_after_the_time(api_any: Api) -> None:
    api = api_any
    ticket_id, headers = held(api)
    url = f"/api/v1/tickets/{ticket_id}/appointments"
    appointment = api.client.post(url, json=PHONE, headers=headers).json()
    mark = f"/api/v1/appointments/{appointment['id']}/attendance"
    early = api.client.post(mark, json={"status": "attended"}, headers=headers)
    assert early.status_code == 409 and "pas encore eu lieu" in early.json()["detail"]
    api.later(days=3)
    bad = api.client.post(mark, json={"status": "cancelled"}, headers=headers)
    assert bad.status_code == 422
    done = api.client.post(mark, json={"status": "attended"}, headers=headers)
    assert done.status_code == 200
    assert done.json()["status"] == "attended" and done.json()["status_label"] == "Venu·e"
    assert done.json()["marked_by_id"] is not None


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({**PHONE, "starts_at": "2026-03-04T14:30:00"}, "starts_at"),  # no time zone
        ({**PHONE, "starts_at": "２０２６-03-04T14:30:00+01:00"}, "starts_at"),
        ({**PHONE, "kind": "teleport"}, "kind"),
        ({**PHONE, "note": "x" * 501}, "note"),
        ({**PHONE, "note": "nul\x00"}, "note"),
        ({**PHONE, "duration_minutes": 5}, "duration_minutes"),
    ],
)
def test_invalid_bodies_are_422(api: Api, body: dict[str, object], where: str) -> None:
    ticket_id, headers = held(api)
    response = api.client.post(
        f"/api/v1/tickets/{ticket_id}/appointments", json=body, headers=headers
    )
    assert response.status_code == 422
    assert where in str(response.json()["detail"])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({**PHONE, "starts_at": "2026-03-01T14:30:00+01:00"}, "doit être dans le futur"),
        ({**PHONE, "call_from": "12"}, "Indique le numéro d'où tu appelleras"),
        ({"kind": "in_person", "starts_at": IN_HOURS, "site_id": "atlantis"}, "Choisis un des"),
        ({"kind": "video", "starts_at": IN_HOURS, "location": "ftp://x"}, "https://"),
    ],
)
def test_rule_refusals_are_422_in_french(api: Api, body: dict[str, object], message: str) -> None:
    ticket_id, headers = held(api)
    response = api.client.post(
        f"/api/v1/tickets/{ticket_id}/appointments", json=body, headers=headers
    )
    assert response.status_code == 422 and message in response.json()["detail"]


def test_refusals(api: Api) -> None:
    ticket_id, headers = held(api)
    url = f"/api/v1/tickets/{ticket_id}/appointments"
    appointment = api.client.post(url, json=PHONE, headers=headers).json()
    aid = appointment["id"]

    assert api.client.get(url).status_code == 401
    assert api.client.post(url, json=PHONE).status_code == 401
    assert api.client.get(f"/api/v1/appointments/{aid}.ics").status_code == 401

    _, stranger = api.account("Omar", team="lille")  # another team: as if nothing existed
    assert api.client.get(url, headers=stranger).status_code == 404
    assert api.client.post(url, json=PHONE, headers=stranger).json() == {
        "detail": f"Ticket #{ticket_id} introuvable."
    }
    for path in (f"/api/v1/appointments/{aid}.ics", f"/api/v1/appointments/{aid}/cancel"):
        call = api.client.get if path.endswith(".ics") else api.client.post
        response = call(path, headers=stranger)
        assert response.status_code == 404
        assert response.json() == {"detail": f"Rendez-vous #{aid} introuvable."}

    _, colleague = api.account("Nina")  # same team, the ticket is Awa's
    assert api.client.get(url, headers=colleague).status_code == 200
    refused = api.client.post(url, json=PHONE, headers=colleague)
    assert refused.status_code == 403
    assert (
        api.client.post(f"/api/v1/appointments/{aid}/cancel", headers=colleague).status_code == 403
    )

    unclaimed = api.ticket()
    response = api.client.post(
        f"/api/v1/tickets/{unclaimed}/appointments", json=PHONE, headers=headers
    )
    assert response.status_code == 409
    assert response.json()["detail"] == "Prends le ticket avant de proposer un rendez-vous."

    _, boss = api.account("Sam", role=Role.manager)
    assert api.client.post(url, json=PHONE, headers=boss).status_code == 201

    assert api.client.get("/api/v1/appointments/999999.ics", headers=headers).status_code == 404
    assert api.client.post("/api/v1/appointments/0/cancel", headers=headers).status_code == 422
    assert (
        api.client.post("/api/v1/appointments/99999999999999/cancel", headers=headers).status_code
        == 422
    )
    assert api.client.get(f"{url}?x=1", headers=headers).status_code == 422
