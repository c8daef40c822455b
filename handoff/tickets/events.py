"""The ticket's event log: every step of a ticket appended to `ticket_event`, with who did it
(`actor`, None for the app) and from where (`via`: web, api, telegram, bot, system)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from core.models import EventKind, TicketEvent
from handoff.accounts import CounsellorRef


def record_event(
    session: Session,
    ticket_id: int,
    kind: EventKind,
    now: datetime,
    *,
    actor: CounsellorRef | None = None,
    via: str = "system",
    **data: Any,
) -> None:
    session.add(
        TicketEvent(
            ticket_id=ticket_id,
            kind=kind,
            actor_id=actor.id if actor else None,
            via=via,
            data=data,
            created_at=now,
        )
    )
