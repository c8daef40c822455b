"""Failed logins and wrong API tokens are throttled, over real HTTP against the app, each
client from its own loopback address (127.0.0.x): growing delays answered 429 with
Retry-After, per account and IP, per IP, per account; someone hammering an e-mail never
locks its owner out, and wrong tokens slow down only the address that sends them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from core.ratelimit import API_BAD_TOKEN, LOGIN_ACCOUNT, LOGIN_IP, LOGIN_PAIR, Rule
from handoff.accounts import CounsellorRef
from tests.support import AppServer, make_settings
from tests.support.dashboard import PASSWORD, DashboardClient, account


def first(rule: Rule) -> int:
    """How many a rule allows in its shortest window."""
    return min(item.amount for item in rule.items)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    folder: Path = tmp_path_factory.mktemp("rate-limits")
    with AppServer(make_settings(folder, nudges={"enabled": False})) as server:
        yield server


def from_ip(app: AppServer, ip: str) -> DashboardClient:
    """A browser on the machine at `ip` (a loopback address: the app sees it as the client)."""
    transport = httpx.HTTPTransport(local_address=ip)
    http = httpx.Client(base_url=app.url, follow_redirects=True, timeout=30, transport=transport)
    return DashboardClient(http)


def person(app: AppServer, name: str) -> CounsellorRef:
    return account(app.services, name)


def test_failures_slow_down_the_attacker_not_the_right_password_elsewhere(app: AppServer) -> None:
    lea = person(app, "Lea")
    attacker = from_ip(app, "127.0.0.2")
    tries = first(LOGIN_PAIR)
    for _ in range(tries):
        refused = attacker.login(lea.email, "devine")
        assert refused.status_code == 401
        assert "E-mail ou mot de passe incorrect." in attacker.errors(refused)
    slowed = attacker.login(lea.email, PASSWORD)  # even the right password is not read now
    assert slowed.status_code == 429
    wait = int(slowed.headers["Retry-After"])
    assert 1 <= wait <= 60  # the first delay: the minute
    [message] = attacker.errors(slowed)
    assert message.startswith("Trop de tentatives depuis cette connexion. Réessaie dans ")
    assert attacker.http.get("/tableau", follow_redirects=False).status_code == 303

    # Léa, from her own machine, logs in at once.
    lea_browser = from_ip(app, "127.0.0.3")
    ok = lea_browser.login(lea.email, PASSWORD)
    assert ok.status_code == 200 and ok.url.path == "/tableau"


def test_one_address_trying_many_accounts_is_slowed_down(app: AppServer) -> None:
    stuffer = from_ip(app, "127.0.0.4")
    names = [f"Compte{n}" for n in range(first(LOGIN_IP))]
    for name in names:
        assert stuffer.login(f"{name.lower()}@example.org", "faux").status_code == 401
    marc = person(app, "Marc")
    refused = stuffer.login(marc.email, PASSWORD)  # a new account, from that address
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert from_ip(app, "127.0.0.5").login(marc.email, PASSWORD).url.path == "/tableau"


def test_many_addresses_on_one_account_slow_only_those_addresses(app: AppServer) -> None:
    nora = person(app, "Nora")
    addresses = [f"127.0.1.{n}" for n in range(1, first(LOGIN_ACCOUNT) + 1)]
    for ip in addresses:  # a botnet: one guess from each address
        assert from_ip(app, ip).login(nora.email, "devine").status_code == 401
    # The account's limit is reached: the addresses that failed on it now wait...
    again = from_ip(app, addresses[0]).login(nora.email, "devine-encore")
    assert again.status_code == 429
    # ...while Nora, from an address that never failed, still logs in.
    assert from_ip(app, "127.0.2.1").login(nora.email, PASSWORD).url.path == "/tableau"


# The REST API -----------------------------------------------------------------------------
def test_wrong_api_tokens_are_throttled_per_address(app: AppServer) -> None:
    owner = person(app, "Paul")
    token = app.services.accounts.create_token(owner.id, "crm")
    good = {"Authorization": f"Bearer {token}"}
    transport = httpx.HTTPTransport(local_address="127.0.0.6")
    with httpx.Client(base_url=app.url, timeout=30, transport=transport) as guesser:
        for _ in range(first(API_BAD_TOKEN) + 1):  # a missing token is no guess: not counted
            assert guesser.get("/api/v1/outcomes").status_code == 401
        for n in range(first(API_BAD_TOKEN)):
            wrong = guesser.get("/api/v1/outcomes", headers={"Authorization": f"Bearer mrd_{n}"})
            assert wrong.status_code == 401
        slowed = guesser.get("/api/v1/outcomes", headers={"Authorization": "Bearer mrd_x"})
        assert slowed.status_code == 429
        assert int(slowed.headers["Retry-After"]) > 0
        assert slowed.json()["detail"].startswith("Trop de jetons invalides : réessaie dans ")
        # From that address, even the right token waits (the token is never even looked up).
        assert guesser.get("/api/v1/outcomes", headers=good).status_code == 429
        assert guesser.get("/api/v1/outcomes").status_code == 401  # no token: as ever
    # From anywhere else, the right token works.
    with httpx.Client(base_url=app.url, timeout=30) as client:
        assert client.get("/api/v1/outcomes", headers=good).status_code == 200
