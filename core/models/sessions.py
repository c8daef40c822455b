"""Dashboard sessions kept on the server: the browser's cookie carries only a random key,
whose SHA-256 is stored here; logging out, deactivating the account or changing its password
revokes the row, so an old cookie replayed afterwards is refused."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import AwareDateTime, Base, utcnow


class DashboardSession(Base):
    """One login of a counsellor in one browser."""

    __tablename__ = "dashboard_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    counsellor_id: Mapped[int] = mapped_column(
        ForeignKey("counsellor.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(AwareDateTime())  # absolute limit
    revoked_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    # The browser, shortened, so that `maraude user sessions` can tell logins apart.
    user_agent: Mapped[str | None] = mapped_column(String(120), nullable=True)
