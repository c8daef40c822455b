"""A counsellor in the dashboard over plain HTTP (`DashboardClient`), and their account.

`DashboardClient` wraps a Starlette TestClient on `create_app(...)`, or drives an `AppServer`
by URL (`DashboardClient.connect(server.url)`) in end-to-end tests.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from typing import Any

import httpx
from starlette.testclient import TestClient

from core.models import Role
from handoff.accounts import CounsellorRef
from tests.support.html import parse_page

CLOCK_START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # where the dashboard tests' clock starts
PASSWORD = "un-mot-de-passe-solide"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]*)"')


class DashboardClient:
    """A counsellor using the dashboard over plain HTTP.

    Wraps an httpx client that keeps cookies (a Starlette TestClient is one) and follows
    redirects; remembers the CSRF token of the last page it read and adds it to every POST.
    Action methods return the final response (after the redirect back to the ticket);
    `flashes(response)` gives the messages shown on it.
    """

    def __init__(self, http: httpx.Client) -> None:
        self.http = http
        self.csrf = ""

    @classmethod
    def connect(cls, base_url: str) -> DashboardClient:
        """Over real HTTP, e.g. `DashboardClient.connect(app_server.url)`."""
        return cls(httpx.Client(base_url=base_url, follow_redirects=True, timeout=30))

    # Plumbing ----------------------------------------------------------------------------
    def _remember(self, response: httpx.Response) -> httpx.Response:
        if response.headers.get("content-type", "").startswith("text/html"):
            found = CSRF_RE.search(response.text)
            if found:
                self.csrf = html.unescape(found.group(1))
        return response

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self._remember(self.http.get(path, params=params or None))

    def post(self, path: str, **fields: str) -> httpx.Response:
        return self._remember(self.http.post(path, data={"csrf_token": self.csrf, **fields}))

    @staticmethod
    def flashes(response: httpx.Response) -> list[str]:
        return [flash.text for flash in parse_page(response.text).all("flash")]

    @staticmethod
    def errors(response: httpx.Response) -> list[str]:
        return [
            flash.text
            for flash in parse_page(response.text).all("flash")
            if flash.get("data-kind") == "error"
        ]

    # Session -----------------------------------------------------------------------------
    def login(self, email: str, password: str) -> httpx.Response:
        self.get("/tableau/connexion")
        return self.post("/tableau/connexion", email=email, password=password)

    def logout(self) -> httpx.Response:
        return self.post("/tableau/deconnexion")

    # Reading -----------------------------------------------------------------------------
    def queue(self, **filters: str) -> list[dict[str, Any]]:
        """The queue as the page's live refresh sees it (filters: equipe, statut, mes)."""
        response = self.http.get("/tableau/api/file", params=filters)
        response.raise_for_status()
        tickets: list[dict[str, Any]] = response.json()["tickets"]
        return tickets

    def ticket_page(self, ticket_id: int) -> httpx.Response:
        return self.get(f"/tableau/tickets/{ticket_id}")

    def messages(self, ticket_id: int, after: int = 0) -> dict[str, Any]:
        response = self.http.get(
            f"/tableau/api/tickets/{ticket_id}/messages", params={"after": after}
        )
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data

    # Actions -----------------------------------------------------------------------------
    def _act(self, ticket_id: int, action: str, **fields: str) -> httpx.Response:
        if not self.csrf:
            self.ticket_page(ticket_id)
        return self.post(f"/tableau/tickets/{ticket_id}/{action}", **fields)

    def claim(self, ticket_id: int) -> httpx.Response:
        return self._act(ticket_id, "prendre")

    def release(self, ticket_id: int) -> httpx.Response:
        return self._act(ticket_id, "liberer")

    def reply(self, ticket_id: int, text: str) -> httpx.Response:
        return self._act(ticket_id, "repondre", texte=text)

    def note(self, ticket_id: int, text: str) -> httpx.Response:
        return self._act(ticket_id, "note", texte=text)

    def transfer(
        self, ticket_id: int, *, to_counsellor: int | None = None, to_team: str | None = None
    ) -> httpx.Response:
        target = f"c:{to_counsellor}" if to_counsellor is not None else f"e:{to_team}"
        return self._act(ticket_id, "transferer", vers=target)

    def resolve(self, ticket_id: int, outcome: str, comment: str = "") -> httpx.Response:
        return self._act(ticket_id, "cloturer", issue=outcome, commentaire=comment)

    def follow_up(self, ticket_id: int, local: str, message: str = "") -> httpx.Response:
        """`local` as a datetime-local field sends it, e.g. "2026-03-05T14:30" (Paris time)."""
        return self._act(ticket_id, "relance", quand=local, message=message)

    def clear_follow_up(self, ticket_id: int) -> httpx.Response:
        return self._act(ticket_id, "relance", effacer="1")


def account(
    services: Any, name: str, *, role: Role = Role.counsellor, team: str | None = "lens"
) -> CounsellorRef:
    """A counsellor account `<name>@example.org` with the password `PASSWORD`."""
    ref: CounsellorRef = services.accounts.add(
        f"{name.lower()}@example.org", name, PASSWORD, role=role, team=team
    )
    return ref


def logged_in(http: TestClient, services: Any, who: CounsellorRef) -> DashboardClient:
    """`who` logged in on `http` (landing on the queue)."""
    client = DashboardClient(http)
    response = client.login(who.email, PASSWORD)
    assert response.status_code == 200, response.text
    assert str(response.url).endswith("/tableau")
    return client
