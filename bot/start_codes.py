"""`/start <code>`: the campaign code a Telegram deep link carries (`t.me/<bot>?start=<code>`).

The pipeline (bot/pipeline.py) calls `attribute_start` after identifying the person and before
the engine exchange; the engine only ever gets the plain `/start`. A code reaches the campaign
service (core/campaigns.py) only if it has the shape Telegram allows (1-64 characters of
A-Za-z0-9_-); anything else after /start (too long, other characters, words) is a normal start:
nothing recorded, nothing said. Whatever follows /start is never logged, nor kept in the
conversation (it shows `/start`). A person already talking with a counsellor who opens a
campaign link is still attributed (a touch).

Simulator sessions are attributed too (a manager trying a link in the web simulator): the
results and impact pages leave simulator people out (core/simulations.py), so simulations
never count.
"""

from __future__ import annotations

import asyncio
import logging

from core.campaigns import CampaignService, is_code
from core.people import PersonRef

log = logging.getLogger(__name__)


def start_code(rest: str) -> str | None:
    """The campaign code in what follows `/start` (or `/start@Bot`), or None: no code, or not
    a shape a deep link can carry."""
    code = rest.strip()
    return code if code and is_code(code) else None


async def attribute_start(
    campaigns: CampaignService | None, person: PersonRef, text: str, end: int
) -> str:
    """Record which campaign the code after `/start` names (`text`, the command ending at
    `end`): a touch, and the first touch if the person had none. Returns the command without
    the code, as the conversation shows it. Never fails the conversation: an unknown code or
    a database error is a normal start."""
    command = text[:end].rstrip()
    if campaigns is None or (code := start_code(text[end:])) is None:
        return command
    try:
        found = await asyncio.to_thread(campaigns.attribute, person.pseudo_id, code)
    except Exception as exc:  # the start goes on; the code is not logged (only the error type)
        log.warning("campaign attribution of %s failed: %s", person.pseudo_id, type(exc).__name__)
        return command
    if found is not None:
        log.info("%s reached by campaign %s", person.pseudo_id, found.id)
    return command
