"""The REST API for integrations on the real app (SQLite and, gated, PostgreSQL): token
authentication, the queue and its filters, every counsellor action through the desk, the
French refusals with their status codes, and an OpenAPI document that shows only the API."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import count
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from core.clock import FixedClock
from core.models import Channel, Direction, EventKind, Origin, Role, TicketStatus, Urgency
from core.people import LoggedMessage
from handoff.accounts import CounsellorRef
from handoff.requests import TriageSummary
from maraude.app import create_app
from tests.fakes.telegram_api import FakeTelegramServer
from tests.support import TEST_TOKEN, AppServer, make_settings
from tests.support.tickets import DEFAULT_TEAM, hold

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"


@dataclass
class Api:
    """The real app behind a test client, with helpers that seed through the services."""

    client: TestClient
    clock: FixedClock
    _ids: Iterator[int] = field(default_factory=lambda: count(1000))

    @property
    def services(self) -> Any:
        return self.client.app.state.services  # type: ignore[attr-defined]

    def account(
        self, first_name: str, role: Role = Role.counsellor, team: str | None = DEFAULT_TEAM
    ) -> tuple[CounsellorRef, dict[str, str]]:
        """An account and the headers of a fresh API token for it (by default in the team of
        the tickets without a place: need to know)."""
        email = f"{first_name.lower()}{next(self._ids)}@ml-lens.fr"
        ref = self.services.accounts.add(email, first_name, PASSWORD, role=role, team=team)
        token = self.services.accounts.create_token(ref.id, "tests")
        return ref, {"Authorization": f"Bearer {token}"}

    def ticket(
        self,
        location: str | None = None,
        urgency: Urgency = Urgency.normal,
        said: tuple[str, ...] = (),
        channel: Channel = Channel.simulator,
        key: str | None = None,
    ) -> int:
        """A young person who consented, said `said`, and asked for a counsellor."""
        person = self.services.people.identify(channel, key or f"y{next(self._ids)}")
        self.services.people.record_consent(person.pseudo_id, True)
        self.services.people.log_messages(
            person.id, [LoggedMessage(Direction.incoming, Origin.youth, text) for text in said]
        )
        ref = self.services.handoff.request(
            person.pseudo_id,
            TriageSummary(needs=["job"], age="19", location=location, excerpt="jcherche un taf"),
            source="crisis" if urgency == Urgency.crisis else "triage",
            urgency=urgency,
            crisis_kind="shelter" if urgency == Urgency.crisis else None,
        )
        return int(ref.ticket_id)

    def later(self, **delta: float) -> None:
        self.clock.advance(**delta)


def _api(tmp_path: Path, database_url: str | None = None) -> Iterator[Api]:
    overrides = {"database_url": database_url} if database_url else {}
    clock = FixedClock(START)
    app = create_app(make_settings(tmp_path, **overrides), clock=clock)
    with TestClient(app) as client:
        yield Api(client, clock)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    yield from _api(tmp_path)


@pytest.fixture
def api_any(tmp_path: Path, db_url: str) -> Iterator[Api]:
    """The app on SQLite and on PostgreSQL (skipped without MARAUDE_TEST_POSTGRES_URL)."""
    yield from _api(tmp_path, db_url)


def ids(response: httpx.Response) -> list[int]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


# Authentication ----------------------------------------------------------------------------
def test_missing_invalid_revoked_and_deactivated_tokens_get_401(api_any: Api) -> None:
    api = api_any
    api.ticket()
    ref, headers = api.account("Awa")
    assert api.client.get("/api/v1/tickets", headers=headers).status_code == 200

    refused = [
        {},
        {"Authorization": "Bearer mrd_not-a-real-token"},
        {"Authorization": "Bearer " + headers["Authorization"][7:-2]},  # truncated
        {"Authorization": "Basic " + headers["Authorization"][7:]},  # wrong scheme
        {"Authorization": headers["Authorization"][7:]},  # no scheme
    ]
    for bad in refused:
        response = api.client.get("/api/v1/tickets", headers=bad)
        assert response.status_code == 401, bad
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json() == {"detail": "Jeton d'API manquant, invalide, expiré ou révoqué."}
    # Writes are refused before anything is read or validated.
    response = api.client.post("/api/v1/tickets/1/reply", json={"text": ""})
    assert response.status_code == 401

    assert api.services.accounts.revoke_tokens(ref.id) == 1
    response = api.client.get("/api/v1/tickets", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"

    ref2, headers2 = api.account("Bilal")
    assert api.client.get("/api/v1/outcomes", headers=headers2).status_code == 200
    api.services.accounts.deactivate(ref2.id)
    assert api.client.get("/api/v1/outcomes", headers=headers2).status_code == 401


# Reading -----------------------------------------------------------------------------------
def test_list_orders_the_queue_and_filters(api_any: Api) -> None:
    api = api_any
    awa, headers = api.account("Awa", Role.manager)  # sees every team
    first = api.ticket(location="62300")  # Lens → team lens
    api.later(minutes=5)
    second = api.ticket()  # no location → default team
    api.later(minutes=5)
    crisis = api.ticket(urgency=Urgency.crisis)
    get = api.client.get

    # Crisis first, then the longest waiting.
    assert ids(get("/api/v1/tickets", headers=headers)) == [crisis, first, second]
    page = get("/api/v1/tickets", params={"limit": 1, "offset": 1}, headers=headers).json()
    assert [t["id"] for t in page["items"]] == [first]
    assert (page["limit"], page["offset"]) == (1, 1)

    item = get(f"/api/v1/tickets/{first}", headers=headers).json()
    assert item["team"] == "lens"
    assert item["territory"]
    assert ids(get("/api/v1/tickets", params={"team": "lens"}, headers=headers)) == [first]
    default_team = api.services.settings.handoff.default_team
    assert ids(get("/api/v1/tickets", params={"team": default_team}, headers=headers)) == [
        crisis,
        second,
    ]

    assert api.client.post(f"/api/v1/tickets/{second}/claim", headers=headers).status_code == 200
    assert ids(get("/api/v1/tickets", params={"mine": "true"}, headers=headers)) == [second]
    assert ids(get("/api/v1/tickets", params={"status": "new"}, headers=headers)) == [
        crisis,
        first,
    ]
    both = get(
        "/api/v1/tickets", params=[("status", "new"), ("status", "claimed")], headers=headers
    )
    assert ids(both) == [crisis, first, second]
    _, lens_h = api.account("Léa", team="lens")
    response = api.client.post(
        f"/api/v1/tickets/{first}/resolve", json={"outcome": "refus"}, headers=lens_h
    )
    assert response.status_code == 409  # nobody holds it: a counsellor must claim first
    _, manager = api.account("Chloé", role=Role.manager)
    response = api.client.post(
        f"/api/v1/tickets/{first}/resolve", json={"outcome": "refus"}, headers=manager
    )
    assert response.status_code == 200, response.text
    assert first not in ids(get("/api/v1/tickets", headers=headers))  # open ones by default
    assert ids(get("/api/v1/tickets", params={"status": "resolved"}, headers=headers)) == [first]

    for bad in (
        {"limit": 0},
        {"limit": 201},
        {"offset": -1},
        {"status": "ouvert"},
        {"team": "Lens; DROP"},
        {"mine": "peut-être"},
        {"mien": "true"},  # a typo must not silently list everything
    ):
        response = get("/api/v1/tickets", params=bad, headers=headers)
        assert response.status_code == 422, bad
        assert isinstance(response.json()["detail"], list)


def test_the_list_holds_only_what_the_token_may_see(api: Api) -> None:
    """Need to know, as the dashboard's queue: the team's tickets and those one holds (with
    the request's words, phone and questions); a manager sees them all."""
    lea, lea_h = api.account("Léa", team="lens")
    _, boss_h = api.account("Chloé", role=Role.manager)
    lens = api.ticket(location="62300")
    lille = api.ticket(location="59000")
    for ticket, phone in ((lens, "0612345678"), (lille, "0698765432")):
        ref = api.services.tickets.get(ticket)
        api.services.handoff.request(
            ref.person_pseudo,
            TriageSummary(phone=phone, questions=["et le CEJ ?"], writer="parent"),
            source="triage",
        )

    def listed(headers: dict[str, str], **params: str) -> dict[int, dict[str, Any]]:
        response = api.client.get("/api/v1/tickets", params=params, headers=headers)
        assert response.status_code == 200, response.text
        return {item["id"]: item for item in response.json()["items"]}

    items = listed(lea_h)
    assert list(items) == [lens]
    assert items[lens]["request"] == "jcherche un taf"
    assert items[lens]["summary"]["phone"] == "0612345678"
    assert items[lens]["summary"]["questions"] == ["et le CEJ ?"]
    assert items[lens]["summary"]["writer"] == "parent"
    assert listed(lea_h, team="lille") == {}  # asking for the team does not open it
    hold(api.services.db, lille, lea)  # held: Léa may see it now
    assert listed(lea_h)[lille]["summary"]["phone"] == "0698765432"
    assert set(listed(boss_h)) == {lens, lille}
    assert listed(boss_h)[lens]["request"] == "jcherche un taf"


def test_get_with_transcript_notes_and_summary(api: Api) -> None:
    _, headers = api.account("Awa", team="lens")
    ticket = api.ticket(location="62300", said=("salut", "jcherche un taf <b>vite</b>"))

    item = api.client.get(f"/api/v1/tickets/{ticket}", headers=headers)
    assert item.status_code == 200, item.text
    body = item.json()
    assert body["reference"] == f"#{ticket}"
    assert body["status"] == "new"
    assert body["status_label"] == "Nouveau"
    assert body["urgency"] == "normal"
    assert body["assignee"] is None
    assert body["summary"]["needs"] == ["job"]
    assert body["summary"]["age"] == "19"
    assert body["summary"]["location"] == "62300"
    assert body["created_at"].startswith("2026-03-02T09:00:00")
    assert body["transcript"] is None
    assert body["notes"] == []
    assert "person_pseudo" not in body and "person_id" not in body  # pseudonyms stay inside

    full = api.client.get(
        f"/api/v1/tickets/{ticket}", params={"include_transcript": "true"}, headers=headers
    ).json()
    assert [(m["origin"], m["direction"], m["text"]) for m in full["transcript"]] == [
        ("youth", "in", "salut"),
        ("youth", "in", "jcherche un taf <b>vite</b>"),
    ]

    missing = api.client.get("/api/v1/tickets/99999", headers=headers)
    assert missing.status_code == 404
    assert missing.json() == {"detail": "Ticket #99999 introuvable."}
    for bad in ("0", "abc", str(2**31), str(10**30)):
        assert api.client.get(f"/api/v1/tickets/{bad}", headers=headers).status_code == 422

    outcomes = api.client.get("/api/v1/outcomes", headers=headers).json()
    codes = {o["code"]: o for o in outcomes}
    assert codes["mission_locale"]["label"] == "Orienté·e vers la Mission Locale"
    assert codes["mission_locale"]["positive"] is True
    assert codes["sans_reponse"]["positive"] is False


# Counsellor actions ------------------------------------------------------------------------
def test_claim_once_and_a_colleague_gets_409_in_french(api_any: Api) -> None:
    api = api_any
    awa, awa_h = api.account("Awa")
    _, bilal_h = api.account("Bilal")
    ticket = api.ticket()

    api.later(minutes=12)
    response = api.client.post(f"/api/v1/tickets/{ticket}/claim", headers=awa_h)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "claimed"
    assert body["assignee"] == {"id": awa.id, "first_name": "Awa"}
    assert body["claimed_at"].startswith("2026-03-02T09:12:00")
    # A double click is harmless.
    assert api.client.post(f"/api/v1/tickets/{ticket}/claim", headers=awa_h).status_code == 200

    late = api.client.post(f"/api/v1/tickets/{ticket}/claim", headers=bilal_h)
    assert late.status_code == 409
    assert late.json() == {"detail": f"Trop tard : Awa a déjà pris le ticket #{ticket}."}

    missing = api.client.post("/api/v1/tickets/424242/claim", headers=awa_h)
    assert missing.status_code == 404

    events = api.services.tickets.events(ticket)
    claimed = [e for e in events if e.kind == EventKind.claimed]
    assert [(e.actor_name, e.via) for e in claimed] == [("Awa", "api")]
    # The young person was told who took the request (logged as a bot message).
    said = [m for m in api.services.tickets.transcript(ticket) if m.origin == Origin.bot]
    assert said and "Awa" in said[-1].text


def test_reply_stores_a_counsellor_message_on_the_ticket(api_any: Api) -> None:
    api = api_any
    awa, awa_h = api.account("Awa")
    _, bilal_h = api.account("Bilal")
    ticket = api.ticket(said=("allo",))
    url = f"/api/v1/tickets/{ticket}/reply"

    before = api.client.post(url, json={"text": "Bonjour !"}, headers=awa_h)
    assert before.status_code == 409
    assert before.json() == {"detail": "Prends le ticket avant de répondre."}

    api.client.post(f"/api/v1/tickets/{ticket}/claim", headers=awa_h)
    api.later(minutes=3)
    response = api.client.post(url, json={"text": "  Salut, c'est Awa 🙂  "}, headers=awa_h)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["ticket"]["status"] == "waiting_youth"
    assert body["ticket"]["first_reply_at"].startswith("2026-03-02T09:03:00")

    stored = [m for m in api.services.tickets.transcript(ticket) if m.id == body["message_id"]]
    assert len(stored) == 1
    message = stored[0]
    assert (message.origin, message.direction, message.text) == (
        Origin.counsellor,
        "out",
        "Salut, c'est Awa 🙂",
    )
    assert message.counsellor_name == "Awa" and message.in_ticket
    full = api.client.get(
        f"/api/v1/tickets/{ticket}", params={"include_transcript": True}, headers=awa_h
    ).json()
    assert full["transcript"][-1]["counsellor"] == "Awa"
    assert full["transcript"][-1]["in_ticket"] is True

    colleague = api.client.post(url, json={"text": "Moi aussi"}, headers=bilal_h)
    assert colleague.status_code == 403
    assert colleague.json() == {"detail": "Ce ticket est suivi par un·e collègue."}
    for bad in ({"text": ""}, {"text": "x" * 4097}, {}, {"text": 12}, {"text": "a\x00b"}):
        assert api.client.post(url, json=bad, headers=awa_h).status_code == 422, bad
    blank = api.client.post(url, json={"text": "   "}, headers=awa_h)
    assert blank.status_code == 422
    assert blank.json() == {"detail": "Le message est vide."}
    broken = api.client.post(
        url, content=b'{"text": ', headers={**awa_h, "Content-Type": "application/json"}
    )
    assert broken.status_code == 422
    replies = [e for e in api.services.tickets.events(ticket) if e.kind == EventKind.replied]
    assert [(e.actor_name, e.via) for e in replies] == [("Awa", "api")]


def test_notes_are_added_and_shown(api: Api) -> None:
    _, headers = api.account("Awa")
    ticket = api.ticket()
    url = f"/api/v1/tickets/{ticket}/notes"

    response = api.client.post(url, json={"text": "Rappeler après 14 h"}, headers=headers)
    assert response.status_code == 201, response.text
    assert response.json()["author"] == "Awa"
    assert response.json()["text"] == "Rappeler après 14 h"
    notes = api.client.get(f"/api/v1/tickets/{ticket}", headers=headers).json()["notes"]
    assert [(n["author"], n["text"]) for n in notes] == [("Awa", "Rappeler après 14 h")]
    assert api.client.post(url, json={"text": "  "}, headers=headers).json() == {
        "detail": "La note est vide."
    }
    assert api.client.post(
        "/api/v1/tickets/9999/notes", json={"text": "x"}, headers=headers
    ).json() == {"detail": "Ticket #9999 introuvable."}
    # Notes are internal: nothing reaches the young person's conversation.
    assert api.services.tickets.transcript(ticket) == []


def test_resolve_with_an_outcome(api_any: Api) -> None:
    api = api_any
    _, headers = api.account("Awa")
    ticket = api.ticket()
    url = f"/api/v1/tickets/{ticket}/resolve"
    api.client.post(f"/api/v1/tickets/{ticket}/claim", headers=headers)

    unknown = api.client.post(url, json={"outcome": "licorne"}, headers=headers)
    assert unknown.status_code == 422
    assert unknown.json() == {"detail": "Issue inconnue : licorne"}
    assert api.client.post(url, json={}, headers=headers).status_code == 422

    api.later(hours=1)
    response = api.client.post(
        url, json={"outcome": "mission_locale", "comment": "RDV jeudi"}, headers=headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "resolved"
    assert body["outcome"] == "mission_locale"
    assert body["outcome_label"] == "Orienté·e vers la Mission Locale"
    assert body["outcome_comment"] == "RDV jeudi"
    assert body["resolved_at"].startswith("2026-03-02T10:00:00")

    again = api.client.post(url, json={"outcome": "autre"}, headers=headers)
    assert again.status_code == 409
    assert again.json() == {"detail": f"Le ticket #{ticket} est déjà clôturé."}
    resolved = [e for e in api.services.tickets.events(ticket) if e.kind == EventKind.resolved]
    assert [(e.via, e.data["outcome"], e.data["positive"]) for e in resolved] == [
        ("api", "mission_locale", True)
    ]


def test_transfer_to_a_team_or_a_colleague(api_any: Api) -> None:
    api = api_any
    _, awa_h = api.account("Awa")  # the default team's
    bilal, bilal_h = api.account("Bilal", team="lens")
    ticket = api.ticket()
    url = f"/api/v1/tickets/{ticket}/transfer"
    api.client.post(f"/api/v1/tickets/{ticket}/claim", headers=awa_h)

    unknown = api.client.post(url, json={"to_team": "marseille"}, headers=awa_h)
    assert unknown.status_code == 422
    assert unknown.json() == {"detail": "Équipe inconnue : marseille"}
    for bad in ({}, {"to_team": "lens", "to_counsellor_email": bilal.email}):
        assert api.client.post(url, json=bad, headers=awa_h).status_code == 422, bad
    nobody = api.client.post(url, json={"to_counsellor_email": "personne@x.fr"}, headers=awa_h)
    assert nobody.status_code == 422
    assert nobody.json() == {"detail": "Aucun compte actif pour personne@x.fr."}

    to_bilal = api.client.post(
        url, json={"to_counsellor_email": bilal.email.upper()}, headers=awa_h
    )
    assert to_bilal.status_code == 200, to_bilal.text
    assert to_bilal.json()["assignee"] == {"id": bilal.id, "first_name": "Bilal"}
    assert (to_bilal.json()["status"], to_bilal.json()["team"]) == ("claimed", "lens")
    # Now Lens's and held by Bilal: for Awa it no longer exists.
    gone = api.client.post(url, json={"to_team": "lens"}, headers=awa_h)
    assert (gone.status_code, gone.json()) == (404, {"detail": f"Ticket #{ticket} introuvable."})

    response = api.client.post(url, json={"to_team": DEFAULT_TEAM}, headers=bilal_h)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["team"], body["status"], body["assignee"]) == (DEFAULT_TEAM, "new", None)
    assert ids(api.client.get("/api/v1/tickets", headers=awa_h)) == [ticket]
    assert ids(api.client.get("/api/v1/tickets", headers=bilal_h)) == []
    transfers = [e for e in api.services.tickets.events(ticket) if e.kind == EventKind.transferred]
    assert [(e.via, e.data["from_team"], e.data["to_team"]) for e in transfers] == [
        ("api", DEFAULT_TEAM, "lens"),
        ("api", "lens", DEFAULT_TEAM),
    ]


def test_follow_up_must_be_an_aware_future_date(api_any: Api) -> None:
    api = api_any
    _, headers = api.account("Awa")
    ticket = api.ticket()
    url = f"/api/v1/tickets/{ticket}/follow-up"

    past = api.client.post(url, json={"at": "2026-03-01T10:00:00+01:00"}, headers=headers)
    assert past.status_code == 422
    assert past.json() == {"detail": "La date de relance doit être dans le futur."}
    naive = api.client.post(url, json={"at": "2026-03-09T10:00:00"}, headers=headers)
    assert naive.status_code == 422
    assert api.client.post(url, json={"at": "mardi"}, headers=headers).status_code == 422
    assert api.client.post(url, json={}, headers=headers).status_code == 422

    response = api.client.post(url, json={"at": "2026-03-09T10:00:00+01:00"}, headers=headers)
    assert response.status_code == 200, response.text
    when = datetime.fromisoformat(response.json()["follow_up_at"])
    assert when == datetime(2026, 3, 9, 9, 0, tzinfo=UTC)
    cleared = api.client.post(url, json={"at": None}, headers=headers)
    assert cleared.status_code == 200
    assert cleared.json()["follow_up_at"] is None
    assert api.services.tickets.get(ticket).follow_up_at is None


def test_a_follow_up_with_a_message_schedules_it_for_the_young_person(api: Api) -> None:
    from core.models import FollowUpKind

    _, headers = api.account("Awa")
    ticket = api.ticket()
    url = f"/api/v1/tickets/{ticket}/follow-up"
    body = {"at": "2026-03-09T10:00:00+01:00", "message": "Alors, ce rendez-vous ?"}
    assert api.client.post(url, json=body, headers=headers).status_code == 200
    person = api.services.tickets.get(ticket).person_id
    kinds = {f.kind for f in api.services.followups.pending(person)}
    assert {FollowUpKind.youth_followup, FollowUpKind.counsellor_reminder} <= kinds


def test_only_the_holder_or_a_manager_can_release(api_any: Api) -> None:
    api = api_any
    _, awa_h = api.account("Awa")
    _, bilal_h = api.account("Bilal")
    _, manager_h = api.account("Chloé", role=Role.manager)
    ticket = api.ticket()
    url = f"/api/v1/tickets/{ticket}/release"

    nobody = api.client.post(url, headers=awa_h)
    assert nobody.status_code == 409
    assert nobody.json() == {"detail": "Ce ticket n'est pris par personne."}
    api.client.post(f"/api/v1/tickets/{ticket}/claim", headers=awa_h)

    colleague = api.client.post(url, headers=bilal_h)
    assert colleague.status_code == 403
    assert colleague.json() == {"detail": "Ce ticket est suivi par un·e collègue."}
    assert api.services.tickets.get(ticket).status == TicketStatus.claimed

    response = api.client.post(url, headers=manager_h)
    assert response.status_code == 200, response.text
    assert (response.json()["status"], response.json()["assignee"]) == ("new", None)
    released = [e for e in api.services.tickets.events(ticket) if e.kind == EventKind.released]
    assert [(e.actor_name, e.via) for e in released] == [("Chloé", "api")]
    # Back in the queue: Bilal can take it now.
    assert api.client.post(f"/api/v1/tickets/{ticket}/claim", headers=bilal_h).status_code == 200


# The young person on Telegram --------------------------------------------------------------
def test_claim_and_reply_reach_the_young_person_on_telegram(tmp_path: Path) -> None:
    """Over real HTTP: the API → the desk → the bot → the (fake) Bot API."""
    chat_id = 555001
    with FakeTelegramServer() as telegram:
        settings = make_settings(
            tmp_path, telegram_bot_token=TEST_TOKEN, telegram_api_base_url=telegram.url
        )
        with AppServer(settings) as server:
            services = server.services
            person = services.people.identify(Channel.telegram, str(chat_id))
            services.people.record_consent(person.pseudo_id, True)
            ref = services.handoff.request(person.pseudo_id, TriageSummary(), source="triage")
            awa = services.accounts.add("awa@ml-lens.fr", "Awa", PASSWORD, team=DEFAULT_TEAM)
            token = services.accounts.create_token(awa.id, "crm")
            auth = {"Authorization": f"Bearer {token}"}
            with httpx.Client(base_url=server.url, headers=auth, timeout=10) as http:
                claim = http.post(f"/api/v1/tickets/{ref.ticket_id}/claim")
                assert claim.status_code == 200, claim.text
                telegram.wait_for_messages(chat_id, 1)
                reply = http.post(
                    f"/api/v1/tickets/{ref.ticket_id}/reply", json={"text": "Je t'appelle à 15 h ?"}
                )
                assert reply.status_code == 201, reply.text
                sent = telegram.wait_for_messages(chat_id, 2)
    assert "Awa" in sent[0]["text"]
    assert sent[1]["text"] == "Awa (conseiller·e) :\nJe t'appelle à 15 h ?"


# The OpenAPI document ----------------------------------------------------------------------
def test_openapi_shows_only_the_api_and_health(api: Api) -> None:
    assert api.client.get("/openapi.json").status_code == 401  # staff only
    _ref, headers = api.account("Awa")
    document = api.client.get("/openapi.json", headers=headers).json()
    paths = set(document["paths"])
    assert paths == {
        "/health",
        "/api/v1/tickets",
        "/api/v1/tickets/{ticket_id}",
        "/api/v1/outcomes",
        "/api/v1/tickets/{ticket_id}/claim",
        "/api/v1/tickets/{ticket_id}/release",
        "/api/v1/tickets/{ticket_id}/reply",
        "/api/v1/tickets/{ticket_id}/notes",
        "/api/v1/tickets/{ticket_id}/resolve",
        "/api/v1/tickets/{ticket_id}/transfer",
        "/api/v1/tickets/{ticket_id}/follow-up",
        "/api/v1/tickets/{ticket_id}/false-alarm",
        "/api/v1/tickets/{ticket_id}/appointments",
        "/api/v1/appointments/{appointment_id}/cancel",
        "/api/v1/appointments/{appointment_id}/attendance",
        "/api/v1/appointments/{appointment_id}.ics",
    }
    assert document["components"]["securitySchemes"]["apiToken"] == {
        "type": "http",
        "scheme": "bearer",
        "description": (
            "Jeton d'API créé par `maraude user token EMAIL --name USAGE` (préfixe `mrd_`), "
            "valable `server.api_token_days` jours par défaut."
        ),
    }
    for path, operations in document["paths"].items():
        if not path.startswith("/api/"):
            continue
        for method, operation in operations.items():
            assert operation["security"] == [{"apiToken": []}], (method, path)
            assert "401" in operation["responses"], (method, path)
            assert "429" in operation["responses"], (method, path)  # rate limits
    claim = document["paths"]["/api/v1/tickets/{ticket_id}/claim"]["post"]
    assert set(claim["responses"]) == {"200", "401", "404", "409", "422", "429"}
    release = document["paths"]["/api/v1/tickets/{ticket_id}/release"]["post"]
    assert set(release["responses"]) == {"200", "401", "403", "404", "409", "422", "429"}
    outcomes = document["paths"]["/api/v1/outcomes"]["get"]
    assert set(outcomes["responses"]) == {"200", "401", "422", "429"}
