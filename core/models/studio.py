"""What the managers' studio keeps: NLU turns and the wording variants each person was shown."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import AwareDateTime, Base, utcnow


class NluTurn(Base):
    """What the engine understood of one message a young person typed (manager studio).

    Written by the conversation pipeline after each exchange with the engine: the predicted
    intent and confidence, entities, the normalised text and the first action the bot took.
    The text is stored only for people who gave their consent (like the message log); the
    misunderstood inbox reads the low-confidence and fallback turns, and a manager's
    annotation (the right intent, or `out_of_scope`) is exported as Rasa NLU data.
    """

    __tablename__ = "nlu_turn"
    __table_args__ = (
        Index("ix_nlu_turn_created", "created_at"),
        Index("ix_nlu_turn_review", "fallback", "annotated_intent"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(
        ForeignKey("young_person.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str | None] = mapped_column(Text, nullable=True)
    normalised: Mapped[str | None] = mapped_column(Text, nullable=True)
    intent: Mapped[str | None] = mapped_column(String(64), nullable=True)
    confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    entities: Mapped[list[dict[str, object]]] = mapped_column(JSON, default=list)
    action: Mapped[str | None] = mapped_column(String(64), nullable=True)
    fallback: Mapped[bool] = mapped_column(Boolean, default=False)
    model: Mapped[str | None] = mapped_column(String(120), nullable=True)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    annotated_intent: Mapped[str | None] = mapped_column(String(64), nullable=True)
    annotated_by: Mapped[int | None] = mapped_column(
        ForeignKey("counsellor.id", ondelete="SET NULL"), nullable=True
    )
    annotated_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    exported_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    # Why a manager should look at it besides a low confidence: "false_alarm" (a counsellor
    # said the crisis it raised was a false alarm), with the counsellor's words.
    review_reason: Mapped[str | None] = mapped_column(String(16), nullable=True)
    review_note: Mapped[str | None] = mapped_column(Text, nullable=True)


class ResponseExposure(Base):
    """A wording variant a young person was shown (response name + variant id)."""

    __tablename__ = "response_exposure"
    __table_args__ = (Index("ix_response_exposure_variant", "response", "variant"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(
        ForeignKey("young_person.id", ondelete="CASCADE"), index=True
    )
    response: Mapped[str] = mapped_column(String(64))
    variant: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
