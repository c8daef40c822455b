"""/metrics over real HTTP against the app (engine down): refused to everyone without
`server.metrics_token` (404, as an unknown address) and to every request without the right
bearer token (401; wrong tokens slow their address down, 429); with it, Prometheus' text
format with the turns of the conversations just held, the engine errors, the queue from the
database, and no chat id, pseudonymous id or text anywhere."""

from __future__ import annotations

import math
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.metrics import CONTENT_TYPE, METRICS, engine_label
from core.models import Channel
from core.people import pseudonymise
from core.ratelimit import API_BAD_TOKEN
from core.settings import SettingsError
from tests.support import AppServer, free_port, make_settings
from tests.support.telegram import age_question, new_user

TOKEN = secrets.token_urlsafe(32)
CRISIS = "je veux mourir"
PLAIN = "salut je cherche un taf vers 62300 zorglub"  # a text to look for in the figures
SAMPLE = re.compile(
    r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?P<labels>[^}]*)\})? (?P<value>[-+0-9.eEInf]+|NaN)$"
)
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse(body: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Prometheus' text format, strictly: every line a HELP, a TYPE or a sample of the family
    its TYPE announced; the samples by (name, labels)."""
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    family = kind = ""
    for line in body.splitlines():
        if line.startswith("# HELP "):
            family = line.split(" ")[2]
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert name == family and kind in {"counter", "gauge", "histogram"}, line
            continue
        found = SAMPLE.match(line)
        assert found, f"not a sample line: {line!r}"
        name = found["name"]
        suffixes = ("_bucket", "_sum", "_count") if kind == "histogram" else ("",)
        assert any(name == family + suffix for suffix in suffixes), (line, family)
        labels = tuple(sorted(LABEL.findall(found["labels"] or "")))
        assert (name, labels) not in samples, f"twice: {line}"
        samples[(name, labels)] = float(found["value"])
    return samples


def value(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def check_histograms(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float]) -> None:
    """Buckets never decrease with their bound, and +Inf is the count."""
    for (name, labels), count in samples.items():
        if not name.endswith("_count"):
            continue
        base = name.removesuffix("_count")
        buckets = sorted(
            (float(dict(pairs)["le"]), v)
            for (n, pairs), v in samples.items()
            if n == f"{base}_bucket" and tuple(p for p in pairs if p[0] != "le") == labels
        )
        assert buckets and buckets[-1][0] == math.inf and buckets[-1][1] == count
        assert all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:], strict=False))


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    folder: Path = tmp_path_factory.mktemp("metrics")
    settings = make_settings(
        folder,
        rasa_url=f"http://127.0.0.1:{free_port()}",  # no engine there
        nudges={"enabled": False},
        server={"metrics_token": TOKEN},
    )
    with AppServer(settings) as server:
        yield server


def client(app: AppServer, ip: str = "127.0.0.1") -> httpx.Client:
    transport = httpx.HTTPTransport(local_address=ip)
    return httpx.Client(base_url=app.url, timeout=30, transport=transport)


def scrape(http: httpx.Client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == CONTENT_TYPE
    assert response.headers["cache-control"] == "no-store"
    samples = parse(response.text)
    check_histograms(samples)
    return samples


# Refusals ------------------------------------------------------------------------------------
def test_without_a_token_setting_metrics_does_not_exist(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, nudges={"enabled": False})
    assert settings.server.metrics_token is None  # the default: off
    with AppServer(settings) as app, client(app) as http:
        unknown = http.get("/pas-une-page")
        for headers in ({}, {"Authorization": f"Bearer {TOKEN}"}, {"Authorization": "Bearer"}):
            answer = http.get("/metrics", headers=headers)
            assert answer.status_code == 404
            assert answer.text == unknown.text  # nothing says it is there
            assert "maraude_" not in answer.text


def test_every_request_without_the_right_bearer_token_is_refused(app: AppServer) -> None:
    with client(app, "127.0.0.4") as http:
        refused = [
            {},
            {"Authorization": ""},
            {"Authorization": "Bearer"},
            {"Authorization": f"Basic {TOKEN}"},  # the right secret, the wrong scheme
            {"Authorization": f"Token {TOKEN}"},
            {"Authorization": TOKEN},
            {"Authorization": f"Bearer {TOKEN[:-1]}"},  # a prefix
            {"Authorization": f"Bearer {TOKEN}x"},  # longer
            {"Authorization": f"Bearer {TOKEN.upper()}"},
            {"Authorization": f"Bearer {TOKEN} {TOKEN}"},
            {"X-Metrics-Token": TOKEN},
        ]
        for headers in refused:
            answer = http.get("/metrics", headers=headers)
            assert answer.status_code == 401, headers
            assert answer.headers["www-authenticate"] == "Bearer"
            assert "maraude_" not in answer.text
        in_query = http.get("/metrics", params={"token": TOKEN})  # only the header counts
        assert in_query.status_code == 401
        assert (
            http.post("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 405
        )
        ok = http.get("/metrics", headers={"Authorization": f"bearer {TOKEN}"})  # any case
        assert ok.status_code == 200
        assert ok.text.startswith("# HELP maraude_")


def test_wrong_tokens_slow_down_their_address_only(app: AppServer) -> None:
    tries = min(item.amount for item in API_BAD_TOKEN.items)
    with client(app, "127.0.0.5") as guesser, client(app, "127.0.0.6") as prometheus:
        for _ in range(tries):
            wrong = guesser.get("/metrics", headers={"Authorization": "Bearer " + "a" * 43})
            assert wrong.status_code == 401
        slowed = guesser.get("/metrics", headers={"Authorization": "Bearer " + "b" * 43})
        assert slowed.status_code == 429
        assert int(slowed.headers["Retry-After"]) >= 1
        right = guesser.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert right.status_code == 429  # from there, even the right one waits
        scrape(prometheus)  # the scraper elsewhere is not slowed down


@pytest.mark.parametrize("token", ["change-me", "x" * 31, "a" * 31 + "!", "your-token-here"])
def test_a_weak_or_placeholder_token_stops_the_app_at_start(tmp_path: Path, token: str) -> None:
    with pytest.raises(SettingsError) as refused:
        make_settings(tmp_path, server={"metrics_token": token})
    message = str(refused.value)
    assert "server.metrics_token" in message and "32+ characters" in message
    assert token not in message  # the value is not echoed back


def test_an_empty_token_is_unset(tmp_path: Path) -> None:
    assert make_settings(tmp_path, server={"metrics_token": ""}).server.metrics_token is None


# The figures ---------------------------------------------------------------------------------
def test_turns_engine_errors_and_the_queue_without_personal_data(app: AppServer) -> None:
    with client(app) as prometheus, client(app, "127.0.0.7") as young:
        before = scrape(prometheus)
        young.get("/simulateur")  # the open demo's session cookie
        for text in (CRISIS, PLAIN):
            answer = young.post("/simulateur/api/messages", json={"text": text})
            assert answer.status_code == 200, answer.text
        response = prometheus.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        after = parse(response.text)
        check_histograms(after)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    sim = str(Channel.simulator)
    # The crisis is answered at once by the app (engine down); the other is held or answered
    # with the engine-down notice.
    assert delta("maraude_turns_total", channel=sim, outcome="engine_down") >= 1
    down = sum(
        delta("maraude_turns_total", channel=sim, outcome=outcome)
        for outcome in ("engine_down", "held")
    )
    assert down == 2
    assert delta("maraude_turns_total", channel=sim, outcome="answered") == 0
    assert delta("maraude_turn_seconds_count", channel=sim, outcome="engine_down") >= 1
    assert value(after, "maraude_turn_seconds_sum", channel=sim, outcome="engine_down") >= 0
    for outcome in ("answered", "engine_down", "held", "failed"):  # shown from the start
        assert ("maraude_turns_total", (("channel", "telegram"), ("outcome", outcome))) in after

    [engine] = app.services.settings.engine_urls
    label = engine_label(engine)  # scheme, host and port
    assert label == engine
    # Counted by these messages, or already by a probe of the held-messages replay job (it
    # runs from the start now that the web chat is one of its outlets): since the start.
    assert value(after, "maraude_engine_errors_total", engine=label) >= 1
    assert value(after, "maraude_engine_up", engine=label) == 0
    assert value(after, "maraude_engines_healthy") == 0

    # The crisis raised an urgent ticket (the open demo shows simulations in the queue).
    assert value(after, "maraude_tickets_waiting", urgency="crisis") == 1
    assert value(after, "maraude_tickets_past_sla", urgency="crisis") == 0
    assert value(after, "maraude_tickets_waiting", urgency="normal") == 0
    assert ("maraude_followups_due", (("kind", "triage_nudge"),)) in after
    assert ("maraude_sla_alerts_total", (("kind", "sla_breached"),)) in after
    assert value(after, "maraude_metrics_shared_up") == 1  # memory: always there

    # No text, chat id or pseudonymous id: labels are channels, outcomes, kinds, engines.
    session = young.cookies.get("maraude_sim")
    assert session
    pseudo = pseudonymise(app.services.settings.secret_key, Channel.simulator, session)
    for secret in (session, pseudo, "zorglub", "mourir", "62300", TOKEN):
        assert secret not in response.text
    label_names = {key for (_, labels) in after for key, _ in labels}
    assert label_names <= {"channel", "outcome", "le", "engine", "kind", "urgency"}


def test_a_telegram_message_answered_by_the_real_engine_counts_as_answered(stack: Any) -> None:
    """The whole stack (fake Bot API, real engine, app in this process): /start is one
    Telegram turn, answered."""
    key = ("maraude_turns_total", (("channel", "telegram"), ("outcome", "answered")))
    count = ("maraude_turn_seconds_count", key[1])
    before = METRICS.local()
    age_question(stack, new_user())  # /start, answered by the engine with the age question
    after = METRICS.local()
    assert after.get(key, 0) - before.get(key, 0) >= 1
    assert after.get(count, 0) - before.get(count, 0) >= 1
    assert all(state["healthy"] for state in stack.services.engine.health())
