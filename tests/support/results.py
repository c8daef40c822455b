"""Reading the managers' results pages in tests (results, impact, sources, indicators,
channels): a logged-in client, a table's rows as cell texts, a CSV download's rows."""

from __future__ import annotations

import csv
import io
from typing import Any

from fastapi.testclient import TestClient

from tests.support.dashboard import DashboardClient
from tests.support.html import parse_page


def log_in(client: TestClient, email: str, password: str) -> None:
    """Log `client` in as `email` (any earlier login of the client is dropped first)."""
    client.cookies.clear()
    response = DashboardClient(client).login(email, password)
    assert response.status_code == 200, response.text


def table(page: str, name: str) -> list[list[str]]:
    """A results table's rows (web/templates/_charts.html `data_table`), as cell texts."""
    [found] = [t for t in parse_page(page).all("data-table") if t.get("data-table") == name]
    return [[cell.text for cell in row.all("cell")] for row in found.all("table-row")]


def read_csv(response: Any) -> list[list[str]]:
    """The rows of a CSV download: an attachment, UTF-8 with a BOM (Excel), ';'-separated."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    assert response.content.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
