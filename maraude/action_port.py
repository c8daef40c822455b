"""Serving the action server (web/action_server.py) on its own loopback port.

The app's lifespan opens it next to the public server: a second uvicorn server in the same
event loop (the actions share the app's services), on `engine.action_host:action_port`. The
socket is bound with SO_REUSEPORT so that several app workers of one machine share the port;
signals stay with the main server (this one stops when the lifespan ends).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import uvicorn

from core.settings import Settings
from web.action_server import create_action_app

if TYPE_CHECKING:
    from maraude.services import Services


class ActionPortError(Exception):
    """The action port could not be opened; the message says which and why."""

    safe_to_log = True  # an address and an OS error: kept by core/logfilter.py


class _QuietServer(uvicorn.Server):
    """A uvicorn server that leaves Ctrl-C and SIGTERM to the main server."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if hasattr(socket, "SO_REUSEPORT"):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ActionPortError(
            f"cannot open the action server on {host}:{port} ({exc.strerror}); "
            "set engine.action_port to a free port"
        ) from None
    sock.set_inheritable(True)
    return sock


@asynccontextmanager
async def serving_actions(settings: Settings, services: Services) -> AsyncIterator[str]:
    """Serves the actions while the block runs; yields the URL the engine calls."""
    app = create_action_app(lambda: services.actions, settings.action_token)
    config = uvicorn.Config(
        app,
        lifespan="off",
        access_log=False,  # the engine's calls carry the token in their query string
        log_config=None,  # the process's logging, with its privacy filter
        timeout_graceful_shutdown=10,
    )
    server = _QuietServer(config)
    sock = _bind(settings.engine.action_host, settings.engine.action_port)
    task = asyncio.create_task(server.serve(sockets=[sock]), name="action-server")
    try:
        while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
            if task.done():
                task.result()
                raise ActionPortError("the action server stopped while starting")
            await asyncio.sleep(0.01)
        yield settings.action_url
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await task
        sock.close()
