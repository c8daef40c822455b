"""The replay job's work: once an engine answers again, the messages held while every engine
was down (bot/held.py) are answered and the answers pushed to the young people through their
channel's outlet (`ConversationPipeline.register_outlet`: Telegram sends them with buttons).

Each chat is replayed under its chat lock (core/chatlock.py), the lock a live message of that
chat takes too, so a replay never runs beside a live message of the same chat: whichever comes
first answers the held messages, in order, before anything newer. A chat locked by a live
message is skipped (that message replays them itself). With several workers, the lock and the
claim-then-delete of each row (bot/held.py) answer each message once.

The web chat's outlet stores the answers in the page's outbox (bot/webchat/), which the page
reads live or when the young person comes back. Channels without an outlet (the staff
simulator, the terminal) get their held messages answered before their next message.
"""

from __future__ import annotations

import asyncio
import logging

from bot.messages import Reply
from bot.pipeline import ConversationPipeline, Outlet
from bot.telegram import TelegramChannel
from core.chatlock import ChatLocks, chat_key

log = logging.getLogger(__name__)

REPLAY_EVERY = 15.0  # seconds between two runs of the job (maraude/jobs.py)
REPLAY_BATCH = 50  # people served per run (the oldest waiting first)


async def replay_waiting(
    pipeline: ConversationPipeline, locks: ChatLocks, limit: int = REPLAY_BATCH
) -> int:
    """One run: drop the expired held messages, then, if an engine answers, replay the
    people waiting longest (up to `limit`). How many people got their answers."""
    held = pipeline.held
    if held is None:
        return 0
    await asyncio.to_thread(held.drop_expired)
    channels = list(pipeline.outlets)
    if not channels or not await pipeline.engine.is_ready():
        return 0
    served = 0
    for who in await asyncio.to_thread(held.waiting, limit, channels):
        left: int | None = 0
        key = chat_key(str(who.channel), who.channel_user_id)
        async with locks.hold(key, blocking=False) as mine:
            if not mine:
                continue  # a live message of this chat is in hand: it replays them first
            person = await asyncio.to_thread(pipeline.people.get, who.pseudo_id)
            if person is None:
                continue  # erased meanwhile (its held messages went with it)
            replies, left = await pipeline.replay_held(person)
            if replies:
                await pipeline.outlets[who.channel](who.channel_user_id, replies)
                served += 1
        if left and not await pipeline.engine.is_ready():
            log.info("held messages: engine down again, replay stopped")
            break
    if served:
        log.info("held messages: answers sent to %s people", served)
    return served


def telegram_outlet(telegram: TelegramChannel) -> Outlet:
    """The Telegram outlet: replies (with their buttons) to a private chat."""

    async def send(chat_id: str, replies: list[Reply]) -> bool:
        return await telegram.send(int(chat_id), replies)

    return send
