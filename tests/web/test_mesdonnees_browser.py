"""The simulator's "Mes données" button in headless Chromium: the two files of /mesdonnees are
offered as downloads, with the same content as on Telegram (the real app, the engine down)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import AppServer, free_port, make_settings

pytestmark = pytest.mark.browser


@pytest.fixture
def app(tmp_path: Path) -> Iterator[AppServer]:
    settings = make_settings(tmp_path, rasa_url=f"http://127.0.0.1:{free_port()}")
    with AppServer(settings) as server:
        yield server


def test_the_button_offers_both_files(app: AppServer, page: Any) -> None:
    page.goto(f"{app.url}/simulateur")
    page.click("#my-data")
    links = page.locator("#chat a.document")
    links.nth(1).wait_for()
    assert links.count() == 2
    assert "tout ce qu'on garde sur toi" in page.locator(".msg.bot").last.inner_text()
    with page.expect_download() as readable:
        links.nth(0).click()
    text = Path(readable.value.path()).read_text(encoding="utf-8")
    assert readable.value.suggested_filename.endswith(".txt")
    assert "Tu nous écris sur : le simulateur web" in text
    with page.expect_download() as portable:
        links.nth(1).click()
    data = json.loads(Path(portable.value.path()).read_text(encoding="utf-8"))
    assert data["person"]["channel"] == "simulator"
