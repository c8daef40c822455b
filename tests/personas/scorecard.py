"""The scorecard: personas passed, and each rule's passed/applicable count."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from tests.personas.rules import RULES, Verdict
from tests.support import ROOT

SCORECARD_PATH = ROOT / "var" / "personas-scorecard.txt"
TRANSCRIPTS_PATH = ROOT / "var" / "personas-transcripts.txt"


def scorecard(verdicts: list[Verdict]) -> str:
    if not verdicts:
        return "personas: none was played"
    passed = sum(v.passed for v in verdicts)
    seconds = max((v.run.seconds for v in verdicts), default=0.0)
    lines = [
        f"Personas scorecard — {datetime.now():%Y-%m-%d %H:%M}",
        f"personas passed: {passed}/{len(verdicts)}",
        "",
        f"{'rule':<22} passed/total",
    ]
    for rule in RULES:
        applicable = [v for v in verdicts if v.results.get(rule) is not None]
        ok = sum(not v.results[rule] for v in applicable)
        lines.append(f"{rule:<22} {ok}/{len(applicable)}")
    errors = [v for v in verdicts if v.run.error]
    if errors:
        lines.append(f"{'harness errors':<22} {len(errors)} (bugs of the test)")
    lines += ["", "per persona:"]
    width = max(len(v.run.persona.id) for v in verdicts)
    for v in sorted(verdicts, key=lambda v: (v.passed, v.run.persona.id)):
        status = "PASS" if v.passed else "FAIL"
        broken = ", ".join(v.broken + (["harness error"] if v.run.error else []))
        lines.append(f"  {status}  {v.run.persona.id:<{width}}  {broken}".rstrip())
    lines.append(f"\nslowest persona: {seconds:.0f} s")
    return "\n".join(lines)


def write_scorecard(text: str, path: Path = SCORECARD_PATH) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n", encoding="utf-8")
    return path


def write_transcripts(verdicts: list[Verdict], path: Path = TRANSCRIPTS_PATH) -> Path:
    """Every persona's report, passed ones included (to read what the bot said)."""
    reports = [v.report() for v in sorted(verdicts, key=lambda v: v.run.persona.id)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(("\n\n" + "=" * 80 + "\n").join(reports) + "\n", encoding="utf-8")
    return path
