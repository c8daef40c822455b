"""Telegram counsellors' bridge: one forum topic per ticket in the counsellors' supergroup.

(Being built: see issue 4.)
"""

from __future__ import annotations

from typing import Any

from handoff.desk import HandoffDesk
from handoff.services.accounts import AccountService, CounsellorRef
from handoff.services.tickets import TicketView
from maraude.settings import Settings


class TelegramBridge:
    def __init__(
        self,
        application: Any,
        group_id: int,
        desk: HandoffDesk,
        accounts: AccountService,
        settings: Settings,
    ) -> None:
        self.application = application
        self.group_id = group_id
        self.desk = desk
        self.accounts = accounts
        self.settings = settings

    def register_handlers(self) -> None:
        """Add the group's handlers to the bot's Application (before the private-chat ones)."""

    async def start(self) -> None:
        """Start background work (opening topics for new tickets)."""

    async def stop(self) -> None:
        """Stop background work."""

    async def on_ticket_event(
        self, kind: str, ticket: TicketView, actor: CounsellorRef | None, data: dict[str, Any]
    ) -> None:
        """Keep the ticket's topic in sync with what happened elsewhere (web, API)."""
