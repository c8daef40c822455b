"""Custom actions with real rasa_sdk Tracker + CollectingDispatcher, and the action server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.privacy import ERASE_SIGNAL, ActionEraseData
from actions.welcome import ActionRecordConsent, ActionWelcome
from core import migrate
from core.db import Database
from core.models import Channel, ConsentStatus
from core.people import PeopleService
from core.settings import Settings
from maraude.app import create_app
from tests.support import make_settings

SECRET = "k" * 40


def tracker(sender: str, intent: str | None, text: str = "") -> Tracker:
    latest: dict[str, Any] = {"text": text, "entities": []}
    if intent:
        latest["intent"] = {"name": intent, "confidence": 0.98}
    return Tracker(
        sender_id=sender,
        slots={"consent": None},
        latest_message=latest,
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


@pytest.fixture
def people(sqlite_url: str) -> PeopleService:
    migrate.upgrade(sqlite_url)
    return PeopleService(Database.from_url(sqlite_url), SECRET)


async def test_erase_confirms_and_signals_the_app() -> None:
    dispatcher = CollectingDispatcher()
    assert await ActionEraseData().run(dispatcher, tracker("y2", "affirm"), {}) == []
    assert dispatcher.messages[0]["response"] == "utter_data_erased"
    assert dispatcher.messages[1]["custom"] == ERASE_SIGNAL


async def test_welcome_names_the_structure_and_asks_the_age_first() -> None:
    dispatcher = CollectingDispatcher()
    action = ActionWelcome("Mission Locale de Lens")
    events = await action.run(dispatcher, tracker("y1", "start", "/start"), {})
    assert events == [{"event": "slot", "timestamp": None, "name": "welcome_step", "value": "age"}]
    # the age before anything is kept (tests/actions/test_minors.py: what follows)
    assert [m["response"] for m in dispatcher.messages] == ["utter_welcome", "utter_ask_age_band"]
    assert dispatcher.messages[0]["structure"] == "Mission Locale de Lens"


@pytest.mark.parametrize(
    ("intent", "status", "responses"),
    [
        ("consent_accept", ConsentStatus.granted, ["utter_consent_granted", "utter_opening"]),
        ("consent_refuse", ConsentStatus.refused, ["utter_consent_refused"]),
        ("affirm", ConsentStatus.granted, ["utter_consent_granted", "utter_opening"]),
        ("deny", ConsentStatus.refused, ["utter_consent_refused"]),
    ],
)
async def test_record_consent_stores_the_decision(
    people: PeopleService, intent: str, status: ConsentStatus, responses: list[str]
) -> None:
    person = people.identify(Channel.telegram, "555")
    dispatcher = CollectingDispatcher()
    events = await ActionRecordConsent(people).run(
        dispatcher, tracker(person.pseudo_id, intent), {}
    )
    assert events == [
        {"event": "slot", "timestamp": None, "name": "consent", "value": status.value},
        {"event": "slot", "timestamp": None, "name": "welcome_step", "value": None},
    ]
    assert [m["response"] for m in dispatcher.messages] == responses
    assert people.get(person.pseudo_id).consent is status  # type: ignore[union-attr]
    assert [s for s, _ in people.consent_history(person.pseudo_id)] == [status]


async def test_record_consent_without_a_consent_answer_asks_again(people: PeopleService) -> None:
    person = people.identify(Channel.telegram, "556")
    dispatcher = CollectingDispatcher()
    events = await ActionRecordConsent(people).run(
        dispatcher, tracker(person.pseudo_id, "greet"), {}
    )
    assert events == []
    assert [m["response"] for m in dispatcher.messages] == ["utter_ask_consent"]
    assert people.consent_history(person.pseudo_id) == []


async def test_record_consent_for_a_sender_the_app_never_saw(people: PeopleService) -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionRecordConsent(people).run(
        dispatcher, tracker("rasa-shell-user", "consent_accept"), {}
    )
    assert events[0]["value"] == "granted"  # the conversation goes on; nothing to store


JSON = {"content-type": "application/json"}


def action_server(settings: Settings) -> httpx.Client:
    """A client of the app's action server (its loopback port), with the engine's token."""
    return httpx.Client(
        base_url=f"http://127.0.0.1:{settings.engine.action_port}",
        params={"token": settings.action_token},
    )


def action_call(action: str, sender: str, intent: str) -> dict[str, Any]:
    return {
        "next_action": action,
        "sender_id": sender,
        "version": "3.6.21",
        "domain": {"responses": {}, "slots": {"consent": {"type": "categorical"}}},
        "tracker": {
            "sender_id": sender,
            "slots": {"consent": None},
            "latest_message": {"text": "ok", "intent": {"name": intent}, "entities": []},
            "events": [],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        },
    }


def test_action_server_runs_actions_and_refuses_bad_calls(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    with TestClient(create_app(settings)) as app, action_server(settings) as client:
        services = app.app.state.services  # type: ignore[attr-defined]
        person = services.people.identify(Channel.telegram, "9001")

        ok = client.post(
            "/webhook",
            json=action_call("action_record_consent", person.pseudo_id, "consent_accept"),
        )
        assert ok.status_code == 200
        body = ok.json()
        assert body["events"][0]["name"] == "consent"
        assert [r["response"] for r in body["responses"]] == [
            "utter_consent_granted",
            "utter_opening",
        ]
        assert services.people.get(person.pseudo_id).consent is ConsentStatus.granted

        welcome = client.post(
            "/webhook", json=action_call("action_welcome", person.pseudo_id, "start")
        )
        assert welcome.json()["responses"][0]["structure"] == settings.organisation.name

        unknown = client.post(
            "/webhook", json=action_call("action_nope", person.pseudo_id, "greet")
        )
        assert unknown.status_code == 404
        assert client.post("/webhook", content=b"{not json", headers=JSON).status_code == 400
        assert client.post("/webhook", json=[1, 2]).status_code == 400
        malformed = client.post("/webhook", json={"next_action": "action_welcome"})
        assert malformed.status_code == 400
        assert {a["name"] for a in client.get("/actions").json()} == {
            "action_welcome",
            "action_record_age",
            "action_minor_callback",
            "action_record_consent",
            "action_erase_data",
            "action_opt_out",
            "action_checkin_answer",
            "validate_triage_form",
            "action_triage_summary",
            "action_correct",
            "action_explain_question",
            "action_fallback",
            "action_greet",
            "action_request_handoff",
            "action_crisis",
            "action_crisis_followup",
            "action_safety_check",
            "action_safety_answer",
            "action_offer_counsellor",
            "action_acknowledge",
            "action_out_of_scope",
            "action_where_to_go",
            "action_faq_nearest_site",
            *(
                f"action_ask_{slot}"
                for slot in (
                    "needs",
                    "age",
                    "location",
                    "situation",
                    "followed",
                    "contact",
                    "phone",
                    "availability",
                )
            ),
        }
