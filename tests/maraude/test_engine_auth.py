"""The real engine started as `maraude up` starts it (maraude/engine_process.py): its HTTP
API answers only with the app's `--auth-token`, and its action calls reach the app's
loopback action server with the action-endpoint token (endpoints.yml)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.telegram import new_user

pytestmark = pytest.mark.engine


def test_the_engine_http_api_needs_the_token(stack: Any) -> None:
    url, token = stack.engine.url, stack.settings.engine_auth_token
    wrong = {"token": "w" * len(token)}
    for method, path, body in (
        ("GET", "/status", None),
        ("GET", "/conversations/someone/tracker", None),
        ("POST", "/conversations/someone/trigger_intent", {"name": "greet"}),
        ("POST", "/conversations/someone/tracker/events", {"event": "restart"}),
        ("PUT", "/model", {"model_file": "models/nope.tar.gz"}),
        ("DELETE", "/model", None),
        ("POST", "/model/parse", {"text": "salut"}),
    ):
        for params in ({}, wrong):
            response = httpx.request(method, f"{url}{path}", params=params, json=body, timeout=10)
            assert response.status_code == 401, (method, path, response.text)
    assert stack.settings.action_token != token  # the action token opens nothing here
    other = {"token": stack.settings.action_token}
    assert httpx.get(f"{url}/status", params=other, timeout=10).status_code == 401
    served = httpx.get(f"{url}/status", params={"token": token}, timeout=10)
    assert served.status_code == 200 and served.json()["model_file"]


def test_the_engine_calls_the_actions_with_its_token(stack: Any) -> None:
    """/start: the welcome (action_welcome, naming the structure) comes from the app's
    action server, which the engine reached on the loopback action port with its token."""
    user, name = new_user(), stack.settings.organisation.name
    stack.telegram.push_message(user, "/start")
    stack.telegram.wait_until(
        lambda: any(name in m["text"] for m in stack.telegram.sent_messages(user)),
        timeout=60,
        what="the welcome naming the structure",
    )
    assert stack.settings.action_url.startswith("http://127.0.0.1:")
    assert f":{stack.settings.server.port}/" not in stack.settings.action_url
