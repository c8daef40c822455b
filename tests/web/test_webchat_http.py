"""The web chat's HTTP side (web/webchat.py) with the real app and no engine (down: the app's
own crisis lexicon and /oubli still work): who may call, what is refused and how, what the
page's answers carry. The browser side is tests/web/test_webchat_browser.py."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from bot.pipeline import ERASE_ACCEPT
from core.models import Channel, WebChatState, WebOutboxItem
from core.people import pseudonymise
from handoff.accounts import CounsellorRef
from maraude.app import create_app
from tests.support import AppServer, free_port, make_settings

ALLOWED = "https://www.mission-locale.example"
FOREIGN = "https://evil.example"
T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def settings_for(folder: Path, **webchat: Any) -> Any:
    return make_settings(
        folder,
        rasa_url=f"http://127.0.0.1:{free_port()}",  # nothing listens: the engine is down
        webchat={"allowed_origins": [ALLOWED + "/"], **webchat},
    )


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(settings_for(tmp_path))) as client:
        yield client


def services(client: TestClient) -> Any:
    return client.app.state.services  # type: ignore[attr-defined]


def token(client: TestClient) -> str:
    response = client.post("/chat/api/session")
    assert response.status_code == 200, response.text
    value: str = response.json()["token"]
    return value


def say(client: TestClient, chat: str, text: str, status: int = 200) -> dict[str, Any]:
    response = client.post(
        "/chat/api/messages", json={"text": text}, headers={"X-Maraude-Chat": chat}
    )
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def person_id(client: TestClient, chat: str) -> int:
    ref = services(client).webchat.person(chat)
    assert ref is not None
    return int(ref.id)


# Pages ----------------------------------------------------------------------------------
def test_page_may_be_framed_only_by_the_allowed_sites(client: TestClient) -> None:
    response = client.get("/chat", params={"embed": 1})
    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    assert f"frame-ancestors 'self' {ALLOWED}" in policy  # normalised: no trailing slash
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "x-frame-options" not in response.headers  # frame-ancestors decides
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"
    # Other pages keep refusing every frame.
    assert client.get("/confidentialite").headers["x-frame-options"] == "DENY"


def test_a_campaign_code_that_no_link_could_carry_is_dropped(client: TestClient) -> None:
    page = client.get("/chat", params={"c": "<script>x</script>"}).text
    assert "<script>x" not in page and "&lt;script&gt;x" not in page
    assert client.get("/chat", params={"c": "x" * 65}).status_code == 422


def test_widget_script_carries_the_settings_and_may_load_anywhere(client: TestClient) -> None:
    response = client.get("/chat/widget.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["cross-origin-resource-policy"] == "cross-origin"
    assert (
        "http://127.0.0.1:8000" in response.text
        or services(client).settings.public_url in response.text
    )


def test_everything_is_404_when_the_chat_is_off(tmp_path: Path) -> None:
    with TestClient(create_app(settings_for(tmp_path, enabled=False))) as client:
        for method, path in [
            ("GET", "/chat"),
            ("GET", "/chat/widget.js"),
            ("POST", "/chat/api/session"),
            ("GET", "/chat/api/history"),
        ]:
            assert client.request(method, path).status_code == 404, path


# Origins ----------------------------------------------------------------------------------
def test_another_site_is_refused_and_an_allowed_one_gets_cors_headers(client: TestClient) -> None:
    refused = client.post("/chat/api/session", headers={"Origin": FOREIGN})
    assert refused.status_code == 403
    assert refused.json()["detail"] == "Ce site n'est pas autorisé à utiliser le chat."
    assert "access-control-allow-origin" not in refused.headers
    preflight = client.options(
        "/chat/api/messages",
        headers={"Origin": FOREIGN, "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 403
    allowed = client.options(
        "/chat/api/messages",
        headers={"Origin": ALLOWED, "Access-Control-Request-Method": "POST"},
    )
    assert allowed.status_code == 204
    assert allowed.headers["access-control-allow-origin"] == ALLOWED
    assert "X-Maraude-Chat" in allowed.headers["access-control-allow-headers"]
    ok = client.post("/chat/api/session", headers={"Origin": ALLOWED})
    assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == ALLOWED
    same = client.post("/chat/api/session", headers={"Origin": "http://testserver"})
    assert same.status_code == 200 and "access-control-allow-origin" not in same.headers


# Tokens -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "header",
    [None, "", "abc", "a" * 46, "é" * 46, "x" * 5000],
)
def test_a_missing_or_forged_token_gets_400_everywhere(
    client: TestClient, header: str | None
) -> None:
    headers = {} if header is None else {"X-Maraude-Chat": header}
    for method, path, body in [
        ("POST", "/chat/api/start", {}),
        ("POST", "/chat/api/messages", {"text": "salut"}),
        ("GET", "/chat/api/history", None),
        ("GET", "/chat/api/updates?after=0", None),
        ("GET", "/chat/api/stream", None),
        ("DELETE", "/chat/api/contact", None),
    ]:
        try:
            response = client.request(method, path, json=body, headers=headers)
        except (UnicodeEncodeError, httpx.LocalProtocolError):
            continue  # not even sendable as a header
        assert response.status_code == 400, (method, path, response.text)
        assert response.json()["detail"] == "Conversation introuvable : recharge la page."


def test_a_token_signed_by_another_app_is_refused(client: TestClient, tmp_path: Path) -> None:
    other = make_settings(tmp_path / "other", maraude_secret_key="an-other-secret-" + "x" * 32)
    with TestClient(create_app(other)) as stranger:
        foreign_token = token(stranger)
    response = client.post(
        "/chat/api/messages", json={"text": "salut"}, headers={"X-Maraude-Chat": foreign_token}
    )
    assert response.status_code == 400


def test_new_conversations_per_address_are_limited(client: TestClient) -> None:
    for _ in range(20):
        token(client)
    refused = client.post("/chat/api/session")
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "600"


# Messages ---------------------------------------------------------------------------------
def test_empty_and_oversized_messages_are_refused_long_ones_cut(client: TestClient) -> None:
    chat = token(client)
    assert say(client, chat, "   ", status=422)["detail"] == "Message vide."
    say(client, chat, "x" * 16_385, status=422)
    long = say(client, chat, "x" * 5000)
    assert any("très long" in reply["text"] for reply in long["replies"])


def test_a_crisis_gets_the_helplines_and_an_urgent_ticket_engine_down(client: TestClient) -> None:
    chat = token(client)
    body = say(client, chat, "jveu mourir ce soir")
    assert any("3114" in reply["text"] for reply in body["replies"])
    assert body["state"]["ticket"] is True
    tickets = services(client).tickets.tickets_of(services(client).webchat.person(chat).pseudo_id)
    assert tickets and tickets[0].is_open


def test_a_counsellors_answer_reaches_the_page_once(client: TestClient) -> None:
    chat = token(client)
    say(client, chat, "jveu mourir")  # an urgent ticket
    svc = services(client)
    ticket = svc.tickets.tickets_of(svc.webchat.person(chat).pseudo_id)[0]
    lina: CounsellorRef = svc.accounts.add(
        "lina@example.org", "Lina", "motdepasse-solide", team=ticket.team
    )
    run(svc.desk.claim(ticket.id, lina, via="web"))
    run(svc.desk.reply(ticket.id, lina, "Je suis là, tu es en sécurité ?", via="web"))
    headers = {"X-Maraude-Chat": chat}
    first = client.get("/chat/api/updates", params={"after": 0}, headers=headers).json()
    texts = [m["text"] for m in first["messages"]]
    assert any("Lina" in t and "Je suis là" in t for t in texts)
    again = client.get(
        "/chat/api/updates", params={"after": first["cursor"]}, headers=headers
    ).json()
    assert again["messages"] == [] and again["cursor"] == first["cursor"]
    with svc.db.transaction() as session:
        state = session.get(WebChatState, person_id(client, chat))
        assert state is not None and state.seen_id == first["cursor"]


def test_oubli_engine_down_forgets_and_the_token_names_nobody(client: TestClient) -> None:
    chat = token(client)
    say(client, chat, "jveu mourir")
    pid = person_id(client, chat)
    svc = services(client)
    ticket = svc.tickets.tickets_of(svc.webchat.person(chat).pseudo_id)[0]
    lina = svc.accounts.add("lina@example.org", "Lina", "motdepasse-solide", team=ticket.team)
    run(svc.desk.claim(ticket.id, lina, via="web"))  # an outbox item for the person
    asked = say(client, chat, "/oubli")
    buttons = asked["replies"][0]["buttons"]
    assert [b["payload"] for b in buttons][0] == ERASE_ACCEPT
    done = client.post(
        "/chat/api/messages",
        json={"payload": ERASE_ACCEPT, "title": buttons[0]["title"]},
        headers={"X-Maraude-Chat": chat},
    ).json()
    assert done["forgotten"] is True
    assert done["state"]["known"] is False
    with svc.db.transaction() as session:
        left = session.scalar(
            select(func.count(WebOutboxItem.id)).where(WebOutboxItem.person_id == pid)
        )
        assert left == 0 and session.get(WebChatState, pid) is None
    history = client.get("/chat/api/history", headers={"X-Maraude-Chat": chat}).json()
    assert history["messages"] == [] and history["state"]["known"] is False


def test_the_token_is_never_stored(client: TestClient) -> None:
    chat = token(client)
    say(client, chat, "salut")
    svc = services(client)
    ref = svc.webchat.person(chat)
    assert (
        ref.channel == Channel.web
        and ref.channel_user_id != chat
        and chat not in ref.channel_user_id
    )
    assert ref.pseudo_id == pseudonymise(
        svc.settings.secret_key, Channel.web, svc.webchat.user_key(chat)
    )


# Notification address ---------------------------------------------------------------------
def test_the_address_needs_notices_set_up(client: TestClient) -> None:
    chat = token(client)
    say(client, chat, "salut")
    response = client.post(
        "/chat/api/contact", json={"email": "a@b.fr"}, headers={"X-Maraude-Chat": chat}
    )
    assert response.status_code == 404


def test_the_address_is_checked_kept_forgotten_and_limited(tmp_path: Path) -> None:
    email = {"smtp_host": "127.0.0.1", "sender": "ML <ne-pas-repondre@ml.example>"}
    with TestClient(create_app(settings_for(tmp_path, email=email))) as client:
        chat = token(client)
        headers = {"X-Maraude-Chat": chat}
        assert (
            client.post("/chat/api/contact", json={"email": "a@b.fr"}, headers=headers).status_code
            == 400
        )
        say(client, chat, "salut")
        for bad in ["pas une adresse", "a@b", "<script>@x.fr", "a@b.fr\nBcc: c@d.fr"]:
            response = client.post("/chat/api/contact", json={"email": bad}, headers=headers)
            assert response.status_code == 422, bad
        kept = client.post("/chat/api/contact", json={"email": "jeune@example.fr"}, headers=headers)
        assert kept.status_code == 200 and kept.json()["state"]["email"] is True
        assert services(client).webchat_store.contact(person_id(client, chat)) == "jeune@example.fr"
        gone = client.delete("/chat/api/contact", headers=headers)
        assert gone.json()["state"]["email"] is False
        statuses = [
            client.post(
                "/chat/api/contact", json={"email": f"j{i}@example.fr"}, headers=headers
            ).status_code
            for i in range(5)
        ]
        assert statuses == [200, 200, 200, 200, 429]  # 5 per hour: the first address counted


# Live stream --------------------------------------------------------------------------------
def test_the_stream_sends_what_another_worker_stored(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, stream_seconds=10, stream_poll_seconds=0.1)
    with AppServer(settings) as app:
        with httpx.Client(base_url=app.url, timeout=10) as http:
            chat = http.post("/chat/api/session").json()["token"]
            headers = {"X-Maraude-Chat": chat}
            http.post("/chat/api/messages", json={"text": "salut"}, headers=headers)
            pid = app.services.webchat.person(chat).id
            with http.stream(
                "GET", "/chat/api/stream", params={"after": 0}, headers=headers
            ) as stream:
                assert stream.headers["content-type"].startswith("text/event-stream")
                lines = stream.iter_lines()
                assert next(lines) == "retry: 3000"
                # Stored as another worker would: found by the stream's own look.
                from bot.messages import Reply

                app.services.webchat_store.push(pid, [Reply("coucou du conseiller")], human=True)
                for line in lines:
                    if line.startswith("data: "):
                        assert "coucou du conseiller" in line
                        break
                else:
                    pytest.fail("the stream ended without the message")


def test_a_campaign_link_counts_the_young_person_and_a_bad_code_is_a_normal_start(
    client: TestClient,
) -> None:
    from core.campaigns import CampaignDraft
    from core.models import CampaignChannel, YoungPerson

    svc = services(client)
    campaign = svc.campaigns.create(CampaignDraft("Site de la ML", CampaignChannel("partner")))
    chat = token(client)
    started = client.post(
        "/chat/api/start", json={"campaign": campaign.code}, headers={"X-Maraude-Chat": chat}
    )
    assert started.status_code == 200 and started.json()["replies"]
    other = token(client)
    bad = client.post(
        "/chat/api/start", json={"campaign": "pas un code !"}, headers={"X-Maraude-Chat": other}
    )
    assert bad.status_code == 200
    with svc.db.transaction() as session:
        assert session.get(YoungPerson, person_id(client, chat)).campaign_id == campaign.id
        assert session.get(YoungPerson, person_id(client, other)).campaign_id is None


def test_one_conversation_may_not_open_streams_without_end(tmp_path: Path) -> None:
    """Each live stream reads the outbox every few seconds: a page (or a script with its
    token) gets three at once on a worker, the fourth is refused until one closes."""
    settings = settings_for(tmp_path, stream_seconds=30, stream_poll_seconds=0.2)
    with AppServer(settings) as app, httpx.Client(base_url=app.url, timeout=10) as http:
        chat = http.post("/chat/api/session").json()["token"]
        headers = {"X-Maraude-Chat": chat}
        http.post("/chat/api/messages", json={"text": "salut"}, headers=headers)
        readers = []  # kept: a dropped line iterator closes its connection
        with contextlib.ExitStack() as open_streams:
            for _ in range(3):
                stream = open_streams.enter_context(
                    http.stream("GET", "/chat/api/stream", headers=headers)
                )
                assert stream.status_code == 200
                lines = stream.iter_lines()
                readers.append(lines)
                assert next(lines) == "retry: 3000"
                while next(lines) != ": keep-alive":  # the stream has read the outbox once
                    pass
            refused = http.get("/chat/api/stream", headers=headers)
            assert refused.status_code == 429 and refused.headers["retry-after"] == "30"
