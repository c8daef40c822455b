"""Settings of the structure's sites (`structure.sites`) and of appointments
(`appointments`): sections of the one settings object (core/settings.py)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from core.calendar import parse_duration


def _duration(value: Any) -> Any:
    return parse_duration(value) if isinstance(value, str) else value


Duration = Annotated[timedelta, BeforeValidator(_duration)]
PHONE_RE = re.compile(r"^(?:\+33|0)[1-9](?:[ .]?\d{2}){4}$")
HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Site(_Section):
    """One place where the structure welcomes young people (an antenna, a permanence)."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_-]{1,39}$")
    name: str = Field(min_length=2, max_length=120)
    address: str = Field(min_length=4, max_length=200)  # street, as written on a letter
    postcode: str = Field(pattern=r"^\d{5}$")
    commune: str = Field(min_length=2, max_length=80)
    # Opening hours as told to a young person ("lun-ven 9h-12h30, 13h30-17h").
    hours: str = Field(default="", max_length=160)
    phone: str = ""
    accessibility: str = Field(default="", max_length=200)  # "accessible en fauteuil", "tram A"
    map_url: str = Field(default="", max_length=300)  # empty: an OpenStreetMap search link
    # Where it is; empty: the coordinates of its commune (core/data/communes.csv).
    latitude: float | None = Field(default=None, ge=41.0, le=51.5)
    longitude: float | None = Field(default=None, ge=-5.5, le=10.0)
    # The team that meets young people there (empty: any team may propose it).
    team: str = ""

    @field_validator("phone")
    @classmethod
    def _check_phone(cls, value: str) -> str:
        value = value.strip()
        if value and not PHONE_RE.fullmatch(value):
            raise ValueError(f"{value!r} is not a French phone number like 03 21 00 00 00")
        return value

    @field_validator("map_url")
    @classmethod
    def _check_map_url(cls, value: str) -> str:
        if value and not re.fullmatch(r"https://[^\s<>\"]+", value):
            raise ValueError("map_url must be an https:// link")
        return value


class Structure(_Section):
    """The structure's sites: proposed for appointments in person, and given to a young person
    who asks where to go (the nearest to their commune or postcode)."""

    sites: list[Site] = []

    @field_validator("sites")
    @classmethod
    def _unique_ids(cls, value: list[Site]) -> list[Site]:
        ids = [site.id for site in value]
        if len(ids) != len(set(ids)):
            raise ValueError("two sites have the same id")
        return value


class Appointments(_Section):
    """Appointments proposed on a ticket (handoff/appointments)."""

    # Reminders to the young person, before the appointment (quiet hours respected: moved
    # earlier, never into the night). Empty: no reminder.
    reminders: list[Duration] = [timedelta(days=1), timedelta(hours=2)]
    default_duration: Duration = timedelta(minutes=45)
    # After a missed appointment: a kind nudge the next day at this local time ("on refixe ?").
    missed_nudge_time: str = Field(default="10:00", pattern=HHMM)
    # The counsellors are asked to mark attendance this long after the appointment's end.
    mark_after: Duration = timedelta(hours=1)

    @field_validator("reminders")
    @classmethod
    def _check_reminders(cls, value: list[timedelta]) -> list[timedelta]:
        if any(delay <= timedelta(0) or delay > timedelta(days=14) for delay in value):
            raise ValueError("each reminder is a delay before the appointment, up to 14 days")
        if len(value) > 4:
            raise ValueError("at most 4 reminders")
        return sorted(set(value), reverse=True)
