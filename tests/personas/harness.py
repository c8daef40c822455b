"""Playing a persona end to end: the fake Telegram Bot API, the real app, the real engine.

Each persona is a new Telegram user: /start, its answer to the age question (default
"Passer"), the consent button, then its turns. After each
turn the harness keeps the bot's messages (text and buttons) and the engine's slots; at the
end it reads the database (hand-off requests, tickets, opt-out). Nothing here judges: the
rules (tests/personas/rules.py) read the resulting `Run`.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
from sqlalchemy import select

from core.campaigns import CampaignDraft
from core.models import CampaignChannel, Channel, HandoffRequest, Message, Role, YoungPerson
from core.people import pseudonymise
from tests.personas.anchors import DEFAULT_ANSWERS, SKIP_BUTTON
from tests.personas.matching import classify, fold
from tests.personas.spec import SLOT_FIELDS, Persona, Reply, Turn

# Seconds without a new message after which an answer is taken as whole. The app sends a
# reply's messages one after the other as soon as the engine answered (bot/pipeline.py), so
# the gaps between them are a local HTTP round trip.
QUIET = float(os.environ.get("PERSONAS_QUIET", "0.6"))
ANSWER_TIMEOUT = 30.0
NEVER_ASKED = "the bot never asked the"
_users = itertools.count(790_001)
_manager_lock = threading.Lock()
_managers: dict[int, Any] = {}


@dataclass(frozen=True)
class BotMessage:
    text: str
    buttons: tuple[str, ...] = ()


@dataclass
class Step:
    """One thing the persona did and what the bot answered."""

    index: int  # in the persona's `turns` (-1: /start, age and consent, set by the harness)
    said: str  # what was typed, "[title]" for a button, "(…)" for a harness action
    replies: list[BotMessage]
    turn: Turn | None = None  # the scripted turn, None for an auto answer or the start
    kind: str | None = None  # the question kind an auto answer replied to
    gave: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)  # e.g. "button … not offered"
    slots: dict[str, Any] = field(default_factory=dict)  # the engine's slots afterwards
    seq: int = 0  # position in the transcript (what the rules' messages refer to)

    @property
    def texts(self) -> list[str]:
        return [m.text for m in self.replies]

    @property
    def buttons(self) -> list[str]:
        return [b for m in self.replies for b in m.buttons]

    @property
    def typed(self) -> bool:
        return not self.said.startswith(("[", "("))


@dataclass
class Run:
    persona: Persona
    user: int
    pseudo: str
    steps: list[Step] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)  # every HandoffRequest row
    tickets: list[dict[str, Any]] = field(default_factory=list)
    opted_out: bool | None = None
    campaign_id: int | None = None  # the campaign whose link the persona opened
    first_campaign_id: int | None = None  # the person's first touch, as stored
    followed: str | None = None  # young_person.followed, as stored
    messages_kept: int = 0  # the person's rows in the message log
    final_slots: dict[str, Any] = field(default_factory=dict)
    error: str | None = None  # a harness failure (a bug of ours, not of the bot)
    seconds: float = 0.0

    def transcript(self, width: int = 400) -> str:
        lines = []
        for step in self.steps:
            label = f"#{step.seq:<2}"
            auto = f" (auto: {step.kind})" if step.kind else ""
            lines.append(f"{label} > {step.said}{auto}")
            for message in step.replies:
                text = message.text if len(message.text) <= width else message.text[:width] + "…"
                text = text.replace("\n", "\n        ")
                buttons = f"  [{' | '.join(message.buttons)}]" if message.buttons else ""
                lines.append(f"      < {text}{buttons}")
            if not step.replies:
                lines.append("      < (no answer)")
            lines += [f"      ! {note}" for note in step.notes]
        if self.error:
            lines.append(f"HARNESS ERROR: {self.error}")
        return "\n".join(lines)


def _buttons(message: dict[str, Any]) -> list[tuple[str, str]]:
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    return [(b["text"], b["callback_data"]) for row in rows for b in row]


class Player:
    """Drives one persona through the fake Telegram server."""

    def __init__(self, stack: Any, persona: Persona) -> None:
        self.stack, self.tg, self.persona = stack, stack.telegram, persona
        self.user = next(_users)
        self.pseudo = pseudonymise(stack.settings.secret_key, Channel.telegram, str(self.user))
        self.run = Run(persona, self.user, self.pseudo)
        self.http = httpx.Client(
            base_url=stack.engine.url,
            params={"token": stack.settings.engine_auth_token},  # the engine's HTTP API
            timeout=10,
        )
        self.last_reply_from = 0

    # Talking -----------------------------------------------------------------------------
    def _collect(self, before: int) -> list[BotMessage]:
        self.last_reply_from = before  # where the bot's latest answer starts
        try:
            self.tg.wait_for_messages(self.user, before + 1, timeout=ANSWER_TIMEOUT)
        except AssertionError:
            return []
        count = -1
        while count != len(self.tg.sent_messages(self.user)):
            count = len(self.tg.sent_messages(self.user))
            try:
                self.tg.wait_for_messages(self.user, count + 1, timeout=QUIET)
            except AssertionError:
                break
        return [
            BotMessage(m.get("text", ""), tuple(t for t, _ in _buttons(m)))
            for m in self.tg.sent_messages(self.user)[before:]
        ]

    def say(self, text: str) -> list[BotMessage]:
        before = len(self.tg.sent_messages(self.user))
        self.tg.push_message(self.user, text)
        return self._collect(before)

    def press(self, title: str, notes: list[str]) -> tuple[str, list[BotMessage]]:
        """Press the button `title` of the bot's latest answer; typed when it is not offered
        there (an older keyboard is not what the persona is looking at)."""
        sent = self.tg.sent_messages(self.user)
        latest = sent[self.last_reply_from :]
        keyboard = next((m for m in reversed(latest) if _buttons(m)), None)
        choices = dict(_buttons(keyboard)) if keyboard else {}
        data = choices.get(title)
        if data is None:
            data = next((d for t, d in choices.items() if fold(t) == fold(title)), None)
        if data is None or keyboard is None:
            offered = " | ".join(choices) or "none"
            notes.append(f"button «{title}» not offered (buttons: {offered}): typed instead")
            return title, self.say(title)
        before = len(sent)
        self.tg.push_callback(self.user, keyboard["message_id"], data)
        return f"[{title}]", self._collect(before)

    def act(self, reply: Reply, notes: list[str]) -> tuple[str, list[BotMessage]]:
        if reply.press:
            return self.press(reply.text, notes)
        return reply.text, self.say(reply.text)

    # State -------------------------------------------------------------------------------
    def slots(self) -> dict[str, Any]:
        response = self.http.get(
            f"/conversations/{quote(self.pseudo, safe='')}/tracker",
            params={"include_events": "NONE"},
        )
        response.raise_for_status()
        slots = response.json().get("slots") or {}
        return {k: v for k, v in slots.items() if k in SLOT_FIELDS and v not in (None, "", [])}

    def tickets(self) -> list[Any]:
        return list(self.stack.services.tickets.tickets_of(self.pseudo))

    def read_database(self) -> None:
        services = self.stack.services
        with services.db.transaction() as session:
            person = session.scalar(select(YoungPerson).where(YoungPerson.pseudo_id == self.pseudo))
            if person is not None:
                self.run.opted_out = person.opted_out_at is not None
                self.run.first_campaign_id = person.campaign_id
                self.run.followed = person.followed
                self.run.messages_kept = len(
                    session.scalars(select(Message.id).where(Message.person_id == person.id)).all()
                )
                rows = session.scalars(
                    select(HandoffRequest)
                    .where(HandoffRequest.person_id == person.id)
                    .order_by(HandoffRequest.id)
                )
                columns = [c.key for c in HandoffRequest.__table__.columns]
                self.run.requests = [{c: getattr(r, c, None) for c in columns} for r in rows]
        self.run.tickets = [
            {"id": t.id, "status": str(t.status), "urgency": str(t.urgency), "open": t.is_open}
            for t in self.tickets()
        ]

    def close_tickets(self) -> str:
        """A counsellor resolves the person's open tickets (from the dashboard's service)."""
        services = self.stack.services
        with _manager_lock:
            key = id(services)
            if key not in _managers:
                _managers[key] = services.accounts.add(
                    f"personas.{self.user}@example.org",
                    "Camille",
                    "mot-de-passe-des-personas",
                    role=Role.manager,
                )
            manager = _managers[key]
        closed = [
            services.tickets.resolve(t.id, manager, "mission_locale", "personas").id
            for t in self.tickets()
            if t.is_open
        ]
        return f"(a counsellor closes tickets {closed})" if closed else "(no open ticket to close)"

    # Playing -----------------------------------------------------------------------------
    def record(self, step: Step) -> None:
        step.slots = self.slots()
        step.seq = len(self.run.steps)
        self.run.steps.append(step)

    def start(self) -> None:
        before = len(self.tg.sent_messages(self.user))
        start = "/start"
        if self.persona.campaign is not None:  # opened a campaign's link (t.me/<bot>?start=)
            channel = CampaignChannel(self.persona.campaign)
            campaign = self.stack.services.campaigns.create(
                CampaignDraft(f"persona {self.persona.id}", channel)
            )
            self.run.campaign_id = campaign.id
            start = f"/start {campaign.code}"
        self.tg.push_message(self.user, start)
        self.record(Step(-1, start, self._collect(before)))
        if self.persona.age_start is not None:
            age_notes: list[str] = []
            said, replies = self.act(self.persona.age_start, age_notes)
            self.record(Step(-1, said, replies, notes=age_notes))
        if self.persona.consent is not None:
            notes: list[str] = []
            said, replies = self.press(self.persona.consent, notes)
            self.record(Step(-1, said, replies, notes=notes))

    def scripted(self, index: int, turn: Turn) -> None:
        notes: list[str] = []
        if turn.close_ticket:
            self.record(Step(index, self.close_tickets(), [], turn=turn))
            return
        if turn.press is not None:
            said, replies = self.press(turn.press, notes)
        else:
            assert turn.say is not None
            said, replies = turn.say, self.say(turn.say)
        if not replies:
            notes.append(f"no answer within {ANSWER_TIMEOUT:.0f} s")
        self.record(Step(index, said, replies, turn=turn, gave=turn.gave, notes=notes))

    def auto(self, index: int, turn: Turn) -> None:
        """Answer what the bot asks, from the persona's answers, until turn.auto.until.

        Asked the same question again right away, the persona does what a person would: the
        default answer (a button) if it has another one, else "Passer" when offered; a third
        time in a row, it stops (the rules have recorded the repeats)."""
        assert turn.auto is not None
        until, previous, streak = turn.auto.until, None, 0
        for _ in range(turn.auto.max_steps):
            if until == "ticket" and self.tickets():
                return
            kind = self.last_question()
            if kind is not None and kind == until:
                return
            if kind is None:
                self.note(f"auto: the bot asks nothing I know, before «{until}»: I stop")
                self.missed(until)
                return
            if kind == "offer" and until != "ticket":
                self.note(f"auto: the bot offers a counsellor before «{until}»: I stop")
                self.missed(until)
                return
            streak = streak + 1 if kind == previous else 1
            previous = kind
            reply = self.reply_to(kind, streak)
            if reply is None:
                why = "a third time in a row" if streak > 2 else "and the persona has no answer"
                self.note(f"auto: the bot asks «{kind}» {why}: I stop")
                self.missed(until)
                return
            notes: list[str] = []
            said, replies = self.act(reply, notes)
            if not replies:
                notes.append(f"no answer within {ANSWER_TIMEOUT:.0f} s")
            gave = (kind,) if kind in ("needs", "age", "location") and not reply.skip else ()
            self.record(Step(index, said, replies, kind=kind, gave=gave, notes=notes))
        self.note(f"auto: still not at «{until}» after {turn.auto.max_steps} answers")
        self.missed(until)

    def reply_to(self, kind: str, streak: int) -> Reply | None:
        """What the persona answers to a `kind` question asked `streak` times in a row.

        Its own answer, else the default one, else "Passer" when offered; a button whose
        title is not on screen gives way to one that is (a person picks what they see). Asked
        again right away, the next choice (or the same again); a third time, nothing."""
        if streak > 2:
            return None
        own = self.persona.answers.get(kind)
        default = DEFAULT_ANSWERS.get(kind)
        fallback = Reply.of(default, f"DEFAULT_ANSWERS[{kind}]") if default else None
        offered = {fold(b) for b in self.last_buttons()}
        skip = Reply(SKIP_BUTTON, press=True, skip=True) if fold(SKIP_BUTTON) in offered else None
        choices: list[Reply] = []
        for reply in (own, fallback, skip):
            if reply is not None and reply not in choices:
                choices.append(reply)
        usable = [r for r in choices if not r.press or fold(r.text) in offered] or choices[:1]
        if not usable:
            return None
        return usable[1] if streak == 2 and len(usable) > 1 else usable[0]

    def last_buttons(self) -> tuple[str, ...]:
        if not self.run.steps:
            return ()
        return tuple(b for m in self.run.steps[-1].replies for b in m.buttons)

    def last_question(self) -> str | None:
        """The kind of question in the bot's latest answer (its last message asking one)."""
        if not self.run.steps:
            return None
        for message in reversed(self.run.steps[-1].replies):
            if kind := classify(message.text, message.buttons):
                return kind
        return None

    def missed(self, until: str) -> None:
        """The bot never asked what the next scripted turn answers (a triage should have):
        a failure of the persona's expectations. (A missing ticket is the handoff rule's.)"""
        if until != "ticket":
            self.note(f"{NEVER_ASKED} «{until}» question: the next turns answer one")

    def note(self, text: str) -> None:
        if self.run.steps:
            self.run.steps[-1].notes.append(text)

    def play(self) -> Run:
        started = time.monotonic()
        try:
            self.start()
            for index, turn in enumerate(self.persona.turns):
                if turn.auto is not None:
                    self.auto(index, turn)
                else:
                    self.scripted(index, turn)
            self.run.final_slots = self.slots()
            self.read_database()
        except Exception:  # a harness failure: the test reports it with the transcript
            self.run.error = traceback.format_exc(limit=6)
        finally:
            self.http.close()
            self.run.seconds = time.monotonic() - started
        return self.run


def play(stack: Any, persona: Persona) -> Run:
    return Player(stack, persona).play()
