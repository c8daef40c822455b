"""Load benchmark: simulated young people through the fake Bot API in webhook mode.

    .venv/bin/python -m bench.load [--rate 0.5] [--duration 30] [--steps 2,3] ...

Needs MARAUDE_TEST_POSTGRES_URL and MARAUDE_TEST_REDIS_URL (exits 2 if unset or silent) and
a trained model in models/. Runs, each at a fixed arrival rate of young people:
  1. 1 engine + 1 worker (`maraude up`, webhook mode): the mix, then heavier steps;
  2. the same young people straight to that stack's bare engine (REST channel): the baseline
     of the app's overhead;
  3. 2 engines + 2 workers: the mix, then the same heavier steps;
  4. 2 + 2 with one engine SIGKILLed mid-run and restarted (by `maraude up`'s supervisor, or
     by the bench when it started the engines itself).
Prints one line per run, then `load: ...` with the figures and the ratios. Exits 1 if a run
lost, duplicated or reordered a message (never on timings).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from bench.load.driver import Driver, Options
from bench.load.fake import LoadTelegram
from bench.load.report import Figures, equal_p95, figures, problems
from bench.load.stack import Stack, choose_layout, require_stores, running
from bot.texts import AppTexts

RUNS = ("1x1", "engine", "2x2", "kill")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    floats = lambda v: [float(x) for x in v.split(",") if x]  # noqa: E731
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rate", type=float, default=0.5, help="young people arriving per second")
    p.add_argument("--duration", type=float, default=30, help="seconds of arrivals, main runs")
    p.add_argument("--steps", type=floats, default=[3, 6], help="heavier rates, × --rate")
    p.add_argument("--step-duration", type=float, default=20)
    p.add_argument("--kill-duration", type=float, default=40)
    p.add_argument("--kill-at", type=float, default=8, help="seconds into the kill run")
    p.add_argument("--restart-after", type=float, default=1.0, help="bench-started engines")
    p.add_argument(
        "--p95-budget", type=float, default=2500, help="ms: the 2-vs-1 ratio is read at p95 <= this"
    )
    p.add_argument("--think", type=floats, default=[1.0, 3.0], help="min,max seconds")
    p.add_argument("--settle", type=float, default=0.8)
    p.add_argument(
        "--timeout", type=float, default=60, help="seconds without a reply: lost (keep it "
        "above engine.request_timeout, 30 s, so that a message the app still retries counts)",
    )  # fmt: skip
    p.add_argument("--redeliver", type=float, default=0.05)
    p.add_argument("--redis-db", type=int, default=13)
    p.add_argument("--start-timeout", type=float, default=420)
    p.add_argument("--only", default=",".join(RUNS), help=f"subset of {','.join(RUNS)}")
    p.add_argument("--keep", help="folder for configs and logs (default: a temporary one)")
    return p.parse_args(argv)


def options(args: argparse.Namespace, rate: float, duration: float) -> Options:
    think = (args.think[0], args.think[-1])
    return Options(
        rate=rate,
        duration=duration,
        think=think,
        settle=args.settle,
        timeout=args.timeout,
        redeliver=args.redeliver,
    )


def webhook_driver(tg: LoadTelegram) -> Driver:
    texts = AppTexts.load()
    return Driver(
        telegram=tg,
        engine_down_text=texts.engine_down,
        claimed_prefix=texts.handoff_claimed.format(name="Awa")[:25],
    )


async def phases(
    args: argparse.Namespace, stack: Stack, tg: LoadTelegram, label: str, out: list[Figures]
) -> list[Figures]:
    """The mix at the base rate, then the heavier steps, on one stack."""
    wait_hook(tg, stack)
    driver, token = webhook_driver(tg), stack.counsellor_token()
    counsellor = (stack.app_url, token)
    runs = []
    base = options(args, args.rate, args.duration)
    plan = [(f"{label} mix", base)] + [
        (
            f"{label} x{factor:g}",
            replace(base, rate=args.rate * factor, duration=args.step_duration),
        )
        for factor in args.steps
    ]
    for name, opts in plan:
        before = await asyncio.to_thread(stack.turn_seconds)
        result = await driver.run(name, opts, counsellor=counsellor)
        runs.append(report(figures(result, opts.rate), out, problems(result)))
        after = await asyncio.to_thread(stack.turn_seconds)
        if after[1] > before[1]:
            mean = (after[0] - before[0]) / (after[1] - before[1]) * 1000
            print(f"  app's own turn time (/metrics, engine call included): mean {mean:.0f}ms")
    return runs


def wait_hook(tg: LoadTelegram, stack: Stack, timeout: float = 60) -> None:
    """Until this stack's app has registered its webhook with the fake Bot API."""
    deadline = time.monotonic() + timeout
    while not ((hook := tg.webhook()) and f":{stack.app_port}/" in hook[0]):
        if time.monotonic() > deadline:
            raise RuntimeError("the app did not call setWebhook")
        time.sleep(0.2)


def report(fig: Figures, out: list[Figures], details: list[str] | None = None) -> Figures:
    print(fig.line(), flush=True)
    for line in details or []:
        print(line)
    out.append(fig)
    return fig


async def kill_run(
    args: argparse.Namespace, stack: Stack, tg: LoadTelegram, out: list[Figures]
) -> tuple[Figures, str]:
    driver = webhook_driver(tg)
    port = stack.engine_port + stack.layout.engines - 1
    url = f"http://127.0.0.1:{port}"
    note: list[str] = []

    async def kill() -> None:
        await asyncio.sleep(args.kill_at)
        killed = time.monotonic()
        if not stack.kill_engine(port):
            note.append(f"no engine found on port {port}")
            return
        if port in stack.engines:  # ours: the bench is the supervisor
            await asyncio.sleep(args.restart_after)
            stack.start_engine(port)
        while not await asyncio.to_thread(stack.engine_ready, url):
            if time.monotonic() - killed > args.start_timeout:
                note.append("killed engine not back")
                return
            await asyncio.sleep(1)
        note.append(f"engine back after {time.monotonic() - killed:.0f}s")

    opts = options(args, args.rate, args.kill_duration)
    result = await driver.run(
        f"{stack.layout.engines}+{stack.layout.workers} kill", opts,
        counsellor=(stack.app_url, stack.counsellor_token()), during=kill,
    )  # fmt: skip
    fig = report(figures(result, opts.rate), out, problems(result))
    print(f"  SIGKILL of the engine on :{port} at {args.kill_at:.0f}s: {', '.join(note)}")
    return fig, ", ".join(note)


async def bare_engine(args: argparse.Namespace, stack: Stack, out: list[Figures]) -> Figures:
    driver = Driver(engine_url=stack.engine_urls[0])
    opts = options(args, args.rate, args.duration)
    result = await driver.run("bare engine (REST)", opts)
    return report(figures(result, opts.rate), out)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    only = set(args.only.split(","))
    pg, redis_url = require_stores(args.redis_db)
    out: list[Figures] = []
    one: list[Figures] = []
    two: list[Figures] = []
    bare = killed = None
    kill_note = ""
    tg = LoadTelegram()
    tg.start()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.keep or tmp)
        start = dict(pg=pg, redis_url=redis_url, telegram_url=tg.url, timeout=args.start_timeout)
        if only & {"1x1", "engine"}:
            layout = choose_layout(1, 1)
            print(f"== {layout.name} ({layout.launch}) ==", flush=True)
            with running(layout, folder / "1x1", **start) as stack:
                if "1x1" in only:
                    one = asyncio.run(phases(args, stack, tg, "1+1", out))
                if "engine" in only:
                    bare = asyncio.run(bare_engine(args, stack, out))
        if only & {"2x2", "kill"}:
            layout = choose_layout(2, 2)
            label = f"{layout.engines}+{layout.workers}"
            print(f"== {layout.name} ({layout.launch}) ==", flush=True)
            with running(layout, folder / "2x2", **start) as stack:
                if "2x2" in only:
                    two = asyncio.run(phases(args, stack, tg, label, out))
                if "kill" in only:
                    killed, kill_note = asyncio.run(kill_run(args, stack, tg, out))
    tg.stop()
    print(summary(args, one, two, bare, killed, kill_note, out))
    return 0 if all(f.clean for f in out if f.name != "bare engine (REST)") else 1


def summary(
    args: argparse.Namespace,
    one: list[Figures],
    two: list[Figures],
    bare: Figures | None,
    killed: Figures | None,
    kill_note: str,
    out: list[Figures],
) -> str:
    parts = []
    if one:
        parts.append(f"1+1 {one[0].short()}")
    if two:
        parts.append(f"{two[0].name.split()[0]} {two[0].short()}")
    if killed:
        parts.append(f"kill {killed.short()} ({kill_note})")
    if bare:
        parts.append(f"bare engine p50={bare.p50:.0f}ms p95={bare.p95:.0f}ms")
    if one and bare:
        parts.append(f"overhead p50 {100 * (one[0].p50 / bare.p50 - 1):+.0f}%")
    if one and two:
        p95, cap1, cap2 = equal_p95(one, two, args.p95_budget)
        parts.append(
            f"2v1 throughput x{cap2 / cap1:.2f} at equal p95={p95:.0f}ms "
            f"({cap2:.2f} vs {cap1:.2f} turns/s)"
        )
    bad = sum(f.lost + f.duplicated + f.out_of_order for f in out if f.name != "bare engine (REST)")
    parts.append("clean" if not bad else f"{bad} lost/duplicated/out-of-order in all")
    return "load: " + " | ".join(parts)


if __name__ == "__main__":
    sys.exit(main())
