"""The campaigns pages in headless Debian Chromium (Playwright) against the real app served
by uvicorn: a manager creates a campaign through the form, lands on its page, copies the deep
link, sees the QR code (the code on the screenshot of the page decodes back to the link), at a
laptop (1366x768) and a phone (390x844) viewport; nothing overflows the phone's width; no
script error or CSP violation.

Screenshots: one full-page PNG per page and viewport under the pytest base temp folder
(`<basetemp>/screenshots/`, or $MARAUDE_SCREENSHOT_DIR), attached to the test result as the
user property `screenshot` and printed on stdout, as tests/web/test_results_browser.py does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import zxingcpp

from core.campaigns import CampaignDraft, deep_link
from core.models import CampaignChannel, Channel, Role
from tests.support import AppServer, make_settings
from tests.support.browser import (
    VIEWPORTS,
    dashboard_page,
    no_horizontal_overflow,
    screenshot_dir,
    screenshot_saver,
)
from tests.support.dashboard import PASSWORD
from tests.support.png import read_png

pytestmark = [pytest.mark.browser]
BOT = "MaraudeLensBot"
LONG_NAME = "Maraude numérique TikTok rentrée – lycées professionnels du bassin minier"


@pytest.fixture(scope="module")
def server(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    folder: Path = tmp_path_factory.mktemp("campaigns-browser")
    settings = make_settings(folder, campaigns={"bot_username": BOT})
    with AppServer(settings) as app:
        services = app.services
        services.accounts.add("chef@example.org", "Chef", PASSWORD, role=Role.manager)
        flyers = services.campaigns.create(
            CampaignDraft(
                "Flyers abribus gare de Lens",
                CampaignChannel.flyer,
                territory="Lens-Liévin",
                team="lens",
                cost_cents=24000,
            )
        )
        for n in range(7):
            pseudo = services.people.identify(Channel.telegram, f"b-{n}").pseudo_id
            services.campaigns.attribute(pseudo, flyers.code)
        old = services.campaigns.create(CampaignDraft("Forum emploi 2025", CampaignChannel.event))
        services.campaigns.archive(old.id)
        yield app


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return screenshot_dir(tmp_path_factory)


@pytest.fixture(params=list(VIEWPORTS))
def page(request: pytest.FixtureRequest, browser: Any, server: AppServer) -> Iterator[Any]:
    with dashboard_page(
        browser,
        server.url,
        request.param,
        "chef@example.org",
        PASSWORD,
        expected=expected,
        permissions=("clipboard-read", "clipboard-write"),
    ) as page:
        yield page


@pytest.fixture
def attach(
    record_property: Callable[[str, object], None], shots: Path
) -> Callable[[Any, str], Path]:
    return screenshot_saver(shots, record_property)


def expected(response: Any) -> bool:
    """The refusal the form test asks for (a campaign that ends before it starts: 400)."""
    return (
        response.status == 400
        and response.request.method == "POST"
        and response.url.endswith("/tableau/campagnes")
    )


def test_campaigns_list_and_form(page: Any, server: AppServer, attach: Any) -> None:
    page.click("#nav-campaigns")
    page.wait_for_url("**/tableau/campagnes")
    assert page.title().startswith("Campagnes")
    active = page.locator("[data-test=active-campaigns] [data-test=campaign-row]")
    assert active.count() >= 1
    flyers = page.locator("[data-test=campaign-row]", has_text="Flyers abribus gare de Lens")
    assert flyers.locator("[data-test=campaign-people]").inner_text() == "7"
    archived = page.locator("[data-test=archived-campaigns] [data-test=campaign-row]")
    assert archived.count() == 1 and "Forum emploi 2025" in archived.inner_text()
    assert page.locator("#no-username").count() == 0
    attach(page, "campagnes")
    no_horizontal_overflow(page)
    # A mistake first: the end before the start comes back with the message, values kept.
    page.fill("#nom", f"{LONG_NAME} {page.viewport_name}")
    page.select_option("#canal", "tiktok")
    page.select_option("#territoire", "Lens-Liévin")
    page.select_option("#equipe", "lens")
    page.fill("#debut", "2026-10-01")
    page.fill("#fin", "2026-09-01")
    page.fill("#cout", "300")
    page.click("#create-campaign")
    page.wait_for_selector("#campaign-error")
    assert page.inner_text("#campaign-error") == "La campagne se termine avant de commencer."
    assert page.input_value("#nom") == f"{LONG_NAME} {page.viewport_name}"
    assert page.input_value("#equipe") == "lens"
    attach(page, "campagnes-erreur")
    no_horizontal_overflow(page)
    page.fill("#fin", "2026-12-20")
    page.click("#create-campaign")
    page.wait_for_url("**/tableau/campagnes/*")
    assert "créée" in page.inner_text("[data-test=flash]")


def test_campaign_page_link_and_qr(
    page: Any, server: AppServer, attach: Any, tmp_path: Path
) -> None:
    view = next(
        v for v in server.services.campaigns.list() if v.name == "Flyers abribus gare de Lens"
    )
    link = deep_link(BOT, view.code)
    page.goto(f"{server.url}/tableau/campagnes/{view.id}")
    assert page.input_value("#deep-link") == link
    assert page.inner_text("#campaign-code") == view.code
    assert page.inner_text("#people") == "7" and page.inner_text("#cost-per-person") == "34,29 €"
    qr = page.locator("#qr")
    qr.scroll_into_view_if_needed()
    assert qr.is_visible()
    assert page.evaluate("document.getElementById('qr').naturalWidth") > 300
    box = qr.bounding_box()
    assert box["width"] >= 200 and box["x"] >= 0
    assert box["x"] + box["width"] <= page.viewport_size["width"]
    # What the screen shows decodes back to the link.
    shot = tmp_path / "qr.png"
    qr.screenshot(path=str(shot))
    result = zxingcpp.read_barcode(read_png(shot.read_bytes()).buffer())
    assert result is not None and result.text == link
    page.click("#copy-link")
    # A locator wait, not wait_for_function: the page's CSP forbids the eval it polls with.
    page.locator("#copy-link", has_text="Lien copié").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == link
    attach(page, "campagne")
    no_horizontal_overflow(page)
    svg = page.request.get(f"{server.url}/tableau/campagnes/{view.id}/qr.svg")
    assert svg.status == 200 and svg.headers["content-type"] == "image/svg+xml"
