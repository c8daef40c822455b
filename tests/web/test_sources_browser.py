"""The results page's "Par source" section in headless Debian Chromium (Playwright) against the
real app served by uvicorn, on tests/support/sources.py's population, at a laptop and a phone
viewport: the two tables and the chart are there and masked, the definitions open, nothing
overflows the phone's width. One full-page screenshot per viewport (under the pytest base
temp folder's `screenshots/`, or $MARAUDE_SCREENSHOT_DIR), printed on stdout.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import AppServer, make_settings
from tests.support.analytics import PASSWORD
from tests.support.browser import (
    VIEWPORTS,
    dashboard_page,
    no_horizontal_overflow,
    screenshot_dir,
)
from tests.support.sources import SOURCES_END, seed_sources

pytestmark = [pytest.mark.browser]
RESULTS = "/tableau/resultats?du=2026-03-02&au=2026-03-22"


class Clock:
    def now(self) -> Any:
        return SOURCES_END


@pytest.fixture(scope="module")
def server(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    folder: Path = tmp_path_factory.mktemp("sources-browser")
    with AppServer(make_settings(folder), clock=Clock()) as app:
        seed_sources(app.services.db, app.services.settings)  # sources@example.org, manager
        yield app


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_the_sources_section(
    browser: Any, server: AppServer, viewport: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    with dashboard_page(browser, server.url, viewport, "sources@example.org", PASSWORD) as page:
        page.goto(server.url + RESULTS)
        section = page.locator("#sources")
        section.scroll_into_view_if_needed()
        assert section.locator("h2").inner_text() == "Par source"
        first = section.locator("#table-sources_campaigns tbody tr").first
        assert first.inner_text().split("\t")[:3] == ["TikTok rentrée", "TikTok", "6"]
        values = section.locator("#chart-sources g.bar-row").evaluate_all(
            "rows => rows.map(r => r.getAttribute('data-value'))"
        )
        assert len(values) == 10 and set(values) <= {"0", "5", "8"}  # hidden counts: no bar
        section.locator("#sources-definitions summary").click()
        assert section.locator("#sources-definitions dd").first.is_visible()
        no_horizontal_overflow(page)
        path = screenshot_dir(tmp_path_factory) / f"sources-{viewport}.png"
        section.screenshot(path=str(path))
        assert path.stat().st_size > 5_000
        print(f"screenshot: {path}")
