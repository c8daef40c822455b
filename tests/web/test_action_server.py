"""The action server (web/action_server.py): its own loopback port, the engine's token, and
the refusals of forged or hostile calls, all over real HTTP against the running app."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from core.models import Channel, ConsentStatus
from core.settings import Settings, SettingsError
from core.text import storable_json
from maraude.action_port import ActionPortError
from maraude.app import create_app
from tests.support import AppServer, free_port, make_settings
from web.action_server import MAX_BODY, nesting_depth

JSON = {"content-type": "application/json"}


@dataclass
class Running:
    settings: Settings
    server: AppServer

    @property
    def public(self) -> str:
        return self.server.url

    @property
    def actions(self) -> str:
        return f"http://127.0.0.1:{self.settings.engine.action_port}"

    @property
    def token(self) -> dict[str, str]:
        return {"token": self.settings.action_token}

    def person(self, user: str) -> str:
        return str(self.server.services.people.identify(Channel.telegram, user).pseudo_id)

    def consent(self, pseudo_id: str) -> ConsentStatus | None:
        person = self.server.services.people.get(pseudo_id)
        return None if person is None else person.consent


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    folder = tmp_path_factory.mktemp("action_server")
    # Nothing listens on the engine's port: these calls are the engine's, forged or not.
    settings = make_settings(folder, rasa_url=f"http://127.0.0.1:{free_port()}")
    with AppServer(settings) as server:
        yield Running(settings, server)


def action_call(
    action: str, sender: str, intent: str = "consent_accept", **tracker: Any
) -> dict[str, Any]:
    """A call as Rasa 3.6 makes it (`next_action`, `tracker`, `domain`)."""
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
            **tracker,
        },
    }


def test_the_public_port_serves_no_action(app: Running) -> None:
    sender = app.person("70001")
    forged = action_call("action_record_consent", sender)
    for params in ({}, app.token):
        assert httpx.post(f"{app.public}/webhook", json=forged, params=params).status_code == 404
    # The cross-origin "simple request" a web page can send without a preflight.
    plain = httpx.post(
        f"{app.public}/webhook",
        content=json.dumps(forged),
        headers={"content-type": "text/plain", "origin": "https://evil.example"},
    )
    assert plain.status_code == 404
    assert httpx.get(f"{app.public}/actions").status_code == 404
    assert app.consent(sender) is ConsentStatus.unknown


def test_a_call_without_the_token_runs_nothing(app: Running) -> None:
    sender = app.person("70002")
    forged = action_call("action_record_consent", sender)
    url = f"{app.actions}/webhook"
    assert httpx.post(url, json=forged).status_code == 401
    assert httpx.post(url, json=forged, params={"token": ""}).status_code == 401
    wrong = "x" * len(app.settings.action_token)  # same length: only the value differs
    assert httpx.post(url, json=forged, params={"token": wrong}).status_code == 403
    # The engine's HTTP API token is another secret: it does not open the action server.
    other = {"token": app.settings.engine_auth_token}
    assert httpx.post(url, json=forged, params=other).status_code == 403
    assert (
        app.consent(sender) is ConsentStatus.unknown
    )  # no consent recorded for someone who never answered
    refused = action_call("action_record_consent", sender, intent="consent_refuse")
    assert httpx.post(url, json=refused).status_code == 401
    assert httpx.get(f"{app.actions}/actions").status_code == 401
    assert httpx.get(f"{app.actions}/actions", params={"token": wrong}).status_code == 403


def test_the_engines_call_with_the_token_runs_the_action(app: Running) -> None:
    sender = app.person("70003")
    call = action_call("action_record_consent", sender)
    response = httpx.post(f"{app.actions}/webhook", json=call, params=app.token)
    assert response.status_code == 200, response.text
    assert response.json()["events"][0]["name"] == "consent"
    assert app.consent(sender) is ConsentStatus.granted
    listed = httpx.get(f"{app.actions}/actions", params=app.token)
    assert {"name": "action_record_consent"} in listed.json()


def _post(app: Running, body: bytes | Any, headers: dict[str, str] | None = None) -> int:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = httpx.post(
        f"{app.actions}/webhook", content=content, headers=headers or JSON, params=app.token
    )
    return response.status_code


def test_only_json_bodies(app: Running) -> None:
    call = action_call("action_record_consent", app.person("70004"))
    assert _post(app, call, {"content-type": "text/plain"}) == 415
    assert _post(app, call, {"content-type": "application/x-www-form-urlencoded"}) == 415
    assert _post(app, call, {"content-type": "application/json; charset=utf-8"}) == 200
    assert _post(app, b"{not json") == 400
    assert _post(app, b'"\xff\xfe"') == 400  # not UTF-8
    assert _post(app, [1, 2]) == 400
    assert _post(app, {"next_action": "action_welcome"}) == 400  # no tracker
    for part, forged in (("slots", "x"), ("latest_message", []), ("events", {})):
        assert _post(app, action_call("action_record_consent", "y", **{part: forged})) == 400
    assert _post(app, {**call, "next_action": ["action_welcome"]}) == 400
    refused = httpx.post(f"{app.actions}/webhook", json=[1], params=app.token)
    assert refused.json() == {
        "error": "Invalid body request",
        "action_name": None,
    }  # as Rasa reads it


def test_oversized_bodies_are_refused(app: Running) -> None:
    padding = "a" * MAX_BODY
    big = action_call("action_record_consent", app.person("70005"), padding=padding)
    assert _post(app, big) == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        for _ in range(MAX_BODY // 65536 + 2):
            yield b" " * 65536

    response = httpx.post(
        f"{app.actions}/webhook", content=chunks(), headers=JSON, params=app.token
    )
    assert response.status_code == 413


def test_deep_nesting_is_refused_before_parsing(app: Running) -> None:
    assert _post(app, b"[" * 5000 + b"]" * 5000) == 400
    assert _post(app, b"{" * 5000) == 400  # unbalanced as well
    sender = app.person("70006")
    deep: Any = "x"
    for _ in range(100):
        deep = [deep]
    assert _post(app, action_call("action_record_consent", sender, slots={"needs": deep})) == 400
    # Brackets inside strings are text, not nesting.
    text = {"text": "[[[[{{{{" * 1000, "intent": {"name": "consent_accept"}, "entities": []}
    assert _post(app, action_call("action_record_consent", sender, latest_message=text)) == 200


def test_over_long_slots_are_refused(app: Running) -> None:
    sender = app.person("70007")
    call = "action_triage_summary"
    for slots, why in (
        ({"location": "R" * 81}, "longer than the ticket's column"),
        ({"age": "1" * 17}, "longer than the ticket's column"),
        ({"situation": "s" * 5000}, "longer than the ticket's column"),
        ({"questions": ["q" * 2001]}, "any slot: 2000 characters"),
        ({"needs": ["need_job"] * 101}, "too many items"),
    ):
        assert _post(app, action_call(call, sender, slots=slots)) == 422, why
    long_sender = action_call(call, "p" * 200)
    long_sender["tracker"]["sender_id"] = "p" * 200
    assert _post(app, long_sender) == 422
    assert list(app.server.services.tickets.tickets_of(sender)) == []


def test_a_lone_surrogate_is_replaced_not_a_500(app: Running) -> None:
    sender = app.person("70008")
    call = action_call("action_record_consent", sender)
    call["tracker"]["latest_message"]["text"] = "salut \ud800 toi"
    call["tracker"]["slots"]["location"] = "Lens\udfff"
    body = json.dumps(call).encode()  # ensure_ascii: the surrogates travel as \ud800
    assert b"\\ud800" in body
    assert _post(app, body) == 200
    assert storable_json({"a": ["x\ud800y", {"\udc00": "z\x00"}]}) == {"a": ["x?y", {"?": "z"}]}


def test_nesting_depth_reads_structure_not_strings() -> None:
    assert nesting_depth('{"a": [1, {"b": "[[[["}]}') == 3
    assert nesting_depth(r'["\"[[", []]') == 2
    assert nesting_depth("[" * 5000) == 5000


def test_the_action_server_is_loopback_only(tmp_path: Path) -> None:
    for host in ("0.0.0.0", "192.168.1.10", "::", "example.org"):
        with pytest.raises(SettingsError, match="action_host"):
            make_settings(tmp_path / host.replace(":", "_"), engine={"action_host": host})
    for host in ("127.0.0.1", "::1", "localhost"):
        make_settings(tmp_path / host.replace(":", "_"), engine={"action_host": host})


def test_tokens_are_derived_from_the_secret_or_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(tmp_path / "a")
    again = make_settings(tmp_path / "b")
    assert settings.action_token == again.action_token  # stable: same secret key
    assert settings.engine_auth_token == again.engine_auth_token
    assert settings.action_token != settings.engine_auth_token
    assert settings.secret_key not in (settings.action_token, settings.engine_auth_token)
    other = make_settings(tmp_path / "c", maraude_secret_key="z" * 40)
    assert other.action_token != settings.action_token
    chosen = "T" * 40
    monkeypatch.setenv("ENGINE__AUTH_TOKEN", chosen)
    assert make_settings(tmp_path / "d").engine_auth_token == chosen
    monkeypatch.setenv("ENGINE__ACTION_TOKEN", "short")
    with pytest.raises(SettingsError, match="action_token"):
        make_settings(tmp_path / "e")


def test_a_lone_surrogate_in_the_simulator_is_a_422_not_a_500(app: Running) -> None:
    with httpx.Client(base_url=app.public) as browser:
        assert browser.get("/simulateur").status_code == 200
        for body in (
            b'{"text": "salut \\ud800 toi"}',
            b'{"payload": "/greet", "title": "\\udfff"}',
        ):
            response = browser.post("/simulateur/api/messages", content=body, headers=JSON)
            assert response.status_code == 422, response.text
            assert "\\ud800" not in response.text


def test_a_taken_action_port_stops_the_app_and_says_so(tmp_path: Path) -> None:
    with socket.socket() as taken:  # another program's port (no SO_REUSEPORT)
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = make_settings(
            tmp_path, rasa_url=f"http://127.0.0.1:{free_port()}", engine={"action_port": port}
        )
        with pytest.raises(ActionPortError, match=f"127.0.0.1:{port}.*engine.action_port"):
            with TestClient(create_app(settings)):
                pass
