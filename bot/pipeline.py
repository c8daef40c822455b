"""The one conversation pipeline every channel goes through (Telegram, simulator, terminal).

A channel adapter turns its input into `handle_text` / `handle_button` calls and renders the
returned `Reply` objects; identity, consent-aware logging, the engine call and the
engine-down fallback all live here, so every channel behaves the same.

While a counsellor holds the person's ticket, what the person writes goes to the counsellor
(through the relay: the hand-off desk, plugged in by the composition root) instead of the
engine; a crisis message still gets the helplines at once and escalates the ticket. Commands
keep working (/stop, /oubli, /start). The channels do not import the counsellors' side: the
pipeline declares what it needs of it (`CounsellorRelay`, `ExchangeObserver`).

While every engine is down, a message that is not a crisis is held (bot/held.py) and answered
once an engine is back: before the person's next message, or by the replay job (bot/replay.py)
through the channel's outlet (`register_outlet`).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from bot.appointments import AppointmentHooks, on_button, on_typed, opted_out_now
from bot.engine_client import Engine, EngineAnswer, EngineUnavailable
from bot.flood import FloodGate
from bot.held import HeldMessages
from bot.messages import Button, Reply, replies_from_engine
from bot.rights import DataRights
from bot.start_codes import attribute_start
from bot.texts import AppTexts
from core.campaigns import CampaignService
from core.erasure import ErasureService
from core.metrics import mark_turn, timed_turn
from core.models import Channel, Direction, Origin
from core.people import LoggedMessage, PeopleService, PersonRef
from core.turns import TurnInfo
from core.vocabulary import ERASE_SIGNAL

log = logging.getLogger(__name__)

MAX_TEXT = 4096  # Telegram's own limit for a message
MAX_TRIGGER = 500  # what a ticket keeps of the message that raised a crisis
# Commands a young person can type, and the engine payload (intent) each one triggers.
COMMANDS: dict[str, str] = {
    "start": "/start",
    "stop": "/opt_out",
    "oubli": "/delete_data",
    "conseiller": "/ask_human",
}
COMMAND_RE = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@[A-Za-z0-9_]{3,64})?(?:\s|$)")
PAYLOAD_RE = re.compile(r"^/[a-z][a-z0-9_]{0,40}(\{[^{}]{0,200}\})?$")
# The buttons of the app's own /oubli question (engine down): handled here, never by the engine.
ERASE_ACCEPT = "/erase_confirmed"
ERASE_KEEP = "/erase_cancelled"


@dataclass(frozen=True)
class Exchange:
    """One message of a young person answered by the engine, as observers see it."""

    person: PersonRef
    shown: str  # what the person typed, or the title of the button they pressed
    typed: bool  # False for a button press or a command
    turn: TurnInfo | None  # what the engine understood (None if it could not be read)
    replies: list[Reply]


class RelayedTicket(Protocol):
    """The ticket through which a counsellor talks with the young person."""

    @property
    def assignee_name(self) -> str | None: ...


class CounsellorRelay(Protocol):
    """What the pipeline needs of the counsellors' side (the hand-off desk implements it)."""

    async def relaying_ticket(self, person_id: int) -> Any:
        """The person's ticket held by a counsellor (a `RelayedTicket`), or None."""

    async def youth_message(self, ticket: Any, text: str) -> object:
        """Pass the young person's message to the counsellor who holds `ticket`."""

    async def bot_said(self, ticket: Any, texts: list[str]) -> None:
        """Record (and show the counsellor) what the bot itself told the person."""

    async def raise_crisis(self, pseudo_id: str, text: str, kind: str, *, reason: str) -> object:
        """An urgent hand-off raised by the app's own crisis check."""

    async def forget(self, pseudo_id: str, erase: Callable[[str], object]) -> None:
        """Erase the person (`erase`), then drop what the counsellors' side showed of them."""


# Sends replies to a person of one channel outside a reply (channel user id, replies).
Outlet = Callable[[str, list[Reply]], Awaitable[object]]


class ExchangeObserver(Protocol):
    """Told about every exchange with the engine (manager studio: NLU turns, variants seen)."""

    async def after_exchange(self, exchange: Exchange) -> None: ...


def is_valid_payload(payload: str) -> bool:
    """A button payload we could have produced: an intent, optionally with entities."""
    return bool(PAYLOAD_RE.match(payload))


class ConversationPipeline:
    # /mesdonnees and /corriger (bot/rights.py), set by the composition root; None: unknown.
    rights: DataRights | None = None
    # Outreach campaigns, set by the composition root: `/start <code>` (bot/start_codes.py).
    campaigns: CampaignService | None = None
    # Appointments (bot/appointments.py), set by the composition root; None: none.
    appointments: AppointmentHooks | None = None

    def __init__(
        self,
        people: PeopleService,
        engine: Engine,
        texts: AppTexts,
        erasure: ErasureService,
        relay: CounsellorRelay,
        observers: list[ExchangeObserver] | None = None,
        flood: FloodGate | None = None,
        held: HeldMessages | None = None,
    ) -> None:
        self.people = people
        self.engine = engine
        self.texts = texts
        self.erasure = erasure
        self.relay = relay
        self.observers: list[ExchangeObserver] = list(observers or [])
        self.flood = flood  # per-conversation rate limit (bot/flood.py); None: no limit
        self.held = held  # messages held while every engine is down; None: none kept
        self.outlets: dict[Channel, Outlet] = {}  # the replay job's way to each channel

    def admit(self, channel: Channel, user_key: str, text: str | None) -> list[Reply] | None:
        """None: read the message; else what to answer instead (a flood: bot/flood.py)."""
        if self.flood is None:
            return None
        return self.flood.admit(channel, user_key, text[:MAX_TEXT] if text else text)

    def add_observer(self, observer: ExchangeObserver) -> None:
        self.observers.append(observer)

    def register_outlet(self, channel: Channel, send: Outlet) -> None:
        """How the replay job reaches a person of `channel` (Telegram: send with buttons)."""
        self.outlets[channel] = send

    async def handle_text(self, channel: Channel, user_key: str, text: str) -> list[Reply]:
        """A message the young person typed (commands included)."""
        text = text.strip()
        if (held := self.admit(channel, user_key, text)) is not None:
            return held
        if not text:
            return [Reply(self.texts.unsupported_content)]
        if (answer := await self._rights(channel, user_key, text, typed=True)) is not None:
            return answer
        command = COMMAND_RE.match(text)
        if command:
            payload = COMMANDS.get(command.group(1).lower())
            if payload is None:
                return [Reply(self.texts.unknown_command)]
            person = await asyncio.to_thread(self.people.identify, channel, user_key)
            if payload == COMMANDS["start"]:  # a deep link's code: recorded, then dropped
                text = await attribute_start(self.campaigns, person, text, command.end())
            if payload == "/ask_human" and (ticket := await self._relaying(person)):
                return [Reply(self.texts.handoff_already.format(name=ticket.assignee_name))]
            return await self._exchange(channel, person, payload, shown=text, typed=False)
        notes: list[Reply] = []
        if len(text) > MAX_TEXT:
            text = text[:MAX_TEXT]
            notes.append(Reply(self.texts.too_long))
        person = await asyncio.to_thread(self.people.identify, channel, user_key)
        ticket = await self._relaying(person)
        if (own := await self._appointment_text(person, ticket, text)) is not None:
            return own + notes
        if ticket:
            return await self._relay(person, ticket, text) + notes
        return await self._exchange(channel, person, text, shown=text, typed=True) + notes

    async def handle_button(
        self, channel: Channel, user_key: str, payload: str, title: str
    ) -> list[Reply]:
        """A pressed button: the payload goes to the engine, the title is what gets logged."""
        if (held := self.admit(channel, user_key, payload)) is not None:
            return held
        if not is_valid_payload(payload):
            return [Reply(self.texts.button_expired)]
        if (answer := await self._rights(channel, user_key, payload, typed=False)) is not None:
            return answer
        person = await asyncio.to_thread(self.people.identify, channel, user_key)
        if self.appointments and (act := on_button(self.appointments, person.id, payload)):
            await self._log(person, title or payload, [])  # the press, then what it does
            return await act()
        if payload == ERASE_ACCEPT:  # the app's own /oubli question, engine up or down
            # No engine turn is under way: the tracker erasure is left to the retry job.
            return await self._forget(person, [Reply(self.texts.erasure["done"])], tracker=False)
        if payload == ERASE_KEEP:
            return [Reply(self.texts.erasure["cancelled"])]
        if ticket := await self._relaying(person):
            # An old keyboard pressed while talking with a counsellor: it is an answer to them.
            return await self._relay(person, ticket, title or payload)
        return await self._exchange(channel, person, payload, shown=title or payload, typed=False)

    async def _rights(
        self, channel: Channel, user_key: str, text: str, *, typed: bool
    ) -> list[Reply] | None:
        """/mesdonnees, /corriger and the correction typed after it (bot/rights.py): answered
        here, engine up or down, whoever holds the conversation. None: not for them."""
        rights = self.rights
        if rights is None:
            return None
        key = f"{channel}:{user_key}"
        command = COMMAND_RE.match(text)
        if command and rights.handles(command.group(1)):
            person = await asyncio.to_thread(self.people.identify, channel, user_key)
            rest = text[command.end() :]
            return await rights.command(key, person, command.group(1), rest)
        if typed and not command and rights.awaiting(key) and not self.texts.crisis_kinds(text):
            person = await asyncio.to_thread(self.people.identify, channel, user_key)
            return await rights.take_correction(key, person, text[:MAX_TEXT])
        rights.cancel(key)  # anything else (a button, a command, a crisis) ends the wait
        return None

    async def _appointment_text(
        self, person: PersonRef, ticket: RelayedTicket | None, text: str
    ) -> list[Reply] | None:
        """ "Je peux plus venir" or the availability asked (bot/appointments.py), still relayed
        to a counsellor who holds the conversation; never a crisis (it goes the usual way)."""
        if self.appointments is None or self.texts.crisis_kinds(text):
            return None
        act = await on_typed(self.appointments, person.id, text)
        if act is None:
            return None
        if ticket:  # their words first, then what they did
            await self.relay.youth_message(ticket, text)
        else:
            await self._log(person, text, [])
        return await act()

    async def _relaying(self, person: PersonRef) -> RelayedTicket | None:
        """The ticket through which a counsellor is talking with this person, if any."""
        ticket: RelayedTicket | None = await self.relay.relaying_ticket(person.id)
        return ticket

    async def _relay(self, person: PersonRef, ticket: RelayedTicket, text: str) -> list[Reply]:
        """Pass the message to the counsellor; a crisis still gets the helplines at once."""
        kinds = self.texts.crisis_kinds(text)
        replies = [Reply(kind.text) for kind in kinds]
        await self.relay.youth_message(ticket, text)
        if kinds:
            await self._urgent(person.pseudo_id, text, kinds[0].name, reason="pattern")
        if replies:
            await self.relay.bot_said(ticket, [r.text for r in replies])
        return replies

    @timed_turn  # one turn of `channel` on /metrics: outcome and latency (core/metrics.py)
    async def _exchange(
        self, channel: Channel, person: PersonRef, message: str, *, shown: str, typed: bool
    ) -> list[Reply]:
        earlier: list[Reply] = []
        if self.held is not None and await asyncio.to_thread(self.held.has, person.id):
            if self.texts.crisis_kinds(shown):
                # A crisis never waits behind older messages: they are dropped from the replay
                # (logged when held, the urgent ticket's counsellor sees them) and the engine
                # takes the crisis at once.
                dropped = await asyncio.to_thread(self.held.erase, person.id)
                log.info("crisis: %s held message(s) of %s dropped", dropped, person.pseudo_id)
            else:  # messages held while every engine was down are answered first, in order
                earlier, left = await self.replay_held(person)
                if left is None:  # a replayed message erased the person: nothing more to say
                    return earlier
                if left:  # still no engine: this message waits behind them
                    return earlier + await self._without_engine(person, message, shown, typed)
        try:
            answer = await self.engine.exchange(
                person.pseudo_id, message, {"channel": str(channel)}
            )
        except EngineUnavailable as exc:
            log.warning("engine unavailable for %s: %s", person.pseudo_id, exc)
            return earlier + await self._without_engine(person, message, shown, typed)
        return earlier + await self._answered(person, answer, shown, typed, incoming=True)

    async def _answered(
        self,
        person: PersonRef,
        answer: EngineAnswer,
        shown: str,
        typed: bool,
        *,
        incoming: bool,
    ) -> list[Reply]:
        """The engine's answer: erasure, logging (the incoming message too unless it was
        logged when held), observers."""
        items = answer.messages
        replies = replies_from_engine(items)
        if not replies and (kinds := self.texts.crisis_kinds(shown)):
            # The engine said nothing to a crisis message (an action failed): the app's own
            # helplines and urgent ticket, as when the engine is down.
            replies = [Reply(text) for text in self.texts.without_engine(kinds)]
            await self._urgent(person.pseudo_id, shown, kinds[0].name, reason="app_check")
        if any(item.get("custom") == ERASE_SIGNAL for item in items):
            # The engine has saved this turn: erase everything now, log nothing; the engine's
            # "c'est effacé" goes out only once the app's data is gone.
            return await self._forget(person, replies, tracker=True)
        if self.appointments is not None and opted_out_now(shown, answer.turn):
            replies += await self.appointments.after_stop(person.id)  # keep the rdv?
        await self._log(person, shown if incoming else None, replies)
        if self.observers:
            await self._observe(person, shown, typed, replies, answer.turn)
        return replies

    async def _without_engine(
        self, person: PersonRef, message: str, shown: str, typed: bool
    ) -> list[Reply]:
        """No engine answered: helplines for a crisis, the app's own /oubli question, else the
        message is held for later (bot/held.py) and the person told so."""
        mark_turn("engine_down")  # /metrics (core/metrics.py)
        kinds = self.texts.crisis_kinds(shown)
        if kinds:
            # A crisis is answered now (helplines, urgent ticket: a counsellor takes it from
            # there) and is not held: replayed later, the engine would run its crisis flow
            # again hours after the helplines were given, out of the moment.
            await self._urgent(person.pseudo_id, shown, kinds[0].name, reason="app_check")
            replies = [Reply(text) for text in self.texts.without_engine(kinds)]
        elif message == COMMANDS["oubli"]:
            # /oubli works without the engine: the app asks, then erases by itself.
            erasure = self.texts.erasure
            keys = (Button(erasure["accept"], ERASE_ACCEPT), Button(erasure["keep"], ERASE_KEEP))
            return [Reply(erasure["confirm"], buttons=keys)]
        else:
            kept = self.held is not None and await asyncio.to_thread(
                self.held.hold, person.id, message, shown, typed
            )
            mark_turn("held" if kept else "engine_down")  # /metrics
            replies = [Reply(self.texts.engine_down if kept else self.texts.engine_down_full)]
        await self._log(person, shown, replies)
        return replies

    async def replay_held(self, person: PersonRef) -> tuple[list[Reply], int | None]:
        """Answer the person's held messages in order (the caller holds their chat): the
        answers after a lead-in, and how many are still held (no engine again, or another
        runner on them), or None if a replayed message erased the person. A message is
        claimed before the engine sees it and its answers kept only by the runner that
        deleted it: never answered twice."""
        held = self.held
        if held is None:
            return [], 0
        items = await asyncio.to_thread(held.of, person.id)
        if items and (ticket := await self._relaying(person)):
            # A counsellor took the conversation meanwhile: the messages are theirs.
            for item in items:
                if await asyncio.to_thread(held.remove, item.id):
                    await self.relay.youth_message(ticket, item.shown)
            return [], 0
        replies: list[Reply] = []
        for index, item in enumerate(items):
            if not await asyncio.to_thread(held.claim, item):
                # Another runner is replaying this person (a lost lock): it goes on, in order,
                # and anything newer waits behind.
                return self._lead_in(replies), len(items) - index
            try:
                channel = {"channel": str(person.channel)}
                answer = await self.engine.exchange(person.pseudo_id, item.message, channel)
            except EngineUnavailable as exc:
                log.warning("held message of %s not replayed: %s", person.pseudo_id, exc)
                if not await self.engine.is_ready():  # no engine at all: not this message's fault
                    await asyncio.to_thread(held.release, item)
                return self._lead_in(replies), len(items) - index
            if not await asyncio.to_thread(held.remove, item.id):
                # Answered by another runner (a lost lock): not sent twice.
                return self._lead_in(replies), len(items) - index
            erased = any(entry.get("custom") == ERASE_SIGNAL for entry in answer.messages)
            replies += await self._answered(person, answer, item.shown, item.typed, incoming=False)
            if erased:
                return self._lead_in(replies), None
        return self._lead_in(replies), 0

    def _lead_in(self, replies: list[Reply]) -> list[Reply]:
        return [Reply(self.texts.replay_lead_in), *replies] if replies else []

    async def _log(self, person: PersonRef, incoming: str | None, replies: list[Reply]) -> None:
        """Log an exchange (consent is read now: the consent action may just have recorded it)."""
        logged = [LoggedMessage(Direction.outgoing, Origin.bot, r.text) for r in replies]
        if incoming is not None:
            logged.insert(0, LoggedMessage(Direction.incoming, Origin.youth, incoming))
        await asyncio.to_thread(self.people.log_messages, person.id, logged)

    async def _forget(self, person: PersonRef, done: list[Reply], *, tracker: bool) -> list[Reply]:
        """Erase the person's app data at once (`done` is said only once it is gone), then the
        engine's tracker if `tracker` (else, or if unreachable, the retry job does it)."""
        try:
            await self.relay.forget(person.pseudo_id, self.erasure.erase_app)
        except Exception:
            log.exception("erasure of %s failed", person.pseudo_id)
            return [Reply(self.texts.erasure["failed"])]
        if tracker:
            try:
                await asyncio.to_thread(self.erasure.erase_tracker, person.pseudo_id)
            except Exception:  # the app's data is gone; the tracker erasure stays pending
                log.exception("tracker erasure of %s left pending", person.pseudo_id)
        return done

    async def _observe(
        self,
        person: PersonRef,
        shown: str,
        typed: bool,
        replies: list[Reply],
        turn: TurnInfo | None,
    ) -> None:
        """Tell the observers; what they fail at is logged, never shown to the young person.

        `turn` came with the engine's answer (engine/channel.py); an engine without that
        channel is asked for its tracker instead (a second request, and a read growing with
        the conversation)."""
        if turn is None:
            try:
                turn = await self.engine.last_turn(person.pseudo_id)
            except EngineUnavailable as exc:
                log.warning("could not read the turn of %s: %s", person.pseudo_id, exc)
        exchange = Exchange(person, shown, typed, turn, replies)
        for observer in self.observers:
            try:
                await observer.after_exchange(exchange)
            except Exception:  # an analytics failure must not break the conversation
                log.exception("exchange observer %r failed", observer)

    async def _urgent(self, pseudo_id: str, text: str, kind: str, *, reason: str) -> None:
        """An urgent ticket raised by the app's own crisis check (`reason`: "pattern" while a
        counsellor holds the conversation, "app_check" when the engine is down); the message
        that raised it goes on the ticket, even without consent (vital interest)."""
        try:
            await self.relay.raise_crisis(pseudo_id, text[:MAX_TRIGGER], kind, reason=reason)
        except Exception:  # the helplines go out even when the ticket cannot be stored
            log.exception("urgent ticket for %s not stored", pseudo_id)
