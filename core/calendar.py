"""Calendar arithmetic for nudges and SLAs: French public holidays, quiet hours, opening hours.

Pure standard library (no database, no settings). Every function takes timezone-aware
datetimes (naive ones raise ValueError) and returns instants in UTC.

How local times are turned into instants: a boundary such as "09:00 on 2026-03-29" is the
first instant at which the local wall clock reads 09:00 or later. So a boundary that falls in
the spring-forward gap (02:30 in Europe/Paris on 2026-03-29) is the instant of the jump
(03:00 CEST), and a boundary that falls in the repeated autumn hour is its first occurrence.
All durations are real elapsed time (a DST night counts 23 or 25 hours), and "2d" in
``parse_duration`` means 48 hours, not two working days.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.vocabulary import DEFAULT_TIMEZONE

__all__ = [
    "OpeningHours",
    "QuietHours",
    "easter_sunday",
    "french_public_holidays",
    "parse_duration",
]

_DEFAULT_TZ = ZoneInfo(DEFAULT_TIMEZONE)
_ONE_DAY = timedelta(days=1)
_MIDNIGHT = time(0, 0)
# next_allowed gives up after this many days without an allowed instant (only reachable with
# absurd settings, e.g. extra_days_off covering years).
_MAX_SCAN_DAYS = 3700

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# A day's intervals as local wall times; None as the end means "until the next midnight".
_WallIntervals = list[tuple[time, time | None]]
_Interval = tuple[datetime, datetime]


# --- holidays ---------------------------------------------------------------------------


def easter_sunday(year: int) -> date:
    """Easter Sunday in the Gregorian calendar (anonymous Gregorian computus)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    leap = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * leap) // 451
    month, day = divmod(h + leap - 7 * m + 114, 31)
    return date(year, month, day + 1)


@lru_cache(maxsize=64)
def french_public_holidays(year: int) -> frozenset[date]:
    """The eleven public holidays of metropolitan France (without Alsace-Moselle's extra two)."""
    easter = easter_sunday(year)
    return frozenset(
        {
            date(year, 1, 1),  # Jour de l'an
            easter + timedelta(days=1),  # Lundi de Pâques
            date(year, 5, 1),  # Fête du travail
            date(year, 5, 8),  # Victoire 1945
            easter + timedelta(days=39),  # Ascension
            easter + timedelta(days=50),  # Lundi de Pentecôte
            date(year, 7, 14),  # Fête nationale
            date(year, 8, 15),  # Assomption
            date(year, 11, 1),  # Toussaint
            date(year, 11, 11),  # Armistice
            date(year, 12, 25),  # Noël
        }
    )


def _is_public_holiday(day: date) -> bool:
    return day in french_public_holidays(day.year)


# --- durations --------------------------------------------------------------------------

_DURATION = re.compile(r"(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")


def parse_duration(text: str) -> timedelta:
    """Parse "30s", "15m", "4h", "2d", "1w" or combinations in that order ("1h30m", "1w2d").

    Days and weeks are calendar time (24 hours a day), not working days.
    """
    if not isinstance(text, str):
        raise ValueError(f"duration must be a string like '4h' or '1h30m', not {text!r}")
    cleaned = text.strip().lower()
    match = _DURATION.fullmatch(cleaned)
    if not cleaned or match is None:
        raise ValueError(
            f"invalid duration {text!r}: use a number followed by w, d, h, m or s, "
            "largest unit first, e.g. '30s', '15m', '4h', '2d', '1w' or '1h30m'"
        )
    weeks, days, hours, minutes, seconds = (int(part) if part else 0 for part in match.groups())
    return timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)


# --- local time <-> instants ------------------------------------------------------------


def _require_aware(moment: datetime, name: str = "moment") -> datetime:
    if not isinstance(moment, datetime):
        raise ValueError(f"{name} must be a datetime, not {type(moment).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got naive {moment!r}")
    return moment.astimezone(UTC)


def _wall(instant: datetime, tz: tzinfo) -> datetime:
    return instant.astimezone(tz).replace(tzinfo=None)


def _first_instant(day: date, at: time, tz: tzinfo) -> datetime:
    """The first instant (UTC) at which the local wall clock in `tz` reads `day` `at` or later."""
    wall = datetime.combine(day, at)
    early = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    late = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    lo, hi = min(early, late), max(early, late)
    if _wall(lo, tz) == wall:
        return lo  # an ordinary time, or the first occurrence of a repeated one
    # `wall` does not exist (the clock jumps over it): find the instant of the jump, which
    # lies in (lo, hi]; zone transitions happen on whole seconds.
    lo_s, hi_s = int(lo.timestamp()), int(hi.timestamp())
    while lo_s + 1 < hi_s:
        mid = (lo_s + hi_s) // 2
        if _wall(datetime.fromtimestamp(mid, UTC), tz) >= wall:
            hi_s = mid
        else:
            lo_s = mid
    return datetime.fromtimestamp(hi_s, UTC)


def _day_intervals(
    day: date, tz: tzinfo, wall_intervals: Callable[[date], _WallIntervals]
) -> list[_Interval]:
    result = []
    for start, end in wall_intervals(day):
        a = _first_instant(day, start, tz)
        b = (
            _first_instant(day + _ONE_DAY, _MIDNIGHT, tz)
            if end is None
            else _first_instant(day, end, tz)
        )
        if b > a:
            result.append((a, b))
    return result


def _intervals_from(
    instant: datetime,
    tz: tzinfo,
    wall_intervals: Callable[[date], _WallIntervals],
    max_days: int | None = None,
) -> Iterator[_Interval]:
    """Intervals, in order, of the local days from the one before `instant`'s onwards
    (a margin for zones whose midnight is ambiguous); endless unless `max_days` is given."""
    day = instant.astimezone(tz).date() - _ONE_DAY
    scanned = 0
    while max_days is None or scanned < max_days:
        yield from _day_intervals(day, tz, wall_intervals)
        day += _ONE_DAY
        scanned += 1


def _contains(
    instant: datetime, tz: tzinfo, wall_intervals: Callable[[date], _WallIntervals]
) -> bool:
    local_day = instant.astimezone(tz).date()
    for offset in (-1, 0, 1):
        for a, b in _day_intervals(local_day + offset * _ONE_DAY, tz, wall_intervals):
            if a <= instant < b:
                return True
    return False


def _check_time(value: object, name: str) -> None:
    if not isinstance(value, time):
        raise ValueError(f"{name} must be a datetime.time, not {value!r}")
    if value.tzinfo is not None:
        raise ValueError(f"{name} must be a local time without tzinfo, got {value!r}")


def _check_tz(value: object) -> None:
    if not isinstance(value, tzinfo):
        raise ValueError(f"tz must be a ZoneInfo, not {value!r}")


# --- quiet hours ------------------------------------------------------------------------


@dataclass(frozen=True)
class QuietHours:
    """When a young person may be nudged.

    Quiet every day from `start` to `end` local time (start > end wraps midnight; start == end
    means no nightly quiet hours), and all day on `quiet_weekdays` (Monday = 0), on French
    public holidays if `public_holidays`, and on `extra_days_off`.
    """

    tz: ZoneInfo = _DEFAULT_TZ
    start: time = time(21, 0)
    end: time = time(9, 0)
    quiet_weekdays: frozenset[int] = frozenset({6})
    public_holidays: bool = True
    extra_days_off: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        _check_tz(self.tz)
        _check_time(self.start, "start")
        _check_time(self.end, "end")
        object.__setattr__(self, "quiet_weekdays", frozenset(self.quiet_weekdays))
        object.__setattr__(self, "extra_days_off", frozenset(self.extra_days_off))
        if any(not isinstance(d, int) or not 0 <= d <= 6 for d in self.quiet_weekdays):
            raise ValueError("quiet_weekdays must hold weekday numbers from 0 (Monday) to 6")
        if len(self.quiet_weekdays) == 7:
            raise ValueError("quiet_weekdays cannot cover the whole week: no nudge could be sent")

    def is_day_off(self, day: date) -> bool:
        return (
            day.weekday() in self.quiet_weekdays
            or day in self.extra_days_off
            or (self.public_holidays and _is_public_holiday(day))
        )

    def _allowed_wall(self, day: date) -> _WallIntervals:
        if self.is_day_off(day):
            return []
        if self.start == self.end:
            return [(_MIDNIGHT, None)]
        if self.start > self.end:  # quiet across midnight: allowed from end to start
            return [(self.end, self.start)]
        allowed: _WallIntervals = [(self.end, None)]
        if self.start > _MIDNIGHT:
            allowed.insert(0, (_MIDNIGHT, self.start))
        return allowed

    def allows(self, moment: datetime) -> bool:
        instant = _require_aware(moment)
        return _contains(instant, self.tz, self._allowed_wall)

    def last_allowed(self, moment: datetime, margin: timedelta = timedelta(minutes=1)) -> datetime:
        """`moment` (in UTC) if allowed, else the latest allowed instant before it, `margin`
        before its quiet time begins (e.g. 20:59 for quiet hours from 21:00): appointment
        reminders are moved earlier, never into the night."""
        instant = _require_aware(moment)
        if self.allows(instant):
            return instant
        day = instant.astimezone(self.tz).date() + _ONE_DAY
        for _ in range(_MAX_SCAN_DAYS):
            for a, b in reversed(_day_intervals(day, self.tz, self._allowed_wall)):
                if a < instant:
                    return max(a, min(b - margin, instant))
            day -= _ONE_DAY
        raise ValueError(f"no allowed time within {_MAX_SCAN_DAYS} days before {moment}")

    def nightly_only(self) -> QuietHours:
        """The same nightly quiet hours, without quiet days or holidays (appointment reminders:
        a Sunday reminder of Monday's appointment is welcome, a 7 a.m. one is not)."""
        return QuietHours(
            tz=self.tz,
            start=self.start,
            end=self.end,
            quiet_weekdays=frozenset(),
            public_holidays=False,
        )

    def next_allowed(self, moment: datetime) -> datetime:
        """`moment` (in UTC) if allowed, else the first allowed instant after it."""
        instant = _require_aware(moment)
        for a, b in _intervals_from(instant, self.tz, self._allowed_wall, _MAX_SCAN_DAYS):
            if b > instant:
                return max(a, instant)
        raise ValueError(f"no allowed time within {_MAX_SCAN_DAYS} days after {moment}")


# --- opening hours ----------------------------------------------------------------------

_Ranges = tuple[tuple[time, time], ...]
_TIME = re.compile(r"(\d{1,2}):(\d{2})")


def _parse_time(text: str, context: str) -> time:
    match = _TIME.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"invalid time {text.strip()!r} in {context}: expected HH:MM")
    hour, minute = int(match.group(1)), int(match.group(2))
    if (hour, minute) == (24, 0):
        return _MIDNIGHT  # end of day
    if hour > 23 or minute > 59:
        raise ValueError(f"invalid time {text.strip()!r} in {context}: out of range")
    return time(hour, minute)


def _parse_days(key: str) -> list[int]:
    days: list[int] = []
    for part in key.split(","):
        token = part.strip().lower()
        bounds = [b.strip() for b in token.split("-")] if "-" in token else [token]
        if len(bounds) > 2 or any(b not in DAY_NAMES for b in bounds):
            raise ValueError(
                f"invalid day {part.strip()!r} in {key!r}: use {', '.join(DAY_NAMES)} "
                "or a range such as 'mon-fri'"
            )
        first, last = DAY_NAMES.index(bounds[0]), DAY_NAMES.index(bounds[-1])
        span = (last - first) % 7 + 1  # "fri-mon" wraps over the weekend
        days.extend((first + i) % 7 for i in range(span))
    return days


def _parse_ranges(text: str, context: str) -> list[tuple[time, time]]:
    if text.strip().lower() in ("", "closed"):
        return []
    ranges = []
    for part in text.split(","):
        bounds = part.split("-")
        if len(bounds) != 2:
            raise ValueError(
                f"invalid range {part.strip()!r} in {context}: expected HH:MM-HH:MM, "
                "e.g. '09:00-12:30, 13:30-17:30'"
            )
        ranges.append((_parse_time(bounds[0], context), _parse_time(bounds[1], context)))
    return ranges


def _close_minutes(close: time) -> tuple[int, int, int, int]:
    """Sort key of a closing time, where 00:00 means the end of the day."""
    if close == _MIDNIGHT:
        return (24, 0, 0, 0)
    return (close.hour, close.minute, close.second, close.microsecond)


def _open_minutes(opening: time) -> tuple[int, int, int, int]:
    return (opening.hour, opening.minute, opening.second, opening.microsecond)


@dataclass(frozen=True)
class OpeningHours:
    """Team opening hours for SLA arithmetic: per weekday a list of (open, close) local times;
    closed on public holidays if asked.

    `weekly` has 7 entries, Monday first; a close of 00:00 means midnight at the end of the day.
    Ranges of a day must not overlap and must not cross midnight (split them over two days).
    """

    weekly: tuple[_Ranges, ...]
    tz: ZoneInfo = _DEFAULT_TZ
    public_holidays: bool = True

    def __post_init__(self) -> None:
        _check_tz(self.tz)
        if len(self.weekly) != 7:
            raise ValueError(f"weekly must have 7 entries (Monday first), got {len(self.weekly)}")
        normalised = []
        for name, ranges in zip(DAY_NAMES, self.weekly, strict=True):
            day_ranges: list[tuple[time, time]] = []
            for opening, close in sorted(ranges, key=lambda r: _open_minutes(r[0])):
                _check_time(opening, f"opening time on {name}")
                _check_time(close, f"closing time on {name}")
                if _close_minutes(close) <= _open_minutes(opening):
                    raise ValueError(
                        f"range {opening:%H:%M}-{close:%H:%M} on {name} closes before it opens "
                        "(ranges cannot cross midnight: split them over two days)"
                    )
                if day_ranges and _open_minutes(opening) < _close_minutes(day_ranges[-1][1]):
                    previous = day_ranges[-1]
                    raise ValueError(
                        f"ranges {previous[0]:%H:%M}-{previous[1]:%H:%M} and "
                        f"{opening:%H:%M}-{close:%H:%M} on {name} overlap"
                    )
                day_ranges.append((opening, close))
            normalised.append(tuple(day_ranges))
        if not any(normalised):
            raise ValueError("opening hours are empty: at least one day needs opening hours")
        object.__setattr__(self, "weekly", tuple(normalised))

    @classmethod
    def parse(
        cls, spec: Mapping[str, str], tz: str = DEFAULT_TIMEZONE, public_holidays: bool = True
    ) -> OpeningHours:
        """Build from settings: {"mon-fri": "09:00-12:30, 13:30-17:30", "sat": "10:00-12:00"}.

        Keys are day names (mon tue wed thu fri sat sun), ranges ("mon-fri") or comma-separated
        lists of those; days not mentioned are closed; a value may be "closed".
        """
        if not isinstance(spec, Mapping):
            raise ValueError(f"opening hours must be a mapping of days to hours, not {spec!r}")
        try:
            zone = ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
            raise ValueError(f"unknown time zone {tz!r} for opening hours") from exc
        weekly: list[list[tuple[time, time]] | None] = [None] * 7
        for key, value in spec.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise ValueError(
                    f"opening hours entry {key!r}: {value!r} must map a day string to an "
                    "hours string such as '09:00-17:00'"
                )
            ranges = _parse_ranges(value, f"{key!r}")
            for day in _parse_days(key):
                if weekly[day] is not None:
                    raise ValueError(f"{DAY_NAMES[day]} is given more than once in opening hours")
                weekly[day] = ranges
        return cls(
            weekly=tuple(tuple(ranges or ()) for ranges in weekly),
            tz=zone,
            public_holidays=public_holidays,
        )

    def is_closed_day(self, day: date) -> bool:
        return not self.weekly[day.weekday()] or (self.public_holidays and _is_public_holiday(day))

    def _open_wall(self, day: date) -> _WallIntervals:
        if self.public_holidays and _is_public_holiday(day):
            return []
        return [
            (opening, None if close == _MIDNIGHT else close)
            for opening, close in self.weekly[day.weekday()]
        ]

    def is_open(self, moment: datetime) -> bool:
        instant = _require_aware(moment)
        return _contains(instant, self.tz, self._open_wall)

    def presence(self, moment: datetime) -> tuple[datetime, datetime]:
        """The opening interval (UTC) that `moment` is in, or else the next one: (open, close).

        Open now when the first item is not after `moment`. Ranges that touch (a day open until
        midnight and the next from midnight) count as one.
        """
        instant = _require_aware(moment)
        current: tuple[datetime, datetime] | None = None
        for a, b in _intervals_from(instant, self.tz, self._open_wall):
            if b <= instant:
                continue
            if current is None:
                current = (a, b)
            elif a == current[1]:
                current = (current[0], b)
            else:
                break
        assert current is not None  # the iterator is endless and some day is open
        return current

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The instant (UTC) when `duration` of opening time has elapsed after `start`.

        A zero duration gives `start` itself; a duration that ends exactly at closing time
        gives the closing instant (not the next opening).
        """
        instant = _require_aware(start, "start")
        if duration < timedelta(0):
            raise ValueError(f"duration must not be negative, got {duration}")
        if not duration:
            return instant
        remaining = duration
        for a, b in _intervals_from(instant, self.tz, self._open_wall):
            if b <= instant:
                continue
            begin = max(a, instant)
            if remaining <= b - begin:
                return begin + remaining
            remaining -= b - begin
        raise AssertionError("unreachable: the interval iterator is endless")

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Opening time elapsed from `start` to `end` (zero if end <= start)."""
        lo, hi = _require_aware(start, "start"), _require_aware(end, "end")
        total = timedelta(0)
        if hi <= lo:
            return total
        for a, b in _intervals_from(lo, self.tz, self._open_wall):
            if a >= hi:
                break
            if b > lo:
                total += min(b, hi) - max(a, lo)
        return total
