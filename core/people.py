"""Young people: pseudonymous identity, consent, conversation log."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.clock import Clock, SystemClock
from core.db import Database
from core.models import (
    Channel,
    ConsentRecord,
    ConsentStatus,
    Direction,
    Message,
    Milestone,
    Origin,
    PersonEvent,
    YoungPerson,
)
from core.text import storable
from core.vocabulary import AGE_BANDS, UNDER_15

# The privacy notice the consent answers (web/templates/privacy.html, docs/privacy.md):
# 2026-12 adds the trigger message kept for an urgent hand-off without consent (vital interest);
# 2026-12b names the controller and DPO, the legal bases, every recipient (teams, the counsellors'
# group, Telegram, the host), under 15, and the rights in the chat (/mesdonnees, /corriger).
# 2026-12c adds the outreach action (campaign link or QR code) a person came through.
# 2026-12d adds appointments (when, where, the answer, availability, reminders, attendance).
# 2026-12e adds the web chat (a random token in the browser, the messages waiting for the page,
# the optional e-mail address for "tu as une réponse" notices, the quick exit).
NOTICE_VERSION = "2026-12e"


def pseudonymise(secret: str, channel: Channel, channel_user_id: str) -> str:
    """Stable pseudonymous id: what the engine and the logs see instead of a Telegram id."""
    digest = hmac.new(secret.encode(), f"{channel}:{channel_user_id}".encode(), hashlib.sha256)
    return "y" + base64.b32encode(digest.digest()).decode().lower().rstrip("=")[:24]


@dataclass(frozen=True)
class PersonRef:
    id: int
    pseudo_id: str
    channel: Channel
    channel_user_id: str
    consent: ConsentStatus
    age_band: str | None = None  # core/vocabulary.py AGE_BANDS; UNDER_15: nothing kept

    @property
    def under_15(self) -> bool:
        return self.age_band == UNDER_15


@dataclass(frozen=True)
class LoggedMessage:
    direction: Direction
    origin: Origin
    text: str


def followed_value(answer: str | None) -> str | None:
    """The triage's `followed` answer as the person keeps it: "oui", "non", or None."""
    folded = (answer or "").strip().lower()
    if folded.startswith("oui"):
        return "oui"
    return "non" if folded == "non" else None


def person_by_pseudo(session: Session, pseudo_id: str) -> YoungPerson | None:
    """The person behind a pseudonymous id, in the caller's transaction."""
    return session.scalar(select(YoungPerson).where(YoungPerson.pseudo_id == pseudo_id))


def _ref(person: YoungPerson) -> PersonRef:
    return PersonRef(
        person.id,
        person.pseudo_id,
        person.channel,
        person.channel_user_id,
        person.consent,
        person.age_band,
    )


# Told, inside the transaction that records a refused consent, to drop what it kept of the
# person's words (the NLU turns' texts, the flagged messages): the packages that keep texts
# register here (maraude/app.py), so the core never imports them.
ConsentRefusedHook = Callable[[Session, int], object]


class PeopleService:
    def __init__(
        self,
        db: Database,
        secret: str,
        clock: Clock | None = None,
        on_consent_refused: Sequence[ConsentRefusedHook] = (),
    ) -> None:
        self._db = db
        self._secret = secret
        self._clock = clock or SystemClock()
        self._on_consent_refused = tuple(on_consent_refused)

    def identify(self, channel: Channel, channel_user_id: str) -> PersonRef:
        """Find or create the person behind a channel address; touch last_seen_at."""
        pseudo = pseudonymise(self._secret, channel, channel_user_id)
        now = self._clock.now()
        for _attempt in range(2):
            try:
                with self._db.transaction() as session:
                    person = person_by_pseudo(session, pseudo)
                    if person is None:
                        person = YoungPerson(
                            pseudo_id=pseudo,
                            channel=channel,
                            channel_user_id=channel_user_id,
                            created_at=now,
                            last_seen_at=now,
                        )
                        session.add(person)
                        session.flush()
                    else:
                        person.last_seen_at = now
                        person.blocked_at = None
                    return _ref(person)
            except IntegrityError:
                continue  # created concurrently by another worker: read it back
        raise RuntimeError(f"could not identify person {pseudo}")

    def get(self, pseudo_id: str) -> PersonRef | None:
        with self._db.transaction() as session:
            person = person_by_pseudo(session, pseudo_id)
            return _ref(person) if person else None

    def record_consent(self, pseudo_id: str, granted: bool) -> PersonRef:
        """Record a consent decision. Refusing drops what was kept of the conversation.

        Under 15 a young person cannot consent alone (loi Informatique et Libertés, art. 45):
        a "yes" is not recorded, the consent stays as it was (never granted)."""
        status = ConsentStatus.granted if granted else ConsentStatus.refused
        with self._db.transaction() as session:
            person = person_by_pseudo(session, pseudo_id)
            if person is None:
                raise LookupError(f"unknown person {pseudo_id}")
            if granted and person.age_band == UNDER_15:
                return _ref(person)
            person.consent = status
            session.add(
                ConsentRecord(
                    person_id=person.id,
                    status=status,
                    notice_version=NOTICE_VERSION,
                    recorded_at=self._clock.now(),
                )
            )
            if not granted:
                self._drop_kept(session, person)
            return _ref(person)

    def record_age_band(self, pseudo_id: str, band: str | None) -> PersonRef:
        """Keep the age band said before consent (None: not said). Under 15, what was kept
        under an earlier consent goes, and the consent is no longer granted."""
        if band is not None and band not in AGE_BANDS:
            raise ValueError(f"unknown age band {band!r}")
        with self._db.transaction() as session:
            person = person_by_pseudo(session, pseudo_id)
            if person is None:
                raise LookupError(f"unknown person {pseudo_id}")
            person.age_band = band
            if band == UNDER_15:
                if person.consent == ConsentStatus.granted:
                    person.consent = ConsentStatus.unknown
                person.followed = None  # a triage answer: nothing of it is kept under 15
                self._drop_kept(session, person)
            return _ref(person)

    def _drop_kept(self, session: Session, person: YoungPerson) -> None:
        """Drop the message log, the NLU turns' texts and the flagged messages (an urgent
        hand-off's stays: vital interest)."""
        for message in list(person.messages):
            session.delete(message)
        for forget in self._on_consent_refused:
            forget(session, person.id)

    def record_milestone(self, pseudo_id: str, kind: Milestone) -> bool:
        """Note that the person reached a funnel step (analytics). False if unknown person."""
        with self._db.transaction() as session:
            person = person_by_pseudo(session, pseudo_id)
            if person is None:
                return False
            session.add(PersonEvent(person_id=person.id, kind=kind, created_at=self._clock.now()))
            return True

    def record_followed(self, pseudo_id: str, answer: str | None) -> str | None:
        """Keep on the person whether a structure already follows them, from the triage's
        `followed` answer ("oui (mission locale)" -> "oui", "non" -> "non", anything else:
        None, not said): the "invisible" share of the results. Under 15 nothing is kept.
        Returns what was kept (None also for an unknown person)."""
        value = followed_value(answer)
        with self._db.transaction() as session:
            person = person_by_pseudo(session, pseudo_id)
            if person is None:
                return None
            if person.age_band == UNDER_15:
                value = None
            person.followed = value
            return value

    def consent_history(self, pseudo_id: str) -> list[tuple[ConsentStatus, str]]:
        with self._db.transaction() as session:
            rows = session.execute(
                select(ConsentRecord.status, ConsentRecord.notice_version)
                .join(YoungPerson)
                .where(YoungPerson.pseudo_id == pseudo_id)
                .order_by(ConsentRecord.id)
            )
            return [(status, version) for status, version in rows]

    def log_messages(self, person_id: int, messages: list[LoggedMessage]) -> int:
        """Keep messages only if the person has granted consent. Returns how many were kept."""
        if not messages:
            return 0
        with self._db.transaction() as session:
            person = session.get(YoungPerson, person_id)
            if person is None or person.consent != ConsentStatus.granted:
                return 0
            if person.age_band == UNDER_15:
                return 0  # no parent's agreement: nothing of the conversation is kept
            now = self._clock.now()
            for item in messages:
                session.add(
                    Message(
                        person_id=person_id,
                        direction=item.direction,
                        origin=item.origin,
                        text=storable(item.text),
                        created_at=now,
                    )
                )
            return len(messages)

    def transcript(self, pseudo_id: str) -> list[LoggedMessage]:
        with self._db.transaction() as session:
            rows = session.execute(
                select(Message.direction, Message.origin, Message.text)
                .join(YoungPerson)
                .where(YoungPerson.pseudo_id == pseudo_id)
                .order_by(Message.id)
            )
            return [LoggedMessage(d, o, t) for d, o, t in rows]

    def mark_blocked(self, channel: Channel, channel_user_id: str) -> None:
        """The person blocked the bot (Telegram 403): remember it so nothing is sent again."""
        pseudo = pseudonymise(self._secret, channel, channel_user_id)
        with self._db.transaction() as session:
            person = person_by_pseudo(session, pseudo)
            if person is not None:
                person.blocked_at = self._clock.now()
