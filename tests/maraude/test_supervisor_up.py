"""A real `maraude up` (its own trained engine), tried as an operator would: a second
`maraude up` on the same engine port is refused with what to do; the engine SIGKILLed is
restarted and /health says so; SIGTERM (systemd, containers) stops the app and leaves no
engine behind. One engine for the whole module (a start costs ~30-60 s, the restart as much)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from maraude.engine_process import EngineProcess
from tests.support import CONTRACT_ENV, ROOT, engine_missing_reason, free_port, make_settings

pytestmark = pytest.mark.engine


def maraude(config: Path, folder: Path, name: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in CONTRACT_ENV and k != "REDIS_URL"}
    out = (folder / f"{name}.out").open("wb")
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "maraude.cli", "--config", str(config), "up"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    finally:
        out.close()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie waiting for its parent is dead already
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


@dataclass
class Up:
    process: subprocess.Popen[bytes]
    folder: Path
    url: str
    engine_port: int

    def health(self) -> Any:
        return httpx.get(f"{self.url}/health", timeout=30).json()

    def wait(self, predicate: Any, what: str, timeout: float = 600) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise AssertionError(f"`maraude up` exited:\n{self.output()}")
            try:
                value = predicate()
            except (httpx.HTTPError, ValueError, KeyError, IndexError):
                value = None
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"gave up waiting for {what}:\n{self.output()}")
            time.sleep(0.5)

    def output(self) -> str:
        return (self.folder / "up.out").read_text(errors="replace")[-3000:]


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    reason = engine_missing_reason()
    if reason:
        pytest.skip(reason)
    folder = tmp_path_factory.mktemp("up")
    engine_port, app_port = free_port(), free_port()
    make_settings(folder, engine={"port": engine_port}, server={"port": app_port})
    process = maraude(folder / "maraude.yml", folder, "up")
    running = Up(process, folder, f"http://127.0.0.1:{app_port}", engine_port)
    try:
        running.wait(lambda: httpx.get(f"{running.url}/health", timeout=5).status_code == 200, "up")
        yield running
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(120)
            except subprocess.TimeoutExpired:
                process.kill()


def test_a_second_maraude_up_finds_the_engine_port_taken(up: Up) -> None:
    other = up.folder / "other"
    make_settings(other, engine={"port": up.engine_port}, server={"port": free_port()})
    second = maraude(other / "maraude.yml", other, "second")
    assert second.wait(300) == 3
    said = (other / "second.out").read_text()
    assert f"already running on http://127.0.0.1:{up.engine_port}" in said, said
    assert "Stop it first" in said and "RASA_URL" in said


def test_a_killed_engine_is_restarted_then_sigterm_leaves_no_engine(up: Up) -> None:
    [engine] = up.health()["engines"]
    assert engine["healthy"] and engine["process"]["state"] == "running"
    first_pid = engine["process"]["pid"]
    os.kill(first_pid, signal.SIGKILL)

    def back() -> Any:
        [engine] = up.health()["engines"]
        process = engine["process"]
        restarted = process["restarts"] == 1 and process["state"] == "running"
        return engine if restarted and engine["healthy"] else None

    engine = up.wait(back, "the engine restarted and healthy on /health")
    assert engine["process"]["last_exit"] == -signal.SIGKILL
    second_pid = engine["process"]["pid"]
    assert second_pid != first_pid and alive(second_pid)
    assert "exited (-9), restarting in 1 s, restart #1" in up.output()

    up.process.send_signal(signal.SIGTERM)  # what systemd and container runtimes send
    assert up.process.wait(120) == 0
    deadline = time.monotonic() + 60
    while alive(second_pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not alive(second_pid), "the engine outlived `maraude up`"
    assert "Stopping the engine(s)" in up.output()
    settings = make_settings(up.folder / "after", engine={"port": up.engine_port})
    EngineProcess(settings, port=up.engine_port).check_port()  # the port is free again
