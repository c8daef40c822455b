"""What the young person reads about an appointment, from bot/texts.yml's `appointments`
section: French dates ("demain à 14h30", "mardi 15 déc. à 9h"), the place, the buttons."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.messages import Button, Reply
from core.models import AppointmentKind
from core.places import SiteDirectory, map_link, postal_address
from core.vocabulary import DEFAULT_TIMEZONE
from handoff.appointments.views import AppointmentView

DAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
MONTHS = (
    "janv.", "févr.", "mars", "avril", "mai", "juin",
    "juil.", "août", "sept.", "oct.", "nov.", "déc.",
)  # fmt: skip
# Button payloads (bot/appointments.py reads them back): /rdv_<answer>{"rdv":"<id>"}.
ANSWER_INTENTS = {"ok": "rdv_ok", "change": "rdv_change", "unsure": "rdv_unsure"}
CANCEL_INTENT = "rdv_cancel"
STOP_KEEP_INTENT, STOP_CANCEL_INTENT = "rdv_stop_keep", "rdv_stop_cancel"
PAYLOAD_INTENTS = (*ANSWER_INTENTS.values(), CANCEL_INTENT, STOP_KEEP_INTENT, STOP_CANCEL_INTENT)


def payload(intent: str, appointment_id: int) -> str:
    return f'/{intent}{{"rdv":"{appointment_id}"}}'


def clock_time(moment: datetime, tz: ZoneInfo) -> str:
    """14h30, 9h (not 09h00)."""
    local = moment.astimezone(tz)
    return f"{local.hour}h{local.minute:02d}" if local.minute else f"{local.hour}h"


def when(moment: datetime, now: datetime, tz: ZoneInfo | None = None) -> str:
    """ "aujourd'hui à 14h30", "demain à 9h", else "mardi 15 déc. à 14h30" (local time)."""
    tz = tz or ZoneInfo(DEFAULT_TIMEZONE)
    local, today = moment.astimezone(tz), now.astimezone(tz).date()
    at = clock_time(moment, tz)
    days = (local.date() - today).days
    if days == 0:
        return f"aujourd'hui à {at}"
    if days == 1:
        return f"demain à {at}"
    return f"{DAYS[local.weekday()]} {local.day} {MONTHS[local.month - 1]} à {at}"


@dataclass(frozen=True)
class AppointmentWording:
    texts: Mapping[str, str]
    sites: SiteDirectory
    tz: ZoneInfo = ZoneInfo(DEFAULT_TIMEZONE)

    def __call__(self, key: str, **values: object) -> str:
        return self.texts[key].format(**values)

    def what(self, appointment: AppointmentView) -> str:
        return self(f"what_{appointment.kind}")

    def where(self, appointment: AppointmentView) -> str:
        if appointment.kind == AppointmentKind.phone:
            return self("where_phone", number=appointment.call_from or "")
        if appointment.kind == AppointmentKind.video:
            if appointment.location:
                return self("where_video", link=appointment.location)
            return self("where_video_later")
        site = self.sites.get(appointment.site_id)
        if site is None:
            return appointment.location or ""
        text = self("where_site", site=site.name, address=postal_address(site), map=map_link(site))
        return f"{text}\n{appointment.location}" if appointment.location else text

    def proposal(
        self,
        appointment: AppointmentView,
        counsellor: str,
        now: datetime,
        replaced: AppointmentView | None = None,
    ) -> list[Reply]:
        text = self(
            "propose",
            name=counsellor,
            what=self.what(appointment),
            when=when(appointment.starts_at, now, self.tz),
            where=self.where(appointment),
        )
        if appointment.note:
            text += "\n" + self("propose_note", note=appointment.note)
        if replaced is not None:
            text = self("replaced", old_when=when(replaced.starts_at, now, self.tz)) + "\n" + text
        buttons = tuple(
            Button(self(f"button_{answer}"), payload(intent, appointment.id))
            for answer, intent in ANSWER_INTENTS.items()
        )
        return [Reply(text, buttons)]

    def reminder(self, appointment: AppointmentView, counsellor: str, now: datetime) -> Reply:
        local_day = appointment.starts_at.astimezone(self.tz).date()
        key = "reminder_day" if local_day > now.astimezone(self.tz).date() else "reminder_soon"
        text = self(
            key,
            what=self.what(appointment),
            when=when(appointment.starts_at, now, self.tz),
            name=counsellor,
            where=self.where(appointment),
        )
        button = Button(self("button_cant_come"), payload(CANCEL_INTENT, appointment.id))
        return Reply(text, (button,))
