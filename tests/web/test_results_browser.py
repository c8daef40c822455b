"""The results pages in headless Debian Chromium (Playwright) against the real app served by
uvicorn, on the seeded population of tests/support/analytics.py: a manager logs in, opens the
results page and the impact report at a laptop and a phone viewport; the SVG charts have the
expected bars and points, nothing overflows the phone's width, the report prints.

Screenshots: one full-page PNG per page and viewport, saved under the pytest base temp folder
(`<basetemp>/screenshots/`, or $MARAUDE_SCREENSHOT_DIR when set). Each path is attached to the
test result as the user property `screenshot` (in the JUnit XML with `--junitxml`) and printed
on stdout (`pytest -rA` shows it under "Captured stdout call").
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from core.models import Role
from tests.support import AppServer, make_settings
from tests.support.analytics import PASSWORD, seed
from tests.support.browser import (
    VIEWPORTS,
    dashboard_page,
    no_horizontal_overflow,
    screenshot_dir,
    screenshot_saver,
)

pytestmark = [pytest.mark.browser]
RESULTS = "/tableau/resultats?du=2026-03-02&au=2026-03-22"
IMPACT = "/tableau/impact?annee=2026&pas=trimestre"


@pytest.fixture(scope="module")
def server(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    folder: Path = tmp_path_factory.mktemp("results")
    with AppServer(make_settings(folder)) as app:
        services = app.services
        seed(services.db, services.settings)
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


def bars(page: Any, chart: str) -> list[str]:
    return page.locator(f"#{chart} svg g.bar-row").evaluate_all(
        "rows => rows.map(r => r.getAttribute('data-value'))"
    )


def test_results_page_charts(page: Any, server: AppServer, attach: Any) -> None:
    page.goto(server.url + RESULTS)
    attach(page, "resultats")
    assert page.title().startswith("Résultats")
    # Funnel: 7 stages, their values from the seeded population.
    assert bars(page, "chart-funnel") == ["8", "5", "3", "6", "5", "3", "3"]
    assert page.locator("#chart-funnel svg rect").count() == 7
    # Weekly lines: 4 series x 3 weeks, with an x axis label per week.
    assert page.locator("#chart-weekly svg path.line").count() == 4
    assert page.locator("#chart-weekly svg circle.point").count() == 12
    started = page.locator("#chart-weekly g[data-series=started] circle.point").evaluate_all(
        "ps => ps.map(p => p.getAttribute('data-value'))"
    )
    assert started == ["4", "3", "1"]
    assert page.locator("#chart-weekly svg text.tick", has_text="W11").count() == 1
    assert page.locator("#chart-weekly .legend li").count() == 4
    # Delays within SLA (crisis claim, crisis reply, normal claim, normal reply), in percent;
    # a ticket still waiting past its threshold counts as missed (normal: 3 of 5 claims in
    # time, 1 of 3 first replies).
    assert [float(v) for v in bars(page, "chart-sla")] == pytest.approx([100, 0, 60, 100 / 3])
    assert sorted(bars(page, "chart-outcomes")) == ["1", "1", "1", "1"]
    assert page.locator("#chart-outcomes rect.positive").count() == 2
    assert len(bars(page, "chart-nudges")) == 4
    assert bars(page, "chart-intents") == ["3", "2", "1", "1", "1"]
    assert len(bars(page, "chart-variants")) == 3
    assert page.locator("#fallback-rate").inner_text() == "12,5 %"
    # Every chart is labelled for screen readers, every table has its CSV export.
    for chart in page.locator("figure.chart svg").all():
        assert chart.get_attribute("role") == "img"
        assert (chart.locator("title").first.text_content() or "").strip() != ""
    # 6 + 1 by conversation channel + 2 by source + 4 appointments
    assert page.locator("a", has_text="Exporter en CSV").count() == 13
    # The phone: the charts scale down, the page does not scroll sideways (tables do).
    no_horizontal_overflow(page)
    box = page.locator("#chart-funnel svg").bounding_box()
    assert box is not None and box["width"] <= page.viewport_size["width"]
    # A team filter says how people are attributed.
    page.select_option("select[name=equipe]", "lens")
    page.click("#results-filters button[type=submit]")
    page.wait_for_url("**equipe=lens**")
    assert "dernier ticket" in page.locator("#attribution-note").inner_text()
    assert bars(page, "chart-funnel")[0] == "3"


def test_impact_report_prints(page: Any, server: AppServer, attach: Any, shots: Path) -> None:
    page.goto(server.url + IMPACT)
    attach(page, "impact")
    assert page.title().startswith("Rapport d'impact 2026")
    figures = page.locator(".figure .figure-value").all_inner_texts()
    assert figures == ["8", "3", "6", "5", "3"]
    assert bars(page, "chart-impact") == ["8", "3", "6", "5", "3"]
    assert page.locator("#chart-impact-periods circle.point").count() == 12  # 3 series x 4
    assert page.locator("#table-impact tbody tr").first.inner_text().split("\t")[:2] == [
        "T1 2026",
        "8",
    ]
    no_horizontal_overflow(page)
    # Printed: no navigation, no filters; the report itself is there.
    page.emulate_media(media="print")
    assert not page.locator("header.top").is_visible()
    assert not page.locator("#results-filters").is_visible()
    assert page.locator("#impact-report h1").is_visible()
    if page.viewport_name == "laptop":
        pdf = shots / "impact.pdf"
        page.pdf(path=str(pdf), format="A4", print_background=True)
        assert pdf.stat().st_size > 10_000
        print(f"pdf: {pdf}")
