"""Who may use the web simulator (`server.simulator`), over real HTTP against the app, and
where its conversations show: with a Telegram token it is for logged-in staff and its
tickets are simulations, absent from the queue, the search, the SLA alerts, the results and
the impact report; without a token (the `make run` demo) it is open to anyone and its
tickets show in the queue with a "simulation" badge. The engine is down in these tests: a
crisis message still raises an urgent ticket through the app's own check."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.texts import AppTexts
from core.models import Channel, Role, Urgency
from core.people import pseudonymise
from core.ratelimit import SIMULATOR_SESSIONS
from handoff.search import TicketSearch, parse_search
from studio.analytics import IMPACT_LABELS
from tests.fakes.telegram_api import FakeTelegramServer
from tests.support import (
    ROOT,
    TEST_TOKEN,
    AppServer,
    free_port,
    headless_chromium,
    make_settings,
)
from tests.support.dashboard import PASSWORD, DashboardClient, account
from tests.support.html import parse_page

TEXTS = AppTexts.load(engine_config=ROOT / "config.yml")
CRISIS = "je veux mourir"
HELPLINE = "3114"
CSRF_DATA = re.compile(r'id="chat"[^>]*data-csrf="([^"]+)"')
YOUTH_CHAT = 732_001


@contextmanager
def served(tmp_path: Path, *, token: bool, **server: Any) -> Iterator[tuple[AppServer, Any]]:
    """The app (engine down), with a Telegram token and the fake Bot API or without."""
    with FakeTelegramServer() as telegram:
        extra: dict[str, Any] = (
            {"telegram_bot_token": TEST_TOKEN, "telegram_api_base_url": telegram.url}
            if token
            else {}
        )
        settings = make_settings(
            tmp_path,
            rasa_url=f"http://127.0.0.1:{free_port()}",
            nudges={"enabled": False},
            server=server,
            **extra,
        )
        with AppServer(settings) as app:
            yield app, telegram


def anonymous(app: AppServer) -> httpx.Client:
    return httpx.Client(base_url=app.url, timeout=30)


def staff(app: AppServer, name: str, role: Role = Role.manager) -> DashboardClient:
    """A logged-in dashboard user, who went to the simulator through the login page."""
    who = account(app.services, name, role=role)
    client = DashboardClient.connect(app.url)
    client.get("/tableau/connexion", suivant="/simulateur")
    page = client.post(
        "/tableau/connexion", email=who.email, password=PASSWORD, suivant="/simulateur"
    )
    assert page.status_code == 200, page.text
    assert page.url.path == "/simulateur"  # back to the page asked for
    return client


def page_csrf(page: httpx.Response) -> str:
    found = CSRF_DATA.search(page.text)
    assert found, "the staff simulator page carries the session's CSRF token"
    return found.group(1)


def say(http: httpx.Client, text: str, csrf: str = "") -> httpx.Response:
    headers = {"X-CSRF-Token": csrf} if csrf else {}
    return http.post("/simulateur/api/messages", json={"text": text}, headers=headers)


def replies(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [r["text"] for r in response.json()["replies"]]


def simulated_tickets(app: AppServer, http: httpx.Client) -> list[Any]:
    cookie = http.cookies.get("maraude_sim")
    assert cookie
    pseudo = pseudonymise(app.services.settings.secret_key, Channel.simulator, cookie)
    return list(app.services.tickets.tickets_of(pseudo))


def impact_totals(client: DashboardClient) -> dict[str, str]:
    response = client.get("/tableau/resultats/impact.csv")
    assert response.status_code == 200, response.text
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    total = next(row for row in rows if row[0].startswith("Total"))
    return dict(zip(rows[0], total, strict=True))


# With a Telegram token: staff only ------------------------------------------------------------
def test_with_a_token_the_simulator_needs_a_dashboard_login(tmp_path: Path) -> None:
    with served(tmp_path, token=True) as (app, _), anonymous(app) as http:
        assert "Essayer le robot" not in http.get("/").text  # not offered to the public
        page = http.get("/simulateur")
        assert page.status_code == 303
        assert page.headers["location"] == "/tableau/connexion?suivant=%2Fsimulateur"
        http.cookies.set("maraude_sim", "a" * 24)  # a made-up session changes nothing
        for response in (
            say(http, "salut"),
            http.get("/simulateur/api/updates"),
            http.post("/simulateur/api/reset"),
        ):
            assert response.status_code == 401
            assert response.json() == {
                "detail": "Connexion au tableau de bord requise pour utiliser le simulateur."
            }
        assert app.services.tickets.queue() == []

        # A counsellor (not only managers) may use it, once logged in.
        client = staff(app, "Chloe", Role.counsellor)
        page = client.get("/simulateur")
        assert parse_page(page.text).has("simulation-notice")
        csrf = page_csrf(page)
        assert say(client.http, "salut").status_code == 403  # a POST needs the CSRF token
        assert replies(say(client.http, "salut", csrf)) == [TEXTS.engine_down]
        assert client.http.get("/simulateur/api/updates").status_code == 200
        reset = client.http.post("/simulateur/api/reset", headers={"X-CSRF-Token": csrf})
        assert reset.status_code == 200

        # Logged out: refused again at once.
        client.get("/tableau")  # a dashboard page: the logout form's token
        client.logout()
        assert client.http.get("/simulateur", follow_redirects=False).status_code == 303
        assert say(client.http, "salut", csrf).status_code == 401


def test_with_a_token_simulations_stay_out_of_queue_search_alerts_and_results(
    tmp_path: Path,
) -> None:
    with served(tmp_path, token=True) as (app, telegram):
        manager = staff(app, "Maud")
        csrf = page_csrf(manager.get("/simulateur"))
        assert any(HELPLINE in text for text in replies(say(manager.http, CRISIS, csrf)))
        [simulated] = simulated_tickets(app, manager.http)
        assert simulated.urgency == Urgency.crisis and simulated.simulated

        # A real young person in crisis on Telegram, for comparison.
        telegram.push_message(YOUTH_CHAT, CRISIS)
        telegram.wait_until(
            lambda: telegram.sent_messages(YOUTH_CHAT), timeout=30, what="the helplines"
        )
        youth = pseudonymise(app.services.settings.secret_key, Channel.telegram, str(YOUTH_CHAT))
        [real] = app.services.tickets.tickets_of(youth)
        assert not real.simulated

        # The queue (page and live JSON): only the real one.
        assert [t["id"] for t in manager.queue(equipe="tous")] == [real.id]
        page = parse_page(manager.get("/tableau", equipe="tous").text)
        assert not page.has("simulated")
        # The search, even by the ticket's own number.
        me = app.services.accounts.authenticate("maud@example.org", PASSWORD)
        finder = TicketSearch(app.services.db, app.services.settings)
        assert finder.search(me, parse_search(f"#{simulated.id}", "reference")) == []
        assert [
            hit.ticket.id for hit in finder.search(me, parse_search(f"#{real.id}", "reference"))
        ] == [real.id]
        # The SLA reminders and the digest.
        assert [t.id for t, _ in app.services.sla.waiting()] == [real.id]
        digest = app.services.sla.digest()
        assert [item.ticket.id for team in digest.unclaimed for item in team.tickets] == [real.id]
        # The results (funnel) and the impact report: one young person, one hand-off.
        totals = impact_totals(manager)
        assert totals[IMPACT_LABELS["started"]] == "1"
        assert totals[IMPACT_LABELS["handoff"]] == "1"
        funnel = manager.get("/tableau/resultats/entonnoir.csv")
        rows = list(csv.reader(io.StringIO(funnel.content.decode("utf-8-sig")), delimiter=";"))
        total = next(row for row in rows if row[0] == "Total")
        assert total[2] == "1"  # conversations started: the Telegram one only


def test_the_simulator_can_be_switched_off(tmp_path: Path) -> None:
    with served(tmp_path, token=True, simulator="off") as (app, _):
        manager = staff_without_page(app)
        for response in (
            manager.http.get("/simulateur"),
            say(manager.http, "salut", manager.csrf),
            manager.http.get("/simulateur/api/updates"),
        ):
            assert response.status_code == 404


def staff_without_page(app: AppServer) -> DashboardClient:
    who = account(app.services, "Odile", role=Role.manager)
    client = DashboardClient.connect(app.url)
    assert client.login(who.email, PASSWORD).status_code == 200
    return client


def test_the_old_switch_still_turns_it_off(tmp_path: Path) -> None:
    with served(tmp_path, token=False, simulator_enabled=False) as (app, _):
        with anonymous(app) as http:
            assert http.get("/simulateur").status_code == 404


# Without a token: the open demo ---------------------------------------------------------------
def test_without_a_token_anyone_uses_it_and_its_tickets_show_as_simulations(
    tmp_path: Path,
) -> None:
    with served(tmp_path, token=False) as (app, _), anonymous(app) as http:
        assert "Essayer le robot dans le simulateur" in http.get("/").text
        page = http.get("/simulateur")
        assert page.status_code == 200
        assert "data-csrf" not in page.text
        assert any(HELPLINE in text for text in replies(say(http, CRISIS)))
        [ticket] = simulated_tickets(app, http)

        manager = staff_without_page(app)
        [row] = manager.queue(equipe="tous")
        assert row["id"] == ticket.id and row["simulated"] is True
        badge = parse_page(manager.get("/tableau", equipe="tous").text).one("simulated")
        assert badge.text == "simulation"
        assert impact_totals(manager)[IMPACT_LABELS["handoff"]] == "1"  # the demo counts it


def test_an_explicit_open_simulator_with_a_token_is_open(tmp_path: Path) -> None:
    with served(tmp_path, token=True, simulator="open") as (app, _), anonymous(app) as http:
        assert http.get("/simulateur").status_code == 200
        assert replies(say(http, "salut")) == [TEXTS.engine_down]


def test_the_open_demo_limits_new_sessions_per_address(tmp_path: Path) -> None:
    limit = min(item.amount for item in SIMULATOR_SESSIONS.items)
    with served(tmp_path, token=False) as (app, _):
        for _ in range(limit):
            with anonymous(app) as http:
                assert http.get("/simulateur").status_code == 200
        with anonymous(app) as http:
            refused = http.get("/simulateur")
            assert refused.status_code == 429
            assert int(refused.headers["Retry-After"]) > 0
            assert "maraude_sim" not in refused.headers.get("set-cookie", "")


def test_a_simulator_session_is_flood_limited_like_a_chat(tmp_path: Path) -> None:
    with served(tmp_path, token=False) as (app, _), anonymous(app) as http:
        http.get("/simulateur")
        answers = [replies(say(http, f"spam {n}")) for n in range(15)]
        assert answers.count([TEXTS.slow_down]) == 1
        assert answers[-1] == []  # dropped, nothing said
        # A crisis message is read whatever the pace.
        assert any(HELPLINE in text for text in replies(say(http, CRISIS)))
        assert len(simulated_tickets(app, http)) == 1


# The page itself, in headless Chromium --------------------------------------------------------
@pytest.mark.browser
def test_the_staff_page_sends_its_token_with_every_post(tmp_path: Path) -> None:
    with served(tmp_path, token=True) as (app, _), headless_chromium() as browser:
        who = account(app.services, "Sacha", role=Role.counsellor)
        page = browser.new_page()
        page.set_default_timeout(15_000)
        page.goto(f"{app.url}/simulateur")
        page.wait_for_url("**/tableau/connexion*")
        page.fill("#email", who.email)
        page.fill("#password", PASSWORD)
        page.click("#login")
        page.wait_for_url("**/simulateur")
        page.fill("#text", "salut")
        page.click("#send")
        page.locator(".msg.bot:not(.typing)").first.wait_for()
        assert page.locator(".msg.bot").last.inner_text() == TEXTS.engine_down
        assert page.locator(".msg.error").count() == 0
        first = next(c for c in page.context.cookies() if c["name"] == "maraude_sim")["value"]
        with page.expect_response("**/simulateur/api/reset") as reset:
            page.click("#reset")
        assert reset.value.status == 200
        second = next(c for c in page.context.cookies() if c["name"] == "maraude_sim")["value"]
        assert first != second
