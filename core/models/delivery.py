"""Messages on their way in: Telegram updates received in webhook mode (kept once, handled in
order per chat by whichever worker holds the chat) and young people's messages held while
every engine was down (answered in order once one is back).

Both keep a young person's words only until they are handled: `inbound_update.payload` is
cleared when the update is done (the row stays a day, for de-duplication), a `held_message`
row is deleted once replayed; /oubli and the retention purge delete them too.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import AwareDateTime, Base, utcnow


class InboundUpdate(Base):
    """One update Telegram posted to the webhook (any worker), processed exactly once."""

    __tablename__ = "inbound_update"
    __table_args__ = (
        UniqueConstraint("source", "update_id", name="uq_inbound_update_source_id"),
        Index("ix_inbound_update_pending", "state", "chat_key", "update_id"),
        Index("ix_inbound_update_received", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(16))  # telegram
    update_id: Mapped[int] = mapped_column(BigInteger)
    # The conversation it belongs to (`telegram:<chat id>`), the key of the per-chat lock.
    chat_key: Mapped[str] = mapped_column(String(80))
    payload: Mapped[str | None] = mapped_column(Text, nullable=True)  # cleared once done
    state: Mapped[str] = mapped_column(String(8), default="pending")  # pending, done, failed
    received_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[str | None] = mapped_column(String(64), nullable=True)  # who handled it


class HeldMessage(Base):
    """A young person's message that no engine could answer, replayed in order later."""

    __tablename__ = "held_message"
    __table_args__ = (Index("ix_held_message_person", "person_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(
        ForeignKey("young_person.id", ondelete="CASCADE"), index=True
    )
    # What goes to the engine (text or button payload) and what the young person saw.
    message: Mapped[str] = mapped_column(Text)
    shown: Mapped[str] = mapped_column(Text)
    typed: Mapped[bool] = mapped_column(Boolean, default=True)
    held_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
