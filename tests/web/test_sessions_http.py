"""Sessions, tokens and the headers of every answer, against the real app over real HTTP
(uvicorn in a thread, `AppServer`, at a clock the test moves), with accounts managed by the
real `maraude user` command on the same database.

- logging out ends the server-side session: the old cookie replayed is logged out;
- `maraude user password` and `maraude user deactivate` end the live sessions of every
  browser at once; deactivation revokes the API tokens too;
- expired and revoked API tokens answer 401;
- security headers on the pages, the dashboard, the API, static files and errors;
- `/docs`, `/redoc` and `/openapi.json` for staff only;
- `Secure` cookie and HSTS when the app is served over https (webhook or public URL).
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.clock import FixedClock
from maraude.cli import main
from tests.support import AppServer, make_settings
from tests.support.dashboard import PASSWORD, DashboardClient
from web.auth import SESSION_COOKIE

# The app's clock starts at the real time, which `maraude user` (real clock) also reads.
CLOCK_START = datetime.now(UTC).replace(microsecond=0)
NEW_PASSWORD = "une-phrase-toute-neuve"
LEA = "lea@example.org"


class Site:
    """The running app, its settings file (for `maraude user`) and browsers on it."""

    def __init__(self, server: AppServer, config: Path) -> None:
        self.server = server
        self.config = config

    def user(self, monkeypatch: pytest.MonkeyPatch, *argv: str, stdin: str = "") -> int:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        return main(["--config", str(self.config), "user", *argv])

    def browser(self) -> DashboardClient:
        return DashboardClient.connect(self.server.url)

    def logged_in(self, email: str = LEA, password: str = PASSWORD) -> DashboardClient:
        client = self.browser()
        response = client.login(email, password)
        assert response.status_code == 200 and str(response.url).endswith("/tableau")
        return client

    def token(self, name: str, days: int | None = None) -> str:
        """A token made by the app's own service (at the app's clock)."""
        accounts = self.server.services.accounts
        lea = accounts.by_email(LEA)
        lifetime = timedelta(days=days) if days is not None else None
        return str(accounts.create_token(lea.id, name, lifetime=lifetime))


def serve(tmp_path: Path, clock: FixedClock, **overrides: Any) -> Iterator[AppServer]:
    settings = make_settings(tmp_path, **overrides)
    with AppServer(settings, clock=clock) as server:
        yield server


@pytest.fixture
def site(tmp_path: Path, clock: FixedClock, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    for server in serve(tmp_path, clock):
        built = Site(server, tmp_path / "maraude.yml")
        add = ("add", LEA, "--first-name", "Léa", "--team", "lens", "--password-stdin")
        assert built.user(monkeypatch, *add, stdin=PASSWORD + "\n") == 0
        yield built


def status(client: DashboardClient, path: str = "/tableau") -> int:
    return client.http.get(path, follow_redirects=False).status_code


def cookie_of(client: DashboardClient) -> str:
    value = client.http.cookies.get(SESSION_COOKIE)
    assert value
    return str(value)


def api(site: Site, token: str, path: str = "/api/v1/tickets") -> httpx.Response:
    return httpx.get(
        site.server.url + path, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def new_token(site: Site, monkeypatch: pytest.MonkeyPatch, capsys: Any, *argv: str) -> str:
    capsys.readouterr()
    assert site.user(monkeypatch, "token", LEA, *argv) == 0
    return str(capsys.readouterr().out.strip().splitlines()[-1])


# Sessions ----------------------------------------------------------------------------------
def test_logout_then_replaying_the_old_cookie_is_logged_out(site: Site) -> None:
    client = site.logged_in()
    stolen = cookie_of(client)
    # The cookie carries a random session key and a CSRF token: no account id, no e-mail.
    payload = json.loads(base64.b64decode(stolen.split(".")[0] + "=="))
    assert set(payload) == {"sid", "csrf"}

    replay = site.browser()
    replay.http.cookies.set(SESSION_COOKIE, stolen)
    assert status(replay) == 200  # the same cookie elsewhere: same session, until logout
    out = client.logout()
    assert "Tu es déconnecté·e." in client.flashes(out)

    replay = site.browser()
    replay.http.cookies.set(SESSION_COOKIE, stolen)
    assert status(replay) == 303
    assert replay.http.get("/tableau/api/file").status_code == 401
    assert status(client) == 303
    assert status(site.logged_in()) == 200  # logging in again works


def test_a_password_change_ends_every_live_session(
    site: Site, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    laptop, phone = site.logged_in(), site.logged_in()
    assert status(laptop) == status(phone) == 200
    weak = site.user(monkeypatch, "password", LEA, "--password-stdin", stdin="azerty2024!!\n")
    assert weak == 2 and "trop courant" in capsys.readouterr().err
    assert status(laptop) == 200  # a refused change ends nothing

    assert site.user(monkeypatch, "password", LEA, "--password-stdin", stdin=NEW_PASSWORD) == 0
    assert "2 session(s) du tableau de bord fermée(s)" in capsys.readouterr().out
    assert status(laptop) == status(phone) == 303
    refused = site.browser().login(LEA, PASSWORD)
    assert refused.status_code == 401
    assert status(site.logged_in(LEA, NEW_PASSWORD)) == 200


def test_deactivation_ends_sessions_and_tokens_at_once(
    site: Site, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    client = site.logged_in()
    token = new_token(site, monkeypatch, capsys, "--name", "crm")
    assert api(site, token).status_code == 200
    assert site.user(monkeypatch, "deactivate", LEA) == 0
    assert "désactivé" in capsys.readouterr().out
    assert status(client) == 303
    assert api(site, token).status_code == 401
    assert site.browser().login(LEA, PASSWORD).status_code == 401
    assert site.user(monkeypatch, "deactivate", LEA) == 0
    assert "déjà désactivé" in capsys.readouterr().out


def test_an_idle_session_ends(site: Site, clock: FixedClock) -> None:
    client = site.logged_in()
    clock.advance(hours=1, minutes=59)
    assert status(client) == 200
    clock.advance(hours=2, minutes=1)  # server.session_idle: 2 hours without a click
    assert status(client) == 303


# API tokens --------------------------------------------------------------------------------
def test_expired_and_revoked_tokens_answer_401(
    site: Site, clock: FixedClock, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    short, crm, other = site.token("essai", days=1), site.token("crm"), site.token("script")
    assert [api(site, t).status_code for t in (short, crm, other)] == [200, 200, 200]

    assert site.user(monkeypatch, "revoke-tokens", LEA, "--name", "crm") == 0
    assert "1 jeton(s) « crm » révoqué(s)" in capsys.readouterr().out
    assert site.user(monkeypatch, "tokens", LEA) == 0
    listed = capsys.readouterr().out
    assert "crm\trévoqué" in listed and "script\tactif" in listed and "essai\tactif" in listed
    assert all(token not in listed for token in (short, crm, other))

    clock.advance(days=1)  # the first one expires now
    for token in (short, crm):
        refused = api(site, token)
        assert refused.status_code == 401
        assert refused.json() == {"detail": "Jeton d'API manquant, invalide, expiré ou révoqué."}
    assert api(site, other).status_code == 200
    assert site.user(monkeypatch, "revoke-tokens", LEA) == 0
    assert api(site, other).status_code == 401


# Headers -----------------------------------------------------------------------------------
def assert_protected(response: httpx.Response) -> None:
    headers = response.headers
    where = f"{response.request.method} {response.request.url.path}"
    assert headers.get("x-content-type-options") == "nosniff", where
    assert headers.get("x-frame-options") == "DENY", where
    assert "frame-ancestors 'none'" in headers.get("content-security-policy", ""), where
    assert headers.get("referrer-policy") == "same-origin", where
    assert "camera=()" in headers.get("permissions-policy", ""), where
    assert "strict-transport-security" not in headers, where  # plain http here


def test_security_headers_on_every_answer(
    site: Site, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    anonymous = httpx.Client(base_url=site.server.url, timeout=30)
    token = new_token(site, monkeypatch, capsys, "--name", "crm")
    answers = [
        anonymous.get(path)
        for path in (
            "/",
            "/confidentialite",
            "/simulateur",
            "/tableau/connexion",
            "/api/v1/tickets",  # 401
            "/health",
            "/static/style.css",
            "/static/simulator.js",
            "/nulle-part",  # 404
        )
    ]
    answers.append(api(site, token))
    client = site.logged_in()
    answers.append(client.get("/tableau"))
    for response in answers:
        assert_protected(response)
    assert answers[0].status_code == answers[6].status_code == 200
    assert answers[6].headers["content-type"].startswith("text/css")
    assert answers[7].headers["content-type"].startswith("text/javascript")
    # The dashboard keeps its stricter policy (no inline style) and stays out of caches.
    dashboard = answers[-1]
    assert "unsafe-inline" not in dashboard.headers["content-security-policy"]
    assert dashboard.headers["cache-control"] == "no-store"


# API documentation -------------------------------------------------------------------------
def test_api_documentation_is_for_staff_only(
    site: Site, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    anonymous = httpx.Client(base_url=site.server.url, timeout=30)
    for path in ("/docs", "/redoc"):
        refused = anonymous.get(path)
        assert refused.status_code == 303
        assert refused.headers["location"] == f"/tableau/connexion?suivant=%2F{path[1:]}"
    assert anonymous.get("/openapi.json").status_code == 401
    bad = anonymous.get("/openapi.json", headers={"Authorization": "Bearer mrd_faux"})
    assert bad.status_code == 401

    token = new_token(site, monkeypatch, capsys, "--name", "crm")
    document = api(site, token, "/openapi.json")
    assert document.status_code == 200 and "/api/v1/tickets" in document.json()["paths"]
    assert api(site, token, "/docs").status_code == 303  # the pages need a login

    # Logging in from the redirect comes back to the documentation.
    client = site.browser()
    client.get("/docs")
    landed = client.post("/tableau/connexion", email=LEA, password=PASSWORD, suivant="/docs")
    assert str(landed.url).endswith("/docs") and "swagger-ui" in landed.text
    assert_protected(landed)
    assert "https://cdn.jsdelivr.net" in landed.headers["content-security-policy"]
    assert client.get("/redoc").status_code == 200
    served = client.get("/openapi.json")
    assert served.status_code == 200 and served.json() == document.json()
    client.get("/tableau")  # the session's CSRF token, for the logout form
    assert "Tu es déconnecté·e." in client.flashes(client.logout())
    assert status(client, "/docs") == 303
    assert client.http.get("/openapi.json").status_code == 401


# https -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "overrides",
    [
        {"telegram_webhook_url": "https://maraude.example.org/telegram/webhook"},
        {"server": {"public_url": "https://maraude.example.org"}},
    ],
)
def test_secure_cookie_and_hsts_over_https(
    tmp_path: Path,
    clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
    overrides: dict[str, Any],
) -> None:
    for server in serve(tmp_path, clock, **overrides):
        site = Site(server, tmp_path / "maraude.yml")
        add = ("add", LEA, "--first-name", "Léa", "--password-stdin")
        assert site.user(monkeypatch, *add, stdin=PASSWORD + "\n") == 0
        client = site.browser()
        form = client.get("/tableau/connexion")
        assert "; secure" in form.headers["set-cookie"].lower()
        # A client only sends a Secure cookie back over https: this test hands it back itself.
        sent = form.headers["set-cookie"].split(";")[0]
        login = client.http.post(
            "/tableau/connexion",
            data={"csrf_token": client.csrf, "email": LEA, "password": PASSWORD},
            headers={"Cookie": sent},
            follow_redirects=False,
        )
        assert login.status_code == 303
        cookie = login.headers["set-cookie"].lower()
        assert cookie.startswith(f"{SESSION_COOKIE}=") and "; secure" in cookie
        assert "httponly" in cookie and "samesite=lax" in cookie
        for path in ("/", "/static/style.css", "/tableau/connexion", "/api/v1/tickets"):
            answer = httpx.get(server.url + path, timeout=30)
            assert answer.headers["strict-transport-security"] == "max-age=31536000", path


def test_plain_http_cookie_is_not_secure(site: Site) -> None:
    client = site.browser()
    client.get("/tableau/connexion")
    login = client.http.post(
        "/tableau/connexion",
        data={"csrf_token": client.csrf, "email": LEA, "password": PASSWORD},
        follow_redirects=False,
    )
    assert login.status_code == 303 and "secure" not in login.headers["set-cookie"].lower()
