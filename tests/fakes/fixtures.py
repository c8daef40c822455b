"""Pytest fixtures for the fake Telegram Bot API.

Load with ``pytest_plugins = ["tests.fakes.fixtures"]`` in the root ``conftest.py``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.telegram_api import TEST_TOKEN, FakeTelegramServer

__all__ = ["TEST_TOKEN", "fake_telegram"]


@pytest.fixture
def fake_telegram() -> Iterator[FakeTelegramServer]:
    """A started :class:`FakeTelegramServer`, stopped after the test.

    Point a bot at it with ``base_url=f"{fake_telegram.url}/bot"`` and
    ``base_file_url=f"{fake_telegram.url}/file/bot"``; any ``<digits>:<rest>`` token works
    (``TEST_TOKEN`` is provided for convenience).
    """
    with FakeTelegramServer() as server:
        yield server
