"""core/metrics.py without the app: how a pipeline turn is counted (answered unless marked,
failed when it raises, nested turns apart), engines named without credentials, and the text
format (escaping, every histogram bucket)."""

from __future__ import annotations

import pytest

from core.metrics import (
    FOLLOWUPS_DUE,
    METRICS,
    TURN_SECONDS,
    TURNS,
    Gauge,
    Metrics,
    engine_label,
    exposition,
    mark_turn,
    timed_turn,
)
from tests.web.test_metrics import check_histograms, parse, value


class Pipeline:
    """Stands for bot/pipeline.py: `_exchange(channel, ...)` with the decorator."""

    @timed_turn
    async def exchange(self, channel: str, outcome: str | None = None) -> str:
        if outcome == "boom":
            raise RuntimeError("engine client bug")
        if outcome == "nested":
            await self.exchange("terminal", "held")  # a replay inside a turn: its own turn
        elif outcome is not None:
            mark_turn(outcome)
        return "ok"


def turns(channel: str, outcome: str) -> float:
    return METRICS.local().get((TURNS.name, (("channel", channel), ("outcome", outcome))), 0.0)


async def test_a_turn_is_answered_unless_marked_and_failed_when_it_raises() -> None:
    pipeline = Pipeline()
    before = {
        (c, o): turns(c, o)
        for c in ("telegram", "terminal")
        for o in ("answered", "engine_down", "held", "failed")
    }
    assert await pipeline.exchange("telegram") == "ok"
    assert await pipeline.exchange("telegram", "engine_down") == "ok"
    with pytest.raises(RuntimeError):
        await pipeline.exchange("telegram", "boom")
    await pipeline.exchange("telegram", "nested")
    mark_turn("held")  # outside a turn: nothing
    after = {key: turns(*key) - count for key, count in before.items()}
    assert after == {
        ("telegram", "answered"): 2,  # the plain one and the one around the nested turn
        ("telegram", "engine_down"): 1,
        ("telegram", "held"): 0,
        ("telegram", "failed"): 1,
        ("terminal", "answered"): 0,
        ("terminal", "engine_down"): 0,
        ("terminal", "held"): 1,
        ("terminal", "failed"): 0,
    }


@pytest.mark.parametrize(
    ("url", "label"),
    [
        ("http://127.0.0.1:5005", "http://127.0.0.1:5005"),
        ("https://user:secret@engine.internal:5005/base?token=abc", "https://engine.internal:5005"),
        ("http://[::1]:5006/", "http://[::1]:5006"),
        ("http://engine", "http://engine"),
    ],
)
def test_an_engine_is_named_by_scheme_host_and_port_only(url: str, label: str) -> None:
    assert engine_label(url) == label


def test_the_text_format_escapes_labels_and_shows_every_bucket() -> None:
    metrics = Metrics()
    metrics.observe(TURN_SECONDS.name, 7.0, channel="telegram", outcome="answered")
    metrics.inc("maraude_followups_sent_total", kind='a"b\\c\nd')
    body = exposition(metrics.local(), [Gauge(FOLLOWUPS_DUE).set(3, kind="triage_nudge")])
    assert 'kind="a\\"b\\\\c\\nd"' in body  # one line, escaped as the format says
    samples = parse(body)
    check_histograms(samples)
    bucket = "maraude_turn_seconds_bucket"
    assert value(samples, bucket, channel="telegram", outcome="answered", le="5.0") == 0
    assert value(samples, bucket, channel="telegram", outcome="answered", le="10.0") == 1
    assert value(samples, "maraude_turn_seconds_sum", channel="telegram", outcome="answered") == 7
    assert value(samples, "maraude_followups_due", kind="triage_nudge") == 3
