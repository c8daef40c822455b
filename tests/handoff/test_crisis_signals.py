"""Crisis signals and false alarms on real databases (SQLite and, gated, PostgreSQL).

The services as maraude/app.py wires them: a crisis request keeps its trigger message even
without consent (and nothing else), flags wait for the next ticket, minors, the queue order
by severity, false alarms (with every refusal) feeding the managers' inbox, erasure.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, func, select

from core import migrate
from core.clock import FixedClock
from core.db import Database
from core.erasure import ErasureService
from core.models import (
    CrisisSignalRecord,
    EventKind,
    HandoffRequest,
    Message,
    NluTurn,
    Role,
    SignalOrigin,
    Ticket,
    TicketEvent,
    TicketNote,
    TicketStatus,
    Urgency,
)
from core.turns import TurnInfo
from handoff.alarms import AlarmService
from handoff.requests import CrisisSignal, TriageSummary
from handoff.signals import NORMAL_SEVERITY, severity_of
from handoff.tickets import (
    TicketConflict,
    TicketForbidden,
    TicketInvalid,
    TicketNotFound,
)
from studio.insights import InsightsService
from tests.support import ROOT
from tests.support.tickets import START, Desk, build

SUICIDE_PLAN = "jai tout prévu pour ce soir, les cachets sont dans le tiroir"
FALSE_ALARM_TEXT = "jvais me tuer a force de rire avec ce prof"


def high(text: str | None = SUICIDE_PLAN, kind: str = "suicide", **more: Any) -> CrisisSignal:
    return CrisisSignal(
        text=text, tier="high", reason=more.pop("reason", "pattern"), kind=kind, **more
    )


def medium(text: str, answer: str | None = "oui", kind: str = "suicide") -> CrisisSignal:
    return CrisisSignal(
        text=text,
        tier="medium",
        reason="danger_words",
        kind=kind,
        detail="plus envie",
        answer=answer,
    )


class Env:
    def __init__(self, database: Database) -> None:
        self.clock = FixedClock(START)
        self.desk: Desk = build(database, self.clock)
        self.db = database
        self.alarms = AlarmService(database, self.clock)
        self.insights = InsightsService(database, self.clock, ROOT / "domain")

    def urgent(
        self,
        pseudo: str,
        signal: CrisisSignal | None,
        *,
        kind: str = "suicide",
        minor: bool = False,
        summary: TriageSummary | None = None,
    ) -> int:
        ref = self.desk.handoff.request(
            pseudo,
            summary or TriageSummary(),
            source="crisis",
            urgency=Urgency.crisis,
            crisis_kind=kind,
            signal=signal,
            minor=minor,
        )
        return ref.ticket_id

    def signals(self, ticket_id: int) -> list[Any]:
        return self.alarms.signals(ticket_id)

    def rows(self, model: Any, *where: Any) -> int:
        with self.db.transaction() as session:
            return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


@pytest.fixture
def env(database: Database) -> Env:
    return Env(database)


# A crisis request keeps what raised it --------------------------------------------------------
def test_a_crisis_without_consent_keeps_the_trigger_message_and_nothing_else(env: Env) -> None:
    person_id, pseudo = env.desk.person(consent=False)
    env.desk.people.log_messages(person_id, [])  # nothing kept without consent anyway
    long_text = SUICIDE_PLAN + " " + "x" * 600
    ticket_id = env.urgent(
        pseudo,
        high(long_text, detail="tout prévu"),
        summary=TriageSummary(excerpt="ce que jai dit avant", situation="à la rue", age="17"),
    )

    ticket = env.desk.tickets.get(ticket_id)
    assert (ticket.urgency, ticket.priority, ticket.severity) == (Urgency.crisis, 0, 0)
    assert ticket.urgent_since == START
    assert ticket.summary["excerpt"] is None  # the conversation is not kept...
    assert env.rows(Message, Message.person_id == person_id) == 0
    [signal] = env.signals(ticket_id)  # ...but the message that raised the alarm is
    assert signal.origin == SignalOrigin.urgent and signal.text == long_text[:500]
    assert (signal.tier, signal.reason, signal.kind, signal.detail) == (
        "high",
        "pattern",
        "suicide",
        "tout prévu",
    )
    assert ticket.alert is not None and ticket.alert.text == long_text[:500]
    assert ticket.alert.why == "phrase repérée : « tout prévu »"


def test_a_normal_request_keeps_its_signal_text_only_with_consent(env: Env) -> None:
    _, refused = env.desk.person(consent=False)
    _, granted = env.desk.person(consent=True)
    for pseudo in (refused, granted):
        env.desk.handoff.request(
            pseudo, TriageSummary(), source="ask_human", signal=medium("jen peux plus", "jsp")
        )
    texts = {}
    for pseudo in (refused, granted):
        [ticket] = env.desk.tickets.tickets_of(pseudo)
        assert ticket.urgency == Urgency.normal and ticket.severity == NORMAL_SEVERITY
        assert ticket.alert is None  # only an urgent ticket has an alert
        [signal] = env.signals(ticket.id)
        assert signal.origin == SignalOrigin.request and signal.answer == "jsp"
        texts[pseudo] = signal.text
    assert texts == {refused: None, granted: "jen peux plus"}


def test_an_intent_signal_says_its_confidence(env: Env) -> None:
    _, pseudo = env.desk.person()
    signal = high("jsuis plus rien", reason="intent", intent="crisis_suicide", confidence=0.62)
    ticket = env.desk.tickets.get(env.urgent(pseudo, signal))
    assert ticket.severity == 10
    assert ticket.alert is not None
    assert ticket.alert.why == "compris par le robot : « CRISE : idées suicidaires » (62 %)"
    safety = CrisisSignal(None, "high", "safety_answer", "violence", answer="non")
    _, other = env.desk.person()
    view = env.desk.tickets.get(env.urgent(other, safety, kind="violence"))
    assert view.severity == 11 and view.alert is not None
    assert view.alert.why == "réponse à « Est-ce que tu es en sécurité ? » : « non »"


# Flags ------------------------------------------------------------------------------------
def test_a_flag_without_ticket_waits_for_the_next_ticket(env: Env) -> None:
    _, pseudo = env.desk.person(consent=True)
    env.desk.handoff.flag(pseudo, medium("jai plus envie de rien"))
    assert env.desk.tickets.tickets_of(pseudo) == []  # a flag never opens a ticket
    env.clock.advance(days=3)

    ref = env.desk.request(pseudo, "Lens", needs=["emploi"])
    ticket = env.desk.tickets.get(ref.ticket_id)
    assert (ticket.urgency, ticket.priority, ticket.severity) == (Urgency.normal, 1, 100)
    assert ticket.flags == 1 and ticket.alert is None
    [flag] = env.signals(ticket.id)
    assert flag.origin == SignalOrigin.flag and flag.text == "jai plus envie de rien"
    assert flag.answer == "oui" and flag.created_at == START


def test_a_flag_on_an_open_ticket_changes_nothing_else(env: Env) -> None:
    _, pseudo = env.desk.person(consent=False)
    ticket_id = env.desk.request(pseudo, "Lens").ticket_id
    before = env.desk.tickets.get(ticket_id)
    env.clock.advance(minutes=5)
    env.desk.handoff.flag(pseudo, medium("jen ai marre de tout"))
    after = env.desk.tickets.get(ticket_id)
    assert (after.urgency, after.priority, after.severity) == (Urgency.normal, 1, 100)
    assert after.updated_at == before.updated_at and after.flags == 1
    [flag] = env.signals(ticket_id)
    assert flag.text is None  # no consent: tier, reason, detail and answer only
    assert (flag.tier, flag.reason, flag.detail, flag.answer) == (
        "medium",
        "danger_words",
        "plus envie",
        "oui",
    )
    with pytest.raises(LookupError):
        env.desk.handoff.flag("nobody", medium("x"))


def test_refusing_consent_drops_flag_texts_but_keeps_the_urgent_trigger(env: Env) -> None:
    _, pseudo = env.desk.person(consent=True)
    env.desk.handoff.flag(pseudo, medium("jai plus envie de rien"))
    ticket_id = env.urgent(pseudo, high())
    env.desk.people.record_consent(pseudo, False)
    texts = {s.origin: s.text for s in env.signals(ticket_id)}
    assert texts == {SignalOrigin.flag: None, SignalOrigin.urgent: SUICIDE_PLAN}


# Minors ------------------------------------------------------------------------------------
def test_minor_marks_the_ticket_and_is_never_unset(env: Env) -> None:
    _, pseudo = env.desk.person()
    ticket_id = env.desk.handoff.request(
        pseudo, TriageSummary(age="16"), source="triage", minor=True
    ).ticket_id
    env.desk.handoff.request(pseudo, TriageSummary(location="Lens"), source="triage")
    env.urgent(pseudo, high(), minor=False)
    assert env.desk.tickets.get(ticket_id).minor
    with env.db.transaction() as session:
        assert session.scalars(select(HandoffRequest.minor)).all() == [True]
    _, adult = env.desk.person()
    assert not env.desk.tickets.get(env.urgent(adult, high())).minor


# Severity order ----------------------------------------------------------------------------
def test_severity_order() -> None:
    order = [
        severity_of("high", "pattern", "suicide"),
        severity_of("high", "app_check", "violence"),
        severity_of("high", "pattern", "shelter"),
        severity_of("high", "intent", "crisis_suicide"),
        severity_of(None, None, "suicide"),  # a crisis without signal (older callers)
        severity_of("high", "safety_answer", "shelter"),
        severity_of("medium", "danger_words", "suicide"),
        severity_of("medium", "danger_words", None),
    ]
    assert order == sorted(order) and len(set(order)) == len(order) - 1
    assert max(order) < NORMAL_SEVERITY


def test_the_queue_puts_the_most_severe_crisis_first_then_the_longest_waiting(env: Env) -> None:
    made: dict[str, int] = {}

    def make(name: str, signal: CrisisSignal | None, kind: str = "suicide") -> None:
        _, pseudo = env.desk.person()
        if signal is None:
            made[name] = env.desk.request(pseudo, "Lens").ticket_id
        else:
            made[name] = env.urgent(pseudo, signal, kind=kind)
        env.clock.advance(minutes=3)

    make("normal, oldest", None)
    make("shelter by pattern", high("jdors dehors ce soir", kind="shelter"), kind="shelter")
    make("suicide by classifier", high("jsuis plus rien", reason="intent"))
    make("medium suicide, not safe", medium("jen peux plus", "non"))
    make("violence by pattern", high("il me frappe", kind="violence"), kind="violence")
    make("suicide by classifier, later", high("a quoi bon", reason="intent"))
    make("suicide plan, newest crisis", high())
    make("normal, newest", None)

    order = [t.id for t in env.desk.tickets.queue()]
    names = {v: k for k, v in made.items()}
    assert [names[i] for i in order] == [
        "suicide plan, newest crisis",
        "violence by pattern",
        "shelter by pattern",
        "suicide by classifier",
        "suicide by classifier, later",
        "medium suicide, not safe",
        "normal, oldest",
        "normal, newest",
    ]
    assert [t.priority for t in env.desk.tickets.queue()] == [0] * 6 + [1] * 2


def test_a_more_severe_crisis_moves_an_urgent_ticket_up(env: Env) -> None:
    _, pseudo = env.desk.person()
    ticket_id = env.urgent(pseudo, high("jdors dehors", kind="shelter"), kind="shelter")
    assert env.desk.tickets.get(ticket_id).severity == 2
    env.clock.advance(minutes=2)
    env.urgent(pseudo, high())
    ticket = env.desk.tickets.get(ticket_id)
    assert (ticket.severity, ticket.crisis_kind) == (0, "suicide")
    assert ticket.urgent_since == START  # urgent since the first crisis
    assert ticket.alert is not None and ticket.alert.text == SUICIDE_PLAN
    env.urgent(pseudo, high("jdors encore dehors", kind="shelter"), kind="shelter")
    assert env.desk.tickets.get(ticket_id).severity == 0  # never lowered by a milder one


# False alarms ------------------------------------------------------------------------------
def test_a_false_alarm_lowers_the_ticket_and_feeds_the_inbox(env: Env) -> None:
    _, pseudo = env.desk.person(consent=True)
    lea = env.desk.counsellor("Léa", team="lens")
    signal = high(FALSE_ALARM_TEXT, detail="me tuer")
    ticket_id = env.urgent(pseudo, signal, summary=TriageSummary(location="Lens"))
    env.desk.tickets.claim(ticket_id, lea)
    env.clock.advance(minutes=4)

    view = env.alarms.false_alarm(ticket_id, lea, "  « me tuer » = mourir de rire  ", "api")
    assert (view.urgency, view.priority, view.severity) == (Urgency.normal, 1, NORMAL_SEVERITY)
    assert view.crisis_kind == "suicide" and view.urgent_since is None and view.alert is None
    assert view.status == TicketStatus.claimed and view.assignee_id == lea.id
    event = env.desk.tickets.events(ticket_id)[-1]
    assert (event.kind, event.actor_name, event.via) == (EventKind.false_alarm, "Léa", "api")
    assert event.data["reason"] == "« me tuer » = mourir de rire"
    [marked] = env.signals(ticket_id)
    assert marked.false_alarm and marked.false_alarm_by == "Léa"
    assert marked.false_alarm_reason == "« me tuer » = mourir de rire"
    assert marked.text == FALSE_ALARM_TEXT  # consent: kept
    with env.db.transaction() as session:
        assert session.scalars(select(HandoffRequest.urgency)).all() == [Urgency.normal]

    [item] = env.insights.false_alarms()
    assert item.text == FALSE_ALARM_TEXT and item.false_alarm and item.intent == "crisis_suicide"
    assert item.review_note is not None and item.review_note.startswith("« me tuer » = mourir")
    assert env.insights.misunderstood() == []  # listed once, as a false alarm
    counts = env.insights.counts()
    assert (counts.false_alarms, counts.false_alarms_hidden) == (1, 0)
    assert env.insights.annotate([item.id], "out_of_scope", lea.id) == 1
    assert env.insights.false_alarms() == []
    assert [(a.text, a.intent) for a in env.insights.export_selection()] == [
        (FALSE_ALARM_TEXT, "out_of_scope")
    ]

    # A later real crisis escalates the same ticket again, as before.
    env.clock.advance(minutes=10)
    env.urgent(pseudo, high())
    again = env.desk.tickets.get(ticket_id)
    assert (again.urgency, again.priority, again.severity) == (Urgency.crisis, 0, 0)
    assert again.urgent_since == env.clock.now()
    assert again.alert is not None and again.alert.text == SUICIDE_PLAN
    assert [e.kind for e in env.desk.tickets.events(ticket_id)][-1] == EventKind.escalated


def test_without_consent_the_inbox_gets_the_false_alarm_without_its_text(env: Env) -> None:
    _, pseudo = env.desk.person(consent=False)
    manager = env.desk.counsellor("Nadia", Role.manager)
    ticket_id = env.urgent(pseudo, high(FALSE_ALARM_TEXT, detail="me tuer"))
    # A manager may mark an unclaimed ticket.
    env.alarms.false_alarm(ticket_id, manager, "blague sur un prof", "web")
    [signal] = env.signals(ticket_id)
    assert signal.false_alarm and signal.text is None  # vital interest over: not kept
    [item] = env.insights.false_alarms()
    assert item.text == "" and item.intent == "crisis_suicide"
    assert item.review_note == (
        "blague sur un prof\n(alerte : niveau élevé, phrase repérée : « me tuer »)"
    )
    counts = env.insights.counts()
    assert (counts.false_alarms, counts.false_alarms_hidden, counts.hidden) == (0, 1, 0)
    assert env.insights.annotate([item.id], "out_of_scope", manager.id) == 0  # no text
    assert env.insights.dismiss([item.id], manager.id) == 1
    assert env.insights.false_alarms() == [] and env.insights.counts().false_alarms_hidden == 0
    assert env.insights.export_selection() == []


def test_a_false_alarm_flags_the_turn_the_pipeline_recorded(env: Env) -> None:
    person_id, pseudo = env.desk.person(consent=True)
    info = TurnInfo(
        text=FALSE_ALARM_TEXT,
        normalised=FALSE_ALARM_TEXT,
        intent="crisis_suicide",
        confidence=0.93,
        entities=[],
        actions=["action_crisis"],
        model="m.tar.gz",
    )
    turn_id = env.insights.record(person_id, FALSE_ALARM_TEXT, info)
    manager = env.desk.counsellor("Nadia", Role.manager)
    ticket_id = env.urgent(pseudo, high(FALSE_ALARM_TEXT))
    env.alarms.false_alarm(ticket_id, manager, "blague", "web")
    [item] = env.insights.false_alarms()
    assert item.id == turn_id and item.confidence == 0.93
    assert env.rows(NluTurn) == 1


def test_false_alarm_refusals(env: Env) -> None:
    _, pseudo = env.desk.person()
    lea = env.desk.counsellor("Léa")
    sam = env.desk.counsellor("Sam")
    manager = env.desk.counsellor("Nadia", Role.manager)
    urgent = env.urgent(pseudo, high())

    with pytest.raises(TicketInvalid, match="Dis en quelques mots pourquoi"):
        env.alarms.false_alarm(urgent, manager, "   ")
    with pytest.raises(TicketInvalid, match=r"Raison trop longue \(501 caractères, 500 max\)"):
        env.alarms.false_alarm(urgent, manager, "x" * 501)
    with pytest.raises(TicketNotFound, match="Ticket #999999 introuvable"):
        env.alarms.false_alarm(999_999, manager, "blague")
    with pytest.raises(TicketConflict, match="Prends le ticket avant"):
        env.alarms.false_alarm(urgent, lea, "blague")  # unclaimed: a counsellor claims first
    env.desk.tickets.claim(urgent, sam)
    with pytest.raises(TicketForbidden, match="suivi par un·e collègue"):
        env.alarms.false_alarm(urgent, lea, "blague")
    _, other = env.desk.person()
    normal = env.desk.request(other, "Lens").ticket_id
    with pytest.raises(TicketConflict, match="n'est pas \\(ou plus\\) en urgence"):
        env.alarms.false_alarm(normal, manager, "blague")
    env.alarms.false_alarm(urgent, sam, "x" * 500)  # the holder may, up to 500 characters
    with pytest.raises(TicketConflict, match="n'est pas \\(ou plus\\) en urgence"):
        env.alarms.false_alarm(urgent, sam, "encore")  # twice: already normal
    _, third = env.desk.person()
    closed = env.urgent(third, high())
    env.desk.tickets.claim(closed, sam)
    env.desk.tickets.resolve(closed, sam, "mission_locale")
    with pytest.raises(TicketConflict, match="déjà clôturé"):
        env.alarms.false_alarm(closed, manager, "blague")
    assert env.desk.tickets.get(closed).urgency == Urgency.crisis  # nothing changed


# Erasure and purge -------------------------------------------------------------------------
def test_erasure_and_ticket_purge_remove_the_signals(env: Env) -> None:
    _, erased = env.desk.person(consent=True)
    _, kept = env.desk.person(consent=True)
    env.desk.handoff.flag(erased, medium("jai plus envie"))  # waiting, no ticket
    erased_ticket = env.urgent(erased, high())
    env.desk.handoff.flag(erased, medium("toujours pas envie"))  # waiting again? no: on it
    kept_ticket = env.urgent(kept, high())
    env.desk.handoff.flag(kept, medium("bof"))
    manager = env.desk.counsellor("Nadia", Role.manager)
    env.alarms.false_alarm(erased_ticket, manager, "blague")  # an inbox turn for them too
    assert env.rows(CrisisSignalRecord) == 5

    ErasureService(env.db, env.db).erase(erased)
    assert env.rows(CrisisSignalRecord) == 2
    assert env.rows(NluTurn) == 0
    assert {s.ticket_id for s in env.signals(kept_ticket)} == {kept_ticket}
    with pytest.raises(TicketNotFound):
        env.signals(erased_ticket)

    # A ticket purged (retention) takes its signals with it; a waiting flag stays with the
    # person until their erasure.
    _, waiting = env.desk.person(consent=True)
    env.desk.handoff.flag(waiting, medium("bof bof"))
    with env.db.transaction() as session:
        session.execute(delete(Ticket).where(Ticket.id == kept_ticket))
    assert env.rows(CrisisSignalRecord) == 1
    assert env.rows(CrisisSignalRecord, CrisisSignalRecord.ticket_id.is_(None)) == 1


# Migration 0006 on a database that already has tickets ---------------------------------------
def test_migration_0006_keeps_the_data_and_orders_existing_crises(tmp_path: Path) -> None:
    from alembic import command

    url = f"sqlite:///{tmp_path / 'old.db'}"
    migrate.upgrade(url, "0005")
    old = Database.from_url(url)
    try:
        with old.transaction() as session:
            conn = session.connection()
            conn.exec_driver_sql(
                "INSERT INTO young_person (id, pseudo_id, channel, channel_user_id, consent, "
                "created_at, last_seen_at) VALUES (1, 'p1', 'telegram', '1', 'unknown', "
                "'2026-03-01 09:00:00', '2026-03-01 09:00:00')"
            )
            for ticket_id, urgency, kind in ((1, "crisis", "crisis_violence"), (2, "normal", None)):
                conn.exec_driver_sql(
                    "INSERT INTO ticket (id, person_id, status, urgency, priority, crisis_kind, "
                    "source, team, created_at, updated_at) VALUES (?, 1, 'new', ?, ?, ?, "
                    "'crisis', 'lens', '2026-03-01 09:00:00', '2026-03-01 09:00:00')",
                    (ticket_id, urgency, 0 if urgency == "crisis" else 1, kind),
                )
                conn.exec_driver_sql(
                    "INSERT INTO ticket_event (ticket_id, kind, via, data, created_at) "
                    "VALUES (?, 'created', 'system', '{}', '2026-03-01 09:00:00')",
                    (ticket_id,),
                )
                conn.exec_driver_sql(
                    "INSERT INTO ticket_note (ticket_id, text, created_at) "
                    "VALUES (?, 'note', '2026-03-01 09:00:00')",
                    (ticket_id,),
                )
    finally:
        old.dispose()

    migrate.upgrade(url)
    assert migrate.current(url) == "0014"  # head: 0006 and the later ones
    db = Database.from_url(url)
    try:
        with db.transaction() as session:
            tickets = {t.id: t for t in session.scalars(select(Ticket))}
            assert (tickets[1].severity, tickets[1].minor) == (11, False)
            assert tickets[1].urgent_since == tickets[1].created_at
            assert (tickets[2].severity, tickets[2].urgent_since) == (NORMAL_SEVERITY, None)
            # Added in place: the tickets' events and notes are all still there.
            assert session.scalar(select(func.count()).select_from(TicketEvent)) == 2
            assert session.scalar(select(func.count()).select_from(TicketNote)) == 2
    finally:
        db.dispose()
    command.downgrade(migrate.alembic_config(url), "0005")
    assert migrate.current(url) == "0005"
    check = Database.from_url(url)
    try:
        with check.transaction() as session:
            assert (
                session.connection().exec_driver_sql("SELECT count(*) FROM ticket_event").scalar()
                == 2
            )
    finally:
        check.dispose()


def test_waiting_time_breaks_ties_among_equal_severities(env: Env) -> None:
    made = []
    for _ in range(3):
        _, pseudo = env.desk.person()
        made.append(env.urgent(pseudo, high()))
        env.clock.advance(minutes=1)
    assert [t.id for t in env.desk.tickets.queue()] == made
