"""`/start <code>` in the pipeline (bot/start_codes.py) with the real services on SQLite: what
a code looks like, attribution with the engine down, a failing attribution that still starts,
and the simulator (attributed; the statistics leave simulator people out)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest

from bot.start_codes import start_code
from bot.texts import AppTexts
from core.campaigns import CampaignDraft, CampaignService
from core.models import CampaignChannel, Channel
from tests.support.echo_engine import EchoEngine, answer, down_client
from tests.support.world import World

TEXTS = AppTexts.load()


@pytest.mark.parametrize(
    ("rest", "code"),
    [
        ("tiktok-rentree-k3x9q2mz", "tiktok-rentree-k3x9q2mz"),
        ("  Ab_9-z \n", "Ab_9-z"),
        ("x" * 64, "x" * 64),
        ("x" * 65, None),
        ("", None),
        ("   ", None),
        ("deux mots", None),
        ("rentrée", None),
        ("a;b", None),
        ("'--", None),
    ],
)
def test_start_code(rest: str, code: str | None) -> None:
    assert start_code(rest) == code


@pytest.fixture
async def echo_world(world: World) -> AsyncIterator[tuple[World, EchoEngine]]:
    with EchoEngine() as engine:
        world.services.pipeline.engine = engine.client()
        yield world, engine
        await world.services.pipeline.engine.aclose()


def campaign(world: World) -> str:
    return world.services.campaigns.create(CampaignDraft("Flyers", CampaignChannel.flyer)).code


async def test_a_link_opened_while_the_engine_is_down_still_attributes(world: World) -> None:
    code = campaign(world)
    pipeline = world.services.pipeline
    pipeline.engine = down_client()
    try:
        replies = await pipeline.handle_text(Channel.telegram, "9101", f"/start {code}")
    finally:
        await pipeline.engine.aclose()
    assert [r.text for r in replies] == [TEXTS.engine_down]  # held, answered later
    pseudo = world.people.identify(Channel.telegram, "9101").pseudo_id
    assert world.services.campaigns.first_touch(pseudo).code == code  # type: ignore[union-attr]
    held = pipeline.held
    assert held is not None
    [item] = held.of(world.people.get(pseudo).id)  # type: ignore[union-attr]
    assert (item.message, item.shown) == ("/start", "/start")  # the code is not held either


class Broken(CampaignService):
    def attribute(self, pseudo_id: str, code: str) -> None:
        raise RuntimeError(f"database gone while reading {code}")


async def test_a_failing_attribution_is_still_a_start_and_the_code_is_not_logged(
    echo_world: tuple[World, EchoEngine], caplog: pytest.LogCaptureFixture
) -> None:
    world, engine = echo_world
    code = campaign(world)
    world.services.pipeline.campaigns = Broken(world.services.db, world.clock)
    with caplog.at_level(logging.INFO):
        replies = await world.services.pipeline.handle_text(
            Channel.telegram, "9102", f"/start {code}"
        )
    assert [r.text for r in replies] == [answer("/start")]
    assert "campaign attribution of" in caplog.text and "RuntimeError" in caplog.text
    assert code not in caplog.text


async def test_without_campaigns_wired_a_code_is_ignored(
    echo_world: tuple[World, EchoEngine],
) -> None:
    world, engine = echo_world
    code = campaign(world)
    world.services.pipeline.campaigns = None
    replies = await world.services.pipeline.handle_text(Channel.telegram, "9103", f"/start {code}")
    assert [r.text for r in replies] == [answer("/start")]
    pseudo = world.people.identify(Channel.telegram, "9103").pseudo_id
    assert world.services.campaigns.touches(pseudo) == []


async def test_a_simulator_session_is_attributed_like_any_channel(
    echo_world: tuple[World, EchoEngine],
) -> None:
    """A manager tries the link in the simulator: recorded (the results and impact pages
    leave simulator people out, core/simulations.py)."""
    world, engine = echo_world
    code = campaign(world)
    replies = await world.services.pipeline.handle_text(
        Channel.simulator, "cookie-1", f"/start {code}"
    )
    assert [r.text for r in replies] == [answer("/start")]
    pseudo = world.people.identify(Channel.simulator, "cookie-1").pseudo_id
    assert world.services.campaigns.first_touch(pseudo).code == code  # type: ignore[union-attr]
    assert engine.messages(pseudo) == ["/start"]
