"""Personas as data: personas.yml read into checked, typed objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from core.vocabulary import CAMPAIGN_CHANNELS
from tests.personas.anchors import ASK, DEFAULT_ANSWERS, KIND_TEXT
from tests.personas.matching import expand

HERE = Path(__file__).resolve().parent
PERSONA_FILES = sorted(HERE.glob("personas*.yml"))
KINDS = frozenset(KIND_TEXT)
FACTS = frozenset(ASK)  # what a persona may have "given" (rule no_repeat)
SLOT_FIELDS = frozenset(
    {"needs", "age", "location", "situation", "followed", "contact", "availability", "phone"}
)
TURN_KEYS = frozenset(
    {
        "say",
        "press",
        "auto",
        "close_ticket",
        "expect_any",
        "expect_all",
        "expect_none",
        "expect_buttons",
        "question",
        "risk",
        "gave",
        "note",
    }
)
EXPECT_KEYS = frozenset(
    {
        "ticket",
        "ticket_count",
        "slots",
        "no_slot",
        "questions_noted",
        "phone",
        "availability",
        "opted_out",
        "writer",
        "minor",
        "urgent",
        "campaign",
        "followed",
    }
)
PERSONA_KEYS = frozenset(
    {
        "id",
        "who",
        "goal",
        "age_start",
        "consent",
        "answers",
        "always_none",
        "turns",
        "expect",
        "known_gap",
        "model_gap",
        "kept",
        "campaign",
    }
)
# What a persona does at the welcome's age question, before consent (default: "Passer",
# then the triage asks the age in its turn).
AGE_START = {"press": "Passer"}


class PersonaError(ValueError):
    pass


@dataclass(frozen=True)
class Reply:
    """What the persona does: type `text`, or press the button `text`."""

    text: str
    press: bool = False
    skip: bool = False  # "Passer": not an answer (gives no fact)

    @classmethod
    def of(cls, raw: Any, where: str) -> Reply:
        if isinstance(raw, str):
            return cls(raw)
        if isinstance(raw, dict) and set(raw) == {"press"} and isinstance(raw["press"], str):
            return cls(raw["press"], press=True)
        raise PersonaError(f"{where}: an answer is a text or {{press: title}}, not {raw!r}")


@dataclass(frozen=True)
class Auto:
    """Answer the bot's questions from the persona's `answers` until `until`: "ticket" (a
    ticket exists), or a question kind (stop when the bot asks it, without answering)."""

    until: str = "ticket"
    max_steps: int = 10


@dataclass(frozen=True)
class Turn:
    say: str | None = None
    press: str | None = None
    auto: Auto | None = None
    close_ticket: bool = False
    expect_any: tuple[str, ...] = ()
    expect_all: tuple[str, ...] = ()
    expect_none: tuple[str, ...] = ()
    expect_buttons: bool | tuple[str, ...] | None = None
    question: bool = False
    risk: bool = False
    gave: tuple[str, ...] = ()

    @property
    def line(self) -> str | None:
        """What the persona writes or presses in this turn (None for auto/actions)."""
        return self.say if self.say is not None else self.press


@dataclass(frozen=True)
class Expect:
    """The end state, read in the database (and the engine's slots when no request exists)."""

    ticket: bool | None = None
    ticket_count: int | None = None
    slots: dict[str, tuple[str, ...]] = field(default_factory=dict)
    no_slot: tuple[str, ...] = ()
    questions_noted: bool | None = None
    phone: str | None = None
    availability: tuple[str, ...] = ()
    opted_out: bool | None = None
    writer: str | None = None
    minor: bool | None = None
    urgent: bool | None = None
    # The person is attributed to the campaign whose link they opened (`campaign:` below).
    campaign: bool | None = None
    # What the triage recorded on the person about being followed by a structure.
    followed: str | None = None


@dataclass(frozen=True)
class Persona:
    id: str
    who: str
    goal: str
    turns: tuple[Turn, ...]
    expect: Expect
    consent: str | None = "OK pour moi"
    age_start: Reply | None = Reply("Passer", press=True)
    # Whether the app may keep the conversation's messages (False: under 15, nothing kept).
    kept: bool | None = None
    answers: dict[str, Reply] = field(default_factory=dict)
    always_none: tuple[str, ...] = ()
    # Why this persona does not pass yet (an issue note names it): the test is an expected
    # failure that must start passing once fixed (strict: it then fails as "fixed").
    known_gap: str | None = None
    # Why this persona passes or fails depending on the trained model (the same data trains
    # the same model on one machine, not across machines: TensorFlow's CPU kernels differ): an
    # expected failure that may also pass (not strict), until the NLU data covers it.
    model_gap: str | None = None
    # The channel of an outreach campaign whose link the persona opened: it starts with
    # `/start <code>` of a campaign the harness creates (core/campaigns.py), not plain /start.
    campaign: str | None = None

    @property
    def risk(self) -> bool:
        return any(turn.risk for turn in self.turns)

    def answer(self, kind: str) -> Reply | None:
        if kind in self.answers:
            return self.answers[kind]
        default = DEFAULT_ANSWERS.get(kind)
        return Reply.of(default, f"DEFAULT_ANSWERS[{kind}]") if default is not None else None

    def lines(self) -> list[str]:
        """Everything the persona types itself (scripted or as answers), not button presses."""
        typed = [t.say for t in self.turns if t.say is not None]
        return typed + [a.text for a in self.answers.values() if not a.press]

    def __str__(self) -> str:  # pytest ids and messages
        return self.id


def _words(raw: Any, where: str) -> tuple[str, ...]:
    if raw is None:
        return ()
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not all(isinstance(w, str) and w for w in raw):
        raise PersonaError(f"{where}: expected a list of keywords, got {raw!r}")
    try:
        expand(raw)
    except KeyError as exc:
        raise PersonaError(f"{where}: {exc.args[0]}") from None
    return tuple(raw)


def _turn(raw: Any, where: str) -> Turn:
    if not isinstance(raw, dict):
        raise PersonaError(f"{where}: a turn is a mapping, got {raw!r}")
    unknown = set(raw) - TURN_KEYS
    if unknown:
        raise PersonaError(f"{where}: unknown keys {sorted(unknown)}")
    actions = [k for k in ("say", "press", "auto", "close_ticket") if raw.get(k) is not None]
    if len(actions) != 1:
        raise PersonaError(f"{where}: one of say / press / auto / close_ticket, got {actions}")
    auto = None
    if "auto" in raw:
        spec = raw["auto"]
        if isinstance(spec, str):
            spec = {"until": spec}
        if not isinstance(spec, dict) or set(spec) - {"until", "max"}:
            raise PersonaError(f"{where}: auto is a kind or {{until, max}}, got {spec!r}")
        until = spec.get("until", "ticket")
        if until != "ticket" and until not in KINDS:
            raise PersonaError(f"{where}: auto until {until!r}: 'ticket' or one of {sorted(KINDS)}")
        auto = Auto(until, int(spec.get("max", 10)))
    for key in ("say", "press"):
        if key in raw and not (isinstance(raw[key], str) and raw[key].strip()):
            raise PersonaError(f"{where}: {key} needs a text")
    buttons = raw.get("expect_buttons")
    if buttons is not None and not isinstance(buttons, bool):
        buttons = _words(buttons, f"{where}.expect_buttons")
    gave = _words(raw.get("gave"), f"{where}.gave")
    if set(gave) - FACTS:
        raise PersonaError(f"{where}: gave {sorted(set(gave) - FACTS)}; known: {sorted(FACTS)}")
    turn = Turn(
        say=raw.get("say"),
        press=raw.get("press"),
        auto=auto,
        close_ticket=bool(raw.get("close_ticket")),
        expect_any=_words(raw.get("expect_any"), f"{where}.expect_any"),
        expect_all=_words(raw.get("expect_all"), f"{where}.expect_all"),
        expect_none=_words(raw.get("expect_none"), f"{where}.expect_none"),
        expect_buttons=buttons,
        question=bool(raw.get("question")),
        risk=bool(raw.get("risk")),
        gave=gave,
    )
    if turn.question and not turn.expect_any:
        raise PersonaError(f"{where}: a question turn lists what answers it (expect_any)")
    if (auto or turn.close_ticket) and (turn.expect_any or turn.expect_all or turn.question):
        raise PersonaError(f"{where}: expectations go on say/press turns")
    return turn


def _expect(raw: Any, where: str) -> Expect:
    raw = raw or {}
    if not isinstance(raw, dict) or set(raw) - EXPECT_KEYS:
        raise PersonaError(f"{where}: unknown keys {sorted(set(raw) - EXPECT_KEYS)}")
    slots: dict[str, tuple[str, ...]] = {}
    for name, value in (raw.get("slots") or {}).items():
        if name not in SLOT_FIELDS:
            raise PersonaError(f"{where}.slots: unknown slot {name!r}")
        values = value if isinstance(value, list) else [value]
        slots[name] = tuple(str(v) for v in values)
    no_slot = _words(raw.get("no_slot"), f"{where}.no_slot")
    if set(no_slot) - SLOT_FIELDS:
        raise PersonaError(f"{where}.no_slot: unknown slots {sorted(set(no_slot) - SLOT_FIELDS)}")
    return Expect(
        ticket=raw.get("ticket"),
        ticket_count=raw.get("ticket_count"),
        slots=slots,
        no_slot=no_slot,
        questions_noted=raw.get("questions_noted"),
        phone=str(raw["phone"]) if raw.get("phone") else None,
        availability=_words(raw.get("availability"), f"{where}.availability"),
        opted_out=raw.get("opted_out"),
        writer=raw.get("writer"),
        minor=raw.get("minor"),
        urgent=raw.get("urgent"),
        campaign=raw.get("campaign"),
        followed=raw.get("followed"),
    )


def _campaign(raw: Any, where: str) -> str | None:
    if raw is None:
        return None
    if raw not in CAMPAIGN_CHANNELS:
        raise PersonaError(f"{where}.campaign: one of {sorted(CAMPAIGN_CHANNELS)}")
    return str(raw)


def persona_from(raw: Any, where: str) -> Persona:
    if not isinstance(raw, dict):
        raise PersonaError(f"{where}: a persona is a mapping")
    unknown = set(raw) - PERSONA_KEYS
    if unknown:
        raise PersonaError(f"{where}: unknown keys {sorted(unknown)}")
    for key in ("id", "who", "goal"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise PersonaError(f"{where}: `{key}` is required")
    where = f"{where} ({raw['id']})"
    turns = raw.get("turns")
    if not isinstance(turns, list) or not turns:
        raise PersonaError(f"{where}: turns are required")
    answers = {}
    for kind, value in (raw.get("answers") or {}).items():
        if kind not in KINDS:
            raise PersonaError(f"{where}.answers: unknown question kind {kind!r}")
        answers[kind] = Reply.of(value, f"{where}.answers.{kind}")
    consent = raw.get("consent", "OK pour moi")
    age_start = raw.get("age_start", AGE_START)
    kept = raw.get("kept")
    if kept is not None and not isinstance(kept, bool):
        raise PersonaError(f"{where}.kept: true or false")
    return Persona(
        id=raw["id"],
        who=raw["who"],
        goal=raw["goal"],
        turns=tuple(_turn(t, f"{where}.turns[{i}]") for i, t in enumerate(turns)),
        expect=_expect(raw.get("expect"), f"{where}.expect"),
        consent=consent,
        age_start=None if age_start is None else Reply.of(age_start, f"{where}.age_start"),
        kept=kept,
        answers=answers,
        always_none=_words(raw.get("always_none"), f"{where}.always_none"),
        known_gap=_gap(raw.get("known_gap"), where),
        model_gap=_gap(raw.get("model_gap"), where, "model_gap"),
        campaign=_campaign(raw.get("campaign"), where),
    )


def _gap(raw: Any, where: str, key: str = "known_gap") -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str) or not raw.strip():
        raise PersonaError(f"{where}.{key}: a sentence saying what is missing")
    return raw.strip()


def load_personas(files: list[Path] | None = None) -> list[Persona]:
    personas: list[Persona] = []
    for path in files if files is not None else PERSONA_FILES:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        if not isinstance(data, list):
            raise PersonaError(f"{path.name}: a list of personas")
        personas += [persona_from(raw, f"{path.name}[{i}]") for i, raw in enumerate(data)]
    ids = [p.id for p in personas]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise PersonaError(f"duplicate persona ids: {duplicates}")
    return personas
