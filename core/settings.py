"""One typed settings object for the app process.

Sources, highest priority first: environment variables (and a `.env` file), then
`maraude.yml`, then the defaults below. The contract variables of DESIGN.md
(`TELEGRAM_BOT_TOKEN`, `TELEGRAM_API_BASE_URL`, `TELEGRAM_WEBHOOK_URL`,
`COUNSELLOR_GROUP_ID`, `DATABASE_URL`, `RASA_URL`) are top-level fields; nested
sections can be overridden with a double underscore, e.g. `ORGANISATION__NAME`.

Nothing here connects to anything: `load_settings()` only reads and validates, and
raises `SettingsError` with one line per bad setting, naming it and what is expected.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import ipaddress
import os
import re
import secrets
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from core.calendar import parse_duration
from core.settings_places import Appointments, Structure
from core.settings_webchat import WebChat
from core.vocabulary import DEFAULT_TIMEZONE
from core.yamlfile import read_yaml

CONFIG_ENV = "MARAUDE_CONFIG"
PLACEHOLDERS = {"change-me", "changeme", "changethis", "xxx", "todo", "your-token-here"}
TOKEN_RE = re.compile(r"^\d{3,15}:[A-Za-z0-9_-]{30,}$")
HTTP_URL_RE = re.compile(r"^https?://[^\s/]+(:\d+)?(/[^\s]*)?$")


def _http_url(value: str | None, expected: str) -> str | None:
    """None for an unset value; the URL if it looks like one; else a named error."""
    if not value:
        return None
    if not HTTP_URL_RE.match(value):
        raise ValueError(expected)
    return value


def _internal_token(value: SecretStr | None) -> SecretStr | None:
    """A token of an internal endpoint (engine API, actions, /metrics): unset, or random."""
    if value is None:
        return None
    raw = value.get_secret_value()
    if raw.lower() in PLACEHOLDERS or len(raw) < 32 or not re.fullmatch(r"[A-Za-z0-9_-]+", raw):
        raise ValueError(
            "expected 32+ characters of A-Za-z0-9_- (e.g. "
            "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`), or unset it"
        )
    return value


class SettingsError(Exception):
    """Raised when settings are missing or invalid; the message is meant for a human."""


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Organisation(Section):
    """The structure that runs the bot, as shown to young people."""

    name: str = Field(min_length=2, max_length=120)
    privacy_notice_url: str = ""  # empty: the app's own /confidentialite page
    retention_days: int = Field(default=365, ge=1, le=3650)
    contact: str = ""
    # The data controller (responsable du traitement): legal name and postal address, and how
    # to reach its data protection officer (DPO). Shown in the privacy notice and the data
    # exports; `maraude check` warns while they are empty or the shipped example values.
    controller: str = Field(default="", max_length=300)
    dpo_contact: str = Field(default="", max_length=200)

    # The delay promised to a young person who asks for a counsellor ("je te recontacte ...").
    promised_delay: str = "dans les 2 jours ouvrés"

    def privacy_placeholders(self) -> list[str]:
        """The privacy settings still empty or left as an example (example.org, "démo"...):
        `maraude check` and the app's start warn about them."""
        values = {
            "organisation.controller": self.controller,
            "organisation.dpo_contact": self.dpo_contact,
        }
        return [
            name
            for name, value in values.items()
            if not value.strip() or re.search(r"example\.|exemple|démo|demo\b", value, re.I)
        ]


class Area(Section):
    """Départements, postcodes and communes: what a territory covers or a team serves."""

    departements: list[str] = []
    postcodes: list[str] = []
    communes: list[str] = []

    @field_validator("departements")
    @classmethod
    def _check_departements(cls, value: list[str]) -> list[str]:
        for code in value:
            if not re.fullmatch(r"\d{2,3}|2[AB]", code):
                raise ValueError(f'{code!r} is not a département code like "62" or "2A"')
        return value

    @field_validator("postcodes")
    @classmethod
    def _check_postcodes(cls, value: list[str]) -> list[str]:
        for code in value:
            if not re.fullmatch(r"\d{5}", code):
                raise ValueError(f"{code!r} is not a 5-digit postcode")
        return value


class Territory(Area):
    """An area the service covers."""

    name: str = Field(min_length=2)


class Team(Area):
    """A team of counsellors and the area it serves.

    A ticket goes to the first team whose postcodes, communes, départements (or those of the
    territories it names) match the young person's answer; otherwise to `handoff.default_team`.
    """

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{1,31}$")
    name: str = Field(min_length=2, max_length=120)
    territories: list[str] = []  # names of entries of `territories`


DEFAULT_OUTCOMES = {
    "mission_locale": "Orienté·e vers la Mission Locale",
    "france_travail": "Orienté·e vers France Travail",
    "cej": "Contrat d'Engagement Jeune",
    "e2c": "École de la 2e chance (E2C)",
    "epide": "EPIDE",
    "service_civique": "Service civique",
    "formation": "Entrée en formation",
    "emploi": "Emploi",
    "logement": "Solution de logement",
    "sante": "Orientation santé",
    "sans_reponse": "Sans réponse",
    "refus": "Refus de la personne",
    "autre": "Autre",
}
DEFAULT_POSITIVE = [
    "mission_locale",
    "france_travail",
    "cej",
    "e2c",
    "epide",
    "service_civique",
    "formation",
    "emploi",
    "logement",
    "sante",
]


class Handoff(Section):
    """The counsellors' queue: routing, outcomes, canned replies, SLA colours."""

    default_team: str = "accueil"
    # Outcome code -> label shown to counsellors. Codes are what analytics count.
    outcomes: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_OUTCOMES))
    positive_outcomes: list[str] = Field(default_factory=lambda: list(DEFAULT_POSITIVE))
    canned_replies: list[str] = []
    # Minutes a ticket may wait unclaimed before it shows orange (half) then red (all of it).
    sla_minutes: dict[str, int] = Field(default_factory=lambda: {"crisis": 15, "normal": 240})
    # Bridge: what a counsellor's message looks like to the young person.
    counsellor_prefix: str = "{name} (conseiller·e)"
    # Team opening hours: the "normal" SLA counts working minutes only (crisis: real minutes).
    opening_hours: dict[str, str] = Field(
        default_factory=lambda: {"mon-fri": "09:00-12:30, 13:30-17:30"}
    )
    # The team is reminded when the SLA is breached; a manager is alerted at this multiple.
    manager_alert_factor: float = Field(default=2.0, ge=1.0, le=20.0)
    # The daily digest (dashboard + counsellors' group), local time.
    digest_time: str = Field(default="08:30", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")

    @model_validator(mode="after")
    def _check(self) -> Handoff:
        unknown = [code for code in self.positive_outcomes if code not in self.outcomes]
        if unknown:
            raise ValueError(f"positive_outcomes names unknown outcomes: {', '.join(unknown)}")
        for code in self.outcomes:
            if not re.fullmatch(r"[a-z][a-z0-9_]{1,31}", code):
                raise ValueError(f"outcome code {code!r}: use lowercase letters, digits, _")
        missing = {"crisis", "normal"} - set(self.sla_minutes)
        if missing:
            raise ValueError(f"sla_minutes needs a value for {', '.join(sorted(missing))}")
        return self


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _duration(value: Any) -> Any:
    return parse_duration(value) if isinstance(value, str) else value


Duration = Annotated[timedelta, BeforeValidator(_duration)]


class Nudges(Section):
    """Follow-up nudges and reminders. Their wording lives in the domain responses."""

    enabled: bool = True  # the app's scheduler runs the sweeps
    sweep_every: Duration = timedelta(seconds=30)
    batch_size: int = Field(default=100, ge=1, le=5000)
    timezone: str = DEFAULT_TIMEZONE
    # Quiet hours: nothing is sent to a young person from `quiet_start` to `quiet_end` (local),
    # nor on `quiet_days` and public holidays; a nudge waits for the next allowed time.
    quiet_start: str = Field(default="21:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    quiet_end: str = Field(default="09:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    quiet_days: list[str] = ["sun"]
    public_holidays: bool = True
    cap_per_week: int = Field(default=3, ge=0, le=50)  # light nudges per person per 7 days
    # 1. Triage abandoned part-way: delays after the last answer, then silence.
    triage_abandoned: list[Duration] = [timedelta(hours=4), timedelta(days=2)]
    # 2. Hand-off requested, not claimed in time: "c'est en cours" after this delay.
    handoff_pending_notice: Duration = timedelta(days=2)
    # 3. Counsellor wrote, young person silent: nudges after these delays, then unreachable.
    youth_silent: list[Duration] = [timedelta(days=2), timedelta(days=7)]
    unreachable_after: Duration = timedelta(days=3)  # after the last youth_silent nudge
    # 5. Check-in this long after a positive outcome ("alors, ça a donné quoi ?").
    outcome_checkin: Duration = timedelta(days=30)

    @field_validator("quiet_days")
    @classmethod
    def _check_days(cls, value: list[str]) -> list[str]:
        for day in value:
            if day not in WEEKDAYS:
                raise ValueError(f"{day!r} is not a day ({', '.join(WEEKDAYS)})")
        return value

    @field_validator("timezone")
    @classmethod
    def _check_tz(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not a time zone like Europe/Paris") from None
        return value


class SimulatorMode(enum.StrEnum):
    auto = "auto"
    staff = "staff"
    open = "open"
    off = "off"


class Server(Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    public_url: str = ""  # empty: http://<host>:<port>
    auto_migrate: bool = True
    # The web simulator at /simulateur: auto (open without a Telegram token, staff with one),
    # staff (dashboard login; its conversations are kept out of the queue, alerts and
    # results), open (anyone, as in the `make run` demo), off.
    simulator: SimulatorMode = SimulatorMode.auto
    simulator_enabled: bool | None = None  # deprecated: false means `simulator: off`
    # Where rate-limit counters live: empty = this process's memory; a Redis URL
    # (redis://127.0.0.1:6379/0) shares them between the app's workers.
    rate_limit_storage: str = Field(
        default="", pattern=r"^$|^(memory|redis|rediss|redis\+sentinel|redis\+cluster)://"
    )
    # Dashboard sessions end after this long without a click, and at the latest after
    # session_lifetime; API tokens expire after api_token_days unless created with another
    # lifetime (`maraude user token --expires-days`).
    session_idle: Duration = timedelta(hours=2)
    session_lifetime: Duration = timedelta(hours=12)
    api_token_days: int = Field(default=90, ge=1, le=3650)
    # App worker processes of `maraude serve` (webhook mode). More than one needs PostgreSQL
    # (DATABASE_URL) and REDIS_URL: per-chat order and the update de-duplication are shared.
    workers: int = Field(default=1, ge=1, le=64)
    # Bearer token of /metrics (Prometheus' `authorization: credentials`), 32+ characters of
    # A-Za-z0-9_- (SERVER__METRICS_TOKEN). Unset: /metrics answers 404 to everyone.
    metrics_token: SecretStr | None = None

    @field_validator("metrics_token", mode="before")
    @classmethod
    def _empty_token_is_none(cls, value: Any) -> Any:
        return None if value in ("", None) else value

    @field_validator("metrics_token")
    @classmethod
    def _check_metrics_token(cls, value: SecretStr | None) -> SecretStr | None:
        return _internal_token(value)


TRIAGE_QUESTIONS = ("needs", "age", "location", "situation", "followed", "contact")


class Triage(Section):
    """The light triage: which questions are asked, in which order (wording: domain/triage.yml)."""

    questions: list[str] = Field(default_factory=lambda: list(TRIAGE_QUESTIONS), min_length=1)

    @field_validator("questions")
    @classmethod
    def _known_questions(cls, value: list[str]) -> list[str]:
        unknown = [q for q in value if q not in TRIAGE_QUESTIONS]
        if unknown:
            raise ValueError(
                f"unknown question(s) {unknown}; the questions are {', '.join(TRIAGE_QUESTIONS)}"
            )
        if len(set(value)) != len(value):
            raise ValueError("a question is listed twice")
        return value


class Campaigns(Section):
    """Outreach campaigns (studio/campaigns): the bot's Telegram username makes their deep
    links (`https://t.me/<bot_username>?start=<code>`). Empty: the username the bot reports
    at start (getMe) once the Telegram channel runs; without either, no link is shown."""

    bot_username: str = ""

    @field_validator("bot_username")
    @classmethod
    def _telegram_username(cls, value: str) -> str:
        value = value.strip().removeprefix("@")
        if value and not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{3,31}", value):
            raise ValueError("a Telegram bot username (letters, digits, _; 4-32 characters)")
        return value


class Engine(Section):
    """Where the local Rasa engine started by `maraude up` listens."""

    host: str = "127.0.0.1"
    port: int = Field(default=5005, ge=1, le=65535)
    # Engine processes `maraude up` starts, on port, port+1, ... (all sharing the tracker store
    # and, with REDIS_URL, Rasa's RedisLockStore). More than one needs REDIS_URL.
    replicas: int = Field(default=1, ge=1, le=16)
    startup_timeout: float = Field(default=300, gt=0)
    request_timeout: float = Field(default=30, gt=0)
    # The engine's tracker store: given to the engine by `maraude up` (engine_env, endpoints.yml)
    # and erased from by the app (/oubli, retention). Empty: the embedded var/rasa-tracker.db.
    tracker_store_url: str = ""
    # How often the app looks in models/ for a newer model (`maraude train`) and loads it into
    # the running engine; conversations in progress carry on. Empty: every 10s when the app's
    # engine reads this project's models/ (`maraude up` without RASA_URL), never with
    # RASA_URL; a duration: at that pace even with RASA_URL (the engine reads this same
    # models/ folder); 0s: never.
    model_watch_every: Duration | None = None
    # The app's action server (the custom actions the engine calls): its own port, on the
    # loopback interface only; every call must carry the action-endpoint token.
    action_host: str = "127.0.0.1"
    action_port: int = Field(default=5055, ge=1, le=65535)
    # Shared with the engine: the token of endpoints.yml `action_endpoint.token` and the
    # engine's HTTP API `--auth-token`. Empty: derived from the secret key. Set both
    # (ENGINE__ACTION_TOKEN, ENGINE__AUTH_TOKEN) when the engine is started elsewhere (RASA_URL).
    action_token: SecretStr | None = None
    auth_token: SecretStr | None = None

    @field_validator("action_host")
    @classmethod
    def _loopback_only(cls, value: str) -> str:
        if value == "localhost":
            return value
        try:
            loopback = ipaddress.ip_address(value).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise ValueError("the action server listens on the loopback interface only (127.0.0.1)")
        return value

    @field_validator("action_token", "auth_token", mode="before")
    @classmethod
    def _empty_token_is_none(cls, value: Any) -> Any:
        return None if value in ("", None) else value

    @field_validator("action_token", "auth_token")
    @classmethod
    def _check_engine_token(cls, value: SecretStr | None) -> SecretStr | None:
        return _internal_token(value)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_nested_delimiter="__",
        env_file=".env",
        extra="forbid",
        case_sensitive=False,
    )

    # Contract variables (DESIGN.md)
    telegram_bot_token: SecretStr | None = None
    telegram_api_base_url: str = "https://api.telegram.org"
    telegram_webhook_url: str | None = None
    counsellor_group_id: int | None = None
    database_url: str | None = None
    # One engine root URL, or several separated by commas (engines started elsewhere).
    rasa_url: str | None = None
    # Redis: Rasa's lock store (any engine serves any conversation, in order), the app workers'
    # per-chat locks, and the rate-limit counters unless server.rate_limit_storage says otherwise.
    redis_url: str | None = None

    maraude_secret_key: SecretStr | None = None
    organisation: Organisation
    territories: list[Territory] = []
    teams: list[Team] = Field(
        default_factory=lambda: [Team(id="accueil", name="Accueil")], min_length=1
    )
    handoff: Handoff = Handoff()
    nudges: Nudges = Nudges()
    triage: Triage = Triage()
    server: Server = Server()
    engine: Engine = Engine()
    campaigns: Campaigns = Campaigns()
    structure: Structure = Structure()
    appointments: Appointments = Appointments()
    webchat: WebChat = WebChat()
    # The web chat's SMTP password (webchat.email); environment only.
    smtp_password: SecretStr | None = None
    project_root: Path = Path(".")
    # Runtime files (SQLite databases, logs, generated secret), relative to the project root.
    var_path: Path = Path("var")

    @field_validator("telegram_bot_token", "maraude_secret_key", "smtp_password", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if value in ("", None) else value

    @field_validator("telegram_bot_token")
    @classmethod
    def _check_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        raw = value.get_secret_value().strip()
        if raw.lower() in PLACEHOLDERS:
            raise ValueError("is a placeholder; put the token BotFather gave you, or unset it")
        if not TOKEN_RE.match(raw):
            raise ValueError(
                "expected a BotFather token like 123456789:AAE… (digits, colon, 30+ chars)"
            )
        return SecretStr(raw)

    @field_validator("maraude_secret_key")
    @classmethod
    def _check_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        raw = value.get_secret_value()
        if raw.lower() in PLACEHOLDERS:
            raise ValueError(
                "is a placeholder; generate one with "
                "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
            )
        if len(raw) < 32:
            raise ValueError("must be at least 32 characters long")
        return value

    @field_validator("telegram_api_base_url")
    @classmethod
    def _check_http_url(cls, value: str | None) -> str | None:
        url = _http_url(value, "expected an http(s) URL such as http://127.0.0.1:5005")
        return url.rstrip("/") if url else None

    @field_validator("rasa_url")
    @classmethod
    def _check_rasa_urls(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        urls = []
        for part in value.split(","):
            url = _http_url(
                part.strip(),
                "expected http(s) URLs such as http://127.0.0.1:5005 (several: comma-separated)",
            )
            if url:
                urls.append(url.rstrip("/"))
        return ",".join(urls) or None

    @field_validator("redis_url", mode="before")
    @classmethod
    def _check_redis_url(cls, value: Any) -> Any:
        if value in (None, ""):
            return None
        if not isinstance(value, str) or not re.match(r"^(redis|rediss)://", value):
            raise ValueError("expected a Redis URL such as redis://127.0.0.1:6379/0")
        return value

    @field_validator("telegram_webhook_url")
    @classmethod
    def _check_webhook_url(cls, value: str | None) -> str | None:
        return _http_url(value, "expected the public https URL Telegram will POST updates to")

    @field_validator("counsellor_group_id", mode="before")
    @classmethod
    def _check_group(cls, value: Any) -> Any:
        if value in (None, ""):
            return None
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise ValueError(
                "expected a Telegram supergroup id, a negative number like -1001234567890"
            ) from None
        if number >= 0:
            raise ValueError(
                "expected a Telegram supergroup id, a negative number like -1001234567890"
            )
        return number

    @field_validator("database_url")
    @classmethod
    def _check_db(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        assert value is not None
        try:
            make_url(value)
        except ArgumentError:
            raise ValueError(
                "expected an SQLAlchemy URL, e.g. sqlite:///var/maraude.db or "
                "postgresql+psycopg://user@127.0.0.1:5432/maraude"
            ) from None
        return value

    @model_validator(mode="after")
    def _check_teams(self) -> Settings:
        ids = [team.id for team in self.teams]
        if len(set(ids)) != len(ids):
            raise ValueError("teams: two teams have the same id")
        if self.handoff.default_team not in ids:
            raise ValueError(
                f"handoff.default_team {self.handoff.default_team!r} is not one of the teams "
                f"({', '.join(ids)})"
            )
        names = {territory.name for territory in self.territories}
        for team in self.teams:
            unknown = [name for name in team.territories if name not in names]
            if unknown:
                raise ValueError(
                    f"team {team.id!r} names unknown territories: {', '.join(unknown)}"
                )
        return self

    @model_validator(mode="after")
    def _check_distributed(self) -> Settings:
        """Several engines or workers share conversations: they need the shared stores."""
        if self.engine.replicas > 1 and not self.redis_url:
            raise ValueError(
                "engine.replicas > 1 needs REDIS_URL (Rasa's lock store keeps each "
                "conversation in order whichever engine serves it)"
            )
        if self.server.workers > 1:
            if not self.redis_url:
                raise ValueError("server.workers > 1 needs REDIS_URL (per-chat order)")
            if self.effective_database_url.startswith("sqlite"):
                raise ValueError("server.workers > 1 needs DATABASE_URL on PostgreSQL")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment beats the YAML file, which is passed as init kwargs by load_settings().
        return env_settings, dotenv_settings, init_settings

    # Derived values -----------------------------------------------------------------------
    @property
    def root(self) -> Path:
        return self.project_root.resolve()

    @property
    def var_dir(self) -> Path:
        return self.root / self.var_path

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.var_dir / 'maraude.db'}"

    @property
    def public_url(self) -> str:
        return (self.server.public_url or f"http://{self.server.host}:{self.server.port}").rstrip(
            "/"
        )

    @property
    def simulator_mode(self) -> SimulatorMode:
        """open, staff or off: `server.simulator` with auto resolved (staff once a Telegram
        token is set, open without one)."""
        if self.server.simulator_enabled is False:
            return SimulatorMode.off
        if self.server.simulator is SimulatorMode.auto:
            return SimulatorMode.open if self.telegram_bot_token is None else SimulatorMode.staff
        return self.server.simulator

    @property
    def simulations_hidden(self) -> bool:
        """Whether simulated conversations are kept out of the queue, the SLA alerts and
        digest, the results and the impact report (every mode but the open demo)."""
        return self.simulator_mode is not SimulatorMode.open

    @property
    def privacy_url(self) -> str:
        return self.organisation.privacy_notice_url or f"{self.public_url}/confidentialite"

    @property
    def tracker_store_url(self) -> str:
        return self.engine.tracker_store_url or f"sqlite:///{self.var_dir / 'rasa-tracker.db'}"

    @property
    def engine_url(self) -> str:
        """The first engine (single-engine callers: checks, `maraude chat`)."""
        return self.engine_urls[0]

    @property
    def engine_urls(self) -> list[str]:
        """Every engine the app spreads conversations over: RASA_URL's list, else the
        `engine.replicas` local engines `maraude up` starts on consecutive ports."""
        if self.rasa_url:
            return self.rasa_url.split(",")
        host, port = self.engine.host, self.engine.port
        return [f"http://{host}:{port + i}" for i in range(self.engine.replicas)]

    @property
    def effective_rate_limit_storage(self) -> str:
        """Rate-limit counters: server.rate_limit_storage, else REDIS_URL, else memory."""
        return self.server.rate_limit_storage or self.redis_url or ""

    @cached_property
    def secret_key(self) -> str:
        """Secret used for pseudonymous ids and the webhook token.

        Taken from MARAUDE_SECRET_KEY, else generated once and kept in var/secret_key,
        so that `make run` works on a fresh machine and ids stay stable across restarts.
        """
        if self.maraude_secret_key is not None:
            return self.maraude_secret_key.get_secret_value()
        path = self.var_dir / "secret_key"
        if path.exists():
            return path.read_text().strip()
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(key)
        return key

    @property
    def action_token(self) -> str:
        """The token the engine sends with each action call (`?token=`), checked by the app."""
        return _engine_secret(self.engine.action_token, self.secret_key, "rasa-action-endpoint")

    @property
    def engine_auth_token(self) -> str:
        """The engine's HTTP API `--auth-token`, sent by the app (`?token=`)."""
        return _engine_secret(self.engine.auth_token, self.secret_key, "rasa-http-api")

    @property
    def action_url(self) -> str:
        """Where the engine calls the custom actions (endpoints.yml `action_endpoint.url`)."""
        host = self.engine.action_host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.engine.action_port}/webhook"


def _engine_secret(configured: SecretStr | None, secret_key: str, purpose: str) -> str:
    if configured is not None:
        return configured.get_secret_value()
    return hmac.new(secret_key.encode(), purpose.encode(), hashlib.sha256).hexdigest()


ENV_NAMES = {
    "telegram_bot_token",
    "telegram_api_base_url",
    "telegram_webhook_url",
    "counsellor_group_id",
    "database_url",
    "rasa_url",
    "redis_url",
    "maraude_secret_key",
    "var_path",
}


def _setting_name(loc: tuple[Any, ...], config_path: Path) -> str:
    parts = [str(p) for p in loc]
    if not parts:
        return f"{config_path.name}"
    if parts[0] in ENV_NAMES:
        return parts[0].upper()
    dotted = ".".join(parts)
    env = "__".join(parts).upper()
    return f"{dotted} in {config_path.name} (or {env})"


def _describe(exc: ValidationError, config_path: Path) -> str:
    lines = []
    for error in exc.errors():
        name = _setting_name(tuple(error["loc"]), config_path)
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "missing":
            message = "is required"
        elif error["type"] == "extra_forbidden":
            message = "is not a known setting (typo?)"
        lines.append(f"  - {name}: {message}")
    return "Invalid settings:\n" + "\n".join(lines)


def load_settings(config_path: str | os.PathLike[str] | None = None) -> Settings:
    """Read maraude.yml (or $MARAUDE_CONFIG) and the environment, validate, return Settings."""
    path = Path(config_path or os.environ.get(CONFIG_ENV) or "maraude.yml")
    if not path.is_file():
        raise SettingsError(
            f"Settings file not found: {path} (set {CONFIG_ENV} or run from the project folder)"
        )
    try:
        data = read_yaml(path) or {}
    except yaml.YAMLError as exc:
        raise SettingsError(f"{path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise SettingsError(f"{path} must be a mapping of settings at the top level")
    data.setdefault("project_root", str(path.resolve().parent))
    try:
        return Settings(_env_file=path.resolve().parent / ".env", **data)  # type: ignore[call-arg]
    except ValidationError as exc:
        raise SettingsError(_describe(exc, path)) from None
