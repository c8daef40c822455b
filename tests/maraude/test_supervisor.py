"""The engine supervisor of `maraude up` (maraude/supervisor.py) with stand-in engine
processes (a few lines of Python serving Rasa's /status and REST channel: real processes,
real ports, real signals): a killed engine is restarted with a doubling back-off, said in the
log and on /health; a port already taken is refused with what to do; the engines die with
their parent even when it is SIGKILLed. The real `maraude up` is in test_supervisor_up.py."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from core.settings import Settings
from maraude.app import create_app
from maraude.engine_process import EngineError, EngineProcess
from maraude.supervisor import EngineSupervisor
from tests.support import free_port, make_settings

STAND_IN = textwrap.dedent(
    """
    import json, sys
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _reply(self, body):
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            self._reply({"model_file": "stand-in.tar.gz"})

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            self._reply([{"recipient_id": body["sender"], "text": "ok " + body["message"]}])

    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
    """
)


class StandInEngine(EngineProcess):
    """An EngineProcess whose command is the stand-in instead of `rasa run`."""

    script: Path

    def command(self) -> list[str]:
        return [sys.executable, str(self.script), str(self.port)]


def stand_ins(settings: Settings, folder: Path, count: int) -> list[EngineProcess]:
    script = folder / "stand_in.py"
    script.write_text(STAND_IN)
    engines: list[EngineProcess] = []
    for _ in range(count):
        port = free_port()
        engine = StandInEngine(settings, port=port, log_path=folder / f"engine-{port}.log")
        engine.script = script
        engines.append(engine)
    return engines


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def wait_for(predicate: Any, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie (not yet reaped by its parent) is gone too.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except OSError:
        return True


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


def test_a_killed_engine_is_restarted_with_a_doubling_backoff(
    settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeMonotonic()
    engines = stand_ins(settings, tmp_path, 2)
    supervisor = EngineSupervisor(engines, monotonic=clock, stable_after=60)
    caplog.set_level(logging.WARNING, logger="maraude.supervisor")
    supervisor.start()
    try:
        supervisor.wait_ready(timeout=60)
        assert [s["state"] for s in supervisor.state()] == ["running", "running"]
        victim = engines[1]

        def kill_and_see_exit() -> None:
            assert victim.process is not None
            pid = victim.process.pid
            os.kill(pid, signal.SIGKILL)
            victim.process.wait(30)
            supervisor.tick()

        delays = []
        for restart in (1, 2, 3):
            kill_and_see_exit()
            state = supervisor.state()[1]
            assert state["state"] == "waiting" and state["last_exit"] == -signal.SIGKILL
            delay = {1: 1, 2: 2, 3: 4}[restart]
            assert f"restarting in {delay} s, restart #{restart}" in caplog.text
            assert f"engine on :{victim.port} exited (-9)" in caplog.text
            clock.now += delay - 0.5
            supervisor.tick()
            assert supervisor.state()[1]["state"] == "waiting"  # not before its back-off
            clock.now += 0.5
            supervisor.tick()
            assert supervisor.state()[1]["state"] == "starting"
            assert supervisor.state()[1]["restarts"] == restart
            wait_for(victim.is_ready, "the restarted stand-in")
            supervisor.tick()
            assert supervisor.state()[1]["state"] == "running"
            delays.append(delay)
        # A stable run forgives the past: the next crash waits the minimum again.
        clock.now += 61
        supervisor.tick()
        kill_and_see_exit()
        assert "restarting in 1 s, restart #4" in caplog.text
        assert supervisor.state()[0]["restarts"] == 0  # the other one was left alone
    finally:
        supervisor.stop(grace=10)
    assert all(e.process is None or e.process.poll() is not None for e in engines)


def test_the_backoff_stops_doubling_at_its_ceiling(settings: Settings, tmp_path: Path) -> None:
    clock = FakeMonotonic()
    (engine,) = stand_ins(settings, tmp_path, 1)
    supervisor = EngineSupervisor([engine], monotonic=clock, max_backoff=60)
    slot = supervisor.slots[0]
    slot.started_at = clock.now  # each run crashes at once
    waits = []
    for _ in range(9):
        supervisor._exited(slot, -9, clock.now)
        assert slot.restart_at is not None
        waits.append(slot.restart_at - clock.now)
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60, 60]


class _App:
    def __init__(self, settings: Settings, supervisor: EngineSupervisor) -> None:
        self.port = free_port()
        config = uvicorn.Config(
            create_app(settings, supervisor=supervisor),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        wait_for(lambda: self.server.started, "the app")
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(30)


@pytest.fixture
def supervised(tmp_path: Path) -> Iterator[tuple[EngineSupervisor, Settings]]:
    base = make_settings(tmp_path / "probe")
    engines = stand_ins(base, tmp_path, 2)
    urls = ",".join(e.url for e in engines)
    settings = make_settings(tmp_path, rasa_url=urls)
    for engine in engines:
        engine.settings = settings
    supervisor = EngineSupervisor(engines, check_every=0.05, min_backoff=0.1)
    supervisor.start()
    try:
        supervisor.wait_ready(timeout=60)
        yield supervisor, settings
    finally:
        supervisor.stop(grace=10)


def test_health_shows_engines_their_restarts_and_503_without_any(
    supervised: tuple[EngineSupervisor, Settings],
) -> None:
    supervisor, settings = supervised
    supervisor.watch()
    with _App(settings, supervisor) as url:
        answer = httpx.get(f"{url}/health", timeout=30)
        body = answer.json()
        assert answer.status_code == 200
        assert body["app"] == "ok" and body["engine"] == "ok" and body["telegram"] == "off"
        assert body["database"] == "ok" and body["redis"] == "off"
        assert [e["url"] for e in body["engines"]] == supervisor.urls
        assert all(e["healthy"] and e["process"]["state"] == "running" for e in body["engines"])

        process = supervisor.slots[0].engine.process
        assert process is not None
        os.kill(process.pid, signal.SIGKILL)

        def restarted() -> bool:
            engines = httpx.get(f"{url}/health", timeout=30).json()["engines"]
            first = engines[0]["process"]
            return bool(first["restarts"] == 1 and first["state"] == "running")

        wait_for(restarted, "the engine restarted, on /health")
        first = httpx.get(f"{url}/health", timeout=30).json()["engines"][0]
        assert first["process"]["last_exit"] == -signal.SIGKILL and first["healthy"]

        supervisor.stop(grace=10)  # every engine down: not healthy
        answer = httpx.get(f"{url}/health", timeout=30)
        assert answer.status_code == 503
        assert answer.json()["engine"] == "unavailable"
        assert [e["process"]["state"] for e in answer.json()["engines"]] == ["stopped"] * 2


def test_a_port_taken_by_a_stale_engine_or_another_program_is_refused(
    supervised: tuple[EngineSupervisor, Settings], tmp_path: Path
) -> None:
    supervisor, settings = supervised
    stale = supervisor.slots[0].engine
    again = EngineProcess(settings, port=stale.port)
    with pytest.raises(EngineError, match="already running on") as caught:
        again.check_port()
    assert "maraude up" in str(caught.value) and f"fuser {stale.port}/tcp" in str(caught.value)

    (other,) = stand_ins(settings, tmp_path, 1)
    other.port = stale.port
    newcomer = EngineSupervisor([other])
    with pytest.raises(EngineError, match="already running"):
        newcomer.start()
    assert newcomer.slots[0].engine.process is None  # nothing was started

    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        with pytest.raises(EngineError, match="taken by another program"):
            EngineProcess(settings, port=port).check_port()
    EngineProcess(settings, port=free_port()).check_port()  # a free port: fine


PARENT = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {root!r})
    from tests.maraude.test_supervisor import StandInEngine
    from tests.support import make_settings
    from maraude.supervisor import EngineSupervisor
    from pathlib import Path

    folder = Path({folder!r})
    settings = make_settings(folder / "parent")
    engines = []
    for port in {ports!r}:
        engine = StandInEngine(settings, port=port, log_path=folder / f"p-{{port}}.log")
        engine.script = folder / "stand_in.py"
        engines.append(engine)
    supervisor = EngineSupervisor(engines)
    supervisor.start()
    supervisor.wait_ready(timeout=60)
    print(" ".join(str(e.process.pid) for e in engines), flush=True)
    time.sleep(600)
    """
)


def test_engines_die_with_maraude_up_even_when_it_is_sigkilled(tmp_path: Path) -> None:
    if sys.platform != "linux":
        pytest.skip("PR_SET_PDEATHSIG is Linux only")
    (tmp_path / "stand_in.py").write_text(STAND_IN)
    root = str(Path(__file__).resolve().parents[2])
    script = PARENT.format(root=root, folder=str(tmp_path), ports=[free_port(), free_port()])
    parent = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=root
    )
    try:
        assert parent.stdout is not None
        pids = [int(p) for p in parent.stdout.readline().split()]
        assert len(pids) == 2 and not any(gone(p) for p in pids)
        parent.send_signal(signal.SIGKILL)
        parent.wait(30)
        wait_for(lambda: all(gone(p) for p in pids), "the orphaned engines to die")
    finally:
        if parent.poll() is None:
            parent.kill()


def test_replicas_are_engines_on_consecutive_ports_on_the_shared_lock_store(
    tmp_path: Path,
) -> None:
    from maraude.supervisor import engine_processes
    from tests.support import engine_missing_reason

    port = free_port()
    settings = make_settings(
        tmp_path, engine={"port": port, "replicas": 3}, redis_url="redis://127.0.0.1:6379/7"
    )
    engines = engine_processes(settings)
    assert [e.port for e in engines] == [port, port + 1, port + 2]
    assert [e.url for e in engines] == settings.engine_urls  # the app's pool asks those
    assert [e.log_path.name for e in engines] == [f"engine-{port + i}.log" for i in range(3)]
    if engine_missing_reason() is None:  # the command needs the engine env and a model
        command = engines[0].command()
        endpoints = Path(command[command.index("--endpoints") + 1])
        assert endpoints == settings.var_dir / "endpoints-engine.yml"
        assert "type: redis" in endpoints.read_text()
