"""Plays the selected personas (a few at a time, each its own Telegram user) on the session's
stack, and prints the scorecard at the end of the run (also in var/personas-scorecard.txt).

PERSONAS_WORKERS (default 4) personas play at once: the app serves chats concurrently
(bot/ordering.py) and most of a turn is waiting, so this divides the suite's time without
changing what one persona sees. PERSONAS_QUIET (default 0.6 s) is how long a reply must stay
quiet to be taken as whole.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.personas.harness import play
from tests.personas.rules import Verdict, judge
from tests.personas.scorecard import scorecard, write_scorecard, write_transcripts
from tests.personas.spec import Persona
from tests.support import ROOT

VERDICTS = pytest.StashKey[dict[str, Verdict]]()
ENGINE_LOG = ROOT / "var" / "personas-engine.log"


def _selected(session: pytest.Session) -> list[Persona]:
    personas = []
    for item in session.items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if isinstance(params.get("persona"), Persona):
            personas.append(params["persona"])
    return personas


@pytest.fixture(scope="session")
def persona_runs(
    stack: Any, request: pytest.FixtureRequest
) -> Iterator[dict[str, Future[Verdict]]]:
    """persona id -> its verdict (a future: the personas play in the background, in order)."""
    verdicts = request.config.stash.setdefault(VERDICTS, {})

    def job(persona: Persona) -> Verdict:
        verdict = judge(play(stack, persona))
        verdicts[persona.id] = verdict
        return verdict

    workers = max(1, int(os.environ.get("PERSONAS_WORKERS", "4")))
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="persona")
    try:
        yield {p.id: pool.submit(job, p) for p in _selected(request.session)}
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        # The engine's log (action errors, unknown slots) to read next to the transcripts.
        log = getattr(stack.engine, "log_path", None)
        if log is not None and Path(log).exists():
            shutil.copyfile(log, ENGINE_LOG)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    verdicts = config.stash.get(VERDICTS, None)
    if not verdicts:
        return
    text = scorecard(list(verdicts.values()))
    path = write_scorecard(text)
    transcripts = write_transcripts(list(verdicts.values()))
    terminalreporter.write_sep("=", "personas scorecard")
    terminalreporter.write_line(text)
    terminalreporter.write_line(f"(also in {path}; every transcript in {transcripts})")
