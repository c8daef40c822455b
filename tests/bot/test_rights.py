"""/corriger's wait for the correction (bot/rights.py) through the real pipeline, engine down:
it ends after PENDING_TTL, with another command, and belongs to one conversation only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC

import pytest

from bot.engine_client import EngineClient
from bot.pipeline import ConversationPipeline
from bot.rights import PENDING_TTL
from core.models import Channel
from handoff.bridge.rendering import event_posts
from handoff.requests import TriageSummary
from tests.support import free_port
from tests.support.world import World


@pytest.fixture
async def pipeline(world: World) -> AsyncIterator[ConversationPipeline]:
    pipeline = world.services.pipeline
    await pipeline.engine.aclose()
    pipeline.engine = EngineClient(f"http://127.0.0.1:{free_port()}", timeout=2)  # down
    yield pipeline
    await pipeline.engine.aclose()


async def notes(world: World, chat: str) -> list[str]:
    pseudo = world.people.identify(Channel.telegram, chat).pseudo_id
    [ticket] = world.tickets.tickets_of(pseudo)
    return [n.text for n in world.tickets.notes(ticket.id)]


async def open_ticket(world: World, chat: str) -> None:
    _id, pseudo = world.person(chat, consent=True)
    await world.ticket(pseudo, TriageSummary(needs=["formation"], location="Arras"))


async def test_the_wait_ends_after_its_time(world: World, pipeline: ConversationPipeline) -> None:
    await open_ticket(world, "740001")
    [ask] = await pipeline.handle_text(Channel.telegram, "740001", "/corriger")
    assert "Où tu habites : Arras" in ask.text
    world.clock.advance(seconds=PENDING_TTL.total_seconds() + 1)
    replies = await pipeline.handle_text(Channel.telegram, "740001", "à Lens en fait")
    assert "Petit souci technique" in replies[0].text  # an ordinary message again
    assert await notes(world, "740001") == []


async def test_another_command_ends_the_wait(world: World, pipeline: ConversationPipeline) -> None:
    await open_ticket(world, "740002")
    await pipeline.handle_text(Channel.telegram, "740002", "/corriger")
    await pipeline.handle_text(Channel.telegram, "740002", "/stop")
    await pipeline.handle_text(Channel.telegram, "740002", "à Lens en fait")
    assert await notes(world, "740002") == []


async def test_the_wait_belongs_to_one_conversation(
    world: World, pipeline: ConversationPipeline
) -> None:
    await open_ticket(world, "740003")
    await open_ticket(world, "740004")
    await pipeline.handle_text(Channel.telegram, "740003", "/corriger")
    await pipeline.handle_text(Channel.telegram, "740004", "à Lens en fait")
    assert await notes(world, "740004") == []
    [done] = await pipeline.handle_text(Channel.telegram, "740003", "à Lens en fait")
    assert "transmis" in done.text
    assert await notes(world, "740003") == ["Corrigé par le/la jeune : « à Lens en fait »"]


async def test_a_forged_keep_button_is_harmless(
    world: World, pipeline: ConversationPipeline
) -> None:
    await open_ticket(world, "740005")
    [kept] = await pipeline.handle_button(
        Channel.telegram, "740005", "/corriger_annuler", "Laisser comme ça"
    )
    assert "je ne change rien" in kept.text
    assert await notes(world, "740005") == []


async def test_mesdonnees_works_during_a_hand_off_and_without_consent(
    world: World, pipeline: ConversationPipeline
) -> None:
    _id, pseudo = world.person("740006")  # no consent: what is kept is still theirs to see
    await world.ticket(pseudo, TriageSummary(needs=["argent"]))
    [reply] = await pipeline.handle_text(Channel.telegram, "740006", "/mesdonnees@MaraudeBot")
    readable, _portable = reply.documents
    assert "Ton accord pour garder la conversation : pas encore répondu" in readable.content
    assert "Ce que tu cherches : argent" in readable.content


async def test_the_correction_reaches_the_counsellors_group_too(
    world: World, pipeline: ConversationPipeline
) -> None:
    """Listeners of the desk (the bridge) hear it, and post it in the ticket's topic."""
    heard: list[tuple[str, dict[str, object]]] = []

    class Listener:
        async def on_ticket_event(
            self, kind: str, ticket: object, actor: object, data: dict[str, object]
        ) -> None:
            heard.append((kind, data))

    world.desk.add_listener(Listener())
    await open_ticket(world, "740007")
    await pipeline.handle_text(Channel.telegram, "740007", "/corriger pas Arras, Liévin")
    [(kind, data)] = [(k, d) for k, d in heard if k == "youth_correction"]
    pseudo = world.people.identify(Channel.telegram, "740007").pseudo_id
    [ticket] = world.tickets.tickets_of(pseudo)
    posts = event_posts(kind, ticket, None, data, {}, {}, UTC)
    assert posts == ["✏️ Corrigé par le/la jeune : « pas Arras, Liévin »"]
