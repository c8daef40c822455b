"""Counsellor accounts: argon2 passwords, roles, teams, API tokens, Telegram identity."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from core.clock import Clock, SystemClock
from core.db import Database
from core.models import ApiToken, Counsellor, Role

EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s]{2,}$")
MIN_PASSWORD = 10
TOKEN_PREFIX = "mrd_"


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


def _token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class AccountService:
    def __init__(
        self, db: Database, clock: Clock | None = None, hasher: PasswordHasher | None = None
    ) -> None:
        self._db = db
        self._clock = clock or SystemClock()
        self._hasher = hasher or PasswordHasher()
        # Verified against when the e-mail is unknown, so timing does not reveal accounts.
        self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(16))

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
        if len(password) < MIN_PASSWORD:
            raise AccountError(f"mot de passe trop court ({MIN_PASSWORD} caractères minimum)")
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

    def by_email(self, email: str) -> CounsellorRef | None:
        with self._db.transaction() as session:
            row = session.scalar(
                select(Counsellor).where(func.lower(Counsellor.email) == email.strip().lower())
            )
            return _ref(row) if row is not None and row.active else None

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

    def set_password(self, counsellor_id: int, password: str) -> None:
        if len(password) < MIN_PASSWORD:
            raise AccountError(f"mot de passe trop court ({MIN_PASSWORD} caractères minimum)")
        with self._db.transaction() as session:
            row = session.get(Counsellor, counsellor_id)
            if row is None:
                raise AccountError("compte inconnu")
            row.password_hash = self._hasher.hash(password)

    def deactivate(self, counsellor_id: int) -> None:
        """Disable an account: no login, no API token, no bridge buttons."""
        with self._db.transaction() as session:
            row = session.get(Counsellor, counsellor_id)
            if row is None:
                raise AccountError("compte inconnu")
            row.active = False

    # API tokens --------------------------------------------------------------------------
    def create_token(self, counsellor_id: int, name: str) -> str:
        """A new API token; the raw value is returned once and only its hash is kept."""
        raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self._db.transaction() as session:
            if session.get(Counsellor, counsellor_id) is None:
                raise AccountError("compte inconnu")
            session.add(
                ApiToken(
                    counsellor_id=counsellor_id,
                    name=name[:80],
                    token_hash=_token_hash(raw),
                    created_at=self._clock.now(),
                )
            )
        return raw

    def authenticate_token(self, raw: str) -> CounsellorRef | None:
        if not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
            return None
        with self._db.transaction() as session:
            token = session.scalar(select(ApiToken).where(ApiToken.token_hash == _token_hash(raw)))
            if token is None or token.revoked_at is not None:
                return None
            row = session.get(Counsellor, token.counsellor_id)
            if row is None or not row.active:
                return None
            token.last_used_at = self._clock.now()
            return _ref(row)

    def revoke_tokens(self, counsellor_id: int) -> int:
        with self._db.transaction() as session:
            tokens = session.scalars(
                select(ApiToken).where(
                    ApiToken.counsellor_id == counsellor_id, ApiToken.revoked_at.is_(None)
                )
            ).all()
            for token in tokens:
                token.revoked_at = self._clock.now()
            return len(tokens)
