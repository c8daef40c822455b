"""One test per persona (tests/personas/personas.yml), played end to end on the real engine.

A failure lists the rules the conversation broke and its transcript. Run them:
    .venv/bin/pytest tests/personas -q --no-header -p no:cacheprovider
one of them: add `-k <persona id>`. The scorecard is printed at the end and written to
var/personas-scorecard.txt.
"""

from __future__ import annotations

from concurrent.futures import Future

import pytest

from tests.personas.rules import Verdict
from tests.personas.spec import Persona, load_personas

pytestmark = pytest.mark.engine
PERSONAS = load_personas()


@pytest.mark.parametrize("persona", PERSONAS, ids=[p.id for p in PERSONAS])
def test_persona(persona: Persona, persona_runs: dict[str, Future[Verdict]]) -> None:
    verdict = persona_runs[persona.id].result()
    if persona.known_gap is not None:
        if verdict.passed:
            pytest.fail(f"known gap now passes, remove `known_gap` from {persona.id}")
        pytest.xfail(f"known gap: {persona.known_gap}")
    if persona.model_gap is not None and not verdict.passed:
        pytest.xfail(f"gap with this trained model: {persona.model_gap}")
    if not verdict.passed:
        pytest.fail(verdict.report(), pytrace=False)
