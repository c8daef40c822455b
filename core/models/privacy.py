"""Privacy bookkeeping: tracker erasures still to do, retention purges run, and the anonymous
counts that keep past statistics once the people behind them are erased."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import AwareDateTime, Base, utcnow


class PendingErasure(Base):
    """An erasure of the engine's tracker store still to do (core/erasure.py).

    Written in the same transaction as the erasure of the app data; deleted once the tracker
    events of `pseudo_id` up to `cutoff` are gone. `cutoff` is a Unix time on the engine's
    clock: events written after it belong to a new conversation and are kept.
    """

    __tablename__ = "pending_erasure"
    __table_args__ = (Index("ix_pending_erasure_requested", "requested_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pseudo_id: Mapped[str] = mapped_column(String(40), index=True)
    reason: Mapped[str] = mapped_column(String(16))  # request, retention, simulation
    requested_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    cutoff: Mapped[float] = mapped_column(Float)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_attempt_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    # The kind of failure only (an exception class name): never a message with data in it.
    last_error: Mapped[str | None] = mapped_column(String(120), nullable=True)


class PurgeRun(Base):
    """One retention purge (daily job or `maraude privacy purge`), with what it erased."""

    __tablename__ = "purge_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    as_of: Mapped[datetime] = mapped_column(AwareDateTime())
    trigger: Mapped[str] = mapped_column(String(16))  # job, cli
    people: Mapped[int] = mapped_column(Integer, default=0)
    simulations: Mapped[int] = mapped_column(Integer, default=0)
    log_files: Mapped[int] = mapped_column(Integer, default=0)
    tracker_pending: Mapped[int] = mapped_column(Integer, default=0)


class AnonymousCount(Base):
    """How many erased people (or their tickets) counted in one statistic on one local day.

    No person, no text: a metric (`stage:handoff`, `cohort:started`, `outcome:emploi`…), the
    local day it counts on, the team and territory it was attributed to ("" for none), and a
    count. The results page and the impact report add these to what they count in the live
    tables (studio/analytics/archive.py), so erasing people does not change past figures.
    """

    __tablename__ = "anonymous_count"
    __table_args__ = (
        UniqueConstraint("metric", "day", "team", "territory", name="uq_anonymous_count_key"),
        Index("ix_anonymous_count_metric_day", "metric", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    metric: Mapped[str] = mapped_column(String(80))
    day: Mapped[date] = mapped_column(Date)
    team: Mapped[str] = mapped_column(String(32), default="")
    territory: Mapped[str] = mapped_column(String(120), default="")
    count: Mapped[int] = mapped_column(Integer, default=0)
