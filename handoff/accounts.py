"""Counsellor accounts: argon2 passwords (handoff/passwords.py says which are refused),
roles, teams, Telegram identity, dashboard sessions kept on the server, and named API tokens
that expire.

A dashboard session is a random key in the browser's cookie, of which only the SHA-256 is
stored (`DashboardSession`); it ends after `session_idle` without a request, at
`session_lifetime` after login, at logout, and at once for every browser of the account when
the account is deactivated or its password changed. An API token likewise is stored as its
SHA-256 and refused once expired or revoked.
"""

from __future__ import annotations

import builtins
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.clock import Clock, SystemClock
from core.db import Database
from core.models import ApiToken, Counsellor, DashboardSession, Role
from handoff.passwords import weakness

EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s]{2,}$")
TOKEN_PREFIX = "mrd_"
MAX_KEY = 200  # longer session keys and tokens are refused unread
SESSION_TOUCH = timedelta(minutes=1)  # last_seen_at is written at most this often
USER_AGENT_KEPT = 120


class AccountError(ValueError):
    """A bad account request; the message is meant for a human (French)."""


@dataclass(frozen=True)
class CounsellorRef:
    id: int
    email: str
    first_name: str
    role: Role
    team: str | None
    telegram_user_id: int | None = None

    @property
    def can_manage(self) -> bool:
        """Managers and admins may act on any ticket (release, transfer, resolve)."""
        return self.role in (Role.manager, Role.admin)


def _ref(row: Counsellor) -> CounsellorRef:
    return CounsellorRef(
        row.id, row.email, row.first_name, row.role, row.team, row.telegram_user_id
    )


@dataclass(frozen=True)
class SessionInfo:
    """A live dashboard session, as `maraude user sessions` lists it."""

    id: int
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    user_agent: str


@dataclass(frozen=True)
class TokenInfo:
    """An API token, as `maraude user tokens` lists it (never its value)."""

    id: int
    name: str
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    def live(self, now: datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at


def _token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _revoke(
    session: Session,
    model: type[ApiToken] | type[DashboardSession],
    counsellor_id: int,
    now: datetime,
    name: str | None = None,
) -> int:
    """Revoke the account's tokens or sessions not yet expired nor revoked (tokens: only those
    called `name`, if given); how many there were."""
    query = update(model).where(
        model.counsellor_id == counsellor_id, model.revoked_at.is_(None), model.expires_at > now
    )
    if name is not None and model is ApiToken:
        query = query.where(ApiToken.name == name.strip())
    result = session.execute(query.values(revoked_at=now))
    return int(getattr(result, "rowcount", 0) or 0)


class AccountService:
    def __init__(
        self,
        db: Database,
        clock: Clock | None = None,
        hasher: PasswordHasher | None = None,
        *,
        session_idle: timedelta = timedelta(hours=2),
        session_lifetime: timedelta = timedelta(hours=12),
        token_lifetime: timedelta = timedelta(days=90),
    ) -> None:
        self._db = db
        self._clock = clock or SystemClock()
        self._hasher = hasher or PasswordHasher()
        self.session_idle = session_idle
        self.session_lifetime = session_lifetime
        self.token_lifetime = token_lifetime
        # Verified against when the e-mail is unknown, so timing does not reveal accounts.
        self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(16))

    def now(self) -> datetime:
        return self._clock.now()

    def add(
        self,
        email: str,
        first_name: str,
        password: str,
        *,
        role: Role = Role.counsellor,
        team: str | None = None,
        telegram_user_id: int | None = None,
    ) -> CounsellorRef:
        email = email.strip().lower()
        if not EMAIL_RE.match(email):
            raise AccountError(f"adresse e-mail invalide : {email!r}")
        if not first_name.strip():
            raise AccountError("le prénom est obligatoire (il est montré au jeune)")
        problem = weakness(password, email=email, first_name=first_name)
        if problem is not None:
            raise AccountError(problem)
        row = Counsellor(
            email=email,
            first_name=first_name.strip(),
            role=role,
            team=team,
            password_hash=self._hasher.hash(password),
            telegram_user_id=telegram_user_id,
            created_at=self._clock.now(),
        )
        try:
            with self._db.transaction() as session:
                session.add(row)
                session.flush()
                return _ref(row)
        except IntegrityError:
            raise AccountError(
                f"un compte existe déjà pour {email} (ou cet identifiant Telegram)"
            ) from None

    def authenticate(self, email: str, password: str) -> CounsellorRef | None:
        """The account for these credentials, or None (unknown, wrong password, disabled)."""
        with self._db.transaction() as session:
            row = session.scalar(
                select(Counsellor).where(func.lower(Counsellor.email) == email.strip().lower())
            )
            stored = row.password_hash if row is not None else self._dummy_hash
            try:
                self._hasher.verify(stored, password)
            except (VerificationError, InvalidHashError):
                return None
            if row is None or not row.active:
                return None
            if self._hasher.check_needs_rehash(row.password_hash):
                row.password_hash = self._hasher.hash(password)
            return _ref(row)

    def get(self, counsellor_id: int) -> CounsellorRef | None:
        with self._db.transaction() as session:
            row = session.get(Counsellor, counsellor_id)
            return _ref(row) if row is not None and row.active else None

    def by_email(self, email: str, *, even_inactive: bool = False) -> CounsellorRef | None:
        with self._db.transaction() as session:
            row = session.scalar(
                select(Counsellor).where(func.lower(Counsellor.email) == email.strip().lower())
            )
            return _ref(row) if row is not None and (row.active or even_inactive) else None

    def by_telegram_user(self, telegram_user_id: int) -> CounsellorRef | None:
        with self._db.transaction() as session:
            row = session.scalar(
                select(Counsellor).where(Counsellor.telegram_user_id == telegram_user_id)
            )
            return _ref(row) if row is not None and row.active else None

    def list(self, team: str | None = None) -> list[CounsellorRef]:
        with self._db.transaction() as session:
            query = select(Counsellor).where(Counsellor.active.is_(True))
            if team is not None:
                query = query.where(Counsellor.team == team)
            return [_ref(row) for row in session.scalars(query.order_by(Counsellor.first_name))]

    def set_password(self, counsellor_id: int, password: str) -> int:
        """Change the password (same policy as `add`) and end every dashboard session of the
        account; how many were ended. API tokens stay (`revoke_tokens`)."""
        with self._db.transaction() as session:
            row = session.get(Counsellor, counsellor_id)
            if row is None:
                raise AccountError("compte inconnu")
            problem = weakness(password, email=row.email, first_name=row.first_name)
            if problem is not None:
                raise AccountError(problem)
            row.password_hash = self._hasher.hash(password)
            return _revoke(session, DashboardSession, counsellor_id, self._clock.now())

    def deactivate(self, counsellor_id: int) -> bool:
        """Disable an account: no login, no API token, no bridge buttons; its sessions and
        tokens are revoked at once. False if it was already inactive."""
        with self._db.transaction() as session:
            row = session.get(Counsellor, counsellor_id)
            if row is None:
                raise AccountError("compte inconnu")
            was_active, row.active = row.active, False
            now = self._clock.now()
            _revoke(session, DashboardSession, counsellor_id, now)
            _revoke(session, ApiToken, counsellor_id, now)
            return was_active

    # Dashboard sessions ------------------------------------------------------------------
    def open_session(self, counsellor_id: int, user_agent: str = "") -> str:
        """A new session for this account; the raw key (for the cookie) is returned once.
        The account's ended sessions are deleted on the way."""
        raw = secrets.token_urlsafe(32)
        now = self._clock.now()
        with self._db.transaction() as session:
            if session.get(Counsellor, counsellor_id) is None:
                raise AccountError("compte inconnu")
            session.execute(
                delete(DashboardSession).where(
                    DashboardSession.counsellor_id == counsellor_id,
                    or_(
                        DashboardSession.revoked_at.is_not(None),
                        DashboardSession.expires_at <= now,
                        DashboardSession.last_seen_at < now - self.session_idle,
                    ),
                )
            )
            session.add(
                DashboardSession(
                    key_hash=_token_hash(raw),
                    counsellor_id=counsellor_id,
                    created_at=now,
                    last_seen_at=now,
                    expires_at=now + self.session_lifetime,
                    user_agent=user_agent[:USER_AGENT_KEPT] or None,
                )
            )
        return raw

    def session_account(self, raw: str) -> CounsellorRef | None:
        """The active account of a live session (not revoked, not idle for too long, not
        past its lifetime), or None. Marks the session as seen."""
        if not raw or len(raw) > MAX_KEY:
            return None
        now = self._clock.now()
        with self._db.transaction() as session:
            row = session.scalar(
                select(DashboardSession).where(DashboardSession.key_hash == _token_hash(raw))
            )
            if (
                row is None
                or row.revoked_at is not None
                or now >= row.expires_at
                or now - row.last_seen_at > self.session_idle
            ):
                return None
            account = session.get(Counsellor, row.counsellor_id)
            if account is None or not account.active:
                return None
            if now - row.last_seen_at >= SESSION_TOUCH:
                row.last_seen_at = now
            return _ref(account)

    def close_session(self, raw: str) -> None:
        """Logout: the session is revoked (its cookie, replayed, is refused)."""
        if not raw or len(raw) > MAX_KEY:
            return
        with self._db.transaction() as session:
            row = session.scalar(
                select(DashboardSession).where(DashboardSession.key_hash == _token_hash(raw))
            )
            if row is not None and row.revoked_at is None:
                row.revoked_at = self._clock.now()

    def revoke_sessions(self, counsellor_id: int) -> int:
        """End every session of the account (all its browsers); how many were live."""
        with self._db.transaction() as session:
            return _revoke(session, DashboardSession, counsellor_id, self._clock.now())

    def sessions(self, counsellor_id: int) -> builtins.list[SessionInfo]:
        """The account's live sessions, the most recent first."""
        now = self._clock.now()
        with self._db.transaction() as session:
            rows = session.scalars(
                select(DashboardSession)
                .where(
                    DashboardSession.counsellor_id == counsellor_id,
                    DashboardSession.revoked_at.is_(None),
                    DashboardSession.expires_at > now,
                    DashboardSession.last_seen_at >= now - self.session_idle,
                )
                .order_by(DashboardSession.last_seen_at.desc(), DashboardSession.id.desc())
            ).all()
            return [
                SessionInfo(
                    row.id, row.created_at, row.last_seen_at, row.expires_at, row.user_agent or ""
                )
                for row in rows
            ]

    # API tokens --------------------------------------------------------------------------
    def create_token(
        self, counsellor_id: int, name: str, *, lifetime: timedelta | None = None
    ) -> str:
        """A new API token, valid for `lifetime` (default: `token_lifetime`); the raw value
        is returned once and only its hash is kept."""
        name = name.strip()
        if not name:
            raise AccountError("donne un nom au jeton (à quoi il sert)")
        lifetime = self.token_lifetime if lifetime is None else lifetime
        if lifetime <= timedelta(0):
            raise AccountError("la durée de validité du jeton doit être positive")
        raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = self._clock.now()
        with self._db.transaction() as session:
            if session.get(Counsellor, counsellor_id) is None:
                raise AccountError("compte inconnu")
            session.add(
                ApiToken(
                    counsellor_id=counsellor_id,
                    name=name[:80],
                    token_hash=_token_hash(raw),
                    created_at=now,
                    expires_at=now + lifetime,
                )
            )
        return raw

    def tokens(self, counsellor_id: int) -> builtins.list[TokenInfo]:
        """Every token of the account, live or not, the newest first."""
        with self._db.transaction() as session:
            rows = session.scalars(
                select(ApiToken)
                .where(ApiToken.counsellor_id == counsellor_id)
                .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
            ).all()
            return [
                TokenInfo(t.id, t.name, t.created_at, t.expires_at, t.last_used_at, t.revoked_at)
                for t in rows
            ]

    def authenticate_token(self, raw: str) -> CounsellorRef | None:
        """The active account of a live token (not revoked, not expired), or None."""
        if not raw.startswith(TOKEN_PREFIX) or len(raw) > MAX_KEY:
            return None
        with self._db.transaction() as session:
            token = session.scalar(select(ApiToken).where(ApiToken.token_hash == _token_hash(raw)))
            if token is None or token.revoked_at is not None:
                return None
            if self._clock.now() >= token.expires_at:
                return None
            row = session.get(Counsellor, token.counsellor_id)
            if row is None or not row.active:
                return None
            token.last_used_at = self._clock.now()
            return _ref(row)

    def revoke_tokens(self, counsellor_id: int, name: str | None = None) -> int:
        """Revoke the account's live tokens (only those called `name`, if given); how many."""
        with self._db.transaction() as session:
            return _revoke(session, ApiToken, counsellor_id, self._clock.now(), name)
