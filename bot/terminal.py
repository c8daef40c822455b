"""The terminal channel (`maraude chat`): lines typed in a terminal go through the same
conversation pipeline as Telegram. Buttons are numbered: type the number to press one.

maraude/chat.py starts the engine and the app around it.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable

from bot.messages import Button, Reply
from bot.pipeline import ConversationPipeline
from core.models import Channel

Ask = Callable[[str], Awaitable[str]]  # prompt -> the line typed (EOFError at the end)
Show = Callable[[str], None]


async def _input(prompt: str) -> str:
    return await asyncio.to_thread(input, prompt)


def _print(text: str) -> None:
    print(text, flush=True)


def render(replies: list[Reply], show: Show = _print) -> list[Button]:
    """Print the bot's replies; the buttons are numbered from 1, in order."""
    buttons: list[Button] = []
    for reply in replies:
        show(f"bot> {reply.text}")
        for button in reply.buttons:
            buttons.append(button)
            show(f"     [{len(buttons)}] {button.title}")
    return buttons


async def converse(pipeline: ConversationPipeline, ask: Ask = _input, show: Show = _print) -> None:
    """Read lines until the end of input and answer each through the pipeline."""
    user = "terminal-" + secrets.token_hex(6)
    show("Ready. Type /start to begin, Ctrl-D to quit.")
    buttons: list[Button] = []
    while True:
        try:
            line = (await ask("toi> ")).strip()
        except EOFError:
            show("")
            return
        if not line:
            continue
        if line.isdigit() and 1 <= int(line) <= len(buttons):
            chosen = buttons[int(line) - 1]
            replies = await pipeline.handle_button(
                Channel.terminal, user, chosen.payload, chosen.title
            )
        else:
            replies = await pipeline.handle_text(Channel.terminal, user, line)
        buttons = render(replies, show)
