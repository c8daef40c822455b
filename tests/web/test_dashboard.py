"""The counsellor dashboard over HTTP: the real app (create_app) on SQLite, driven with
Starlette's TestClient; people and tickets are made through the services.

The counsellor is tests/support/dashboard.py's `DashboardClient` (login, CSRF token read from
the pages, actions, flash messages), which also drives an `AppServer` over real HTTP.
"""

from __future__ import annotations

import asyncio
import html
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from markupsafe import escape
from starlette.testclient import TestClient

from core.clock import FixedClock
from core.models import Channel, Origin, Role, TicketStatus, Urgency
from handoff.requests import TriageSummary
from maraude.app import create_app
from tests.support import make_settings
from tests.support.dashboard import CLOCK_START, PASSWORD, DashboardClient, account, logged_in
from tests.support.html import Element, parse_page
from tests.support.tickets import hold
from web.auth import SESSION_COOKIE

# Fixtures and helpers ----------------------------------------------------------------------


@pytest.fixture
def http(tmp_path: Path, clock: FixedClock) -> Iterator[TestClient]:
    app = create_app(make_settings(tmp_path), clock=clock)
    with TestClient(app) as client:
        yield client


@pytest.fixture
def services(http: TestClient) -> Any:
    return http.app.state.services  # type: ignore[attr-defined]


_keys = count(1)


def new_ticket(
    services: Any,
    *,
    location: str | None = "Lens",
    needs: tuple[str, ...] = ("emploi",),
    crisis: bool = False,
    consent: bool = True,
    excerpt: str | None = None,
) -> int:
    person = services.people.identify(Channel.simulator, f"jeune-{next(_keys)}")
    if consent:
        services.people.record_consent(person.pseudo_id, True)
    ref = services.handoff.request(
        person.pseudo_id,
        TriageSummary(
            needs=list(needs),
            age="19",
            location=location,
            situation="ni emploi, ni études, ni formation",
            contact="ici, par message",
            availability="le matin",
            excerpt=excerpt,
        ),
        source="crisis" if crisis else "triage",
        urgency=Urgency.crisis if crisis else Urgency.normal,
        crisis_kind="crisis_shelter" if crisis else None,
    )
    return int(ref.ticket_id)


def queue_rows(page: str) -> dict[int, Element]:
    """The queue page's lines by ticket id, in their order on the page."""
    return {int(row.get("data-ticket") or 0): row for row in parse_page(page).all("queue-row")}


def second_browser(http: TestClient) -> TestClient:
    """Another counsellor's browser on the same app (its own cookie jar)."""
    return TestClient(http.app)


# Login -------------------------------------------------------------------------------------
def test_login_ok_then_logout(http: TestClient, services: Any) -> None:
    lea = account(services, "Léa")
    client = DashboardClient(http)
    page = client.get("/tableau/connexion")
    assert page.status_code == 200 and 'type="password"' in page.text
    response = client.login("LÉA@example.org ", PASSWORD)  # e-mail case and spaces ignored
    assert response.status_code == 200
    assert str(response.url).endswith("/tableau")
    assert "File d'attente" in response.text and "Léa" in response.text
    cookie = response.history[0].headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    assert "Max-Age=43200" in cookie

    out = client.logout()
    assert str(out.url).endswith("/tableau/connexion")
    assert "Tu es déconnecté·e." in client.flashes(out)
    assert http.get("/tableau", follow_redirects=False).status_code == 303
    assert lea.id  # the account itself is untouched


def test_login_refused_with_wrong_password_or_unknown_email(
    http: TestClient, services: Any
) -> None:
    account(services, "Léa")
    client = DashboardClient(http)
    wrong = client.login("léa@example.org", "pas-le-bon-mot-de-passe")
    unknown = client.login("personne@example.org", PASSWORD)
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert "E-mail ou mot de passe incorrect." in client.errors(response)
        assert str(response.url).endswith("/tableau/connexion")
    assert http.get("/tableau", follow_redirects=False).status_code == 303


def test_repeated_failures_slow_this_connection_down(http: TestClient, services: Any) -> None:
    """Growing delays per account and IP (the right password from elsewhere, and the delays
    themselves: tests/web/test_rate_limits.py)."""
    account(services, "Léa")
    client = DashboardClient(http)
    for _ in range(3):
        assert client.login("léa@example.org", "mauvais-mot-de-passe").status_code == 401
    blocked = client.login("léa@example.org", PASSWORD)  # from here, not even read
    assert blocked.status_code == 429
    assert 1 <= int(blocked.headers["Retry-After"]) <= 60
    assert any("Trop de tentatives" in text for text in client.errors(blocked))


def test_login_redirects_to_the_page_asked_but_never_elsewhere(
    http: TestClient, services: Any
) -> None:
    lea = account(services, "Léa")
    ticket = new_ticket(services)
    first = http.get(f"/tableau/tickets/{ticket}", follow_redirects=False)
    assert first.status_code == 303
    location = first.headers["location"]
    assert location == f"/tableau/connexion?suivant=%2Ftableau%2Ftickets%2F{ticket}"
    client = DashboardClient(http)
    login_page = client.get(location).text
    assert f'name="suivant" value="/tableau/tickets/{ticket}"' in login_page
    response = client.post(
        "/tableau/connexion",
        email=lea.email,
        password=PASSWORD,
        suivant=f"/tableau/tickets/{ticket}",
    )
    assert str(response.url).endswith(f"/tableau/tickets/{ticket}")
    client.logout()
    client.get("/tableau/connexion")
    evil = client.post(
        "/tableau/connexion", email=lea.email, password=PASSWORD, suivant="//evil.example/tableau"
    )
    assert str(evil.url) == "http://testserver/tableau"


# CSRF and access ---------------------------------------------------------------------------
def test_posts_without_the_right_csrf_token_are_refused(http: TestClient, services: Any) -> None:
    lea = account(services, "Léa")
    ticket = new_ticket(services)
    http.get("/tableau/connexion")  # the session (and its token) exists
    login = {"email": lea.email, "password": PASSWORD}
    assert http.post("/tableau/connexion", data=login).status_code == 403
    bad = http.post("/tableau/connexion", data={**login, "csrf_token": "faux"})
    assert bad.status_code == 403
    assert "Formulaire expiré" in bad.text

    client = logged_in(http, services, lea)
    claim = f"/tableau/tickets/{ticket}/prendre"
    assert http.post(claim).status_code == 403
    assert http.post(claim, data={"csrf_token": client.csrf + "x"}).status_code == 403
    assert http.post(claim, headers={"X-CSRF-Token": "faux"}).status_code == 403
    assert services.tickets.get(ticket).status == TicketStatus.new

    # The header fetch calls use is accepted as well as the form field.
    ok = http.post(claim, headers={"X-CSRF-Token": client.csrf}, follow_redirects=False)
    assert ok.status_code == 303
    assert services.tickets.get(ticket).assignee_id == lea.id


def test_a_token_from_another_session_is_refused(http: TestClient, services: Any) -> None:
    lea, sam = account(services, "Léa"), account(services, "Sam")
    ticket = new_ticket(services)
    stolen = logged_in(http, services, lea).csrf
    other = second_browser(http)
    DashboardClient(other).login(sam.email, PASSWORD)
    response = other.post(f"/tableau/tickets/{ticket}/prendre", data={"csrf_token": stolen})
    assert response.status_code == 403
    assert services.tickets.get(ticket).status == TicketStatus.new


def test_every_page_needs_a_login(http: TestClient, services: Any) -> None:
    ticket = new_ticket(services)
    for path in ("/tableau", f"/tableau/tickets/{ticket}"):
        response = http.get(path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/tableau/connexion")
    for path in ("/tableau/api/file", f"/tableau/api/tickets/{ticket}/messages"):
        response = http.get(path)
        assert response.status_code == 401
        assert response.json() == {"detail": "Connexion requise."}
    # A POST without a session goes to the login page too, and changes nothing.
    response = http.post(f"/tableau/tickets/{ticket}/prendre", follow_redirects=False)
    assert response.status_code == 303
    assert services.tickets.get(ticket).status == TicketStatus.new
    forged = second_browser(http)
    forged.cookies.set(SESSION_COOKIE, "forged")
    assert forged.get("/tableau", follow_redirects=False).status_code == 303


def test_a_deactivated_account_is_logged_out(http: TestClient, services: Any) -> None:
    lea = account(services, "Léa")
    logged_in(http, services, lea)
    assert http.get("/tableau", follow_redirects=False).status_code == 200
    services.accounts.deactivate(lea.id)
    assert http.get("/tableau", follow_redirects=False).status_code == 303
    assert http.get("/tableau/api/file").status_code == 401


def test_sessions_end_twelve_hours_after_login(
    http: TestClient, services: Any, clock: FixedClock
) -> None:
    lea = account(services, "Léa")
    logged_in(http, services, lea)
    for _ in range(11):  # a click every hour: the session is never idle
        clock.advance(hours=1)
        assert http.get("/tableau", follow_redirects=False).status_code == 200
    clock.advance(minutes=59)
    assert http.get("/tableau", follow_redirects=False).status_code == 200
    clock.advance(minutes=2)  # 12 hours after login, however busy
    assert http.get("/tableau", follow_redirects=False).status_code == 303


def test_sessions_end_after_two_hours_without_a_click(
    http: TestClient, services: Any, clock: FixedClock
) -> None:
    lea = account(services, "Léa")
    logged_in(http, services, lea)
    clock.advance(hours=2)
    assert http.get("/tableau", follow_redirects=False).status_code == 200
    clock.advance(hours=2, minutes=1)
    assert http.get("/tableau", follow_redirects=False).status_code == 303


def test_pages_are_not_cached_nor_framed(http: TestClient, services: Any) -> None:
    lea = account(services, "Léa")
    response = logged_in(http, services, lea).get("/tableau")
    assert response.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


# Queue -------------------------------------------------------------------------------------
def test_queue_puts_crises_first_then_the_longest_waiting(
    http: TestClient, services: Any, clock: FixedClock
) -> None:
    lea = account(services, "Léa")
    oldest = new_ticket(services, needs=("logement",))
    clock.advance(minutes=10)
    newer = new_ticket(services, needs=("formation",))
    clock.advance(minutes=10)
    crisis = new_ticket(services, crisis=True)
    clock.advance(minutes=1)
    client = logged_in(http, services, lea)

    rows = client.queue()
    assert [row["id"] for row in rows] == [crisis, oldest, newer]
    assert rows[0]["crisis"] and rows[0]["crisis_label"] == "sans endroit où dormir"
    assert rows[1]["needs"] == ["logement"]
    assert rows[1]["waiting_label"] == "21 min" and rows[1]["status_label"] == "Nouveau"
    assert rows[1]["team_name"] == "Équipe Lens-Liévin" and rows[1]["territory"] == "Lens-Liévin"

    page = client.get("/tableau").text
    assert list(queue_rows(page)) == [crisis, oldest, newer]
    assert "Urgence · sans endroit où dormir" in page


def test_waiting_time_colours_follow_the_sla(
    http: TestClient, services: Any, clock: FixedClock
) -> None:
    lea = account(services, "Léa")
    normal = new_ticket(services)
    crisis = new_ticket(services, crisis=True)
    client = logged_in(http, services, lea)

    def colours() -> dict[int, str]:
        return {row["id"]: row["sla"] for row in client.queue()}

    assert colours() == {normal: "green", crisis: "green"}
    clock.advance(minutes=7)  # crisis SLA 15 min: orange from 7.5 min
    assert colours() == {normal: "green", crisis: "green"}
    clock.advance(minutes=1)
    assert colours() == {normal: "green", crisis: "orange"}
    clock.advance(minutes=7)  # 15 min: the crisis is late
    assert colours() == {normal: "green", crisis: "red"}
    clock.advance(minutes=105)  # 2 h (12:00 in Paris): half of the normal 4 working hours
    assert colours() == {normal: "orange", crisis: "red"}
    # The normal SLA counts working minutes only: the 12:30-13:30 lunch break does not count,
    # so 4 real hours later (14:00 in Paris) only 3 working hours have passed.
    clock.advance(hours=2)
    assert colours() == {normal: "orange", crisis: "red"}
    clock.advance(hours=1)  # 15:00 in Paris: 4 working hours
    assert colours() == {normal: "red", crisis: "red"}
    page = client.get("/tableau").text
    assert "sla-red" in queue_rows(page)[normal].one("sla").classes
    assert [row["waiting_label"] for row in client.queue()] == ["5 h", "5 h"]


def test_queue_filters_by_team_status_and_mine(
    http: TestClient, services: Any, clock: FixedClock
) -> None:
    """Filters within what the counsellor may see (need to know: their team's tickets and the
    ones they hold)."""
    lea = account(services, "Léa", team="lens")
    bilal = account(services, "Bilal", team="lens")
    in_lens = new_ticket(services, location="Lens")
    in_lille = new_ticket(services, location="Lille")
    new_ticket(services, location=None)  # the default team's: never hers
    taken = new_ticket(services, location="Liévin")
    services.tickets.claim(taken, bilal)
    client = logged_in(http, services, lea)

    ids = lambda **f: [row["id"] for row in client.queue(**f)]  # noqa: E731
    assert ids() == [in_lens, taken]  # by default, the counsellor's own team
    assert ids(equipe="tous") == [in_lens, taken]  # only what she may see
    assert ids(equipe="lille") == [] and ids(equipe="accueil") == []
    assert ids(equipe="tous", statut="claimed") == [taken]
    assert ids(equipe="tous", statut="new") == [in_lens]
    assert ids(equipe="tous", mes="1") == []
    hold(services.db, in_lille, lea)  # a Lille ticket she holds (her account moved since)
    assert ids(equipe="tous", mes="1") == [in_lille]
    assert ids(equipe="lens", mes="1") == []
    client.claim(in_lens)
    client.resolve(in_lens, "emploi")
    assert ids(equipe="tous", statut="clos") == [in_lens]

    page = client.get("/tableau", equipe="lille", statut="", mes="1").text
    assert '<option value="lille" selected>' in page
    assert 'id="filter-mine" checked' in page
    assert list(queue_rows(page)) == [in_lille]
    assert 'data-feed="/tableau/api/file?equipe=lille&amp;statut=&amp;mes=1"' in page


def test_a_counsellor_without_team_sees_every_team(http: TestClient, services: Any) -> None:
    boss = account(services, "Nadia", role=Role.manager, team=None)
    lens, lille = new_ticket(services, location="Lens"), new_ticket(services, location="Lille")
    client = logged_in(http, services, boss)
    assert [row["id"] for row in client.queue()] == [lens, lille]


# Ticket page and actions -------------------------------------------------------------------
def test_ticket_page_shows_summary_transcript_and_actions(http: TestClient, services: Any) -> None:
    lea = account(services, "Léa")
    ticket = new_ticket(services, needs=("emploi", "logement"), excerpt="je cherche du taf")
    client = logged_in(http, services, lea)
    page = client.ticket_page(ticket).text
    for text in (
        "emploi, logement",
        "19",
        "Lens",
        "ni emploi, ni études, ni formation",
        "ici, par message",
        "le matin",
        "« je cherche du taf »",
        "après le questionnaire",
        "Ticket ouvert",
        'id="claim"',
    ):
        assert text in page, text
    assert 'id="reply-text"' not in page  # take the ticket before writing
    page = client.claim(ticket).text
    assert 'id="reply-text"' in page and 'id="claim"' not in page
    for canned in services.settings.handoff.canned_replies:
        assert f'<option value="{escape(canned)}">' in page
    for label in services.settings.handoff.outcomes.values():
        assert escape(label) in page
    missing = client.get("/tableau/tickets/999999")
    assert missing.status_code == 404 and "Ticket #999999 introuvable." in missing.text


def test_claim_then_a_colleague_gets_the_conflict_message(http: TestClient, services: Any) -> None:
    lea, sam = account(services, "Léa"), account(services, "Sam")
    ticket = new_ticket(services)
    lea_client = logged_in(http, services, lea)
    sam_client = DashboardClient(second_browser(http))
    sam_client.login(sam.email, PASSWORD)
    sam_client.ticket_page(ticket)  # Sam has the page open too

    taken = lea_client.claim(ticket)
    assert str(taken.url).endswith(f"/tableau/tickets/{ticket}")
    assert f"Tu as pris le ticket #{ticket}. Le jeune est prévenu." in lea_client.flashes(taken)
    assert 'id="reply-text"' in taken.text

    late = sam_client.claim(ticket)
    assert sam_client.errors(late) == [f"Trop tard : Léa a déjà pris le ticket #{ticket}."]
    assert services.tickets.get(ticket).assignee_id == lea.id
    assert 'id="reply-text"' not in late.text
    # The desk told the young person (stored for the simulator channel).
    said = [m.text for m in services.tickets.transcript(ticket) if m.origin is Origin.bot]
    assert any("Léa" in text for text in said)
    # The flash message is shown once.
    assert sam_client.flashes(sam_client.ticket_page(ticket)) == []


def test_a_counsellor_cannot_resolve_a_colleagues_ticket_but_a_manager_can(
    http: TestClient, services: Any
) -> None:
    lea, sam = account(services, "Léa"), account(services, "Sam")
    boss = account(services, "Nadia", role=Role.manager)
    ticket = new_ticket(services)
    logged_in(http, services, lea).claim(ticket)

    sam_client = DashboardClient(second_browser(http))
    sam_client.login(sam.email, PASSWORD)
    page = sam_client.ticket_page(ticket)
    assert 'id="resolve"' not in page.text and 'id="reply-text"' not in page.text
    refused = sam_client.resolve(ticket, "emploi")
    assert sam_client.errors(refused) == ["Ce ticket est suivi par un·e collègue."]
    refused = sam_client.reply(ticket, "coucou")
    assert sam_client.errors(refused) == ["Ce ticket est suivi par un·e collègue."]
    assert services.tickets.get(ticket).status == TicketStatus.claimed

    boss_client = DashboardClient(second_browser(http))
    boss_client.login(boss.email, PASSWORD)
    assert 'id="resolve"' in boss_client.ticket_page(ticket).text
    done = boss_client.resolve(ticket, "mission_locale", "orienté vers la ML de Lens")
    assert boss_client.errors(done) == []
    view = services.tickets.get(ticket)
    assert view.status == TicketStatus.resolved and view.outcome == "mission_locale"


def test_reply_stores_the_counsellors_message_for_the_young_person(
    http: TestClient, services: Any, clock: FixedClock
) -> None:
    lea = account(services, "Léa")
    ticket = new_ticket(services)
    client = logged_in(http, services, lea)
    before = client.reply(ticket, "Salut !")
    assert client.errors(before) == ["Prends le ticket avant de répondre."]
    client.claim(ticket)
    mark = client.messages(ticket)["last"]

    clock.advance(minutes=3)
    sent = client.reply(ticket, "  Salut, c'est Léa. Tu es dispo demain ?  ")
    assert "Message envoyé au jeune." in client.flashes(sent)
    mine = [m for m in services.tickets.transcript(ticket) if m.origin is Origin.counsellor]
    assert [(m.text, m.counsellor_name, m.in_ticket) for m in mine] == [
        ("Salut, c'est Léa. Tu es dispo demain ?", "Léa", True)
    ]
    assert services.tickets.get(ticket).status == TicketStatus.waiting_youth

    # The page's live refresh gets only what came after its last message.
    view = services.tickets.get(ticket)
    asyncio.run(services.desk.youth_message(view, "oui vers 10h"))
    feed = client.messages(ticket, after=mark)
    assert [(m["origin"], m["who"], m["text"]) for m in feed["messages"]] == [
        ("counsellor", "Léa", "Salut, c'est Léa. Tu es dispo demain ?"),
        ("youth", "Jeune", "oui vers 10h"),
    ]
    assert feed["status"] == "waiting_counsellor"
    assert client.messages(ticket, after=feed["last"])["messages"] == []
    assert client.errors(client.reply(ticket, "   ")) == ["Le message est vide."]


def test_transcript_is_escaped(http: TestClient, services: Any) -> None:
    lea = account(services, "Léa")
    payload = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'
    ticket = new_ticket(services, excerpt=payload)
    client = logged_in(http, services, lea)
    client.claim(ticket)
    asyncio.run(services.desk.youth_message(services.tickets.get(ticket), payload))
    page = client.ticket_page(ticket).text
    assert payload not in page
    assert "&lt;img src=x onerror=&#34;window.__xss=1&#34;&gt;&lt;script&gt;" in page
    assert "<script>window.__xss" not in page
    assert client.messages(ticket)["messages"][-1]["text"] == payload  # JSON: as typed


def test_release_and_transfer(http: TestClient, services: Any) -> None:
    lea, sam = account(services, "Léa"), account(services, "Sam", team="lille")
    bilal = account(services, "Bilal")  # Lens, as Léa
    ticket = new_ticket(services)
    client = logged_in(http, services, lea)
    client.claim(ticket)
    released = client.release(ticket)
    assert f"Le ticket #{ticket} est remis dans la file." in client.flashes(released)
    assert services.tickets.get(ticket).status == TicketStatus.new

    page = client.ticket_page(ticket).text
    assert f'<option value="c:{sam.id}">Sam (Équipe Métropole lilloise)</option>' in page
    handed = client.transfer(ticket, to_counsellor=bilal.id)
    assert f"Ticket #{ticket} transféré à Bilal." in client.flashes(handed)
    assert services.tickets.get(ticket).assignee_id == bilal.id
    assert "Transféré : à Bilal" in handed.text  # the history (same team: no crossing)
    assert client.errors(client.transfer(ticket, to_team="lille")) == [
        "Ce ticket est suivi par un·e collègue."
    ]
    assert client.errors(client.transfer(ticket, to_team="nulle-part")) == [
        "Équipe inconnue : nulle-part"
    ]
    assert client.errors(client.post(f"/tableau/tickets/{ticket}/transferer", vers="x")) == [
        "Choisis un·e collègue ou une équipe."
    ]

    # To another team: logged, and the ticket leaves what Léa may see.
    other = new_ticket(services)
    moved = client.transfer(other, to_team="lille")
    assert f"Ticket #{other} transféré à l'équipe Équipe Métropole lilloise." in client.flashes(
        moved
    )
    assert str(moved.url).endswith("/tableau")  # back on the queue
    assert services.tickets.get(other).team == "lille"
    assert client.ticket_page(other).status_code == 404
    [event] = [e for e in services.tickets.events(other) if e.kind == "transferred"]
    assert (event.actor_name, event.data["from_team"], event.data["to_team"]) == (
        "Léa",
        "lens",
        "lille",
    )


def test_notes_are_kept_on_the_ticket(http: TestClient, services: Any) -> None:
    lea = account(services, "Léa")
    ticket = new_ticket(services)
    client = logged_in(http, services, lea)
    response = client.note(ticket, "Rappeler lundi <b>matin</b>")
    assert "Note interne ajoutée (le jeune ne la voit pas)." in client.flashes(response)
    assert "Rappeler lundi &lt;b&gt;matin&lt;/b&gt;" in response.text
    assert [n.text for n in services.tickets.notes(ticket)] == ["Rappeler lundi <b>matin</b>"]


def test_resolve_with_an_outcome(http: TestClient, services: Any, clock: FixedClock) -> None:
    lea = account(services, "Léa")
    ticket = new_ticket(services)
    client = logged_in(http, services, lea)
    client.claim(ticket)
    assert client.errors(client.resolve(ticket, "")) == ["Choisis une issue pour clôturer."]
    assert client.errors(client.resolve(ticket, "inconnue")) == ["Choisis une issue pour clôturer."]
    clock.advance(hours=1)
    done = client.resolve(ticket, "cej", "  Inscrite au CEJ  ")
    assert f"Ticket #{ticket} clôturé : Contrat d'Engagement Jeune." in client.flashes(done)
    view = services.tickets.get(ticket)
    assert (view.status, view.outcome, view.outcome_comment) == (
        TicketStatus.resolved,
        "cej",
        "Inscrite au CEJ",
    )
    assert view.resolved_at == CLOCK_START + timedelta(hours=1)
    assert "Clôturé : Contrat d&#39;Engagement Jeune" in done.text  # the history
    assert 'id="resolve"' not in done.text
    again = client.resolve(ticket, "autre")
    assert client.errors(again) == [f"Le ticket #{ticket} est déjà clôturé."]
    assert client.queue() == []


def test_follow_up_date_is_read_as_paris_time(
    http: TestClient, services: Any, clock: FixedClock
) -> None:
    lea = account(services, "Léa")
    ticket = new_ticket(services)
    client = logged_in(http, services, lea)
    response = client.follow_up(ticket, "2026-03-05T14:30")
    assert "Relance prévue le 05/03/2026 14:30." in client.flashes(response)
    stored = services.tickets.get(ticket).follow_up_at
    assert stored == datetime(2026, 3, 5, 14, 30, tzinfo=ZoneInfo("Europe/Paris"))
    assert stored == datetime(2026, 3, 5, 13, 30, tzinfo=UTC)  # winter time: UTC+1
    assert 'value="2026-03-05T14:30"' in response.text

    summer = client.follow_up(ticket, "2026-07-01T09:00")
    assert client.errors(summer) == []
    assert services.tickets.get(ticket).follow_up_at == datetime(2026, 7, 1, 7, 0, tzinfo=UTC)

    past = client.follow_up(ticket, "2026-03-01T10:00")
    assert client.errors(past) == ["La date de relance doit être dans le futur."]
    assert client.errors(client.follow_up(ticket, "demain")) == ["Date de relance invalide."]
    cleared = client.clear_follow_up(ticket)
    assert "Relance supprimée." in client.flashes(cleared)
    assert services.tickets.get(ticket).follow_up_at is None


def test_dashboard_client_works_over_real_http(tmp_path: Path) -> None:
    """The helper drives a real server too (what end-to-end tests do)."""
    from tests.support import AppServer

    with AppServer(make_settings(tmp_path)) as server:
        services = server.services
        lea = account(services, "Léa")
        ticket = new_ticket(services)
        client = DashboardClient.connect(server.url)
        try:
            assert client.login(lea.email, PASSWORD).status_code == 200
            client.claim(ticket)
            client.reply(ticket, "Salut !")
            assert client.messages(ticket)["messages"][-1]["text"] == "Salut !"
        finally:
            client.http.close()


def test_a_follow_up_can_carry_a_message_for_the_young_person(
    http: TestClient, services: Any
) -> None:
    from core.models import FollowUpKind

    lea = account(services, "Léa")
    ticket = new_ticket(services)
    client = logged_in(http, services, lea)
    client.claim(ticket)
    response = client.follow_up(ticket, "2026-03-16T10:00", message="Alors, ce rdv ?")
    assert "Ton message partira au jeune à cette date." in " ".join(client.flashes(response))
    person = services.tickets.get(ticket).person_id
    pending = {f.kind: f for f in services.followups.pending(person)}
    due = datetime(2026, 3, 16, 9, 0, tzinfo=UTC)
    assert pending[FollowUpKind.youth_followup].due_at == due
    assert pending[FollowUpKind.counsellor_reminder].due_at == due
    client.clear_follow_up(ticket)
    kinds = {f.kind for f in services.followups.pending(person)}
    assert not kinds & {FollowUpKind.youth_followup, FollowUpKind.counsellor_reminder}


# What the queue, the search and the ticket page tell (need to know) ---------------------------
def request_for(services: Any, key: str, location: str | None = "Lens", **summary: Any) -> int:
    """A hand-off request of the young person `key` (who consented): their open ticket."""
    person = services.people.identify(Channel.simulator, key)
    services.people.record_consent(person.pseudo_id, True)
    ref = services.handoff.request(
        person.pseudo_id,
        TriageSummary(location=location, **summary),
        source="triage",
        urgency=Urgency.normal,
    )
    return int(ref.ticket_id)


LONG_REQUEST = (
    "Salut je cherche un appart sur Lens parce que chez ma mère ça se passe vraiment mal "
    "depuis que j'ai arrêté le lycée"
)


def test_queue_shows_the_request_age_and_place_of_the_tickets_one_may_see(
    http: TestClient, services: Any
) -> None:
    lea = account(services, "Léa", team="lens")
    boss = account(services, "Nadia", role=Role.manager, team=None)
    mine = request_for(services, "a", "Lens", age="19", needs=["logement"], excerpt=LONG_REQUEST)
    other = request_for(services, "b", "Lille", age="22", excerpt="secret lillois", writer="parent")
    held = request_for(services, "c", "Roubaix", age="17", excerpt="je tiens ce ticket")
    hold(services.db, held, lea)
    client = logged_in(http, services, lea)

    rows = {row["id"]: row for row in client.queue(equipe="tous")}
    assert rows[mine]["request"] == (
        "Salut je cherche un appart sur Lens parce que chez ma mère ça se passe vraiment…"
    )
    assert (rows[mine]["age"], rows[mine]["location"], rows[mine]["needs"]) == (
        "19",
        "Lens",
        ["logement"],
    )
    assert other not in rows  # another team's ticket is not in her queue at all
    assert rows[held]["request"] == "je tiens ce ticket"  # Lille's, but Léa holds it
    page = client.get("/tableau", equipe="tous").text
    assert "« Salut je cherche un appart" in page and "secret lillois" not in page

    nadia = DashboardClient(second_browser(http))
    nadia.login(boss.email, PASSWORD)
    shown = {r["id"]: r for r in nadia.queue()}
    assert shown[other]["request"] == "secret lillois" and shown[other]["writer"] == "un parent"


def search_hits(response: httpx.Response) -> list[int]:
    return [int(hit.get("data-ticket") or 0) for hit in parse_page(response.text).all("search-hit")]


def test_search_finds_only_what_the_counsellor_may_see(http: TestClient, services: Any) -> None:
    lea = account(services, "Léa", team="lens")
    boss = account(services, "Nadia", role=Role.manager, team=None)
    lens = request_for(
        services, "a", "Liévin", needs=["santé"], phone="0612345678", excerpt="mal au dos"
    )
    lille = request_for(services, "b", "59100", needs=["logement"], phone="0698765432")
    client = logged_in(http, services, lea)
    assert 'id="search-form"' in client.get("/tableau").text

    def find(q: str, par: str = "tout") -> list[int]:
        response = client.get("/tableau/recherche", q=q, par=par)
        assert response.status_code == 200, response.text
        return search_hits(response)

    for typed in (f"#{lens}", str(lens), "06 12 34 56 78", "+33 6 12 34 56 78", "06.12.34.56.78"):
        assert find(typed) == [lens], typed
    assert find("lievin") == [lens] and find("LIÉVIN", "lieu") == [lens]
    assert find("sante", "besoin") == [lens]
    page = client.get("/tableau/recherche", q="sante").text
    assert "« mal au dos »" in page and "1 ticket trouvé" in page
    # Another team's ticket cannot be found, however it is asked for.
    for typed in (f"#{lille}", "06 98 76 54 32", "59100", "logement"):
        response = client.get("/tableau/recherche", q=typed)
        assert search_hits(response) == [], typed
        assert "Aucun ticket trouvé parmi ceux que tu peux voir." in response.text
    assert find("%%", "lieu") == [] and find("__") == []  # no LIKE wildcard
    nadia = DashboardClient(second_browser(http))
    nadia.login(boss.email, PASSWORD)
    assert search_hits(nadia.get("/tableau/recherche", q="06 98 76 54 32")) == [lille]
    assert search_hits(nadia.get("/tableau/recherche", q="logement")) == [lille]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"q": ""}, "Tape ce que tu cherches"),
        ({"q": "#abc"}, "Référence invalide"),
        ({"q": "06 12 34"}, "Numéro de téléphone invalide"),
        ({"q": "lens", "par": "telephone"}, "Numéro de téléphone invalide"),
        ({"q": "x"}, "Tape au moins 2 caractères"),
        ({"q": "%"}, "Tape au moins 2 caractères"),
        ({"q": "lens", "par": "adresse"}, "Type de recherche inconnu"),
        ({"q": "a" * 5000}, "Recherche trop longue"),
        ({"q": "\x00"}, "Tape ce que tu cherches"),
        ({"q": "#99999999999999999999"}, "Référence invalide"),
    ],
)
def test_bad_searches_get_a_french_message_never_an_error(
    http: TestClient, services: Any, params: dict[str, str], message: str
) -> None:
    client = logged_in(http, services, account(services, "Léa"))
    response = client.get("/tableau/recherche", **params)
    assert response.status_code == 400
    assert message in html.unescape(response.text)
    assert 'id="search-error"' in response.text
    assert client.get("/tableau/recherche").status_code == 200  # the empty form


def test_ticket_page_shows_phone_questions_writer_and_the_persons_other_tickets(
    http: TestClient, services: Any, clock: FixedClock
) -> None:
    lea = account(services, "Léa", team="lens")
    sam = account(services, "Sam", team="lille")
    boss = account(services, "Nadia", role=Role.manager, team=None)
    in_lille = request_for(services, "kim", "Lille", needs=["logement"])
    services.tickets.claim(in_lille, sam)
    services.tickets.add_note(in_lille, sam, "note lilloise confidentielle")
    services.tickets.resolve(in_lille, sam, "logement")
    clock.advance(days=2)
    in_lens = request_for(services, "kim", "Lens", needs=["emploi"])
    services.tickets.claim(in_lens, lea)
    services.tickets.add_note(in_lens, lea, "rappeler <b>lundi</b>")
    services.tickets.resolve(in_lens, lea, "emploi")
    clock.advance(days=2)
    now = request_for(
        services,
        "kim",
        "Lens",
        phone="0612345678",
        questions=["c'est quoi le CEJ ?", "<script>x</script>"],
        writer="proche",
    )
    client = logged_in(http, services, lea)
    page = client.ticket_page(now).text
    assert parse_page(page).one("summary").pairs()["Téléphone"] == "06 12 34 56 78"
    assert "Questions à reprendre" in page and "« c&#39;est quoi le CEJ ? »" in page
    assert "&lt;script&gt;x&lt;/script&gt;" in page and "<script>x" not in page
    assert 'id="writer"' in page and "Écrit par un proche" in page
    others = parse_page(page).one("others").inner
    # Her team's earlier ticket, with its dates, outcome, counsellor and notes...
    assert f'href="/tableau/tickets/{in_lens}"' in others
    assert "Emploi" in others and "suivi par Léa" in others
    assert "rappeler &lt;b&gt;lundi&lt;/b&gt;" in others
    # ... and nothing of the Lille one, not even that it exists.
    assert f"#{in_lille}" not in others
    for secret in ("note lilloise", "Solution de logement", "Sam", "logement"):
        assert secret not in others, secret

    nadia = DashboardClient(second_browser(http))
    nadia.login(boss.email, PASSWORD)
    theirs = parse_page(nadia.ticket_page(now).text).one("others").inner
    assert "note lilloise confidentielle" in theirs and "suivi par Sam" in theirs
    first = parse_page(nadia.ticket_page(in_lille).text).one("others").inner
    assert f"#{now}</a> (plus récent)" in first
