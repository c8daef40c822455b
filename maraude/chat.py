"""`maraude chat`: a terminal conversation through the whole stack.

Starts the engine (unless RASA_URL is set) and the app in this process (the engine needs
the app's action server for custom actions), then hands the app's pipeline to the terminal
channel (bot/terminal.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket

import uvicorn

from bot.terminal import converse
from core.settings import Settings
from maraude.app import create_app
from maraude.engine_process import EngineProcess


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def run_chat(settings: Settings, port: int | None = None) -> int:
    port = port or free_port()
    engine = None
    if settings.rasa_url is None:
        engine_port = free_port()
        settings = settings.model_copy(
            update={
                "engine": settings.engine.model_copy(
                    update={"port": engine_port, "action_port": free_port()}
                )
            }
        )
        engine = EngineProcess(settings)
        print("Starting the engine (this takes a little while)…", flush=True)
        engine.start()
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    try:
        if engine is not None:
            await asyncio.to_thread(engine.wait_ready)
        while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
            if serving.done():
                serving.result()  # re-raise why the app could not start
                return 1
            await asyncio.sleep(0.05)
        await converse(app.state.services.pipeline)
    except KeyboardInterrupt:
        pass
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await serving
        if engine is not None:
            engine.stop()
    return 0
