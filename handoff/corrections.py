"""The young person corrects what their counsellor reads (RGPD art. 16), from the chat.

Before the hand-off, the triage summary has its own "Corriger" button (the engine's flow).
After it, `/corriger` (bot/rights.py) shows the summary of the person's open ticket and sends
what they write as a correction: a note without author on the ticket, "Corrigé par le/la
jeune : « … »", that the dashboard shows with the notes and the counsellors' Telegram group
posts in the ticket's topic (desk event `youth_correction`). The summary itself is left as
the young person gave it: the counsellor reads both, and asks if in doubt.
"""

from __future__ import annotations

import asyncio

from core.export_text import FIELDS
from core.models import OPEN_STATUSES
from core.vocabulary import SKIPPED, WRITER_LABELS
from handoff.desk import HandoffDesk
from handoff.tickets import TicketView

MAX_CORRECTION = 1000  # characters of a correction kept on the ticket
CORRECTION_NOTE = "Corrigé par le/la jeune : « {text} »"
# What the young person is shown of their summary (their own words come last, shortened).
SHOWN = ("needs", "age", "location", "situation", "followed", "contact", "availability", "phone")


def summary_lines(summary: dict[str, object]) -> list[str]:
    """The ticket's summary as the young person reads it back: "• Ton âge : 19"."""
    lines = []
    for name in SHOWN:
        value = summary.get(name)
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value if v and v != SKIPPED)
        if value in (None, "", SKIPPED):
            continue
        lines.append(f"• {FIELDS[name]} : {value}")
    writer = summary.get("writer")
    if writer:
        lines.append(f"• {FIELDS['writer']} : {WRITER_LABELS.get(str(writer), str(writer))}")
    return lines


class SummaryCorrections:
    """What bot/rights.py needs of the hand-off for /corriger (its `Corrections` protocol)."""

    def __init__(self, desk: HandoffDesk) -> None:
        self.desk = desk

    async def open_summary(self, pseudo_id: str) -> str | None:
        """The summary of the person's open ticket, one line per answer ("" when it holds no
        answer); None without an open ticket."""
        ticket = await self._open_ticket(pseudo_id)
        if ticket is None:
            return None
        return "\n".join(summary_lines(ticket.summary))

    async def correct(self, pseudo_id: str, text: str) -> bool:
        """Put the correction on the person's open ticket; False without one."""
        ticket = await self._open_ticket(pseudo_id)
        if ticket is None:
            return False
        text = " ".join(text.split())[:MAX_CORRECTION]
        await self.desk.youth_correction(ticket.id, CORRECTION_NOTE.format(text=text))
        return True

    async def _open_ticket(self, pseudo_id: str) -> TicketView | None:
        tickets = await asyncio.to_thread(self.desk.tickets.tickets_of, pseudo_id)
        open_ones = [t for t in tickets if t.status in OPEN_STATUSES]
        return open_ones[-1] if open_ones else None
