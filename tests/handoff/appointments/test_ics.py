"""The .ics file of an appointment (RFC 5545), checked by hand (the `icalendar` package is not
a dependency): one VEVENT in Europe/Paris local time with its VTIMEZONE, CRLF line ends, lines
folded at 75 octets without cutting a character, text escaped."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from core.models import AppointmentKind, AppointmentStatus
from core.places import SiteDirectory
from core.settings import load_settings
from handoff.appointments.ics import appointment_ics, escape, fold, ics_filename
from handoff.appointments.views import AppointmentView
from tests.handoff.appointments.support import paris
from tests.support import ROOT

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SITES = SiteDirectory(load_settings(ROOT / "maraude.yml").structure.sites)


def view(**fields: object) -> AppointmentView:
    base = AppointmentView(
        id=42,
        ticket_id=7,
        person_id=3,
        team="lens",
        counsellor_id=1,
        kind=AppointmentKind.in_person,
        starts_at=paris(2026, 3, 31, 14, 30),  # summer time (CEST)
        duration_minutes=45,
        site_id="lens",
        call_from=None,
        location="2e étage, bureau 4",
        note="Ramène ta carte vitale; ton CV, et ta pièce d'identité\\ si tu l'as",
        outside_hours=False,
        status=AppointmentStatus.confirmed,
        youth_reply=None,
        reminders_sent=0,
        cancelled_by=None,
        replaced_by_id=None,
        marked_by_id=None,
        created_at=NOW,
        answered_at=None,
        confirmed_at=None,
        cancelled_at=None,
        marked_at=None,
        counsellor_name="Sam",
    )
    return replace(base, **fields)  # type: ignore[arg-type]


def ics(appointment: AppointmentView) -> str:
    site = SITES.get(appointment.site_id)
    return appointment_ics(
        appointment,
        organisation="Mission Locale de l'Artois",
        site=site,
        host="ml.example",
        now=NOW,
    )


def unfold(text: str) -> list[str]:
    """The logical lines (RFC 5545 3.1)."""
    return text.replace("\r\n ", "").split("\r\n")[:-1]


def properties(lines: list[str], component: str) -> dict[str, str]:
    """NAME[;PARAMS] -> value of the first `component` block (nested blocks skipped)."""
    out: dict[str, str] = {}
    depth, inside = 0, False
    for line in lines:
        if line == f"BEGIN:{component}" and not inside:
            inside, depth = True, 0
            continue
        if not inside:
            continue
        if line.startswith("BEGIN:"):
            depth += 1
        elif line.startswith("END:"):
            if depth == 0:
                break
            depth -= 1
        elif depth == 0:
            name, _, value = line.partition(":")
            out.setdefault(name, value)
    return out


def unescape(value: str) -> str:
    out, chars = [], iter(value)
    for char in chars:
        if char == "\\":
            nxt = next(chars)
            out.append("\n" if nxt in "nN" else nxt)
        else:
            out.append(char)
    return "".join(out)


def test_a_valid_calendar_with_one_event_in_paris_time() -> None:
    text = ics(view())
    assert text.endswith("\r\n")
    assert "\n" not in text.replace("\r\n", "")  # CRLF only
    lines = unfold(text)
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-1] == "END:VCALENDAR"
    assert "VERSION:2.0" in lines and any(line.startswith("PRODID:") for line in lines)
    begins = [line for line in lines if line.startswith("BEGIN:")]
    ends = [line for line in lines if line.startswith("END:")]
    assert sorted(b[6:] for b in begins) == sorted(e[4:] for e in ends)
    assert begins.count("BEGIN:VEVENT") == 1 and begins.count("BEGIN:VTIMEZONE") == 1
    timezone = properties(lines, "VTIMEZONE")
    assert timezone["TZID"] == "Europe/Paris"
    daylight, standard = properties(lines, "DAYLIGHT"), properties(lines, "STANDARD")
    assert (daylight["TZOFFSETTO"], standard["TZOFFSETTO"]) == ("+0200", "+0100")
    assert daylight["RRULE"] == "FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU"
    assert standard["RRULE"] == "FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU"
    event = properties(lines, "VEVENT")
    assert event["DTSTART;TZID=Europe/Paris"] == "20260331T143000"  # local time, not UTC
    assert event["DTEND;TZID=Europe/Paris"] == "20260331T151500"
    assert event["UID"] == "rdv-42@ml.example"
    assert event["DTSTAMP"] == "20260302T090000Z"
    assert event["STATUS"] == "CONFIRMED"
    assert unescape(event["SUMMARY"]) == "Rendez-vous Mission Locale de l'Artois"
    location = unescape(event["LOCATION"])
    assert location.startswith("Mission Locale de Lens (démo), 12 rue de l'Exemple")
    assert location.endswith("2e étage, bureau 4")
    description = unescape(event["DESCRIPTION"]).split("\n")
    assert description[0] == "Sur place"
    assert description[1].startswith("Plan : https://")
    assert "Téléphone : 03 21 00 00 01" in description
    assert description[-1] == view().note  # ; , \ escaped and read back
    alarm = properties(lines, "VALARM")
    assert alarm["TRIGGER"] == "-PT2H" and alarm["ACTION"] == "DISPLAY"


def test_winter_time_and_a_phone_call() -> None:
    call = view(
        kind=AppointmentKind.phone,
        starts_at=paris(2026, 11, 3, 9),
        site_id=None,
        location=None,
        call_from="03 21 00 00 00",
        note=None,
    )
    event = properties(unfold(ics(call)), "VEVENT")
    assert event["DTSTART;TZID=Europe/Paris"] == "20261103T090000"
    assert "LOCATION" not in event
    assert (
        unescape(event["DESCRIPTION"])
        == "Appel téléphonique\nOn t'appelle depuis le 03 21 00 00 00"
    )
    assert ics_filename(call) == "rendez-vous-2026-11-03-09h00.ics"


def test_a_cancelled_one_says_so() -> None:
    event = properties(unfold(ics(view(status=AppointmentStatus.cancelled))), "VEVENT")
    assert event["STATUS"] == "CANCELLED"


def test_long_lines_are_folded_at_75_octets_without_cutting_a_character() -> None:
    note = "é" * 60 + " — " + "à" * 80  # multi-byte characters across the fold
    text = ics(view(note=note, location=None))
    for line in text.split("\r\n"):
        assert len(line.encode("utf-8")) <= 75
        line.encode("utf-8").decode("utf-8")  # each physical line is whole UTF-8
    event = properties(unfold(text), "VEVENT")
    assert unescape(event["DESCRIPTION"]).split("\n")[-1] == note
    assert fold("x" * 75) == "x" * 75
    assert fold("x" * 76) == "x" * 75 + "\r\n x"


def test_escaping() -> None:
    assert escape("a;b,c\\d\ne\r\nf") == "a\\;b\\,c\\\\d\\ne\\nf"
