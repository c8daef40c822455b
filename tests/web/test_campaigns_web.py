"""The campaigns pages (web/campaigns.py) over HTTP, on the real app: a manager creates a
campaign, reads its deep link, code and QR codes (the PNG the route serves decodes back to the
exact link), sets its cost and archives it; every refusal answers 4xx with a French message
and changes nothing: anonymous (login page), counsellor (403), no CSRF token (403), unknown
or forged id (404), a form that cannot be read (400, the form again with what to fix), huge
values (4xx, never 500). Without a bot username the page says how to get one."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from starlette.testclient import TestClient

from core.campaigns import deep_link
from core.models import Channel, Role
from maraude.app import create_app
from tests.support import make_settings
from tests.support.dashboard import PASSWORD, DashboardClient
from tests.support.html import parse_page
from tests.support.png import read_png

BOT = "MaraudeLensBot"
LIST = "/tableau/campagnes"
FORM = {
    "nom": "Flyers gare de Lens",
    "canal": "flyer",
    "territoire": "Lens-Liévin",
    "equipe": "lens",
    "debut": "2026-09-01",
    "fin": "2026-10-15",
    "note": "200 flyers, abribus et gare",
    "cout": "150",
}
FORGED_IDS = ["0", "-1", "abc", "1e3", "99999999999999999999", "１", "٣", "1%00", "%20"]


class Site:
    def __init__(self, http: TestClient, services: Any) -> None:
        self.http = http
        self.services = services

    def client(self, email: str | None) -> DashboardClient:
        """A fresh browser (own cookies), logged in as `email` unless None."""
        client = DashboardClient(TestClient(self.http.app, base_url="http://testserver"))
        if email is not None:
            assert client.login(email, PASSWORD).status_code == 200
        return client

    def count(self) -> int:
        return len(self.services.campaigns.list(include_archived=True))


def site_for(folder: Path, **overrides: Any) -> Iterator[Site]:
    app = create_app(make_settings(folder, **overrides))
    with TestClient(app) as http:
        services = app.state.services
        services.accounts.add("chef@example.org", "Chef", PASSWORD, role=Role.manager)
        services.accounts.add("admin@example.org", "Ada", PASSWORD, role=Role.admin)
        services.accounts.add("lea@example.org", "Léa", PASSWORD, team="lens")
        yield Site(http, services)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    yield from site_for(tmp_path_factory.mktemp("campaigns"), campaigns={"bot_username": BOT})


@pytest.fixture(scope="module")
def chef(site: Site) -> DashboardClient:
    return site.client("chef@example.org")


def create(client: DashboardClient, **fields: str) -> Any:
    client.get(LIST)
    return client.post(LIST, **{**FORM, **fields})


def campaign_id(response: Any) -> int:
    path = str(response.url).split("testserver", 1)[1]
    assert path.startswith(LIST + "/"), path
    return int(path.rsplit("/", 1)[1])


# Success --------------------------------------------------------------------------------------
@pytest.mark.parametrize("email", ["chef@example.org", "admin@example.org"])
def test_managers_create_a_campaign_and_get_its_link_and_qr(site: Site, email: str) -> None:
    client = site.client(email)
    nav = parse_page(client.get("/tableau").text).one("nav-campaigns")
    assert nav.get("href") == LIST and nav.text == "Campagnes"
    page = create(client, nom=f"Flyers de {email[:4]}")
    assert page.status_code == 200
    number = campaign_id(page)
    view = site.services.campaigns.get(number)
    assert view is not None and view.name == f"Flyers de {email[:4]}"
    assert (view.channel, view.territory, view.team, view.cost_cents) == (
        "flyer",
        "Lens-Liévin",
        "lens",
        15000,
    )
    assert str(view.starts_on) == "2026-09-01" and str(view.ends_on) == "2026-10-15"
    html = parse_page(page.text)
    assert DashboardClient.flashes(page) == [f"Campagne « {view.name} » créée."]
    link = deep_link(BOT, view.code)
    assert html.one("deep-link").get("value") == link
    assert html.one("campaign-code").text == view.code
    # The same campaign on the web chat: the link counts it as /start <code> does.
    chat = html.one("chat-link").get("value")
    assert chat == f"{site.services.settings.public_url}/chat?c={view.code}"
    assert html.one("qr").get("src") == f"{LIST}/{number}/qr.svg"
    assert f"/start {view.code}" in html.one("start-instructions").text
    assert html.has("archive-form")
    assert html.one("people").text == "0"
    # On the list, among the campaigns in progress.
    listing = parse_page(client.get(LIST).text)
    rows = listing.one("active-campaigns").all("campaign-row")
    assert str(number) in [row.get("data-campaign") for row in rows]


def test_the_qr_codes_served_decode_back_to_the_link(site: Site, chef: DashboardClient) -> None:
    number = campaign_id(create(chef, nom="Stories <Insta> & co", canal="instagram"))
    view = site.services.campaigns.get(number)
    assert view is not None
    link = deep_link(BOT, view.code)
    png = chef.get(f"{LIST}/{number}/qr.png")
    assert png.status_code == 200
    assert png.headers["content-type"] == "image/png"
    assert png.headers["content-disposition"] == f'inline; filename="qr-{view.code}.png"'
    assert png.headers["cache-control"] == "no-store"
    result = zxingcpp.read_barcode(read_png(png.content).buffer())
    assert result is not None and result.text == link and result.ec_level == "Q"
    svg = chef.get(f"{LIST}/{number}/qr.svg")
    assert svg.status_code == 200
    assert svg.headers["content-type"] == "image/svg+xml"
    root = ET.fromstring(svg.text)
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert texts[:2] == [site.services.settings.organisation.name, "Stories <Insta> & co"]
    assert texts[-1] == link


def test_cost_set_changed_and_cleared(site: Site, chef: DashboardClient) -> None:
    number = campaign_id(create(chef, cout=""))
    page = chef.post(f"{LIST}/{number}/cout", cout="1 200,50")
    assert page.status_code == 200
    # 1 200,50 € with a narrow no-break space (read as one space by the page reader).
    assert DashboardClient.flashes(page) == ["Coût enregistré : 1 200,50 €."]
    assert "1\u202f200,50 €" in page.text
    assert site.services.campaigns.get(number).cost_cents == 120050
    assert parse_page(page.text).one("cost-per-person").text == "—"  # nobody brought yet
    page = chef.post(f"{LIST}/{number}/cout", cout="")
    assert DashboardClient.flashes(page) == ["Coût effacé."]
    assert site.services.campaigns.get(number).cost_cents is None


def test_archiving_keeps_the_link_working(site: Site, chef: DashboardClient) -> None:
    number = campaign_id(create(chef, nom="Forum emploi"))
    page = chef.post(f"{LIST}/{number}/archiver")
    assert page.status_code == 200
    assert "archivée" in DashboardClient.flashes(page)[0]
    html = parse_page(page.text)
    assert html.has("archived-badge") and html.has("deep-link") and not html.has("archive-form")
    assert site.services.campaigns.get(number).archived
    listing = parse_page(chef.get(LIST).text)
    active = [r.get("data-campaign") for r in listing.one("active-campaigns").all("campaign-row")]
    archived = [
        r.get("data-campaign") for r in listing.one("archived-campaigns").all("campaign-row")
    ]
    assert str(number) in archived and str(number) not in active
    assert chef.get(f"{LIST}/{number}/qr.png").status_code == 200
    again = chef.post(f"{LIST}/{number}/archiver")  # idempotent
    assert again.status_code == 200


def test_reach_is_masked_under_five(site: Site, chef: DashboardClient) -> None:
    number = campaign_id(create(chef, nom="TikTok rentrée", canal="tiktok", cout="300"))
    view = site.services.campaigns.get(number)
    people = site.services.people

    def bring(count: int, prefix: str, channel: Channel = Channel.telegram) -> None:
        for n in range(count):
            pseudo = people.identify(channel, f"{prefix}-{number}-{n}").pseudo_id
            site.services.campaigns.attribute(pseudo, view.code)

    bring(3, "tg")
    bring(4, "sim", Channel.simulator)  # simulations never count
    page = parse_page(chef.get(f"{LIST}/{number}").text)
    assert (page.one("people").text, page.one("touches").text) == ("< 5", "< 5")
    assert page.one("cost-per-person").text == "—"
    row = [
        r
        for r in parse_page(chef.get(LIST).text).all("campaign-row")
        if r.get("data-campaign") == str(number)
    ]
    assert row[0].one("campaign-people").text == "< 5"
    bring(3, "tg2")
    page = parse_page(chef.get(f"{LIST}/{number}").text)
    assert page.one("people").text == "6"
    assert page.one("cost-per-person").text == "50 €"


# Refusals --------------------------------------------------------------------------------------
def every_route(number: int | str) -> list[tuple[str, str]]:
    base = f"{LIST}/{number}"
    return [
        ("GET", base),
        ("GET", f"{base}/qr.svg"),
        ("GET", f"{base}/qr.png"),
        ("POST", f"{base}/cout"),
        ("POST", f"{base}/archiver"),
    ]


def test_anonymous_go_to_the_login_page(site: Site, chef: DashboardClient) -> None:
    number = campaign_id(create(chef))
    before = site.count()
    anonymous = site.client(None)
    for method, path in [("GET", LIST), ("POST", LIST), *every_route(number)]:
        response = anonymous.http.request(method, path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/tableau/connexion"), path
    assert anonymous.http.get(LIST, follow_redirects=False).headers["location"] == (
        "/tableau/connexion?suivant=%2Ftableau%2Fcampagnes"
    )
    assert site.count() == before
    assert site.services.campaigns.get(number).cost_cents == 15000


def test_counsellors_are_refused(site: Site, chef: DashboardClient) -> None:
    number = campaign_id(create(chef))
    before = site.count()
    lea = site.client("lea@example.org")
    queue = lea.get("/tableau")
    assert not parse_page(queue.text).has("nav-campaigns") and LIST not in queue.text
    for method, path in [("GET", LIST), ("POST", LIST), *every_route(number)]:
        fields = {**FORM, "cout": "1"} if method == "POST" else {}
        response = lea.post(path, **fields) if method == "POST" else lea.get(path)
        assert response.status_code == 403, path
        assert "réservée aux responsables" in unescape(response.text), path
    view = site.services.campaigns.get(number)
    assert site.count() == before and view.cost_cents == 15000 and not view.archived


def test_forms_without_csrf_token_are_refused(site: Site, chef: DashboardClient) -> None:
    number = campaign_id(create(chef))
    before = site.count()
    for path in [LIST, f"{LIST}/{number}/cout", f"{LIST}/{number}/archiver"]:
        response = chef.http.post(path, data={**FORM, "cout": "1"})
        assert response.status_code == 403, path
        assert "Formulaire expiré" in response.text
        forged = chef.http.post(path, data={**FORM, "csrf_token": "forged"})
        assert forged.status_code == 403, path
    view = site.services.campaigns.get(number)
    assert site.count() == before and view.cost_cents == 15000 and not view.archived


@pytest.mark.parametrize("number", [*FORGED_IDS, "424242"])
def test_unknown_or_forged_ids_are_404(chef: DashboardClient, number: str) -> None:
    chef.get(LIST)
    for method, path in every_route(number):
        response = chef.post(path) if method == "POST" else chef.get(path)
        assert response.status_code == 404, path
        assert "Cette campagne n'existe pas." in unescape(response.text), path


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"nom": "   "}, "Le nom de la campagne est obligatoire."),
        ({"nom": "x" * 121}, "Le nom de la campagne dépasse 120 caractères."),
        ({"canal": "myspace"}, "Choisis le canal de la campagne dans la liste."),
        ({"canal": ""}, "Choisis le canal de la campagne dans la liste."),
        ({"territoire": "Paris"}, "Territoire inconnu : choisis-le dans la liste."),
        ({"equipe": "paris"}, "Équipe inconnue : choisis-la dans la liste."),
        ({"debut": "demain"}, "Date de début invalide : au format AAAA-MM-JJ."),
        ({"fin": "2026-13-01"}, "Date de fin invalide : au format AAAA-MM-JJ."),
        (
            {"debut": "2026-10-01", "fin": "2026-09-01"},
            "La campagne se termine avant de commencer.",
        ),
        ({"note": "n" * 501}, "La note dépasse 500 caractères."),
        ({"cout": "-5"}, "Coût invalide : un montant en euros, par exemple 150 ou 89,90."),
        ({"cout": "99999999"}, "Coût trop élevé : vérifie le montant (en euros)."),
        ({"nom": "x" * 300_000}, "Un des champs est beaucoup trop long."),
    ],
)
def test_invalid_forms_come_back_with_the_french_message(
    site: Site, chef: DashboardClient, fields: dict[str, str], message: str
) -> None:
    before = site.count()
    response = create(chef, **fields)
    assert response.status_code == 400
    html = parse_page(response.text)
    assert html.one("campaign-error").text.removesuffix(".") == message.removesuffix(".")
    assert site.count() == before
    # The form keeps what was typed (cut to a sane length), ready to fix.
    if "nom" not in fields:
        assert 'value="Flyers gare de Lens"' in response.text
    if "equipe" not in fields:
        assert '<option value="lens" selected>' in response.text
    assert len(response.text) < 50_000


@pytest.mark.parametrize(
    ("cost", "message"),
    [
        ("abc", "Coût invalide : un montant en euros, par exemple 150 ou 89,90."),
        ("1" * 3000, "Coût invalide : un montant en euros."),
        ("2000000", "Coût trop élevé : vérifie le montant (en euros)."),
    ],
)
def test_invalid_costs_come_back_with_the_french_message(
    site: Site, chef: DashboardClient, cost: str, message: str
) -> None:
    number = campaign_id(create(chef))
    response = chef.post(f"{LIST}/{number}/cout", cout=cost)
    assert response.status_code == 400
    assert parse_page(response.text).one("campaign-error").text == message
    assert site.services.campaigns.get(number).cost_cents == 15000


@pytest.mark.parametrize(
    ("body", "stored"),
    [
        (b"nom=Flyers%ED%A0%80gare&canal=flyer", "Flyers\ufffd\ufffd\ufffdgare"),  # not UTF-8
        (b"nom=Flyers%00gare&canal=flyer", "Flyersgare"),  # NUL: no database stores it
        (b"nom=%C3%A9t%C3%A9+%F0%9F%8E%89&canal=event", "été 🎉"),
    ],
)
def test_raw_bytes_are_stored_as_text(
    site: Site, chef: DashboardClient, body: bytes, stored: str
) -> None:
    chef.get(LIST)
    response = chef.http.post(
        LIST,
        content=body + b"&csrf_token=" + chef.csrf.encode(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200
    view = site.services.campaigns.get(campaign_id(response))
    assert view is not None and view.name == stored


# Without a bot username ----------------------------------------------------------------------
def test_without_a_bot_username_the_page_says_how_to_set_it(tmp_path: Path) -> None:
    for site in site_for(tmp_path):
        chef = site.client("chef@example.org")
        listing = parse_page(chef.get(LIST).text)
        assert "campaigns.bot_username" in listing.one("no-username").text
        page = create(chef)
        number = campaign_id(page)
        view = site.services.campaigns.get(number)
        html = parse_page(page.text)
        assert not html.has("deep-link") and not html.has("qr")
        assert "campaigns.bot_username" in html.one("no-username").text
        assert html.one("campaign-code").text == view.code
        assert f"/start {view.code}" in html.one("start-instructions").text
        for suffix in ("qr.svg", "qr.png"):
            response = chef.get(f"{LIST}/{number}/{suffix}")
            assert response.status_code == 404
            assert "campaigns.bot_username" in unescape(response.text)
