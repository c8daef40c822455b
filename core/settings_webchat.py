"""Settings of the web chat channel (`webchat` in maraude.yml): the widget's look, the sites
allowed to embed it, the quick exit, and the e-mail that tells a young person an answer is
waiting (`webchat.email`; the SMTP password comes from the SMTP_PASSWORD environment
variable). A section of the one settings object (core/settings.py)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from core.calendar import parse_duration


def _duration(value: Any) -> Any:
    return parse_duration(value) if isinstance(value, str) else value


Duration = Annotated[timedelta, BeforeValidator(_duration)]
COLOUR = r"^#[0-9a-fA-F]{6}$"
ORIGIN_RE = re.compile(r"^https?://[a-z0-9.-]+(:\d{1,5})?$")
EMAIL_RE = re.compile(r"^[^@\s<>\"',;]{1,64}@[A-Za-z0-9.-]{1,185}\.[A-Za-z]{2,24}$")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


def origin_of(value: str) -> str:
    """`scheme://host[:port]` of an origin as a browser sends it (lower case, no path, no
    trailing slash); ValueError for anything else."""
    text = value.strip().rstrip("/").lower()
    if not ORIGIN_RE.fullmatch(text):
        raise ValueError(
            f"{value!r} is not an origin: write it as https://www.example.fr "
            "(scheme and host, an optional port, no path)"
        )
    parts = urlsplit(text)
    default = {"http": 80, "https": 443}[parts.scheme]
    if parts.port == default:  # browsers leave the default port out of Origin
        text = f"{parts.scheme}://{parts.hostname}"
    return text


class WebChatEmail(_Section):
    """The e-mail that tells a young person who left the chat that an answer waits for them
    (no content: "tu as une réponse", and the link back). Off while `smtp_host` is empty."""

    smtp_host: str = ""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    starttls: bool = True  # STARTTLS before logging in (port 587); false: plain (a local relay)
    username: str = ""  # empty: no login (the password is SMTP_PASSWORD)
    sender: str = ""  # From: address, e.g. "Mission Locale <ne-pas-repondre@ml.example>"
    timeout: float = Field(default=20, gt=0, le=120)

    @field_validator("sender")
    @classmethod
    def _check_sender(cls, value: str) -> str:
        address = value.strip()
        if "<" in address:
            address = address.rsplit("<", 1)[1].rstrip(">").strip()
        if value and not EMAIL_RE.fullmatch(address):
            raise ValueError(f"{value!r} is not an e-mail address")
        return value.strip()

    @property
    def enabled(self) -> bool:
        return bool(self.smtp_host and self.sender)


class WebChat(_Section):
    """The web chat: `/chat` (a page for links and QR codes) and the widget any allowed site
    embeds with one `<script>` tag (`/chat/widget.js`)."""

    enabled: bool = True
    # The page's title and the widget's name: neutral (a shared phone's tab list, history).
    title: str = Field(default="Discussion", min_length=1, max_length=60)
    button_label: str = Field(default="Besoin d'un coup de main ?", min_length=1, max_length=60)
    colour: str = Field(default="#1d4ed8", pattern=COLOUR)  # buttons, header; text is white
    # Sites allowed to embed the widget (CSP frame-ancestors, CORS): origins, e.g.
    # https://www.mission-locale.example. The app's own origin is always allowed.
    allowed_origins: list[str] = []
    # Where "Quitter vite" and Escape send the page (replacing it in the history).
    exit_url: str = Field(default="https://www.google.fr/search?q=meteo", max_length=300)
    # A counsellor's answer to someone who left: the e-mail goes after this delay if the
    # answer is still unread, at most once per `notify_every`.
    notify_after: Duration = timedelta(minutes=10)
    notify_every: Duration = timedelta(hours=12)
    email: WebChatEmail = WebChatEmail()
    # How long one live stream stays open (the page reconnects), and how often it looks for
    # what another worker stored.
    stream_seconds: int = Field(default=300, ge=10, le=3600)
    stream_poll_seconds: float = Field(default=2.0, ge=0.05, le=60)
    history_limit: int = Field(default=200, ge=10, le=1000)  # messages shown on return

    @field_validator("allowed_origins")
    @classmethod
    def _check_origins(cls, value: list[str]) -> list[str]:
        return sorted({origin_of(item) for item in value})

    @field_validator("exit_url")
    @classmethod
    def _check_exit(cls, value: str) -> str:
        if not re.fullmatch(r"https://[^\s<>\"']+", value):
            raise ValueError("exit_url must be an https:// link to a neutral site")
        return value
