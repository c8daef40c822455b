"""The scorecard's rules, checked on every persona run, plus the persona's own expectations.

Each rule returns the list of problems it found ([] = passed) or None when it does not apply
to the persona (e.g. `handoff` for a persona that expects nothing about a ticket).

- answered: every turn with expect_any got one of its keywords; a `question: true` turn was
  answered, or honestly noted (anchors "@noted") and then found on the ticket's questions.
- no_junk: no sentence stored as a triage answer, neither in the engine's slots (after every
  turn) nor in the database's hand-off requests (see `junk`).
- no_repeat: the same triage question is never asked with the identical text in two answers
  in a row, and a fact the persona gave (`gave:`) is never asked for afterwards.
- handoff: a ticket exists when the persona expects one (`expect.ticket: true`), none when it
  expects none.
- no_112: "112" only in a conversation where the persona said something risky (`risk: true`).
- one_misunderstanding: never two "pas compris"-type answers in a row.
- persona: the persona's own expectations (expect_all, expect_none, always_none,
  expect_buttons, buttons it pressed were offered, an answer came, the end state).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core.vocabulary import AGE_BANDS, AGE_MAX, AGE_MIN
from tests.personas.anchors import (
    ASK,
    DEPARTEMENT_CONTEXT,
    EMERGENCY,
    FIELD_HINTS,
    GROUPS,
    MAX_FIELD_WORDS,
    MAX_TOWN_WORDS,
    NON_ANSWERS,
    SKIP_MARKERS,
    VERBISH,
)
from tests.personas.harness import NEVER_ASKED, Run, Step
from tests.personas.matching import asked, digits_of_phone, fold, found, keyword_in

RULES = (
    "answered",
    "no_junk",
    "no_repeat",
    "handoff",
    "no_112",
    "one_misunderstanding",
    "persona",
)
Problems = list[str] | None


def _said(step: Step) -> str:
    return f"#{step.seq} «{step.said}»"


# answered ------------------------------------------------------------------------------------
def answered(run: Run) -> Problems:
    steps = [s for s in run.steps if s.turn and (s.turn.expect_any or s.turn.question)]
    if not steps:
        return None
    noted_words = set(GROUPS["noted"])
    problems = []
    for step in steps:
        assert step.turn is not None
        hits = [h for h in found(step.turn.expect_any, step.replies) if h not in noted_words]
        if hits:
            continue
        noted = step.turn.question and found(["@noted"], step.replies)
        if not noted:
            wanted = ", ".join(step.turn.expect_any)
            problems.append(f"{_said(step)}: the answer has none of {wanted}")
        elif run.persona.expect.ticket and not _on_ticket(run, step.said):
            problems.append(f"{_said(step)}: noted, but not in the ticket's questions")
    return problems


def _on_ticket(run: Run, question: str) -> bool:
    words = {w for w in re.findall(r"\w{5,}", fold(question))}
    for request in run.requests:
        for kept in request.get("questions") or []:
            if words & set(re.findall(r"\w{5,}", fold(str(kept)))):
                return True
    return False


# no_junk -------------------------------------------------------------------------------------
def junk(name: str, value: Any, lines: list[str]) -> str | None:
    """Why `value` is not an acceptable stored answer for the slot `name`, or None."""
    if value in (None, "", []):
        return None
    if name == "needs":
        items = value if isinstance(value, list) else [value]
        bad = [i for i in items if "?" in str(i) or len(str(i).split()) > MAX_TOWN_WORDS]
        return f"needs holds a sentence: {bad}" if bad else None
    text = str(value).strip()
    folded = fold(text)
    if folded in SKIP_MARKERS:
        return None
    if name == "age":
        if text.isdigit() and AGE_MIN <= int(text) <= AGE_MAX:
            return None
        if text in AGE_BANDS.values():  # a band pressed before consent
            return None
        return f"age = {text!r} (digits within {AGE_MIN}-{AGE_MAX} or an age band expected)"
    if name == "location":
        return _junk_location(text, lines)
    if name == "phone":
        digits = digits_of_phone(text) or ""
        ok = len(digits) == 10 and digits.startswith("0") and digits[1] != "0"
        return None if ok else f"phone = {text!r} (not a French number)"
    if "?" in text:
        return f"{name} = {text!r} (a question)"
    if len(text.split()) > MAX_FIELD_WORDS:
        return f"{name} = {text!r} (a whole sentence)"
    hint = FIELD_HINTS.get(name)
    copied = [line for line in lines if _same_sentence(folded, fold(line))]
    if hint and copied and not any(re.search(hint, fold(line)) for line in copied):
        return f"{name} = {text!r} (copied from an unrelated message)"
    return None


def _same_sentence(value: str, line: str) -> bool:
    value, line = value.rstrip("…. "), line.rstrip("…. ")
    return len(value) >= 6 and (value == line or (len(value) >= 20 and line.startswith(value)))


def _junk_location(text: str, lines: list[str]) -> str | None:
    base = re.sub(r"\s*\([^)]*\)\s*", " ", text).strip()  # "Roubaix (59100)" -> "Roubaix"
    folded = fold(base)
    if re.fullmatch(r"\d{5}", folded) or folded in ("2a", "2b"):
        return None
    if re.fullmatch(r"\d{1,3}", folded):
        context = DEPARTEMENT_CONTEXT.format(code=re.escape(folded))
        if any(re.search(context, fold(line)) for line in lines):
            return None  # "dans le 59": a département, said as one
        return f"location = {text!r} (a bare number is not a place)"
    words = re.findall(r"[\w'-]+", folded.replace("'", " "))
    if not words:
        return f"location = {text!r}"
    if len(folded.split()) > MAX_TOWN_WORDS:
        return f"location = {text!r} (a sentence, not a town)"
    verbs = [w for w in words if w in VERBISH]
    if verbs:
        return f"location = {text!r} (contains {verbs})"
    if folded in NON_ANSWERS or all(w in NON_ANSWERS for w in words):
        return f"location = {text!r} (not a place)"
    if any(w.isdigit() and len(w) < 5 for w in words):
        return f"location = {text!r} (a number in a town name)"
    return None


def no_junk(run: Run) -> Problems:
    lines = [s.said for s in run.steps if s.typed]
    problems: dict[str, str] = {}
    for step in run.steps:
        for name, value in step.slots.items():
            if (why := junk(name, value, lines)) and why not in problems:
                problems[why] = f"engine slot after {_said(step)}: {why}"
    for request in run.requests:
        for name in ("needs", "age", "location", "situation", "followed", "contact"):
            if (why := junk(name, request.get(name), lines)) and why not in problems:
                problems[why] = f"database, request {request.get('id')}: {why}"
        for name in ("availability", "phone"):
            if (why := junk(name, request.get(name), lines)) and why not in problems:
                problems[why] = f"database, request {request.get('id')}: {why}"
    return list(problems.values())


# no_repeat -----------------------------------------------------------------------------------
def _questions(step: Step) -> dict[str, set[str]]:
    """kind -> the texts of the messages asking it, in this step's answer."""
    asks: dict[str, set[str]] = {}
    for message in step.replies:
        for kind in ASK:
            if asked(kind, message):
                asks.setdefault(kind, set()).add(message.text.strip())
    return asks


def no_repeat(run: Run) -> Problems:
    problems = []
    previous: dict[str, set[str]] = {}
    given: dict[str, Step] = {}
    for step in run.steps:
        current = _questions(step)
        for kind, texts in current.items():
            for text in texts & previous.get(kind, set()):
                problems.append(f"{_said(step)}: «{_short(text)}» asked again, word for word")
        previous = current if step.replies else previous
        for fact in step.gave:
            given.setdefault(fact, step)
        for fact, giver in given.items():
            for text in current.get(fact, ()):
                problems.append(
                    f"{_said(step)}: asks for {fact} («{_short(text)}»), given at {_said(giver)}"
                )
    return problems


def _short(text: str, width: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width] + "…"


# handoff -------------------------------------------------------------------------------------
def handoff(run: Run) -> Problems:
    expected = run.persona.expect.ticket
    if expected is None:
        return None
    if expected and not run.tickets:
        return ["no ticket in the database, the persona asked for a human / accepted"]
    if not expected and run.tickets:
        return [f"tickets {[t['id'] for t in run.tickets]} exist, the persona did not ask"]
    return []


# no_112 --------------------------------------------------------------------------------------
def no_112(run: Run) -> Problems:
    if run.persona.risk:
        return []
    return [
        f"{_said(step)}: «{_short(text)}»"
        for step in run.steps
        for text in step.texts
        if keyword_in(EMERGENCY, text)
    ]


# one_misunderstanding ------------------------------------------------------------------------
def one_misunderstanding(run: Run) -> Problems:
    problems = []
    before: Step | None = None
    for step in run.steps:
        if not step.replies:
            continue
        missed = bool(found(["@not_understood"], step.replies))
        if missed and before is not None:
            problems.append(f"{_said(before)} then {_said(step)}: not understood twice in a row")
        before = step if missed else None
    return problems


# the persona's own expectations --------------------------------------------------------------
def persona(run: Run) -> Problems:
    problems = []
    always = run.persona.always_none
    for step in run.steps:
        turn = step.turn
        if always and step.index >= 0 and (hits := found(always, step.replies)):
            problems.append(f"{_said(step)}: says {hits}")
        for note in step.notes:
            if note.startswith("auto:"):
                continue  # how the auto answers ended: the other rules say what it cost
            if turn is not None or "no answer" in note or note.startswith(NEVER_ASKED):
                problems.append(f"{_said(step)}: {note}")
        if turn is None:
            continue
        missing = [w for w in turn.expect_all if not found([w], step.replies)]
        if missing:
            problems.append(f"{_said(step)}: the answer lacks {missing}")
        if hits := found(turn.expect_none, step.replies):
            problems.append(f"{_said(step)}: the answer says {hits}")
        if turn.expect_buttons is True and not step.buttons:
            problems.append(f"{_said(step)}: no buttons offered")
        elif isinstance(turn.expect_buttons, tuple):
            offered = {fold(b) for b in step.buttons}
            lacking = [b for b in turn.expect_buttons if fold(b) not in offered]
            if lacking:
                problems.append(f"{_said(step)}: buttons {lacking} not offered ({step.buttons})")
    return problems + end_state(run)


def _latest(run: Run, name: str) -> tuple[Any, str]:
    """A triage answer as stored: on the latest hand-off request, else in the engine."""
    if run.requests:
        return run.requests[-1].get(name), "database"
    return run.final_slots.get(name), "engine"


def _matches(expected: str, actual: Any) -> bool:
    if actual in (None, "", []):
        return False
    text = ", ".join(map(str, actual)) if isinstance(actual, list) else str(actual)
    return re.search(rf"(?<!\w){re.escape(fold(expected))}(?!\w)", fold(text)) is not None


def end_state(run: Run) -> list[str]:
    expect, problems = run.persona.expect, []
    for name, alternatives in expect.slots.items():
        actual, where = _latest(run, name)
        if name == "phone":
            ok = any(digits_of_phone(a) == digits_of_phone(str(actual)) for a in alternatives)
        else:
            ok = any(_matches(a, actual) for a in alternatives)
        if not ok:
            problems.append(f"{name}: {actual!r} in the {where}, expected {list(alternatives)}")
    for name in expect.no_slot:
        values = [run.final_slots.get(name)] + [r.get(name) for r in run.requests]
        stored = [v for v in values if v not in (None, "", []) and fold(str(v)) not in SKIP_MARKERS]
        if stored:
            problems.append(f"{name}: {stored} stored, expected nothing")
    latest = run.requests[-1] if run.requests else {}
    if expect.questions_noted is not None:
        noted = bool(latest.get("questions"))
        if noted != expect.questions_noted:
            problems.append(f"questions on the request: {latest.get('questions')!r}")
    if expect.phone is not None:
        phones = [r.get("phone") for r in run.requests]
        if digits_of_phone(expect.phone) not in [digits_of_phone(p) for p in phones]:
            problems.append(f"phone: {phones} on the requests, expected {expect.phone}")
    if expect.availability:
        actual, where = _latest(run, "availability")
        if not any(keyword_in(k, str(actual or "")) for k in expect.availability):
            wanted = list(expect.availability)
            problems.append(f"availability: {actual!r} in the {where}, expected one of {wanted}")
    if expect.opted_out is not None and run.opted_out != expect.opted_out:
        problems.append(f"opted out: {run.opted_out}, expected {expect.opted_out}")
    if expect.writer is not None and latest.get("writer") != expect.writer:
        problems.append(f"writer: {latest.get('writer')!r}, expected {expect.writer!r}")
    if expect.minor is not None and bool(latest.get("minor")) != expect.minor:
        problems.append(f"minor on the request: {latest.get('minor')!r}, expected {expect.minor}")
    kept = run.persona.kept
    if kept is not None and (run.messages_kept > 0) != kept:
        problems.append(f"{run.messages_kept} messages kept, expected {'some' if kept else 'none'}")
    if expect.urgent is not None:
        urgent = any(t["urgency"] == "crisis" for t in run.tickets)
        if urgent != expect.urgent:
            problems.append(f"urgent ticket: {urgent}, expected {expect.urgent}")
    if expect.ticket_count is not None and len(run.tickets) != expect.ticket_count:
        problems.append(f"{len(run.tickets)} tickets, expected {expect.ticket_count}")
    if expect.campaign is not None:
        attributed = run.campaign_id is not None and run.first_campaign_id == run.campaign_id
        if attributed != expect.campaign:
            problems.append(
                f"first campaign {run.first_campaign_id}, opened {run.campaign_id}: "
                f"attributed {attributed}, expected {expect.campaign}"
            )
    if expect.followed is not None and run.followed != expect.followed:
        problems.append(f"followed on the person: {run.followed!r}, expected {expect.followed!r}")
    return problems


CHECKS: dict[str, Callable[[Run], Problems]] = {
    "answered": answered,
    "no_junk": no_junk,
    "no_repeat": no_repeat,
    "handoff": handoff,
    "no_112": no_112,
    "one_misunderstanding": one_misunderstanding,
    "persona": persona,
}


@dataclass
class Verdict:
    run: Run
    results: dict[str, Problems]

    @property
    def passed(self) -> bool:
        return self.run.error is None and all(not p for p in self.results.values())

    @property
    def broken(self) -> list[str]:
        return [rule for rule, problems in self.results.items() if problems]

    def report(self) -> str:
        persona = self.run.persona
        status = "passed" if self.passed else "FAILED"
        lines = [f"persona {persona.id} ({status}): {persona.who} — goal: {persona.goal}"]
        if self.run.error:
            lines.append("HARNESS ERROR (a bug of the test, not of the bot):")
            lines.append(self.run.error)
        for rule in self.broken:
            lines.append(f"✗ {rule}")
            lines += [f"    - {problem}" for problem in self.results[rule] or []]
        lines.append("transcript (#step > persona, < bot, ! harness):")
        lines.append(self.run.transcript())
        lines.append(f"database: tickets {self.run.tickets}, opted out {self.run.opted_out}")
        for request in self.run.requests:
            shown = {k: v for k, v in request.items() if k in SHOWN and v not in (None, [], "")}
            lines.append(f"  request {shown}")
        lines.append(f"engine slots at the end: {self.run.final_slots}")
        return "\n".join(lines)


SHOWN = (
    "id",
    "source",
    "urgency",
    "needs",
    "age",
    "location",
    "situation",
    "followed",
    "contact",
    "availability",
    "phone",
    "questions",
    "writer",
    "minor",
)


def judge(run: Run) -> Verdict:
    return Verdict(run, {rule: check(run) for rule, check in CHECKS.items()})
