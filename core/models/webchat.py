"""The web chat channel's own state (bot/webchat/): what the hand-off, the nudges and the
appointments sent a young person of the web chat outside a reply (the outbox their page reads,
live or when they come back), how far they have read, and the optional e-mail address that
tells them an answer is waiting (never its content)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import AwareDateTime, Base, utcnow


class WebOutboxItem(Base):
    """One message pushed to a web chat young person (JSON of a `bot.messages.Reply`:
    text, buttons, documents). Erased with the person (cascade) and purged once read."""

    __tablename__ = "web_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(
        ForeignKey("young_person.id", ondelete="CASCADE"), index=True
    )
    origin: Mapped[str] = mapped_column(String(16))  # core.models.Origin value
    sender: Mapped[str | None] = mapped_column(String(80), nullable=True)  # "Lina (conseillère)"
    payload: Mapped[str] = mapped_column(Text)
    # An answer from a person (a counsellor, a desk notice): may call for an e-mail notice.
    human: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)


class WebChatState(Base):
    """Per web chat young person: the last outbox item their page showed, and the e-mail
    notification (address given in the chat, when the next one is due, when the last went)."""

    __tablename__ = "web_chat_state"

    person_id: Mapped[int] = mapped_column(
        ForeignKey("young_person.id", ondelete="CASCADE"), primary_key=True
    )
    seen_id: Mapped[int] = mapped_column(Integer, default=0)
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    email_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    notify_due_at: Mapped[datetime | None] = mapped_column(
        AwareDateTime(), nullable=True, index=True
    )
    notified_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
