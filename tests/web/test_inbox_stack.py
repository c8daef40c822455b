"""Misunderstood inbox end to end: a message typed on (fake) Telegram that the real engine
does not understand becomes an NLU turn, shows up in the managers' inbox, is annotated
through the dashboard (login + CSRF over real HTTP) and exported as training data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from core.models import NluTurn, Role
from studio.annotations import export_annotations, read_examples
from studio.insights import OUT_OF_SCOPE
from tests.support import ROOT
from tests.support.chat import Chat
from tests.support.dashboard import PASSWORD, DashboardClient
from tests.support.html import parse_page
from tests.support.telegram import pseudo, start

pytestmark = pytest.mark.engine

# Nonsense no intent of the training data is close to: each should end in fallback or low
# confidence; the test needs at least one of them to.
# (spaCy takes some nonsense for a person's name, which the export would mask: not these.)
NONSENSE = ("xqzw plok vrumfi", "qsdf ghjk wxcv", "wxcv poiu mlkj")


def test_a_message_the_bot_does_not_understand_is_annotated_and_exported(
    stack: Any, tmp_path: Path
) -> None:
    services = stack.services
    chat = Chat(stack)
    start(stack, chat.user)
    chat.press("OK pour moi")  # consent: the texts are kept
    for text in NONSENSE:
        assert chat.say(text)  # the bot answered (the turn is recorded before it answers)
    person = services.people.get(pseudo(stack, chat.user))
    with services.db.transaction() as session:
        turns = list(
            session.scalars(
                select(NluTurn).where(NluTurn.person_id == person.id).order_by(NluTurn.id)
            )
        )
    # one turn per typed message; /start and the consent button are not language
    assert [t.text for t in turns] == list(NONSENSE)
    assert all(t.intent and t.confidence is not None and t.model for t in turns), [
        (t.intent, t.confidence, t.model) for t in turns
    ]
    inbox = [t for t in services.insights.misunderstood() if t.text in NONSENSE]
    assert inbox, [(t.text, t.intent, t.confidence) for t in turns]
    target = inbox[0]

    manager = services.accounts.add(
        "responsable.inbox@example.org", "Nadia", PASSWORD, role=Role.manager
    )
    client = DashboardClient.connect(stack.app.url)
    try:
        assert client.login(manager.email, PASSWORD).status_code == 200
        page = client.get("/tableau/incompris")
        assert page.status_code == 200
        rows = {row.get("data-turn"): row for row in parse_page(page.text).all("turn")}
        assert rows[str(target.id)].one("turn-text").one("said").text == target.text
        done = client.post(
            "/tableau/incompris/annoter",
            groupe=OUT_OF_SCOPE,
            tour=str(target.id),
        )
        assert client.flashes(done)[0].startswith("1 message annoté."), done.text
        assert f'data-turn="{target.id}"' not in done.text
    finally:
        client.http.close()

    out = tmp_path / "annotations.yml"
    report = export_annotations(services.insights, ROOT, out)  # names masked by spaCy
    assert report.written == 1 and report.skipped == 0
    assert read_examples(out) == {OUT_OF_SCOPE: [target.text]}
    assert target.id not in {a.id for a in services.insights.export_selection()}
