"""End-to-end latency and throughput: fake Bot API -> app -> engine, against the engine alone.

N simulated young people each send M messages (one at a time, waiting for the whole answer)
through the real python-telegram-bot client polling a local fake Bot API; then the same
messages are posted straight to the engine's REST channel by the same number of senders.
Prints p50/p95 latency per message, messages per second, and the ratio app/engine.

Then, at a few conversation lengths, what the app's observers cost per turn: before, a second
request after each message (`GET /conversations/{id}/tracker?include_events=AFTER_RESTART`, the
whole tracker, growing with the conversation) on top of the REST channel's message; now, one
request on the engine's Maraude channel (engine/channel.py), whose answer carries the turn taken
from the tracker the engine has just saved. The tracker read without events (`NONE`) is shown
for reference.

    .venv/bin/python -m bench.e2e [--users 20] [--messages 5] [--tracker-turns 10,50,200]
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.support import running_stack

MESSAGES = [
    "slt",
    "t'es un robot ?",
    "merci bcp",
    "jsp trop",
    "c quoi la meteo demain",
    "jveux parler a qqn de vrai",
    "bonne soiree",
]


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def run_users(users: int, per_user: Callable[[int], list[float]]) -> tuple[list[float], float]:
    latencies: list[float] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            result = per_user(index)
        except BaseException as exc:  # report, do not hang
            errors.append(exc)
            return
        with lock:
            latencies.extend(result)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(users)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    return latencies, elapsed


def report(name: str, latencies: list[float], elapsed: float) -> dict[str, float]:
    figures = {
        "p50_ms": statistics.median(latencies) * 1000,
        "p95_ms": percentile(latencies, 95) * 1000,
        "msg_per_s": len(latencies) / elapsed,
    }
    print(
        f"{name:<28} messages={len(latencies):>5}  p50={figures['p50_ms']:8.1f} ms  "
        f"p95={figures['p95_ms']:8.1f} ms  throughput={figures['msg_per_s']:7.1f} msg/s"
    )
    return figures


def tracker_reads(
    client: httpx.Client, engine_url: str, lengths: list[int], token: str
) -> list[tuple[float, ...]]:
    """Grow one conversation; at each length, time a turn the old way (REST message + tracker
    read) and the new way (one message on the Maraude channel), and the tracker reads."""
    sender, rest = "bench-tracker", f"{engine_url}/webhooks/rest/webhook"
    turn_channel = f"{engine_url}/webhooks/maraude/webhook"
    url = f"{engine_url}/conversations/{sender}/tracker"
    rows, sent = [], 0

    def message() -> dict[str, str]:
        nonlocal sent
        sent += 1
        return {"sender": sender, "message": MESSAGES[sent % len(MESSAGES)]}

    for target in sorted(lengths):
        while sent < target:
            client.post(rest, json=message()).raise_for_status()
        old, new = [], []
        for _ in range(5):  # 10 more messages: the length stays about `target`
            t0 = time.perf_counter()
            client.post(rest, json=message()).raise_for_status()
            params = {"include_events": "AFTER_RESTART", "token": token}
            client.get(url, params=params).raise_for_status()
            old.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            response = client.post(turn_channel, json=message())
            response.raise_for_status()
            assert response.json().get("turn"), "the engine's Maraude channel gave no turn"
            new.append(time.perf_counter() - t0)
        figures = [statistics.median(old) * 1000, statistics.median(new) * 1000]
        for include in ("AFTER_RESTART", "NONE"):
            times, size = [], 0
            for _ in range(20):
                t0 = time.perf_counter()
                response = client.get(url, params={"include_events": include, "token": token})
                response.raise_for_status()
                times.append(time.perf_counter() - t0)
                size = len(response.content)
            figures += [size / 1024, statistics.median(times) * 1000]
        rows.append((target, *figures))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--messages", type=int, default=5)
    parser.add_argument(
        "--tracker-turns",
        type=lambda v: [int(x) for x in v.split(",")],
        default=[10, 50, 200],
        help="conversation lengths at which to time the tracker read (comma-separated)",
    )
    args = parser.parse_args()
    texts = list(itertools.islice(itertools.cycle(MESSAGES), args.messages))

    with (
        tempfile.TemporaryDirectory() as tmp,
        running_stack(Path(tmp), engine_timeout=300) as stack,
    ):
        tg, rest = stack.telegram, f"{stack.engine.url}/webhooks/rest/webhook"
        # How many bot messages each text produces, so both paths wait for the whole answer.
        expected = {
            t: len(httpx.post(rest, json={"sender": "warmup", "message": t}, timeout=60).json())
            for t in set(texts)
        }

        def via_app(index: int) -> list[float]:
            user = 900_000 + index
            seen, out = 0, []
            for text in texts:
                t0 = time.perf_counter()
                tg.push_message(user, text)
                seen += max(1, expected[text])
                tg.wait_for_messages(user, seen, timeout=120)
                out.append(time.perf_counter() - t0)
            return out

        via_app(999)  # warm-up
        app_lat, app_elapsed = run_users(args.users, via_app)

        with httpx.Client(timeout=120) as client:

            def direct(index: int) -> list[float]:
                out = []
                for text in texts:
                    t0 = time.perf_counter()
                    body = {"sender": f"bench-{index}", "message": text}
                    client.post(rest, json=body).raise_for_status()
                    out.append(time.perf_counter() - t0)
                return out

            engine_lat, engine_elapsed = run_users(args.users, direct)
            tracker_rows = tracker_reads(
                client, stack.engine.url, args.tracker_turns, stack.settings.engine_auth_token
            )

    print(f"\n{args.users} users x {args.messages} messages, one at a time per user\n")
    app = report("Telegram -> app -> engine", app_lat, app_elapsed)
    base = report("engine REST (baseline)", engine_lat, engine_elapsed)
    print(
        f"\nratio app/engine: p50 x{app['p50_ms'] / base['p50_ms']:.2f}  "
        f"p95 x{app['p95_ms'] / base['p95_ms']:.2f}  "
        f"throughput x{app['msg_per_s'] / base['msg_per_s']:.2f}"
    )
    print("\none turn with what the observers need, as the conversation grows (medians):")
    for turns, old_ms, new_ms, events_kb, events_ms, none_kb, none_ms in tracker_rows:
        print(
            f"  after {turns:>4.0f} messages: REST + tracker read (before) {old_ms:7.1f} ms"
            f"   Maraude channel (now) {new_ms:7.1f} ms   x{old_ms / new_ms:.2f}"
        )
        print(
            f"{'':22}tracker read alone: AFTER_RESTART {events_kb:8.1f} kB {events_ms:7.1f} ms"
            f"   NONE {none_kb:6.1f} kB {none_ms:6.1f} ms"
        )


if __name__ == "__main__":
    main()
