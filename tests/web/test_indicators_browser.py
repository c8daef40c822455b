"""The funders' indicators page in headless Debian Chromium (Playwright) against the real app
served by uvicorn, on tests/support/indicators.py's population: a manager opens the first
quarter of 2026 at a laptop and a phone viewport; the masked figures show, nothing overflows
the phone's width, and the printed page (print media, A4) has no navigation nor filters.

Screenshots: one full-page PNG per viewport and medium under the pytest base temp folder
(`<basetemp>/screenshots/`, or $MARAUDE_SCREENSHOT_DIR), attached as the `screenshot` user
property and printed on stdout; the laptop run also saves the page as an A4 PDF.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from core.models import Role
from tests.support import AppServer, make_settings
from tests.support.analytics import END, PASSWORD, HandClock
from tests.support.browser import (
    VIEWPORTS,
    dashboard_page,
    no_horizontal_overflow,
    screenshot_dir,
    screenshot_saver,
)
from tests.support.indicators import seed_indicators

pytestmark = [pytest.mark.browser]
PAGE = "/tableau/indicateurs?annee=2026&trimestre=T1"


@pytest.fixture(scope="module")
def server(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    folder: Path = tmp_path_factory.mktemp("indicators")
    with AppServer(make_settings(folder), clock=HandClock(END)) as app:
        services = app.services
        seed_indicators(services.db, services.settings)
        services.accounts.add("chef@example.org", "Chef", PASSWORD, role=Role.manager)
        yield app


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return screenshot_dir(tmp_path_factory)


@pytest.fixture(params=list(VIEWPORTS))
def page(request: pytest.FixtureRequest, browser: Any, server: AppServer) -> Iterator[Any]:
    with dashboard_page(browser, server.url, request.param, "chef@example.org", PASSWORD) as page:
        yield page


@pytest.fixture
def attach(
    record_property: Callable[[str, object], None], shots: Path
) -> Callable[[Any, str], Path]:
    return screenshot_saver(shots, record_property)


def test_indicators_page_on_screen_and_in_print(
    page: Any, server: AppServer, attach: Any, shots: Path
) -> None:
    # From the navigation, then the first quarter.
    page.click("#nav-indicators")
    page.wait_for_url("**/tableau/indicateurs")
    assert page.title().startswith("Indicateurs T2 2026")  # today's quarter by default
    page.select_option("select[name=trimestre]", "T1")
    page.click("#indicators-filters button[type=submit]")
    page.wait_for_url("**trimestre=T1**")
    assert "annee=2026&trimestre=T1" in page.url
    attach(page, "indicateurs")
    values = page.locator("[data-test=indicator-value]").all_inner_texts()
    assert values == ["10", "9", "7", "< 5", "66,7 %", "1 h"]
    total = page.locator("#table-indicateurs tbody tr").last.inner_text().split("\t")
    assert total == ["Total", "10", "9", "7", "< 5", "66,7", "60"]
    assert page.locator("#indicators-definitions dt").count() == 7
    assert (
        page.locator("#indicators-org").inner_text() == server.services.settings.organisation.name
    )
    assert page.locator("#indicators-csv").get_attribute("href") == (
        "/tableau/indicateurs.csv?annee=2026&trimestre=T1"
    )
    no_horizontal_overflow(page)
    # Printed: no navigation, no filters, no links; the report and its tables are there.
    page.emulate_media(media="print")
    assert not page.locator("header.top").is_visible()
    assert not page.locator("header.top nav").is_visible()
    assert not page.locator("#indicators-filters").is_visible()
    assert not page.locator("#indicators-csv").is_visible()
    assert page.locator("#indicators-report h1").is_visible()
    assert page.locator("#table-indicateurs").is_visible()
    inside = page.evaluate(
        "getComputedStyle(document.querySelector('#table-indicateurs')).breakInside"
    )
    assert inside == "avoid"
    attach(page, "indicateurs-impression")
    if page.viewport_name == "laptop":
        pdf = shots / "indicateurs.pdf"
        page.pdf(path=str(pdf), format="A4", print_background=True)
        assert pdf.stat().st_size > 10_000
        print(f"pdf: {pdf}")
