"""Web chat benchmark: what the channel costs over the simulator's polling, on the real app
(uvicorn) with the echo engine stand-in (tests/support/echo_engine.py: no NLU time).

Figures printed, no timing asserted:
1. a message's round trip through `/chat/api/messages`, against the same pipeline through the
   staff simulator's `/simulateur/api/messages` (the baseline, same run);
2. a counsellor's REST answer (`POST /api/v1/tickets/{id}/reply`) reaching the page: through
   the live stream (same worker: woken at once), through a push stored by "another worker"
   (found by the stream's own look every `webchat.stream_poll_seconds`), against the
   simulator page's polling every 5 s (the baseline: half a period on average, computed);
3. the memory (RSS) of the process (app and bench) before and with N live streams open.

    .venv/bin/python -m bench.webchat [--messages 200] [--streams 300]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from bot.messages import Reply
from core.models import Channel
from core.people import pseudonymise
from handoff.requests import TriageSummary
from tests.support import AppServer, make_settings
from tests.support.echo_engine import EchoEngine

SIM_POLL = 5.0  # seconds between the simulator page's polls (web/static/simulator.js)


def rss_mb() -> float:
    with open(f"/proc/{os.getpid()}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p90 = ordered[int(0.9 * (len(ordered) - 1))]
    median = statistics.median(ordered) * 1000
    return f"median {median:7.1f} ms   p90 {p90 * 1000:7.1f} ms   (n={len(ordered)})"


async def round_trips(app: AppServer, count: int) -> tuple[list[float], list[float]]:
    chat: list[float] = []
    sim: list[float] = []
    async with httpx.AsyncClient(base_url=app.url, timeout=30) as http:
        token = ""
        for index in range(count):
            if index % 8 == 0:  # a new young person every 8 messages, on both sides
                token = (await http.post("/chat/api/session")).json()["token"]
            start = time.perf_counter()
            response = await http.post(
                "/chat/api/messages",
                json={"text": f"salut {index}"},
                headers={"X-Maraude-Chat": token},
            )
            chat.append(time.perf_counter() - start)
            assert response.status_code == 200, response.text
            if index % 8 == 0:
                http.cookies.clear()
                await http.get("/simulateur")  # a new simulated young person (cookie)
            start = time.perf_counter()
            response = await http.post("/simulateur/api/messages", json={"text": f"salut {index}"})
            sim.append(time.perf_counter() - start)
            assert response.status_code == 200, response.text
            await asyncio.sleep(0.3)  # a person typing (the flood gate counts 10 per 5 s)
    return chat, sim


async def open_stream(http: httpx.AsyncClient, token: str, seen: asyncio.Queue[float]) -> None:
    headers = {"X-Maraude-Chat": token}
    async with http.stream(
        "GET", "/chat/api/stream", params={"after": 0}, headers=headers
    ) as stream:
        async for line in stream.aiter_lines():
            if line.startswith("data: "):
                await seen.put(time.perf_counter())


async def live(app: AppServer, streams: int) -> None:
    services = app.services
    secret = services.settings.secret_key
    lea = services.accounts.add("bench@example.org", "Léa", "motdepasse-solide", team="lille")
    api = services.accounts.create_token(lea.id, "bench")
    limits = httpx.Limits(max_connections=streams + 20, max_keepalive_connections=streams + 20)
    async with httpx.AsyncClient(base_url=app.url, timeout=60, limits=limits) as http:
        tokens: list[str] = []
        for _ in range(streams):
            token = (await http.post("/chat/api/session")).json()["token"]
            await http.post(
                "/chat/api/messages", json={"text": "salut"}, headers={"X-Maraude-Chat": token}
            )
            tokens.append(token)
        base = rss_mb()
        queues: list[asyncio.Queue[float]] = [asyncio.Queue() for _ in tokens]
        tasks = [
            asyncio.create_task(open_stream(http, t, q))
            for t, q in zip(tokens, queues, strict=True)
        ]
        await asyncio.sleep(2)
        grown = rss_mb() - base
        print(
            f"  memory with {streams:4d} live streams: {rss_mb():7.1f} MB (+{grown:.1f} MB, "
            f"{grown * 1024 / max(streams, 1):.0f} kB per stream, app and bench together)"
        )
        # A counsellor answers ten of them through the REST API: the same worker wakes the stream.
        same: list[float] = []
        for index in range(min(10, streams)):
            pseudo = pseudonymise(secret, Channel.web, services.webchat.user_key(tokens[index]))
            ticket = services.handoff.request(
                pseudo, TriageSummary(location="59100"), source="ask_human"
            ).ticket_id
            auth = {"Authorization": f"Bearer {api}"}
            await http.post(f"/api/v1/tickets/{ticket}/claim", headers=auth)
            while not queues[index].empty():
                queues[index].get_nowait()
            start = time.perf_counter()
            response = await http.post(
                f"/api/v1/tickets/{ticket}/reply", json={"text": "Je suis là."}, headers=auth
            )
            assert response.status_code in (200, 201), response.text
            same.append(await asyncio.wait_for(queues[index].get(), 30) - start)
        # Another worker stores the answer: found by the stream's own look at the outbox.
        other: list[float] = []
        poll = services.settings.webchat.stream_poll_seconds
        for index in range(10, min(30, streams)):
            person = services.webchat.person(tokens[index])
            # At a random moment of the streams' look-up cycle (they started together).
            await asyncio.sleep(random.uniform(0, poll))
            start = time.perf_counter()
            await asyncio.to_thread(
                services.webchat_store.push, person.id, [Reply("coucou")], human=True
            )
            other.append(await asyncio.wait_for(queues[index].get(), 30) - start)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    print(f"  counsellor answer -> page, same worker (woken):      {summary(same)}")
    if other:
        print(f"  counsellor answer -> page, another worker (poll {poll:g} s): {summary(other)}")
    print(
        f"  baseline, the simulator page polling every {SIM_POLL:g} s: "
        f"{SIM_POLL / 2 * 1000:7.1f} ms on average, {SIM_POLL * 1000:.0f} ms at worst"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--streams", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, EchoEngine() as engine:
        settings = make_settings(
            Path(folder),
            rasa_url=engine.url,
            server={"simulator": "open", "rate_limit_storage": "memory://"},
            webchat={"stream_seconds": 600},
        )
        with AppServer(settings) as app:
            # Measure, not limit: one client address opens every conversation here.
            app.services.rate_limits.hit = lambda *a, **k: True
            print(
                "Web chat benchmark (echo engine, SQLite, one worker; "
                f"RSS at start {rss_mb():.1f} MB)"
            )
            chat, sim = asyncio.run(round_trips(app, args.messages))
            print(f"  message round trip, web chat:           {summary(chat)}")
            print(f"  message round trip, simulator (baseline): {summary(sim)}")
            asyncio.run(live(app, args.streams))
            print(f"  RSS at the end: {rss_mb():.1f} MB")


if __name__ == "__main__":
    main()
