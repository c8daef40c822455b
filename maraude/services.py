"""The app's services, typed and built in one place (the composition root's container).

`build_services` wires every package: the core (database, people, erasure), the channels
(engine client, conversation pipeline, Telegram), the counsellors' side (requests, tickets,
the desk and its listeners, the bridge, SLA), nudges (rules, sweeper), the studio (turns,
experiments) and the actions. Nothing connects at import time: the database engine is lazy,
and the lifespan of maraude/app.py starts and stops what runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from fastapi.templating import Jinja2Templates
from rasa_sdk.executor import ActionExecutor

from actions.registry import build_executor
from bot.engine_pool import EnginePool
from bot.flood import FloodGate
from bot.held import HeldMessages
from bot.pipeline import ConversationPipeline
from bot.replay import telegram_outlet
from bot.rights import DataRights, RightsTexts
from bot.simulator import SimulatorSessions
from bot.telegram import TelegramChannel
from bot.texts import AppTexts
from bot.webchat import WebChatSessions, WebChatStore, stream_hub
from core.campaigns import CampaignService
from core.chatlock import ChatLocks, chat_locks
from core.clock import Clock, SystemClock
from core.db import Database
from core.erasure import ErasureService
from core.export import export_service
from core.inbox import InboxService
from core.minors import MinorsService
from core.models import Channel
from core.people import ConsentRefusedHook, PeopleService
from core.places import SiteDirectory
from core.ratelimit import RateLimits
from core.retention import RetentionService
from core.settings import Settings
from handoff.accounts import AccountService
from handoff.alarms import AlarmService
from handoff.appointments import AppointmentDesk, AppointmentService
from handoff.appointments.wording import AppointmentWording
from handoff.bridge.service import TelegramBridge
from handoff.corrections import SummaryCorrections
from handoff.desk import DeskTexts, HandoffDesk
from handoff.link import LinkService
from handoff.requests import HandoffService
from handoff.routing import Router
from handoff.signals import forget_signal_texts
from handoff.sla.policy import SlaPolicy
from handoff.sla.service import SlaService
from handoff.tickets import TicketService
from maraude.engine_stores import ticket_lifetime
from maraude.jobs import build_scheduler
from nudges.appointments import AppointmentPolicy
from nudges.delivery import ChannelDelivery
from nudges.rules import FollowUpRules
from nudges.store import FollowUpService
from nudges.sweeper import FollowUpSweeper, make_worker_id, quiet_hours_from
from studio.analytics.archive import StatsArchive
from studio.experiments.catalog import DomainVariants
from studio.experiments.exposures import ExperimentService
from studio.insights import InsightsService, forget_turn_texts

WEB_DIR = Path(__file__).resolve().parent.parent / "web"

# What refusing consent drops besides the message log (core/people.py calls them in the same
# transaction): the NLU turns' texts (studio) and the flagged messages (hand-off signals).
CONSENT_REFUSED_HOOKS: tuple[ConsentRefusedHook, ...] = (forget_turn_texts, forget_signal_texts)


@dataclass
class Services:
    settings: Settings
    clock: Clock
    worker_id: str  # this process, as the once-only jobs and the sweeper's claims know it
    db: Database
    people: PeopleService
    handoff: HandoffService  # hand-off requests (through the desk for anything a listener sees)
    accounts: AccountService
    tickets: TicketService  # reads; every ticket write goes through the desk
    desk: HandoffDesk
    erasure: ErasureService
    engine: EnginePool  # one EngineClient per engine URL (bot/engine_pool.py)
    pipeline: ConversationPipeline
    simulator: SimulatorSessions  # the web simulator's conversations (and manager mode)
    actions: ActionExecutor
    templates: Jinja2Templates
    followups: FollowUpService
    nudge_rules: FollowUpRules  # the follow-up rules (also a desk listener)
    sweeper: FollowUpSweeper  # sends due follow-ups (nudges/sweeper.py)
    sla: SlaService
    experiments: ExperimentService  # wording variants seen (observer, nudges)
    insights: InsightsService  # NLU turns + misunderstood inbox (observer)
    rate_limits: RateLimits  # chats, simulator sessions, logins, API tokens (core/ratelimit.py)
    # One conversation handled by one worker at a time (memory, or Redis with REDIS_URL).
    chat_locks: ChatLocks
    inbox: InboxService  # Telegram updates received in webhook mode (core/inbox.py)
    campaigns: CampaignService  # outreach campaigns and first-touch attribution
    # Appointments on tickets (handoff/appointments): the service (reads) and the desk (writes).
    appointments: AppointmentService
    appointment_desk: AppointmentDesk
    sites: SiteDirectory  # the structure's sites (structure.sites in maraude.yml)
    # The web chat (bot/webchat): the conversations of /chat and the widget, and their store.
    webchat: WebChatSessions
    webchat_store: WebChatStore
    telegram: TelegramChannel | None = None
    bridge: TelegramBridge | None = None
    # Under 15: the engine's tracker of an idle conversation is erased (core/minors.py).
    minors: MinorsService | None = None
    # The daily retention purge and `maraude privacy purge` (core/retention.py).
    retention: RetentionService | None = None
    # Started by the lifespan; with nudges.enabled false it runs only the model watch.
    scheduler: AsyncIOScheduler | None = None

    def bot_username(self) -> str | None:
        """The Telegram bot's username for deep links: `campaigns.bot_username`, else what
        the bot reported at start (getMe); None when neither is known."""
        if self.settings.campaigns.bot_username:
            return self.settings.campaigns.bot_username
        if self.telegram is not None:
            try:
                return self.telegram.application.bot.username or None
            except RuntimeError:  # not initialised yet: getMe has not answered
                return None
        return None


def build_services(settings: Settings, clock: Clock | None = None) -> Services:
    clock = clock or SystemClock()
    db = Database.from_url(settings.effective_database_url)
    people = PeopleService(db, settings.secret_key, clock, on_consent_refused=CONSENT_REFUSED_HOOKS)
    engine = EnginePool(
        settings.engine_urls,
        auth_token=settings.engine_auth_token,
        timeout=settings.engine.request_timeout,
        # Engines sharing Rasa's RedisLockStore: a turn cut off by an engine's death is
        # retried elsewhere once its ticket has expired (maraude/engine_stores.py).
        ticket_wait=ticket_lifetime() + 1 if settings.redis_url else 0.0,
    )
    router = Router(settings)
    handoff = HandoffService(db, router, clock)
    tickets = TicketService(
        db,
        settings.handoff,
        router,
        clock,
        team_ids=[team.id for team in settings.teams],
        hide_simulations=settings.simulations_hidden,  # staff simulator: not in the queue
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
        handoff,  # hand-off requests: the desk stores them and tells its listeners
    )
    # /oubli and the retention purge, from the tracker store the engine uses (engine_env); the
    # person's part of the statistics is kept first, as anonymous counts.
    erasure = ErasureService(
        db,
        Database.from_url(settings.tracker_store_url),
        clock,
        before_erase=(StatsArchive(settings, clock).fold,),
    )
    followups = FollowUpService(db, clock)
    rules = FollowUpRules(
        followups=followups, tickets=tickets, desk=desk, people=people, settings=settings
    )
    desk.add_listener(rules)  # ticket operations schedule and cancel follow-ups
    rate_limits = RateLimits(settings.effective_rate_limit_storage, settings.secret_key)
    pipeline = ConversationPipeline(
        people,
        engine,
        texts,
        erasure,
        relay=desk,
        flood=FloodGate(rate_limits, texts),
        held=HeldMessages(db, clock),  # kept while every engine is down (bot/held.py)
    )
    # /mesdonnees (the export of everything kept) and /corriger (a correction for the counsellor)
    pipeline.rights = DataRights(
        export_service(settings, db, clock), SummaryCorrections(desk), RightsTexts.load(), clock
    )
    variants = DomainVariants(settings.root / "domain", clock=clock)  # reloaded on change
    experiments = ExperimentService(db, variants, clock)
    pipeline.add_observer(experiments)  # which wording variant each person saw
    insights = InsightsService(db, clock, settings.root / "domain")
    pipeline.add_observer(insights)  # one NLU turn per typed message (manager studio)
    campaigns = CampaignService(db, clock)
    pipeline.campaigns = campaigns  # `/start <code>`: which campaign brought the person
    sites = SiteDirectory(settings.structure.sites)
    appointments = AppointmentService(
        db, settings.appointments, sites, SlaPolicy.from_settings(settings).hours, clock
    )
    appointment_desk = AppointmentDesk(
        appointments,
        desk,
        AppointmentWording(texts.appointments, sites, ZoneInfo(settings.nudges.timezone)),
        organisation=settings.organisation.name,
        host=urlsplit(settings.public_url).hostname or "maraude.local",
    )
    pipeline.appointments = appointment_desk  # the young person's buttons and words
    rules.appointments = AppointmentPolicy(  # reminders, attendance asks, missed nudges
        followups=followups,
        desk=appointment_desk,
        settings=settings.appointments,
        quiet=quiet_hours_from(settings.nudges),
    )
    worker_id = make_worker_id()
    locks = chat_locks(settings.redis_url, settings.secret_key)  # one chat, one worker at a time
    webchat_store = WebChatStore(db, clock, settings.webchat.notify_after)
    webchat = WebChatSessions(
        pipeline,
        people,
        webchat_store,
        tickets,
        locks,
        settings.secret_key,
        history_limit=settings.webchat.history_limit,
        notify=settings.webchat.email.enabled,
        hub=stream_hub(settings.redis_url),  # every worker's streams woken through Redis
    )
    # What reaches a web chat young person outside a reply goes to their outbox.
    desk.register_sender(Channel.web, webchat.send_texts)
    appointment_desk.register_sender(Channel.web, webchat.send_replies)
    pipeline.register_outlet(Channel.web, webchat.outlet)
    inbox = InboxService(db, clock)  # webhook updates, once each (core/inbox.py)
    telegram = None
    if settings.telegram_bot_token is not None:
        telegram = TelegramChannel(
            pipeline,
            token=settings.telegram_bot_token.get_secret_value(),
            api_base_url=settings.telegram_api_base_url,
            webhook_url=settings.telegram_webhook_url,
            secret_key=settings.secret_key,
            locks=locks,
            inbox=inbox,
            worker_id=worker_id,
        )
        desk.register_sender(Channel.telegram, telegram.send_texts)
        appointment_desk.register_sender(Channel.telegram, telegram.send_replies)
        # The replay job's answers to messages held while every engine was down.
        pipeline.register_outlet(Channel.telegram, telegram_outlet(telegram))
    accounts = AccountService(
        db,
        clock,
        session_idle=settings.server.session_idle,
        session_lifetime=settings.server.session_lifetime,
        token_lifetime=timedelta(days=settings.server.api_token_days),
    )
    bridge = None
    if telegram is not None and settings.counsellor_group_id is not None:
        bridge = TelegramBridge(
            telegram.application,
            settings.counsellor_group_id,
            desk,
            accounts,
            settings,
            appointments=appointment_desk,  # /rdv and the attendance buttons
        )
        bridge.register_handlers()
        desk.add_listener(bridge)
    sweeper = FollowUpSweeper(
        followups,
        rules,
        ChannelDelivery(
            people=people,
            tickets=tickets,
            desk=desk,
            engine=engine,
            telegram=telegram,
            experiments=experiments,
            appointments=appointment_desk,
            web=webchat,  # nudges and reminders to the web chat's outbox
        ),
        quiet_hours_from(settings.nudges),
        settings.nudges.cap_per_week,
        worker_id,
        clock,
        settings.nudges.batch_size,
        people=people,
    )
    services = Services(
        settings=settings,
        clock=clock,
        worker_id=worker_id,
        db=db,
        people=people,
        handoff=handoff,
        accounts=accounts,
        tickets=tickets,
        desk=desk,
        erasure=erasure,
        minors=MinorsService(db, settings.tracker_store_url, clock),
        retention=RetentionService(
            db,
            erasure,
            settings.organisation.retention_days,
            settings.var_dir / "log",
            ZoneInfo(settings.nudges.timezone),
            clock,
        ),
        engine=engine,
        pipeline=pipeline,
        simulator=SimulatorSessions(
            pipeline, people, tickets, settings.secret_key, settings.handoff.counsellor_prefix
        ),
        actions=build_executor(
            settings, people, handoff, desk, rules, clock, link=LinkService(db), sites=sites
        ),
        templates=Jinja2Templates(directory=WEB_DIR / "templates"),
        telegram=telegram,
        bridge=bridge,
        followups=followups,
        nudge_rules=rules,
        sweeper=sweeper,
        sla=SlaService(db, settings, clock),
        experiments=experiments,
        insights=insights,
        rate_limits=rate_limits,
        chat_locks=locks,
        inbox=inbox,
        campaigns=campaigns,
        appointments=appointments,
        appointment_desk=appointment_desk,
        sites=sites,
        webchat=webchat,
        webchat_store=webchat_store,
    )
    services.scheduler = build_scheduler(services)
    return services
