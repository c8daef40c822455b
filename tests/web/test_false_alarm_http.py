"""Crisis signals and false alarms over the app's real HTTP routes: the dashboard's queue and
ticket page, the "Fausse alerte" form, the managers' inbox and the REST API (every refusal
with its status code and French message), on SQLite; the real app behind Starlette's
TestClient, people and tickets made through the services as the bot would."""

from __future__ import annotations

import html
from collections.abc import Iterator
from itertools import count
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from core.clock import FixedClock
from core.models import Channel, EventKind, Role, TicketStatus, Urgency
from handoff.accounts import CounsellorRef
from handoff.requests import CrisisSignal, TriageSummary
from maraude.app import create_app
from tests.support import make_settings
from tests.support.dashboard import CLOCK_START, DashboardClient, account, logged_in
from tests.support.html import parse_page

XSS = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'
JOKE = "jvais me tuer de rire avec ce prof mdr"
_keys = count(1)


@pytest.fixture
def http(tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(make_settings(tmp_path), clock=FixedClock(CLOCK_START))
    with TestClient(app) as client:
        yield client


@pytest.fixture
def services(http: TestClient) -> Any:
    return http.app.state.services  # type: ignore[attr-defined]


def person(services: Any, *, consent: bool) -> str:
    ref = services.people.identify(Channel.simulator, f"jeune-alerte-{next(_keys)}")
    if consent:
        services.people.record_consent(ref.pseudo_id, True)
    return str(ref.pseudo_id)


def urgent(
    services: Any,
    pseudo: str,
    text: str | None = JOKE,
    *,
    minor: bool = False,
    kind: str = "suicide",
    reason: str = "pattern",
    detail: str | None = "me tuer",
) -> int:
    ref = services.handoff.request(
        pseudo,
        TriageSummary(location="Lens"),
        source="crisis",
        urgency=Urgency.crisis,
        crisis_kind=kind,
        signal=CrisisSignal(text=text, tier="high", reason=reason, kind=kind, detail=detail),
        minor=minor,
    )
    return int(ref.ticket_id)


def browser(http: TestClient, who: CounsellorRef) -> DashboardClient:
    """Another browser (its own cookies) logged in as `who`."""
    client = DashboardClient(TestClient(http.app))
    client.login(who.email, "un-mot-de-passe-solide")
    return client


# Queue and ticket page ---------------------------------------------------------------------
def test_the_queue_shows_tier_trigger_and_minor_escaped(http: TestClient, services: Any) -> None:
    lea = account(services, "Léa")
    long_text = "jai tout prévu pour ce soir " * 10
    plan = urgent(services, person(services, consent=False), long_text.strip(), minor=True)
    xss = urgent(services, person(services, consent=False), XSS, kind="violence")
    normal = services.handoff.request(
        person(services, consent=True), TriageSummary(location="Lens"), source="triage"
    ).ticket_id
    client = logged_in(http, services, lea)

    rows = {row["id"]: row for row in client.queue()}
    assert list(rows) == [plan, xss, normal]  # suicide by pattern, violence by pattern, normal
    assert rows[plan]["alert_tier"] == "élevé" and rows[plan]["minor"] is True
    assert rows[plan]["alert_why"] == "phrase repérée : « me tuer »"
    assert len(rows[plan]["alert_text"]) == 90 and rows[plan]["alert_text"].endswith("…")
    assert rows[xss]["alert_text"] == XSS and rows[xss]["minor"] is False  # JSON: as typed
    assert rows[normal]["alert_text"] == "" and rows[normal]["alert_tier"] == ""

    page = client.get("/tableau").text
    assert XSS not in page and "<script>window.__xss" not in page
    assert html.escape(XSS, quote=False).replace('"', "&#34;") in page
    shown = parse_page(page)
    assert [m.text for m in shown.all("minor")] == ["mineur·e"]  # one badge, on its line
    assert [r.get("data-ticket") for r in shown.all("queue-row") if r.has("minor")] == [str(plan)]
    assert "niveau élevé" in page


def test_the_ticket_page_shows_every_signal_even_without_consent(
    http: TestClient, services: Any
) -> None:
    lea = account(services, "Léa")
    pseudo = person(services, consent=False)
    services.handoff.flag(
        pseudo,
        CrisisSignal(
            "jai plus envie de rien",
            "medium",
            "danger_words",
            "suicide",
            "plus envie",
            answer="oui",
        ),
    )
    ticket_id = urgent(services, pseudo, "ce soir jen finis, jai les cachets", minor=True)
    page = html.unescape(logged_in(http, services, lea).ticket_page(ticket_id).text)
    for text in (
        "Ce qui a alerté le robot",
        "« ce soir jen finis, jai les cachets »",
        "niveau <strong>élevé</strong>",
        "phrase repérée : « me tuer »",
        "a déclenché l'urgence",
        "signalé, puis le jeune a dit être en sécurité",
        "mots inquiétants : « plus envie », sécurité : « oui »",
        "Message non conservé (sans consentement du jeune).",  # the flag's text is not kept
        "Aucun message conservé pour l'instant",  # nor the conversation
        'id="minor"',
        "oui, idées suicidaires · niveau élevé",
        "Prends le ticket pour pouvoir le marquer comme fausse alerte.",
    ):
        assert text in page, text
    assert "jai plus envie de rien" not in page
    assert 'id="false-alarm"' not in page  # a counsellor claims first


# The "Fausse alerte" form ------------------------------------------------------------------
def test_a_false_alarm_from_the_dashboard(http: TestClient, services: Any) -> None:
    lea, sam = account(services, "Léa"), account(services, "Sam")
    boss = account(services, "Nadia", role=Role.manager)
    with_consent = urgent(services, person(services, consent=True))
    without = urgent(services, person(services, consent=False), "jvais le tuer ce jeu")
    client = logged_in(http, services, lea)
    client.claim(with_consent)
    page = client.ticket_page(with_consent).text
    assert 'id="false-alarm"' in page and 'maxlength="500"' in page

    # Refusals come back as flash messages, nothing changes.
    assert client.errors(client._act(with_consent, "fausse-alerte", raison="   ")) == [
        "Dis en quelques mots pourquoi c'est une fausse alerte."
    ]
    refused = client._act(with_consent, "fausse-alerte", raison="x" * 501)
    assert client.errors(refused) == ["Raison trop longue (501 caractères, 500 max)."]
    sam_client = browser(http, sam)
    assert 'id="false-alarm"' not in sam_client.ticket_page(with_consent).text
    refused = sam_client._act(with_consent, "fausse-alerte", raison="blague")
    assert sam_client.errors(refused) == ["Ce ticket est suivi par un·e collègue."]
    refused = sam_client._act(without, "fausse-alerte", raison="blague")
    assert sam_client.errors(refused) == [
        "Prends le ticket avant de le marquer comme fausse alerte."
    ]
    forged = client.http.post(
        f"/tableau/tickets/{with_consent}/fausse-alerte",
        data={"csrf_token": "forged", "raison": "blague"},
    )
    assert forged.status_code == 403
    assert services.tickets.get(with_consent).urgency == Urgency.crisis

    done = client._act(with_consent, "fausse-alerte", raison="« me tuer » = mourir de rire")
    assert client.errors(done) == []
    assert client.flashes(done)[0].startswith(f"Ticket #{with_consent} marqué comme fausse alerte")
    assert "Fausse alerte : retour en priorité normale : « « me tuer » = mourir de rire »" in (
        html.unescape(done.text)
    )
    assert "non (fausse alerte : idées suicidaires)" in done.text
    assert 'id="false-alarm"' not in done.text
    view = services.tickets.get(with_consent)
    assert (view.urgency, view.priority, view.status) == (Urgency.normal, 1, TicketStatus.claimed)
    rows = {row["id"]: row for row in client.queue()}
    assert not rows[with_consent]["crisis"] and rows[without]["crisis"]
    again = client._act(with_consent, "fausse-alerte", raison="encore")
    assert client.errors(again) == [
        f"Le ticket #{with_consent} n'est pas (ou plus) en urgence : "
        "rien à marquer comme fausse alerte."
    ]

    # A manager may mark an unclaimed one; then both reach the inbox.
    boss_client = browser(http, boss)
    assert 'id="false-alarm"' in boss_client.ticket_page(without).text
    done = boss_client._act(without, "fausse-alerte", raison="parle d'un jeu vidéo")
    assert boss_client.errors(done) == []
    inbox = boss_client.get("/tableau/incompris")
    assert inbox.status_code == 200
    text = html.unescape(inbox.text)
    assert "Fausses alertes" in text and JOKE in text
    assert "Conseiller·e : « me tuer » = mourir de rire" in text
    assert "jvais le tuer ce jeu" not in text  # no consent: no text
    assert "(message non conservé : pas de consentement)" in text
    assert "parle d'un jeu vidéo" in text
    assert parse_page(inbox.text).one("count-pending").text == "0"  # not misunderstood

    [hidden] = [t for t in services.insights.false_alarms() if not t.text]
    seen = boss_client.post("/tableau/incompris/vu", tour=str(hidden.id))
    assert boss_client.flashes(seen) == ["Fausse alerte sans texte marquée comme vue (1)."]
    [shown] = services.insights.false_alarms()
    annotated = boss_client.post(
        "/tableau/incompris/annoter", groupe="out_of_scope", tour=str(shown.id)
    )
    assert boss_client.errors(annotated) == []
    after = boss_client.get("/tableau/incompris").text
    assert "Fausses alertes" not in after
    denied = client.post("/tableau/incompris/vu", tour=str(hidden.id))
    assert denied.status_code == 403  # counsellors do not manage the inbox


# REST API ----------------------------------------------------------------------------------
def token(services: Any, who: CounsellorRef) -> dict[str, str]:
    return {"Authorization": f"Bearer {services.accounts.create_token(who.id, 'tests')}"}


def test_false_alarm_through_the_api_and_each_refusal(http: TestClient, services: Any) -> None:
    lea, sam = account(services, "Léa"), account(services, "Sam")
    boss = account(services, "Nadia", role=Role.manager)
    ticket_id = urgent(services, person(services, consent=False), minor=True)
    lea_h, sam_h, boss_h = token(services, lea), token(services, sam), token(services, boss)

    def post(ticket: int, body: Any, headers: dict[str, str]) -> Any:
        return http.post(f"/api/v1/tickets/{ticket}/false-alarm", json=body, headers=headers)

    detail = http.get(f"/api/v1/tickets/{ticket_id}", headers=lea_h).json()
    assert detail["minor"] is True and detail["summary"]["excerpt"] is None
    assert detail["alert"]["text"] == JOKE and detail["alert"]["tier"] == "high"
    assert [s["origin"] for s in detail["signals"]] == ["urgent"]

    assert post(ticket_id, {"reason": "blague"}, {}).status_code == 401
    unclaimed = post(ticket_id, {"reason": "blague"}, lea_h)
    assert unclaimed.status_code == 409
    assert unclaimed.json() == {
        "detail": "Prends le ticket avant de le marquer comme fausse alerte."
    }
    http.post(f"/api/v1/tickets/{ticket_id}/claim", headers=lea_h).raise_for_status()
    for body in ({}, {"reason": ""}, {"reason": "x" * 501}, {"reason": 12}):
        invalid = post(ticket_id, body, lea_h)
        assert invalid.status_code == 422, body
        assert isinstance(invalid.json()["detail"], list)  # the fields at fault
    blank = post(ticket_id, {"reason": "   "}, lea_h)
    assert blank.status_code == 422
    assert blank.json() == {"detail": "Dis en quelques mots pourquoi c'est une fausse alerte."}
    forbidden = post(ticket_id, {"reason": "blague"}, sam_h)
    assert forbidden.status_code == 403
    assert forbidden.json() == {"detail": "Ce ticket est suivi par un·e collègue."}
    missing = post(999_999, {"reason": "blague"}, lea_h)
    assert missing.status_code == 404
    assert missing.json() == {"detail": "Ticket #999999 introuvable."}
    assert services.tickets.get(ticket_id).urgency == Urgency.crisis  # nothing changed

    done = post(ticket_id, {"reason": "il parlait d'un film"}, lea_h)
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["urgency"] == "normal" and body["crisis_kind"] == "suicide"
    assert body["alert"] is None and body["minor"] is True
    [event] = [e for e in services.tickets.events(ticket_id) if e.kind == EventKind.false_alarm]
    assert (event.actor_name, event.via, event.data["reason"]) == (
        "Léa",
        "api",
        "il parlait d'un film",
    )

    not_urgent = post(ticket_id, {"reason": "encore"}, boss_h)
    assert not_urgent.status_code == 409
    assert "n'est pas (ou plus) en urgence" in not_urgent.json()["detail"]
    closed = urgent(services, person(services, consent=True))
    http.post(f"/api/v1/tickets/{closed}/claim", headers=sam_h).raise_for_status()
    http.post(
        f"/api/v1/tickets/{closed}/resolve", json={"outcome": "mission_locale"}, headers=sam_h
    ).raise_for_status()
    refused = post(closed, {"reason": "blague"}, boss_h)
    assert refused.status_code == 409
    assert refused.json() == {"detail": f"Le ticket #{closed} est déjà clôturé."}
    # A manager may, on an unclaimed ticket.
    other = urgent(services, person(services, consent=True))
    assert post(other, {"reason": "blague"}, boss_h).status_code == 200
