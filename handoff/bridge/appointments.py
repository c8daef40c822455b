"""Appointments in the counsellors' group (issue 22): what a ticket's topic shows of them, the
`/rdv` command that proposes one, and the attendance buttons posted once the time has passed.

- Posts (`appointment_posts`): proposed, the young person's answer, their availability when
  they ask for another time, cancelled ("⚠️ annulé par le jeune" at once: the slot is free),
  marked; `appointment_unmarked` (the time has passed, nobody said whether it happened) is
  posted with the buttons Venu·e / Pas venu·e / Reporté (`attendance_keyboard`).
- `/rdv 15/12 14h30 tel 03 21 00 00 00 [mot]`, `/rdv 15/12 14h30 visio https://… [mot]`,
  `/rdv 15/12 14h30 lens [mot]` (a site id): proposed through the appointment desk with
  via="telegram"; outside opening hours the counsellor is told to send `/rdv! …` to go on.
- A button (`rv:<appointment>:<a|m|r>`) is honoured only on the very message that carries it,
  in the topic of the appointment's ticket, from a registered counsellor the policy allows
  (Action.attendance); a second press (or one after the web marked it) says it is done.

Everything here is read by counsellors: French. Local times in the service's time zone.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import date, datetime, time, tzinfo
from typing import TYPE_CHECKING, Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from core.models import AppointmentKind
from core.places import postal_address
from handoff.appointments.views import MARK_TITLES, MARKS, AppointmentDraft, AppointmentView

if TYPE_CHECKING:
    from core.places import SiteDirectory

RDV_RE = re.compile(r"^/rdv(!)?(?:@\w+)?(?:\s+(.*))?$", re.DOTALL | re.IGNORECASE)
CALLBACK_RE = re.compile(r"^rv:(\d{1,12}):([amr])$")
MARK_CODES = {"a": MARKS[0], "m": MARKS[1], "r": MARKS[2]}
DATE_RE = re.compile(r"(\d{1,2})/(\d{1,2})(?:/(\d{4}|\d{2}))?", re.ASCII)
TIME_RE = re.compile(r"(\d{1,2})[hH:](\d{2})?", re.ASCII)
PHONE_AT_START = re.compile(r"((?:\+33|0)[1-9](?:[ .]?\d{2}){4})(?:\s+(.*))?", re.ASCII | re.DOTALL)
PHONE_WORDS = frozenset({"tel", "tél", "tel.", "tél.", "telephone", "téléphone", "phone", "appel"})
VIDEO_WORDS = frozenset({"visio", "video", "vidéo", "visioconférence"})
ANSWERS = {
    "ok": "✅ Le jeune confirme le rendez-vous du {when}.",
    "change": "🔁 Le jeune demande un autre créneau pour le rendez-vous du {when} : "
    "ses disponibilités suivent.",
    "unsure": "🤷 Le jeune ne sait pas encore pour le rendez-vous du {when}.",
}
RDV_USAGE = (
    "Pour proposer un rendez-vous : /rdv JJ/MM HHhMM, puis\n"
    "• tel 03 21 00 00 00 (le numéro d'où tu appelles),\n"
    "• visio https://… (le lien de l'appel vidéo),\n"
    "• ou un lieu : {sites},\n"
    "et, si tu veux, un mot pour le jeune.\n"
    "Ex. : /rdv 15/12 14h30 tel 03 21 00 00 00 pense à ton CV"
)
OUTSIDE_HOURS = (
    "⚠️ Ce créneau est en dehors des horaires d'ouverture. Pour le proposer quand même, "
    "envoie :\n/rdv! {args}"
)
ALREADY_MARKED = "Déjà marqué : {label}."
MARKED = "Rendez-vous marqué : {label}."


def local(moment: datetime, tz: tzinfo) -> str:
    return moment.astimezone(tz).strftime("%d/%m/%Y à %H:%M")


def place_text(view: AppointmentView, sites: SiteDirectory | None) -> str:
    if view.kind == AppointmentKind.phone:
        return f"appel depuis le {view.call_from or '—'}"
    if view.kind == AppointmentKind.video:
        return f"appel vidéo{f' : {view.location}' if view.location else ''}"
    site = sites.get(view.site_id) if sites is not None else None
    where = f"{site.name}, {postal_address(site)}" if site else (view.site_id or "—")
    return where + (f" ({view.location})" if view.location else "")


def describe(view: AppointmentView, tz: tzinfo, sites: SiteDirectory | None) -> str:
    """ "Appel téléphonique le 04/03/2026 à 14:30 (appel depuis le 03 21 00 00 00)"."""
    return f"{view.kind_label} le {local(view.starts_at, tz)} ({place_text(view, sites)})"


def appointment_posts(
    kind: str,
    actor_name: str | None,
    data: dict[str, Any],
    tz: tzinfo,
    sites: SiteDirectory | None,
    where: str,
) -> list[str] | None:
    """What to post for an appointment event; None when `kind` is not one."""
    view = data.get("appointment")
    if not kind.startswith("appointment_") or not isinstance(view, AppointmentView):
        return None
    who = actor_name or "Quelqu'un"
    when = local(view.starts_at, tz)
    if kind == "appointment_proposed":
        lines = [f"📆 {who} propose un rendez-vous{where} : {describe(view, tz, sites)}."]
        if view.note:
            lines.append(f"Mot pour le jeune : « {view.note} »")
        if view.outside_hours:
            lines.append("(en dehors des horaires d'ouverture)")
        lines.append("En attente de la réponse du jeune.")
        return ["\n".join(lines)]
    if kind == "appointment_answered":
        text = ANSWERS.get(str(data.get("answer")))
        return [text.format(when=when)] if text else []
    if kind == "appointment_availability":
        return [f"🔁 Disponibilités du jeune pour changer le rendez-vous du {when} :\n"
                f"« {data.get('text', '')} »"]  # fmt: skip
    if kind == "appointment_cancelled":
        if data.get("by") == "youth":
            return [f"⚠️ Rendez-vous du {when} annulé par le jeune : le créneau est libéré."]
        if data.get("replaced_by"):
            return [f"🔁 Le rendez-vous du {when} est remplacé par le nouveau."]
        return [f"❌ {who} annule le rendez-vous du {when}{where}. Le jeune est prévenu."]
    if kind == "appointment_marked":
        if data.get("via") == "telegram":
            return []  # the buttons' message says it already
        label = MARK_TITLES.get(view.status, view.status_label)
        return [f"📋 {who} : rendez-vous du {when} marqué « {label} »{where}."]
    if kind == "appointment_unmarked":
        return [unmarked_text(view, tz, sites)]
    return []


def unmarked_text(view: AppointmentView, tz: tzinfo, sites: SiteDirectory | None) -> str:
    return f"⏰ Le rendez-vous est passé : {describe(view, tz, sites)}. A-t-il eu lieu ?"


# Attendance buttons -------------------------------------------------------------------------
def attendance_callback(appointment_id: int, code: str) -> str:
    return f"rv:{appointment_id}:{code}"


def attendance_keyboard(appointment_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    MARK_TITLES[status], callback_data=attendance_callback(appointment_id, code)
                )
                for code, status in MARK_CODES.items()
            ]
        ]
    )


def parse_attendance(data: str) -> tuple[int, str] | None:
    """(appointment id, status) of an attendance button, None if it is not one."""
    match = CALLBACK_RE.match(data)
    if match is None:
        return None
    return int(match.group(1)), str(MARK_CODES[match.group(2)])


# /rdv ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RdvCommand:
    draft: AppointmentDraft
    args: str  # as typed (for "/rdv! <args>")


class RdvError(ValueError):
    """The command could not be read: its French message says why."""


def usage(sites: SiteDirectory | None, team: str | None) -> str:
    ids = [site.id for site in sites.for_team(team)] if sites is not None else []
    return RDV_USAGE.format(sites=", ".join(ids[:6]) or "—")


def _day(token: str, today: date) -> date:
    match = DATE_RE.fullmatch(token)
    if match is None:
        raise RdvError("Date illisible : écris-la JJ/MM, par exemple 15/12.")
    day, month, year = int(match.group(1)), int(match.group(2)), match.group(3)
    try:
        if year is not None:
            return date(int(year) + (2000 if len(year) == 2 else 0), month, day)
        found = date(today.year, month, day)
        if found < today:
            found = date(today.year + 1, month, day)
        return found
    except ValueError:
        raise RdvError(f"Le {token} n'existe pas.") from None


def _time(token: str) -> time:
    match = TIME_RE.fullmatch(token)
    if match is None:
        raise RdvError("Heure illisible : écris-la 14h30, 14h ou 14:30.")
    try:
        return time(int(match.group(1)), int(match.group(2) or 0))
    except ValueError:
        raise RdvError(f"L'heure {token} n'existe pas.") from None


def parse_rdv(
    args: str, *, now: datetime, tz: tzinfo, sites: SiteDirectory | None, force: bool
) -> RdvCommand:
    """The /rdv command's arguments as a draft; RdvError with a French message otherwise."""
    parts = args.strip().split(None, 3)
    if len(parts) < 3:
        raise RdvError("Il manque la date, l'heure ou le type de rendez-vous.")
    day = _day(parts[0], now.astimezone(tz).date())
    starts = datetime.combine(day, _time(parts[1])).replace(tzinfo=tz)
    word, rest = parts[2], (parts[3] if len(parts) > 3 else "").strip()
    lowered = word.lower()
    call_from = location = site_id = None
    if lowered in PHONE_WORDS:
        kind = AppointmentKind.phone
        found = PHONE_AT_START.fullmatch(rest)
        if found is None:
            raise RdvError("Après « tel », écris le numéro d'où tu appelles : 03 21 00 00 00.")
        call_from, rest = found.group(1), (found.group(2) or "").strip()
    elif lowered in VIDEO_WORDS:
        kind = AppointmentKind.video
        link, _, after = rest.partition(" ")
        if link.lower().startswith("https://"):
            location, rest = link, after.strip()
    else:
        kind = AppointmentKind.in_person
        if sites is None or sites.get(lowered) is None:
            raise RdvError(f"« {word} » : ni tel, ni visio, ni un lieu de la structure.")
        site_id = lowered
    draft = AppointmentDraft(
        kind=kind,
        starts_at=starts,
        site_id=site_id,
        call_from=call_from,
        location=location,
        note=rest or None,
        allow_outside_hours=force,
    )
    return RdvCommand(draft, " ".join(args.split()))


# Concurrent presses ---------------------------------------------------------------------------
class PressLocks:
    """One lock per appointment: two presses at once are handled one after the other (the
    second sees the first's mark). Locks of appointments no longer pressed are dropped."""

    def __init__(self) -> None:
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}

    def __call__(self, appointment_id: int) -> _Held:
        return _Held(self, appointment_id)

    def acquire(self, appointment_id: int) -> asyncio.Lock:
        lock, users = self._locks.get(appointment_id, (asyncio.Lock(), 0))
        self._locks[appointment_id] = (lock, users + 1)
        return lock

    def release(self, appointment_id: int) -> None:
        lock, users = self._locks[appointment_id]
        if users <= 1:
            del self._locks[appointment_id]
        else:
            self._locks[appointment_id] = (lock, users - 1)


class _Held:
    def __init__(self, locks: PressLocks, appointment_id: int) -> None:
        self.locks, self.appointment_id = locks, appointment_id
        self.lock: asyncio.Lock | None = None

    async def __aenter__(self) -> None:
        self.lock = self.locks.acquire(self.appointment_id)
        await self.lock.acquire()

    async def __aexit__(self, *exc: object) -> None:
        assert self.lock is not None
        self.lock.release()
        self.locks.release(self.appointment_id)
