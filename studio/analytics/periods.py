"""Local days, ISO weeks, months and quarters: timestamps bucketed in the service's time zone
(`nudges.timezone`), in Python, since time-zone arithmetic differs between SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from core.text import MONTHS_FR


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tz).astimezone(UTC)


def week_start(moment: datetime, tz: ZoneInfo) -> date:
    """Monday of the local ISO week of `moment`."""
    local = moment.astimezone(tz).date()
    return local - timedelta(days=local.weekday())


def week_label(monday: date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def weeks_between(start: date, end: date) -> list[date]:
    """Mondays of every ISO week that overlaps start..end."""
    monday = start - timedelta(days=start.weekday())
    weeks = []
    while monday <= end:
        weeks.append(monday)
        monday += timedelta(days=7)
    return weeks


def period_key(moment: datetime, grain: str, tz: ZoneInfo) -> tuple[int, int]:
    """(year, month) or (year, quarter) of `moment`, local."""
    local = moment.astimezone(tz)
    if grain == "quarter":
        return local.year, (local.month - 1) // 3 + 1
    return local.year, local.month


def period_label(key: tuple[int, int], grain: str) -> str:
    year, index = key
    if grain == "quarter":
        return f"T{index} {year}"
    return f"{MONTHS_FR[index - 1]} {year}"
