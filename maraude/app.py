"""Composition root of the app process: builds the services and the ASGI app.

Nothing connects at import time; `create_app` wires routes, and the lifespan opens the
database, the engine client and (with a token) the Telegram channel, and closes them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from rasa_sdk.executor import ActionExecutor
from starlette.middleware.sessions import SessionMiddleware

from actions.registry import build_executor
from bot.engine_client import EngineClient
from bot.pipeline import ConversationPipeline
from bot.telegram import TelegramChannel
from bot.texts import AppTexts
from core import migrate
from core.clock import Clock, SystemClock
from core.db import Database
from core.erasure import ErasureService
from core.models import Channel
from core.people import PeopleService
from core.settings import Settings
from handoff.accounts import AccountService
from handoff.alarms import AlarmService
from handoff.bridge.core import TelegramBridge
from handoff.desk import DeskTexts, HandoffDesk
from handoff.link import LinkService
from handoff.requests import HandoffService
from handoff.routing import Router
from handoff.tickets import TicketService
from maraude import __version__
from nudges.rules import Policies
from nudges.store import FollowUpService
from nudges.sweeper import FollowUpSweeper, build_scheduler, build_sweeper, stop_scheduler
from studio.experiments.catalog import DomainVariants
from studio.experiments.exposures import ExperimentService
from studio.insights import InsightsService
from studio.model_watch import MODEL_WATCH_JOB
from web import actions_route, api, auth, dashboard, pages, simulator
from web import inbox as inbox_web
from web import results as results_pages
from web import search as search_web
from web.telegram_webhook import telegram_webhook_router

log = logging.getLogger(__name__)
WEB_DIR = Path(__file__).resolve().parent.parent / "web"
DEFAULT_WEBHOOK_PATH = "/telegram/webhook"


@dataclass
class Services:
    settings: Settings
    db: Database
    people: PeopleService
    handoff: HandoffService
    accounts: AccountService
    tickets: TicketService
    desk: HandoffDesk
    erasure: ErasureService
    engine: EngineClient
    pipeline: ConversationPipeline
    actions: ActionExecutor
    templates: Jinja2Templates
    telegram: TelegramChannel | None = None
    bridge: TelegramBridge | None = None
    followups: FollowUpService | None = None
    policies: Policies | None = None  # the nudge policies (also a desk listener)
    sweeper: FollowUpSweeper | None = None  # sends due follow-ups (nudges/sweeper.py)
    # Started by the lifespan; with nudges.enabled false it runs only the model watch.
    scheduler: AsyncIOScheduler | None = None
    experiments: ExperimentService | None = None  # wording variants seen (observer, nudges)
    insights: InsightsService | None = None  # NLU turns + misunderstood inbox (observer)


def build_services(settings: Settings, clock: Clock | None = None) -> Services:
    clock = clock or SystemClock()
    db = Database.from_url(settings.effective_database_url)
    people = PeopleService(db, settings.secret_key, clock)
    engine = EngineClient(settings.engine_url, timeout=settings.engine.request_timeout)
    router = Router(settings)
    handoff = HandoffService(db, router, clock)
    tickets = TicketService(
        db, settings.handoff, router, clock, team_ids=[team.id for team in settings.teams]
    )
    texts = AppTexts.load(engine_config=settings.root / "config.yml")
    desk = HandoffDesk(
        tickets,
        DeskTexts(
            claimed=texts.handoff_claimed,
            closed=texts.handoff_closed,
            already=texts.handoff_already,
            counsellor_prefix=settings.handoff.counsellor_prefix,
        ),
        AlarmService(db, clock),  # false alarms, crisis signals on the ticket page
    )
    erasure = ErasureService(db, Database.from_url(settings.tracker_store_url))
    followups = FollowUpService(db, clock)
    policies = Policies(
        followups=followups, tickets=tickets, desk=desk, people=people, settings=settings
    )
    desk.add_listener(policies)  # ticket operations schedule and cancel follow-ups
    pipeline = ConversationPipeline(people, engine, texts, erasure, handoff, desk)
    pipeline.add_observer(simulator.TurnInspector())  # the simulator's manager mode
    variants = DomainVariants(settings.root / "domain", clock=clock)  # reloaded on change
    experiments = ExperimentService(db, variants, clock)
    pipeline.add_observer(experiments)  # which wording variant each person saw
    insights = InsightsService(db, clock, settings.root / "domain")
    pipeline.add_observer(insights)  # one NLU turn per typed message (manager studio)
    telegram = None
    if settings.telegram_bot_token is not None:
        telegram = TelegramChannel(
            pipeline,
            token=settings.telegram_bot_token.get_secret_value(),
            api_base_url=settings.telegram_api_base_url,
            webhook_url=settings.telegram_webhook_url,
            secret_key=settings.secret_key,
        )
        desk.register_sender(Channel.telegram, telegram.send_texts)
    accounts = AccountService(db, clock)
    bridge = None
    if telegram is not None and settings.counsellor_group_id is not None:
        bridge = TelegramBridge(
            telegram.application, settings.counsellor_group_id, desk, accounts, settings
        )
        bridge.register_handlers()
        desk.add_listener(bridge)
    services = Services(
        settings=settings,
        db=db,
        people=people,
        handoff=handoff,
        accounts=accounts,
        tickets=tickets,
        desk=desk,
        erasure=erasure,
        engine=engine,
        pipeline=pipeline,
        actions=build_executor(
            settings, people, handoff, desk, policies, clock, link=LinkService(db)
        ),
        templates=Jinja2Templates(directory=WEB_DIR / "templates"),
        telegram=telegram,
        bridge=bridge,
        followups=followups,
        policies=policies,
        experiments=experiments,
        insights=insights,
    )
    services.sweeper = build_sweeper(services, clock)
    services.scheduler = build_scheduler(services)
    return services


def webhook_path(settings: Settings) -> str:
    if settings.telegram_webhook_url:
        return urlparse(settings.telegram_webhook_url).path or DEFAULT_WEBHOOK_PATH
    return DEFAULT_WEBHOOK_PATH


def create_app(settings: Settings, *, clock: Clock | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.server.auto_migrate:
            await asyncio.to_thread(migrate.upgrade, settings.effective_database_url)
        services = build_services(settings, clock)
        app.state.services = services
        try:
            if services.telegram is not None:
                await services.telegram.start()
                if services.bridge is not None:
                    await services.bridge.start()
            else:
                log.info("no TELEGRAM_BOT_TOKEN: Telegram is off, the simulator is at /simulateur")
            if services.scheduler is not None:
                if not settings.nudges.enabled:  # nudges, SLA and digest off: the model
                    for job in services.scheduler.get_jobs():  # watch may still run
                        if job.id != MODEL_WATCH_JOB:
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
            await services.engine.aclose()
            services.erasure.dispose()
            services.db.dispose()

    app = FastAPI(title="Maraude", version=__version__, lifespan=lifespan)
    app.add_middleware(SessionMiddleware, **auth.session_options(settings))  # dashboard sessions
    app.mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static")
    app.include_router(pages.router)
    app.include_router(simulator.router)
    app.include_router(actions_route.router)
    app.include_router(dashboard.router)
    app.include_router(results_pages.router)  # manager results + impact report
    app.include_router(inbox_web.router)
    app.include_router(search_web.router)  # ticket search (need to know)
    app.include_router(api.router)
    app.include_router(telegram_webhook_router(webhook_path(settings)))
    return app
