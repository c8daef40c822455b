"""Dashboard pages in headless Chromium, as the browser tests of the results, sources,
indicators and campaigns pages drive them: the two viewports, a logged-in page that fails the
test on any script error, CSP violation or failed request, and full-page screenshots (under
the pytest base temp folder's `screenshots/`, or $MARAUDE_SCREENSHOT_DIR)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

VIEWPORTS: dict[str, dict[str, Any]] = {
    "laptop": {"viewport": {"width": 1366, "height": 768}},
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
    },
}


def screenshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = os.environ.get("MARAUDE_SCREENSHOT_DIR")
    path = Path(folder) if folder else tmp_path_factory.getbasetemp() / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def dashboard_page(
    browser: Any,
    url: str,
    viewport: str,
    email: str,
    password: str,
    *,
    expected: Callable[[Any], bool] = lambda response: False,
    permissions: tuple[str, ...] = (),
) -> Iterator[Any]:
    """A page logged in to the dashboard at `url` as `email`, at the `viewport` size. Any
    script error, CSP violation or failed request (4xx/5xx, but the favicon and what
    `expected(response)` allows) fails the test when the page closes."""
    context = browser.new_context(**VIEWPORTS[viewport], locale="fr-FR")
    if permissions:
        context.grant_permissions(list(permissions), origin=url)
    page = context.new_page()
    page.set_default_timeout(30_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.on(
        "response",
        lambda r: (
            errors.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico") and not expected(r)
            else None
        ),
    )
    page.viewport_name = viewport
    page.goto(f"{url}/tableau/connexion")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("#login")
    page.wait_for_url("**/tableau")
    yield page
    context.close()
    assert errors == [], errors  # no script error, no CSP violation, no failed request


def screenshot_saver(
    shots: Path, record_property: Callable[[str, object], None]
) -> Callable[[Any, str], Path]:
    """save(page, name): a full-page screenshot `<name>-<viewport>.png`, attached to the test
    report (`screenshot` property) and printed."""

    def save(page: Any, name: str) -> Path:
        path = shots / f"{name}-{page.viewport_name}.png"
        page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 10_000
        record_property("screenshot", str(path))
        print(f"screenshot: {path}")
        return path

    return save


def no_horizontal_overflow(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], width
