"""Right of access and portability (RGPD art. 15 and 20): everything kept about one person.

`ExportService.export(pseudo_id)` reads, in one transaction, every row of the app database
that is about the person (identity on the channel, consent records, messages, milestones,
hand-off requests, tickets with their notes and history, crisis signals, follow-ups, what the
engine understood of their messages, wording variants seen, messages held while the engines
were down and not answered yet, the outreach campaigns that brought them, what the web chat
keeps: core/export_webchat.py), plus what the
engine's tracker store keeps of their conversation (messages and slot values: the triage
answers). Rows are serialised column by column, so a column added later is exported without
touching this module, and any other table with a `person_id` is exported too ("other").

Counsellors' internal notes are included: they are personal data about the young person, and
the right of access covers them. Counsellors appear by first name only (as the young person
already sees them); no counsellor id or e-mail leaves the app.

`PersonalData.as_json()` is the portable copy; `as_text()` (core/export_text.py) the readable one.
The young person asks with /mesdonnees (bot/rights.py), a counsellor answering a written request
runs `maraude privacy export PERSON`.
"""

from __future__ import annotations

import enum
import json
import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import inspect, select, text
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session

from core.clock import Clock, SystemClock
from core.db import Database
from core.export_webchat import ADDRESS_HIDDEN as WEB_CHAT_ADDRESS
from core.export_webchat import TABLES as WEB_CHAT_TABLES
from core.export_webchat import web_chat_data
from core.models import (
    Appointment,
    Base,
    Campaign,
    CampaignTouch,
    ConsentRecord,
    Counsellor,
    CrisisSignalRecord,
    FollowUp,
    HandoffRequest,
    HeldMessage,
    Message,
    NluTurn,
    PersonEvent,
    ResponseExposure,
    Ticket,
    TicketEvent,
    TicketNote,
    YoungPerson,
)
from core.settings import Settings

log = logging.getLogger(__name__)

FORMAT = "maraude-export/1"
# Rasa's SQLTrackerStore: one row per event, keyed by sender_id (the pseudonymous id).
TRACKER_EVENTS = text(
    "SELECT type_name, timestamp, data FROM events WHERE sender_id = :sender_id ORDER BY id"
)
# Tables exported by name below; any other table with a person_id goes in "other".
KNOWN_TABLES = frozenset(
    {
        "young_person",
        "consent_record",
        "message",
        "person_event",
        "handoff_request",
        "ticket",
        "ticket_note",
        "ticket_event",
        "crisis_signal",
        "follow_up",
        "nlu_turn",
        "response_exposure",
        "held_message",
        "campaign_touch",
        "appointment",
        *WEB_CHAT_TABLES,
    }
)
# Columns that only link rows together or point at counsellor accounts (replaced by names).
LINK_COLUMNS = frozenset({"person_id", "author_id", "actor_id", "assignee_id", "counsellor_id"})
# A simulator session id is the browser's cookie: never written into a file.
HIDDEN_ADDRESS = {
    "simulator": "(session du simulateur, non reproduite)",
    "web": WEB_CHAT_ADDRESS,  # a keyed hash of the page's token
}


@dataclass(frozen=True)
class Organisation:
    """Who keeps the data, as the export names them."""

    name: str
    controller: str = ""
    dpo_contact: str = ""
    contact: str = ""
    retention_days: int = 365
    team_names: dict[str, str] = field(default_factory=dict)
    outcome_labels: dict[str, str] = field(default_factory=dict)
    timezone: str = "Europe/Paris"
    site_names: dict[str, str] = field(default_factory=dict)  # the structure's sites, by id


@dataclass(frozen=True)
class PersonalData:
    """Everything kept about one person, ready to be written as text or JSON."""

    pseudo_id: str
    generated_at: datetime
    organisation: Organisation
    data: dict[str, Any]

    def as_json(self) -> str:
        return json.dumps(self.data, ensure_ascii=False, indent=2, default=_plain)

    def as_text(self) -> str:
        from core.export_text import render_text

        return render_text(self)

    def filename(self, suffix: str) -> str:
        """`mes-donnees-2026-12-06.txt`: the same name for the young person and the CLI."""
        return f"mes-donnees-{self.generated_at.date().isoformat()}.{suffix}"


class ExportService:
    def __init__(
        self,
        db: Database,
        tracker_db: Database | None,
        organisation: Organisation,
        clock: Clock | None = None,
    ) -> None:
        self._db = db
        self._tracker_db = tracker_db
        self.organisation = organisation
        self._clock = clock or SystemClock()

    def export(self, pseudo_id: str) -> PersonalData | None:
        """Everything kept about the person; None if the app keeps nothing under this id."""
        now = self._clock.now()
        with self._db.transaction() as session:
            person = session.scalar(select(YoungPerson).where(YoungPerson.pseudo_id == pseudo_id))
            if person is None:
                return None
            data = self._collect(session, person)
        data["engine_tracker"] = self._tracker(pseudo_id)
        org = self.organisation
        header = {
            "format": FORMAT,
            "generated_at": now,
            "about": (
                f"Tout ce que {org.name} garde sur toi dans Maraude, le {now.date().isoformat()} "
                "(droit d'accès et de portabilité, articles 15 et 20 du RGPD)."
            ),
            "controller": {
                "organisation": org.name,
                "controller": org.controller,
                "dpo_contact": org.dpo_contact,
                "contact": org.contact,
            },
        }
        return PersonalData(pseudo_id, now, org, {**header, **data})

    def pseudo_of_ticket(self, ticket_id: int) -> str | None:
        """The pseudonymous id of a ticket's young person (CLI: export by ticket number)."""
        with self._db.transaction() as session:
            return session.scalar(
                select(YoungPerson.pseudo_id)
                .join(Ticket, Ticket.person_id == YoungPerson.id)
                .where(Ticket.id == ticket_id)
            )

    def dispose(self) -> None:
        if self._tracker_db is not None and self._tracker_db is not self._db:
            self._tracker_db.dispose()

    # Collecting ----------------------------------------------------------------------------
    def _collect(self, session: Session, person: YoungPerson) -> dict[str, Any]:
        pid = person.id
        names = _counsellor_names(session)
        identity = _columns(person, exclude={"id"})
        if str(person.channel) in HIDDEN_ADDRESS:
            identity["channel_user_id"] = HIDDEN_ADDRESS[str(person.channel)]
        tickets = list(
            session.scalars(select(Ticket).where(Ticket.person_id == pid).order_by(Ticket.id))
        )
        return {
            "person": identity,
            "consents": _rows(session, ConsentRecord, ConsentRecord.person_id == pid),
            "messages": [
                _named(row, "counsellor_id", "counsellor", names)
                for row in _rows(session, Message, Message.person_id == pid, keep={"counsellor_id"})
            ],
            "milestones": _rows(session, PersonEvent, PersonEvent.person_id == pid),
            "handoff_requests": _rows(session, HandoffRequest, HandoffRequest.person_id == pid),
            "tickets": [self._ticket(session, ticket, names) for ticket in tickets],
            "crisis_signals": _rows(
                session, CrisisSignalRecord, CrisisSignalRecord.person_id == pid
            ),
            "follow_ups": _rows(session, FollowUp, FollowUp.person_id == pid),
            "understood_messages": _rows(session, NluTurn, NluTurn.person_id == pid),
            "wording_variants_seen": _rows(
                session, ResponseExposure, ResponseExposure.person_id == pid
            ),
            # Kept only until answered (bot/held.py): what goes to the engine and what was shown.
            "held_messages": _rows(session, HeldMessage, HeldMessage.person_id == pid),
            "campaigns": _campaigns(session, person),
            "appointments": self._appointments(session, pid, names),
            # The web chat's notification address and waiting messages (export_webchat.py).
            "web_chat": web_chat_data(session, pid),
            "other": _other_tables(session, pid),
        }

    def _ticket(self, session: Session, ticket: Ticket, names: dict[int, str]) -> dict[str, Any]:
        row = _columns(ticket, exclude=LINK_COLUMNS)
        org = self.organisation
        row["team_name"] = org.team_names.get(ticket.team, ticket.team)
        row["counsellor"] = names.get(ticket.assignee_id) if ticket.assignee_id else None
        row["outcome_label"] = org.outcome_labels.get(ticket.outcome or "", ticket.outcome)
        row["notes"] = [
            _named(note, "author_id", "author", names)
            for note in _rows(
                session, TicketNote, TicketNote.ticket_id == ticket.id, keep={"author_id"}
            )
        ]
        row["history"] = [
            _named(event, "actor_id", "actor", names)
            for event in _rows(
                session, TicketEvent, TicketEvent.ticket_id == ticket.id, keep={"actor_id"}
            )
        ]
        return row

    def _appointments(
        self, session: Session, pid: int, names: dict[int, str]
    ) -> list[dict[str, Any]]:
        """Appointments proposed to the person: the counsellors by first name, the site by
        name."""
        rows = []
        for row in _rows(
            session, Appointment, Appointment.person_id == pid, keep={"counsellor_id"}
        ):
            row = _named(row, "counsellor_id", "counsellor", names)
            row = _named(row, "marked_by_id", "marked_by", names)
            site = row.get("site_id")
            row["site_name"] = self.organisation.site_names.get(site, site) if site else None
            rows.append(row)
        return rows

    def _tracker(self, pseudo_id: str) -> dict[str, Any]:
        """What the engine's tracker store keeps: the messages and the last value of each
        slot (the triage answers). `available` False when it cannot be read."""
        result: dict[str, Any] = {"available": False, "events": 0, "messages": [], "slots": {}}
        if self._tracker_db is None:
            return result
        try:
            with self._tracker_db.transaction() as session:
                rows = session.execute(TRACKER_EVENTS, {"sender_id": pseudo_id}).all()
        except (OperationalError, ProgrammingError) as exc:  # no tracker table (yet)
            log.info("tracker store not readable for the export of %s: %s", pseudo_id, exc)
            return result
        result["available"] = True
        result["events"] = len(rows)
        for type_name, timestamp, raw in rows:
            try:
                event = json.loads(raw) if isinstance(raw, str) else dict(raw or {})
            except (TypeError, ValueError):
                continue
            when = _timestamp(timestamp)
            if type_name in ("user", "bot") and event.get("text"):
                result["messages"].append(
                    {
                        "at": when,
                        "from": "toi" if type_name == "user" else "robot",
                        "text": str(event["text"]),
                    }
                )
            elif type_name == "slot" and event.get("name"):
                result["slots"][str(event["name"])] = event.get("value")
        result["slots"] = {k: v for k, v in result["slots"].items() if v not in (None, "", [])}
        return result


def export_service(settings: Settings, db: Database, clock: Clock | None = None) -> ExportService:
    """The export service as the app and the CLI build it (the tracker store of the settings).

    Once the bot is live (a Telegram token), a controller or DPO contact still empty or the
    shipped example is logged as a warning: young people read them in the notice and exports.
    """
    org = settings.organisation
    if settings.telegram_bot_token is not None and (missing := org.privacy_placeholders()):
        log.warning("privacy notice: %s still empty or an example value", ", ".join(missing))
    return ExportService(
        db,
        Database.from_url(settings.tracker_store_url),
        Organisation(
            name=org.name,
            controller=org.controller,
            dpo_contact=org.dpo_contact,
            contact=org.contact,
            retention_days=org.retention_days,
            team_names={team.id: team.name for team in settings.teams},
            outcome_labels=dict(settings.handoff.outcomes),
            timezone=settings.nudges.timezone,
            site_names={site.id: site.name for site in settings.structure.sites},
        ),
        clock,
    )


# Serialising ---------------------------------------------------------------------------------
def _plain(value: Any) -> Any:
    """JSON for what the columns hold."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def _value(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


def _columns(obj: Any, exclude: set[str] | frozenset[str] = frozenset()) -> dict[str, Any]:
    """Every mapped column of a row (a column added later comes with it)."""
    mapper = inspect(type(obj))
    return {
        attr.key: _value(getattr(obj, attr.key))
        for attr in mapper.column_attrs
        if attr.key not in exclude
    }


def _rows(
    session: Session, model: type[Base], where: Any, keep: set[str] | frozenset[str] = frozenset()
) -> list[dict[str, Any]]:
    objects = session.scalars(select(model).where(where).order_by(model.id))  # type: ignore[attr-defined]
    return [_columns(obj, exclude=LINK_COLUMNS - keep) for obj in objects]


def _named(row: dict[str, Any], column: str, name: str, names: dict[Any, str]) -> dict[str, Any]:
    """The row with a counsellor's first name instead of their account id."""
    counsellor = row.pop(column, None)
    row[name] = names.get(counsellor) if counsellor is not None else None
    return row


def _counsellor_names(session: Session) -> dict[Any, str]:
    """Counsellors by id, first name only (what the young person already sees)."""
    return {
        cid: name for cid, name in session.execute(select(Counsellor.id, Counsellor.first_name))
    }


def _campaigns(session: Session, person: YoungPerson) -> list[dict[str, Any]]:
    """The outreach campaigns that brought the person (a flyer's link, a TikTok video...), first
    first: name, channel, when; `first` marks the one the results count them under. The
    campaign's code, cost and managers' note are not about the person."""
    rows = session.execute(
        select(Campaign.id, Campaign.name, Campaign.channel, CampaignTouch.at)
        .join(CampaignTouch, CampaignTouch.campaign_id == Campaign.id)
        .where(CampaignTouch.person_id == person.id)
        .order_by(CampaignTouch.at, CampaignTouch.id)
    )
    return [
        {"name": name, "channel": _value(channel), "at": at, "first": cid == person.campaign_id}
        for cid, name, channel, at in rows
    ]


def _other_tables(session: Session, person_id: int) -> dict[str, list[dict[str, Any]]]:
    """Rows of tables this module does not know by name that point at the person."""
    found: dict[str, list[dict[str, Any]]] = {}
    for table in Base.metadata.sorted_tables:
        if table.name in KNOWN_TABLES or "person_id" not in table.c:
            continue
        rows = session.execute(select(table).where(table.c.person_id == person_id)).mappings()
        items = [{k: _value(v) for k, v in row.items() if k != "person_id"} for row in rows]
        if items:
            found[table.name] = items
    return found


def _timestamp(value: Any) -> Any:
    if isinstance(value, int | float):
        from datetime import UTC

        return datetime.fromtimestamp(value, UTC)
    return value
