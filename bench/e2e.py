"""End-to-end latency and throughput: fake Bot API -> app -> engine, against the engine alone.

N simulated young people each send M messages (one at a time, waiting for the whole answer)
through the real python-telegram-bot client polling a local fake Bot API; then the same
messages are posted straight to the engine's REST channel by the same number of senders.
Prints p50/p95 latency per message, messages per second, and the ratio app/engine.

    .venv/bin/python -m bench.e2e [--users 20] [--messages 5]
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--messages", type=int, default=5)
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

    print(f"\n{args.users} users x {args.messages} messages, one at a time per user\n")
    app = report("Telegram -> app -> engine", app_lat, app_elapsed)
    base = report("engine REST (baseline)", engine_lat, engine_elapsed)
    print(
        f"\nratio app/engine: p50 x{app['p50_ms'] / base['p50_ms']:.2f}  "
        f"p95 x{app['p95_ms'] / base['p95_ms']:.2f}  "
        f"throughput x{app['msg_per_s'] / base['msg_per_s']:.2f}"
    )


if __name__ == "__main__":
    main()
