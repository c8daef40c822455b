"""Need to know over real HTTP (the app served by uvicorn, `AppServer`): role × verb ×
own/other team, on the dashboard (session, CSRF, forms) and the REST API (bearer tokens).

Someone else's ticket answers exactly what an id that does not exist answers: the same status,
the same body once the number is put aside, the same redirect and flash, for the ticket page,
its feed and every form and API verb; nothing changes on the ticket. The lists (queue, its
feed, REST list, search, synthesis) hold only what one may read, and crossing teams is an
explicit transfer, shown in the history, after which the previous team loses the ticket.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

import httpx
import pytest

from core.models import Channel, Role, Urgency
from handoff.accounts import CounsellorRef
from handoff.requests import CrisisSignal, TriageSummary
from tests.support import AppServer, make_settings
from tests.support.dashboard import PASSWORD, DashboardClient
from tests.support.html import parse_page
from tests.support.tickets import hold

UNKNOWN = 987_654
_keys = count(1)
# (verb, dashboard form, its fields, API path, its JSON body): every write a counsellor does.
Action = tuple[str, str, dict[str, str], str, dict[str, str] | None]
ACTIONS: tuple[Action, ...] = (
    ("note", "note", {"texte": "rappeler lundi"}, "notes", {"text": "rappeler lundi"}),
    ("claim", "prendre", {}, "claim", None),
    ("reply", "repondre", {"texte": "Salut !"}, "reply", {"text": "Salut !"}),
    ("release", "liberer", {}, "release", None),
    ("transfer", "transferer", {"vers": "e:montbeliard"}, "transfer", {"to_team": "montbeliard"}),
    ("resolve", "cloturer", {"issue": "emploi"}, "resolve", {"outcome": "emploi"}),
    ("follow_up", "relance", {"quand": "2099-03-05T14:30"}, "follow-up", None),
    ("false_alarm", "fausse-alerte", {"raison": "une blague"}, "false-alarm", {"reason": "x"}),
)
HELD = {"reply", "release", "resolve", "false_alarm"}  # someone holds the ticket first


@dataclass
class Person:
    """A staff member with a dashboard session and an API token."""

    ref: CounsellorRef
    web: DashboardClient
    api: httpx.Client


@dataclass
class Site:
    server: AppServer
    lea: Person  # counsellor, Lens: the tickets' own team
    sam: Person  # counsellor, Lille: another team
    noe: Person  # counsellor, Lille, holding a Lens ticket
    nadia: Person  # manager
    root: Person  # admin

    @property
    def services(self) -> Any:
        return self.server.services

    def ticket(self, *, crisis: bool = False) -> int:
        """A Lens ticket with a phone number, as the bot makes it."""
        person = self.services.people.identify(Channel.telegram, f"ntk-{next(_keys)}")
        self.services.people.record_consent(person.pseudo_id, True)
        ref = self.services.handoff.request(
            person.pseudo_id,
            TriageSummary(location="Lens", phone="0612345678", excerpt="secret lensois"),
            source="crisis" if crisis else "triage",
            urgency=Urgency.crisis if crisis else Urgency.normal,
            crisis_kind="suicide" if crisis else None,
            signal=CrisisSignal(text="me tuer", tier="high", reason="pattern", kind="suicide")
            if crisis
            else None,
        )
        return int(ref.ticket_id)

    def trace(self, ticket_id: int) -> tuple[Any, ...]:
        tickets = self.services.tickets
        return (
            tickets.get(ticket_id),
            tickets.notes(ticket_id),
            tickets.transcript(ticket_id),
            [e.kind for e in tickets.events(ticket_id)],
        )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    settings = make_settings(tmp_path_factory.mktemp("need-to-know"))
    with AppServer(settings) as server:
        accounts = server.services.accounts

        def person(name: str, role: Role, team: str | None) -> Person:
            ref = accounts.add(f"{name}@example.org", name.title(), PASSWORD, role=role, team=team)
            web = DashboardClient.connect(server.url)
            assert web.login(ref.email, PASSWORD).status_code == 200
            token = accounts.create_token(ref.id, "tests")
            api = httpx.Client(
                base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
            )
            return Person(ref, web, api)

        yield Site(
            server,
            lea=person("lea", Role.counsellor, "lens"),
            sam=person("sam", Role.counsellor, "lille"),
            noe=person("noe", Role.counsellor, "lille"),
            nadia=person("nadia", Role.manager, None),
            root=person("root", Role.admin, None),
        )


def same(a: str, a_id: int, b: str, b_id: int) -> bool:
    """Two answers are the same but for the ticket number they name ("#12", "/12")."""

    def masked(text: str, ticket_id: int) -> str:
        return re.sub(rf"([#/]){ticket_id}\b", r"\1N", text)

    return masked(a, a_id) == masked(b, b_id)


def web_post(who: Person, ticket_id: int, form: str, fields: dict[str, str]) -> httpx.Response:
    """A dashboard form, not followed: the redirect as the browser gets it."""
    web = who.web
    if not web.csrf:
        web.get("/tableau")
    return web.http.post(
        f"/tableau/tickets/{ticket_id}/{form}",
        data={"csrf_token": web.csrf, **fields},
        follow_redirects=False,
    )


def flashes_after(who: Person, response: httpx.Response) -> list[str]:
    page = who.web.get(response.headers["location"])
    return DashboardClient.flashes(page)


def api_post(who: Person, ticket_id: int, path: str, body: dict[str, Any] | None) -> httpx.Response:
    if path == "follow-up":  # the app runs on the real clock
        body = {"at": (datetime.now(UTC) + timedelta(days=3)).isoformat()}
    return who.api.post(f"/api/v1/tickets/{ticket_id}/{path}", json=body)


def prepare(site: Site, verb: str, holder: Person | None = None) -> int:
    ticket_id = site.ticket(crisis=verb == "false_alarm")
    if holder is not None:
        hold(site.services.db, ticket_id, holder.ref)
    elif verb in HELD:
        site.services.tickets.claim(ticket_id, site.lea.ref)
    return ticket_id


# Someone else's ticket ------------------------------------------------------------------------
def test_reading_another_teams_ticket_answers_as_an_unknown_id(site: Site) -> None:
    ticket_id = prepare(site, "read")
    before = site.trace(ticket_id)
    for who in (site.sam, site.noe):
        page, unknown = who.web.ticket_page(ticket_id), who.web.ticket_page(UNKNOWN)
        assert (page.status_code, unknown.status_code) == (404, 404)
        assert same(page.text, ticket_id, unknown.text, UNKNOWN)
        assert "secret lensois" not in page.text and "06 12" not in page.text
        feed = who.web.http.get(f"/tableau/api/tickets/{ticket_id}/messages")
        unknown_feed = who.web.http.get(f"/tableau/api/tickets/{UNKNOWN}/messages")
        assert (feed.status_code, feed.json()) == (
            404,
            {"detail": f"Ticket #{ticket_id} introuvable."},
        )
        assert same(feed.text, ticket_id, unknown_feed.text, UNKNOWN)
        for params in ({}, {"include_transcript": "true"}):
            api = who.api.get(f"/api/v1/tickets/{ticket_id}", params=params)
            api_unknown = who.api.get(f"/api/v1/tickets/{UNKNOWN}", params=params)
            assert (api.status_code, api_unknown.status_code) == (404, 404)
            assert same(api.text, ticket_id, api_unknown.text, UNKNOWN)
            assert dict(api.headers).keys() == dict(api_unknown.headers).keys()
    assert site.trace(ticket_id) == before


@pytest.mark.parametrize(("verb", "form", "fields", "path", "body"), ACTIONS)
def test_every_verb_on_another_teams_ticket_answers_as_an_unknown_id(
    site: Site, verb: str, form: str, fields: dict[str, str], path: str, body: Any
) -> None:
    ticket_id = prepare(site, verb)
    before = site.trace(ticket_id)
    for who in (site.sam, site.noe):
        # The dashboard: the same redirect (to the queue) and the same flash.
        posted = web_post(who, ticket_id, form, fields)
        assert (posted.status_code, posted.headers["location"]) == (303, "/tableau")
        assert flashes_after(who, posted) == [f"Ticket #{ticket_id} introuvable."]
        unknown = web_post(who, UNKNOWN, form, fields)
        assert (unknown.status_code, unknown.headers["location"]) == (303, "/tableau")
        assert flashes_after(who, unknown) == [f"Ticket #{UNKNOWN} introuvable."]
        # The API: 404 and the same body.
        api, api_unknown = (api_post(who, t, path, body) for t in (ticket_id, UNKNOWN))
        assert (api.status_code, api_unknown.status_code) == (404, 404), api.text
        assert same(api.text, ticket_id, api_unknown.text, UNKNOWN)
    assert site.trace(ticket_id) == before  # nothing happened to the ticket


# Who may -------------------------------------------------------------------------------------
@pytest.mark.parametrize("role", ["lea", "noe", "nadia", "root"])
@pytest.mark.parametrize(("verb", "form", "fields", "path", "body"), ACTIONS)
def test_who_may_read_acts_on_the_dashboard_and_the_api(
    site: Site, role: str, verb: str, form: str, fields: dict[str, str], path: str, body: Any
) -> None:
    """Léa (own team), Noé (holds it, another team), a manager and an admin."""
    who = getattr(site, role)
    holder = None  # a manager or an admin acts on a ticket Léa holds (HELD verbs)
    if role == "noe" or (role == "lea" and verb in HELD):
        holder = who  # Noé sees it only because he holds it
    colleague = role in ("nadia", "root") and verb == "reply"  # nobody replies for a colleague

    on_web = prepare(site, verb, holder)
    assert who.web.ticket_page(on_web).status_code == 200
    posted = web_post(who, on_web, form, fields)
    assert posted.status_code == 303
    shown = who.web.get(posted.headers["location"])
    if colleague:
        assert DashboardClient.errors(shown) == ["Ce ticket est suivi par un·e collègue."]
    else:
        assert DashboardClient.errors(shown) == [], (role, verb)
        assert DashboardClient.flashes(shown), (role, verb)

    on_api = prepare(site, verb, holder)
    assert who.api.get(f"/api/v1/tickets/{on_api}").status_code == 200
    answered = api_post(who, on_api, path, body)
    expected = 403 if colleague else (201 if verb in ("note", "reply") else 200)
    assert answered.status_code == expected, (role, verb, answered.text)


# Lists --------------------------------------------------------------------------------------
def test_lists_search_and_synthesis_hold_only_what_one_may_read(site: Site) -> None:
    ticket_id = prepare(site, "claim")

    def listed(who: Person) -> set[int]:
        queue = {row["id"] for row in who.web.queue(equipe="tous")}
        items = who.api.get("/api/v1/tickets", params={"limit": 200}).json()["items"]
        api = {item["id"] for item in items}
        assert queue == api
        return queue

    assert ticket_id in listed(site.lea) and ticket_id in listed(site.nadia)
    assert ticket_id in listed(site.root)
    for who in (site.sam, site.noe):
        assert ticket_id not in listed(who)
        for params in ({"equipe": "lens"}, {"equipe": "tous", "statut": "new"}):
            assert ticket_id not in {row["id"] for row in who.web.queue(**params)}
        lens: dict[str, str | int] = {"team": "lens", "limit": 200}
        lens_only = who.api.get("/api/v1/tickets", params=lens).json()["items"]
        assert ticket_id not in {item["id"] for item in lens_only}
        for query in (f"#{ticket_id}", "06 12 34 56 78", "Lens"):
            found = who.web.get("/tableau/recherche", q=query)
            hits = {h.get("data-ticket") for h in parse_page(found.text).all("search-hit")}
            assert str(ticket_id) not in hits, query
        synthesis = who.web.get("/tableau/synthese").text
        assert f"/tableau/tickets/{ticket_id}" not in synthesis
    assert f"/tableau/tickets/{ticket_id}" in site.nadia.web.get("/tableau/synthese").text


# Crossing teams ----------------------------------------------------------------------------
def test_a_team_transfer_is_logged_and_moves_access(site: Site) -> None:
    ticket_id = prepare(site, "claim")
    assert site.sam.web.ticket_page(ticket_id).status_code == 404
    moved = web_post(site.lea, ticket_id, "transferer", {"vers": "e:lille"})
    assert (moved.status_code, moved.headers["location"]) == (303, "/tableau")
    assert flashes_after(site.lea, moved) == [
        f"Ticket #{ticket_id} transféré à l'équipe Équipe Métropole lilloise."
    ]
    # Lens lost it; Lille has it, with its history.
    assert site.lea.web.ticket_page(ticket_id).status_code == 404
    assert site.lea.api.get(f"/api/v1/tickets/{ticket_id}").status_code == 404
    page = site.sam.web.ticket_page(ticket_id)
    assert page.status_code == 200
    history = parse_page(page.text).one("events").text
    assert (
        "Transféré : de l'équipe Équipe Lens-Liévin à l'équipe Équipe Métropole lilloise · Lea"
        in history
    )
    assert site.sam.api.post(f"/api/v1/tickets/{ticket_id}/claim").status_code == 200
    [event] = [e for e in site.services.tickets.events(ticket_id) if e.kind == "transferred"]
    assert (event.actor_name, event.via, event.data) == (
        "Lea",
        "web",
        {"from_team": "lens", "to_team": "lille"},
    )
