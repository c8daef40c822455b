"""Composition root of the app process: the ASGI app.

Nothing connects at import time; `create_app` wires routes, and the lifespan builds the
services (maraude/services.py), opens the database, the engine client and (with a token) the
Telegram channel, starts the jobs (maraude/jobs.py), and closes them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlparse

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from core import migrate
from core.clock import Clock
from core.logfilter import install_privacy_filter
from core.metrics import METRICS
from core.settings import Settings
from maraude import __version__
from maraude.action_port import serving_actions
from maraude.engine_stores import keep_tracker_index
from maraude.jobs import ALWAYS_ON_JOBS, stop_scheduler
from maraude.services import WEB_DIR, build_services
from maraude.supervisor import EngineSupervisor
from studio.model_watch import MODEL_WATCH_JOB
from web import api, api_docs, auth, dashboard, errors, pages, security, simulator, webchat
from web import campaigns as campaigns_web
from web import inbox as inbox_web
from web import metrics as metrics_web
from web import results as results_pages
from web import search as search_web
from web.telegram_webhook import telegram_webhook_router

log = logging.getLogger(__name__)
DEFAULT_WEBHOOK_PATH = "/telegram/webhook"


def webhook_path(settings: Settings) -> str:
    if settings.telegram_webhook_url:
        return urlparse(settings.telegram_webhook_url).path or DEFAULT_WEBHOOK_PATH
    return DEFAULT_WEBHOOK_PATH


def create_app(
    settings: Settings, *, clock: Clock | None = None, supervisor: EngineSupervisor | None = None
) -> FastAPI:
    """`supervisor`: the engines `maraude up` runs and restarts (shown on /health)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.server.auto_migrate:
            await asyncio.to_thread(migrate.upgrade, settings.effective_database_url)
        install_privacy_filter()  # uvicorn's handlers exist by now
        services = build_services(settings, clock)
        app.state.services = services
        services.engine.start()  # probes the engines marked down, until aclose
        # Rasa's advised index on its events table, once an engine has created the table.
        tracker_index = asyncio.create_task(keep_tracker_index(settings.tracker_store_url))
        METRICS.configure(settings.redis_url, settings.secret_key)  # workers' sums: Redis
        services.engine.add_error_hook(METRICS.engine_error)  # /metrics engine errors
        # The engine's action calls: own loopback port, token required (before Telegram starts).
        actions_port = serving_actions(settings, services)
        await actions_port.__aenter__()
        await services.webchat.hub.start()  # with REDIS_URL: the other workers' pushes
        try:
            if services.telegram is not None:
                await services.telegram.start()
                if services.bridge is not None:
                    await services.bridge.start()
            else:
                log.info("no TELEGRAM_BOT_TOKEN: Telegram is off, the simulator is at /simulateur")
            if services.scheduler is not None:
                if not settings.nudges.enabled:  # nudges, SLA and digest off: the model
                    for job in services.scheduler.get_jobs():  # watch, privacy, inbox run
                        if job.id != MODEL_WATCH_JOB and job.id not in ALWAYS_ON_JOBS:
                            services.scheduler.remove_job(job.id)
                if services.scheduler.get_jobs():
                    services.scheduler.start()  # in this event loop: the jobs run here
            yield
        finally:
            await stop_scheduler(services)  # first: a sweep in progress still has Telegram
            if services.bridge is not None:
                await services.bridge.stop()
            if services.telegram is not None:
                await services.telegram.stop()
            await actions_port.__aexit__(None, None, None)
            tracker_index.cancel()
            await services.engine.aclose()
            await services.chat_locks.aclose()
            await services.webchat.hub.aclose()
            await METRICS.aclose()  # the last counts reach Redis
            services.erasure.dispose()
            services.db.dispose()

    install_privacy_filter()  # no message text, answer or chat id in any log
    # The API documentation is for staff only: web/api_docs.py serves it behind a login.
    app = FastAPI(
        title="Maraude",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.supervisor = supervisor
    app.add_middleware(SessionMiddleware, **auth.session_options(settings))  # dashboard sessions
    # Outermost: nosniff, frame-ancestors, CSP... on every answer; HSTS over https.
    app.add_middleware(security.SecurityHeaders, https=security.served_over_https(settings))
    errors.install(app)  # refused operations as HTTP answers, by class
    app.mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static")
    app.include_router(pages.router)
    app.include_router(simulator.router)
    app.include_router(webchat.router)  # the web chat: /chat, /chat/widget.js, /chat/api
    app.include_router(dashboard.router)
    app.include_router(results_pages.router)  # manager results + impact report
    app.include_router(campaigns_web.router)  # managers' outreach campaigns, QR codes
    app.include_router(inbox_web.router)
    app.include_router(search_web.router)  # ticket search (need to know)
    app.include_router(api.router)
    app.include_router(api_docs.router)  # /docs, /redoc, /openapi.json: staff only
    app.include_router(telegram_webhook_router(webhook_path(settings)))
    app.include_router(metrics_web.router)  # /metrics: bearer token, 404 without one
    return app


def app_from_environment() -> FastAPI:
    """uvicorn's app factory for `maraude serve --workers N`: each worker process reads the
    settings itself ($MARAUDE_CONFIG and the environment, set by the command)."""
    import os

    from core.settings import load_settings
    from maraude.cli import configure_logging

    configure_logging(os.environ.get(VERBOSE_ENV) == "1")  # a spawned worker: fresh logging
    return create_app(load_settings())


VERBOSE_ENV = "MARAUDE_VERBOSE"  # `maraude -v serve --workers N`: debug logs in each worker
