"""An appointment as an iCalendar file (RFC 5545): one VEVENT in Europe/Paris time, with the
VTIMEZONE it needs, so a phone's calendar shows the right local time on both sides of a daylight
saving change. Sent as a document on Telegram, downloadable on the web."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from core.places import map_link, postal_address
from core.settings_places import Site
from core.vocabulary import DEFAULT_TIMEZONE
from handoff.appointments.views import AppointmentView

# Europe/Paris since 1996: CEST from the last Sunday of March, CET from the last of October.
PARIS_VTIMEZONE = (
    "BEGIN:VTIMEZONE",
    "TZID:Europe/Paris",
    "BEGIN:DAYLIGHT",
    "TZOFFSETFROM:+0100",
    "TZOFFSETTO:+0200",
    "TZNAME:CEST",
    "DTSTART:19700329T020000",
    "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
    "END:DAYLIGHT",
    "BEGIN:STANDARD",
    "TZOFFSETFROM:+0200",
    "TZOFFSETTO:+0100",
    "TZNAME:CET",
    "DTSTART:19701025T030000",
    "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU",
    "END:STANDARD",
    "END:VTIMEZONE",
)


def escape(text: str) -> str:
    """TEXT value escaping (RFC 5545 3.3.11)."""
    return (
        text.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def fold(line: str) -> str:
    """Lines longer than 75 octets are folded (CRLF + a space), never inside a character."""
    out: list[str] = []
    current = b""
    for char in line:
        encoded = char.encode("utf-8")
        limit = 75 if not out else 74  # continuation lines start with a space
        if len(current) + len(encoded) > limit:
            out.append(current.decode("utf-8"))
            current = b""
        current += encoded
    out.append(current.decode("utf-8"))
    return "\r\n ".join(out)


def _local(moment: datetime) -> str:
    return moment.astimezone(ZoneInfo(DEFAULT_TIMEZONE)).strftime("%Y%m%dT%H%M%S")


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def appointment_ics(
    appointment: AppointmentView,
    *,
    organisation: str,
    site: Site | None,
    host: str,
    now: datetime,
) -> str:
    """The .ics text of the appointment. `host` makes the UID unique (the app's host name)."""
    summary = f"Rendez-vous {organisation}"
    description: list[str] = [appointment.kind_label]
    location = ""
    if site is not None:
        location = f"{site.name}, {postal_address(site)}"
        description.append(f"Plan : {map_link(site)}")
        if site.phone:
            description.append(f"Téléphone : {site.phone}")
    elif appointment.call_from:
        description.append(f"On t'appelle depuis le {appointment.call_from}")
    if appointment.location:
        if appointment.kind == "video":
            description.append(f"Lien : {appointment.location}")
        else:
            location = ", ".join(part for part in (location, appointment.location) if part)
    if appointment.note:
        description.append(appointment.note)
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Maraude//Rendez-vous//FR",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        *PARIS_VTIMEZONE,
        "BEGIN:VEVENT",
        f"UID:rdv-{appointment.id}@{host}",
        f"DTSTAMP:{_utc(now)}",
        f"DTSTART;TZID=Europe/Paris:{_local(appointment.starts_at)}",
        f"DTEND;TZID=Europe/Paris:{_local(appointment.ends_at)}",
        f"SUMMARY:{escape(summary)}",
        f"DESCRIPTION:{escape(chr(10).join(description))}",
    ]
    if location:
        lines.append(f"LOCATION:{escape(location)}")
    status = "CANCELLED" if appointment.status == "cancelled" else "CONFIRMED"
    lines += [
        f"STATUS:{status}",
        "BEGIN:VALARM",
        "ACTION:DISPLAY",
        f"DESCRIPTION:{escape(summary)}",
        "TRIGGER:-PT2H",
        "END:VALARM",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "\r\n".join(fold(line) for line in lines) + "\r\n"


def ics_filename(appointment: AppointmentView) -> str:
    local = appointment.starts_at.astimezone(ZoneInfo(DEFAULT_TIMEZONE))
    return f"rendez-vous-{local:%Y-%m-%d-%Hh%M}.ics"
