"""The web chat's conversations (bot/webchat/sessions.py) through the real services, with an
engine stand-in over real HTTP (tests/support/echo_engine.py): page tokens, the pipeline's
answers, /oubli, the state, the history, and what reaches the page outside a reply (polling
and the live stream, woken at once in this process, found by polling from another)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, AsyncIterator

import pytest
from sqlalchemy import select

from bot.messages import Reply
from bot.pipeline import ERASE_ACCEPT
from bot.webchat import StreamHub, WebChatSessions
from bot.webchat.sessions import TOKEN_RANDOM, TOKEN_SIGNATURE, new_token, valid_token
from core.campaigns import CampaignDraft
from core.models import Base, CampaignChannel
from tests.support.echo_engine import EchoEngine, answer
from tests.support.world import World


@pytest.fixture
async def engine(world: World) -> AsyncIterator[EchoEngine]:
    with EchoEngine() as echo:
        world.services.pipeline.engine = echo.client()
        yield echo
        await world.services.pipeline.engine.aclose()


def sessions(world: World) -> WebChatSessions:
    return world.services.webchat


# Tokens ------------------------------------------------------------------------------------
def test_only_the_apps_own_tokens_are_valid(world: World) -> None:
    chat = sessions(world)
    token = chat.new_token()
    assert len(token) == TOKEN_RANDOM + TOKEN_SIGNATURE and chat.valid_token(token)
    assert token != chat.new_token()
    refused = [
        None,
        "",
        token[:-1],  # truncated
        token + "A",
        token[:TOKEN_RANDOM] + "A" * TOKEN_SIGNATURE,  # forged signature
        ("B" if token[0] != "B" else "C") + token[1:],  # another random part, same signature
        new_token("another-secret-of-another-app-00"),
        token[:-1] + "é",  # non-ASCII, same length
        "é" * len(token),
    ]
    for value in refused:
        assert not chat.valid_token(value), value
    assert valid_token(world.settings.secret_key, token)


async def test_the_token_is_never_stored_and_is_not_the_user_key(
    world: World, engine: EchoEngine
) -> None:
    chat = sessions(world)
    token = chat.new_token()
    key = chat.user_key(token)
    assert key != token and token not in key and key == chat.user_key(token)
    assert chat.user_key(chat.new_token()) != key
    await chat.start(token)
    person = chat.person(token)
    assert person is not None
    world.people.record_consent(person.pseudo_id, True)  # the log is kept: more rows to look at
    await chat.send(token, text="salut")
    await world.services.webchat.send_texts(key, ["Lina : bonjour"])
    await chat.set_contact(token, "lea@example.org")
    dump: list[str] = []
    with world.services.db.transaction() as session:
        for table in Base.metadata.sorted_tables:
            dump.extend(str(tuple(row)) for row in session.execute(select(table)))
    everything = "\n".join(dump)
    assert key in everything  # the channel user id is the keyed hash...
    assert token not in everything  # ...never the token
    assert token[:TOKEN_RANDOM] not in everything


# Messages ----------------------------------------------------------------------------------
async def test_start_with_a_campaign_code_then_text_and_button(
    world: World, engine: EchoEngine
) -> None:
    chat = sessions(world)
    code = world.services.campaigns.create(CampaignDraft("Affiches", CampaignChannel.flyer)).code
    token = chat.new_token()
    assert chat.person(token) is None  # nothing exists before the first message

    started = await chat.start(token, code)
    person = chat.person(token)
    assert person is not None and started.replies and not started.forgotten
    assert world.services.campaigns.first_touch(person.pseudo_id).code == code  # type: ignore[union-attr]
    assert code not in " ".join(engine.messages())  # the engine gets a plain /start

    said = await chat.send(token, text="jcherche un taf")
    assert [r.text for r in said.replies] == [answer("jcherche un taf")]
    pressed = await chat.send(token, payload="/affirm", title="Oui")
    assert [r.text for r in pressed.replies] == [answer("/affirm")]
    assert engine.messages(person.pseudo_id)[-2:] == ["jcherche un taf", "/affirm"]
    assert not said.forgotten and said.shown == []


async def test_oubli_forgets_the_page(world: World, engine: EchoEngine) -> None:
    chat = sessions(world)
    token = chat.new_token()
    await chat.start(token)
    assert (await chat.state(token)).known
    asked = await chat.send(token, text="/oubli")
    assert not asked.forgotten and chat.person(token) is not None
    texts = world.services.pipeline.texts.erasure
    erased = await chat.send(token, payload=ERASE_ACCEPT, title=texts["accept"])
    assert erased.forgotten and [r.text for r in erased.replies] == [texts["done"]]
    assert chat.person(token) is None
    assert (await chat.state(token)).to_dict() == {
        "known": False,
        "ticket": False,
        "email": False,
        "notify": False,
    }
    assert await chat.history(token) == ([], 0)
    assert not await chat.set_contact(token, "lea@example.org")


async def test_state_tells_a_ticket_and_an_address(world: World, engine: EchoEngine) -> None:
    chat = sessions(world)
    token = chat.new_token()
    assert not (await chat.state(token)).known
    await chat.start(token)
    state = await chat.state(token)
    assert (state.known, state.ticket, state.email) == (True, False, False)
    person = chat.person(token)
    assert person is not None
    await world.ticket(person.pseudo_id)  # the hand-off
    assert await chat.set_contact(token, "lea@example.org")
    state = await chat.state(token)
    assert (state.known, state.ticket, state.email) == (True, True, True)
    assert await chat.set_contact(token, None)
    assert not (await chat.state(token)).email


async def test_history_on_return(world: World, engine: EchoEngine) -> None:
    chat = sessions(world)
    token = chat.new_token()
    await chat.start(token)
    person = chat.person(token)
    assert person is not None
    world.people.record_consent(person.pseudo_id, True)
    await chat.send(token, text="salut")
    sam = world.counsellor("Sam")
    ticket_id = await world.ticket(person.pseudo_id)
    await world.desk.claim(ticket_id, sam, "web")
    await world.desk.reply(ticket_id, sam, "Bonjour, je suis Sam", "web")
    items, cursor = await chat.history(token)
    rows = [(h.direction, h.origin, h.sender) for h in items]
    assert rows[:2] == [("incoming", "youth", None), ("outgoing", "bot", None)]
    assert [h.text for h in items[:2]] == ["salut", answer("salut")]
    assert ("outgoing", "counsellor", "Sam") in rows
    assert any("Bonjour, je suis Sam" in h.text for h in items if h.sender == "Sam")
    assert cursor == world.services.webchat_store.last_id(person.id) and cursor > 0
    assert await chat.updates(token, cursor) == ([], cursor)  # read from there on


# Outside a reply: polling and the stream ---------------------------------------------------
async def test_updates_after_a_cursor(world: World, engine: EchoEngine) -> None:
    chat = sessions(world)
    token = chat.new_token()
    await chat.start(token)
    key = chat.user_key(token)
    assert await chat.updates(token, 0) == ([], 0)
    assert await chat.send_texts(key, ["un", "deux"])
    items, cursor = await chat.updates(token, 0)
    assert [v.reply.text for v in items] == ["un", "deux"] and cursor == items[-1].id
    assert items[0].origin == "counsellor"
    assert await chat.updates(token, cursor) == ([], cursor)
    assert not await chat.send_texts("no-such-page", ["perdu"])  # nobody behind that key
    assert await chat.updates(chat.new_token(), 0) == ([], 0)


async def test_the_stream_is_woken_at_once_by_a_push_of_this_process(
    world: World, engine: EchoEngine
) -> None:
    chat = sessions(world)
    token = chat.new_token()
    await chat.start(token)
    person = chat.person(token)
    assert person is not None
    stream = chat.stream(token, 0, seconds=60, poll=30)
    assert isinstance(stream, AsyncGenerator)
    assert await anext(stream) == []  # nothing yet (the caller's keep-alive)
    assert chat.hub.listeners(person.id) == 1
    began = time.monotonic()
    # Pushed while the page's stream is between two reads (writing to the page): not lost.
    await chat.send_texts(chat.user_key(token), ["Lina : tu es là ?"])
    got = await asyncio.wait_for(anext(stream), 5)
    assert [v.reply.text for v in got] == ["Lina : tu es là ?"]
    waiting = asyncio.ensure_future(anext(stream))  # now waiting in the hub
    await asyncio.sleep(0.05)
    await chat.push_to(person.id, [Reply("Petit rappel")])  # a nudge of the sweeper
    got = await asyncio.wait_for(waiting, 5)
    assert [v.reply.text for v in got] == ["Petit rappel"]
    assert time.monotonic() - began < 5  # never the 30 s poll
    await stream.aclose()
    assert chat.hub.listeners(person.id) == 0


async def test_a_push_of_another_worker_is_found_by_polling(
    world: World, engine: EchoEngine
) -> None:
    chat = sessions(world)
    services = world.services
    other = WebChatSessions(  # another worker: same database, its own hub
        services.pipeline,
        services.people,
        services.webchat_store,
        services.tickets,
        services.chat_locks,
        world.settings.secret_key,
        hub=StreamHub(),
    )
    token = chat.new_token()
    await chat.start(token)
    person = chat.person(token)
    assert person is not None
    stream = chat.stream(token, 0, seconds=30, poll=0.2)
    assert isinstance(stream, AsyncGenerator)
    assert await anext(stream) == []
    assert await other.send_texts(chat.user_key(token), ["d'un autre worker"])
    assert other.hub.listeners(person.id) == 0 and chat.hub.listeners(person.id) <= 1
    found: list[str] = []
    deadline = time.monotonic() + 5
    while not found and time.monotonic() < deadline:
        found = [v.reply.text for v in await asyncio.wait_for(anext(stream), 5)]
    assert found == ["d'un autre worker"]
    await stream.aclose()
    assert chat.hub.listeners(person.id) == 0


async def test_a_stream_without_a_conversation_ends_at_once(world: World) -> None:
    chat = sessions(world)
    stream = chat.stream(chat.new_token(), 0, seconds=30, poll=0.1)
    with pytest.raises(StopAsyncIteration):
        await anext(stream)
