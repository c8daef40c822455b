"""sendDocument on the fake Bot API (tests/fakes/telegram_api.py), with the real client: an
uploaded file is kept with its content, a file_id is accepted, no document is a 400."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from telegram import Bot, InputFile
from telegram.error import BadRequest

from tests.fakes.telegram_api import TEST_TOKEN, FakeTelegramServer

USER = 4343


@pytest.fixture
async def bot(fake_telegram: FakeTelegramServer) -> AsyncIterator[Bot]:
    url = fake_telegram.url
    async with Bot(TEST_TOKEN, base_url=f"{url}/bot", base_file_url=f"{url}/file/bot") as bot:
        yield bot


async def test_an_uploaded_file_is_kept_with_its_content(
    bot: Bot, fake_telegram: FakeTelegramServer
) -> None:
    content = "Tes données\nÉtat : en cours\n".encode()
    message = await bot.send_document(
        USER, InputFile(content, filename="mes-donnees.txt"), caption="Tes données"
    )
    assert message.document is not None
    assert (message.document.file_name, message.document.mime_type) == (
        "mes-donnees.txt",
        "text/plain",
    )
    assert message.document.file_size == len(content) and message.caption == "Tes données"
    [sent] = fake_telegram.documents(USER)
    assert (sent["file_name"], sent["content"], sent["message_id"]) == (
        "mes-donnees.txt",
        content,
        message.message_id,
    )
    assert fake_telegram.documents(USER + 1) == []


async def test_a_file_id_is_accepted_and_no_document_is_refused(
    bot: Bot, fake_telegram: FakeTelegramServer
) -> None:
    message = await bot.send_document(USER, "BQACAgQAAxkBAAI")
    assert message.document is not None and message.document.file_size == 0
    with pytest.raises(BadRequest, match="(?i)no document"):
        await bot._post("sendDocument", {"chat_id": USER})  # noqa: SLF001 - a raw bad call
