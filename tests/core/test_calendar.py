"""core/calendar.py: holidays, quiet hours and opening hours across DST changes (no DB).

Mind that `+`/`-` between datetimes of the same ZoneInfo is wall-clock arithmetic (and
PEP 495 makes gap/fold times unequal to other zones): the tests compare instants in UTC.
"""

from __future__ import annotations

import time as wallclock
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.calendar import (
    OpeningHours,
    QuietHours,
    easter_sunday,
    french_public_holidays,
    parse_duration,
)

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
QUIET = QuietHours()
TEAM = OpeningHours.parse({"mon-fri": "09:00-12:30, 13:30-17:30", "sat": "10:00-12:00"})
WEEKDAYS = OpeningHours.parse({"mon-fri": "09:00-12:30, 13:30-17:30"})


def paris(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, fold: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=PARIS, fold=fold)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def hours(h: float) -> timedelta:
    return timedelta(hours=h)


# --- holidays ---------------------------------------------------------------------------


def test_public_holidays_2026() -> None:
    assert easter_sunday(2026) == date(2026, 4, 5)
    assert french_public_holidays(2026) == {
        date(2026, 1, 1),
        date(2026, 4, 6),  # lundi de Pâques
        date(2026, 5, 1),
        date(2026, 5, 8),
        date(2026, 5, 14),  # Ascension
        date(2026, 5, 25),  # lundi de Pentecôte
        date(2026, 7, 14),
        date(2026, 8, 15),
        date(2026, 11, 1),
        date(2026, 11, 11),
        date(2026, 12, 25),
    }


def test_public_holidays_2027() -> None:
    assert easter_sunday(2027) == date(2027, 3, 28)
    assert french_public_holidays(2027) == {
        date(2027, 1, 1),
        date(2027, 3, 29),
        date(2027, 5, 1),
        date(2027, 5, 8),
        date(2027, 5, 6),
        date(2027, 5, 17),
        date(2027, 7, 14),
        date(2027, 8, 15),
        date(2027, 11, 1),
        date(2027, 11, 11),
        date(2027, 12, 25),
    }


@pytest.mark.parametrize(
    ("year", "easter"),
    [
        (2024, date(2024, 3, 31)),
        (2025, date(2025, 4, 20)),
        (2038, date(2038, 4, 25)),  # latest possible
        (2285, date(2285, 3, 22)),  # earliest possible
        (2000, date(2000, 4, 23)),
        (1954, date(1954, 4, 18)),
    ],
)
def test_easter_computus(year: int, easter: date) -> None:
    assert easter_sunday(year) == easter
    assert easter + timedelta(days=1) in french_public_holidays(year)


def test_holidays_are_cached_per_year() -> None:
    assert french_public_holidays(2026) is french_public_holidays(2026)
    assert french_public_holidays(2026) is not french_public_holidays(2027)


# --- durations --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15m", timedelta(minutes=15)),
        ("4h", hours(4)),
        ("2d", timedelta(days=2)),
        ("1w", timedelta(weeks=1)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1w2d", timedelta(days=9)),
        (" 2D ", timedelta(days=2)),
        ("0m", timedelta(0)),
        ("30s", timedelta(seconds=30)),
        ("1m30s", timedelta(seconds=90)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text", ["", "15", "90 min", "2 jours", "1.5h", "30m1h", "1h1h", "-4h", "4s1m", "h", "1h 30m"]
)
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(text)


# --- quiet hours ------------------------------------------------------------------------


def test_daytime_is_allowed_and_returned_in_utc() -> None:
    moment = paris(2026, 3, 11, 14, 0)  # Wednesday
    assert QUIET.allows(moment)
    result = QUIET.next_allowed(moment)
    assert result == moment
    assert result.utcoffset() == timedelta(0)
    assert result.tzinfo is UTC


def test_quiet_hours_boundaries() -> None:
    assert QUIET.allows(paris(2026, 3, 11, 9, 0))
    assert QUIET.allows(paris(2026, 3, 11, 20, 59, 59))
    assert not QUIET.allows(paris(2026, 3, 11, 21, 0))
    assert not QUIET.allows(paris(2026, 3, 11, 8, 59, 59))
    assert not QUIET.allows(paris(2026, 3, 12, 0, 0))


def test_quiet_hours_wrap_midnight() -> None:
    # Wednesday 22:00 and Thursday 03:00 both wait for Thursday 09:00 (CET = UTC+1).
    assert QUIET.next_allowed(paris(2026, 3, 11, 22, 0)) == utc(2026, 3, 12, 8, 0)
    assert QUIET.next_allowed(paris(2026, 3, 12, 3, 0)) == utc(2026, 3, 12, 8, 0)
    assert QUIET.next_allowed(paris(2026, 3, 11, 21, 0)) == utc(2026, 3, 12, 8, 0)


def test_moment_in_another_zone() -> None:
    # 16:30 in New York (EDT since 8 March) is 21:30 in Paris (still CET): quiet.
    moment = datetime(2026, 3, 11, 16, 30, tzinfo=NEW_YORK)
    assert not QUIET.allows(moment)
    assert QUIET.next_allowed(moment) == utc(2026, 3, 12, 8, 0)


def test_saturday_night_waits_for_monday() -> None:
    assert QUIET.next_allowed(paris(2026, 3, 14, 22, 0)) == utc(2026, 3, 16, 8, 0)
    assert not QUIET.allows(paris(2026, 3, 15, 12, 0))  # Sunday noon
    assert QUIET.next_allowed(paris(2026, 3, 15, 12, 0)) == utc(2026, 3, 16, 8, 0)
    assert QUIET.allows(paris(2026, 3, 14, 12, 0))  # Saturday noon


def test_holiday_monday_after_sunday() -> None:
    # Easter 2026: Saturday 4 April 22:00 -> Sunday, Easter Monday -> Tuesday 09:00 CEST.
    assert QUIET.next_allowed(paris(2026, 4, 4, 22, 0)) == utc(2026, 4, 7, 7, 0)
    assert not QUIET.allows(paris(2026, 4, 6, 11, 0))
    # Pentecost Monday 25 May.
    assert QUIET.next_allowed(paris(2026, 5, 23, 21, 30)) == utc(2026, 5, 26, 7, 0)


def test_weekday_holiday() -> None:
    # Ascension, Thursday 14 May 2026.
    assert not QUIET.allows(paris(2026, 5, 14, 10, 0))
    assert QUIET.next_allowed(paris(2026, 5, 14, 10, 0)) == utc(2026, 5, 15, 7, 0)
    assert QUIET.next_allowed(paris(2026, 5, 13, 22, 0)) == utc(2026, 5, 15, 7, 0)
    # Christmas on a Friday: Thursday evening waits for Saturday 09:00.
    assert QUIET.next_allowed(paris(2026, 12, 24, 21, 30)) == utc(2026, 12, 26, 8, 0)


def test_holidays_can_be_ignored() -> None:
    quiet = QuietHours(public_holidays=False)
    assert quiet.allows(paris(2026, 4, 6, 11, 0))
    assert quiet.next_allowed(paris(2026, 4, 4, 22, 0)) == utc(2026, 4, 6, 7, 0)


def test_extra_days_off() -> None:
    quiet = QuietHours(extra_days_off=frozenset({date(2026, 3, 12), date(2026, 3, 13)}))
    assert not quiet.allows(paris(2026, 3, 12, 12, 0))
    # Wednesday night -> Thursday and Friday off -> Saturday 09:00.
    assert quiet.next_allowed(paris(2026, 3, 11, 22, 0)) == utc(2026, 3, 14, 8, 0)


def test_start_equal_end_means_no_nightly_quiet_hours() -> None:
    quiet = QuietHours(start=time(0, 0), end=time(0, 0))
    assert quiet.allows(paris(2026, 3, 11, 3, 0))
    assert quiet.allows(paris(2026, 3, 11, 23, 59))
    # Sunday stays quiet; it ends at Monday 00:00 local.
    assert not quiet.allows(paris(2026, 3, 15, 3, 0))
    assert quiet.next_allowed(paris(2026, 3, 14, 23, 0) + hours(2)) == utc(2026, 3, 15, 23, 0)
    never_quiet = QuietHours(
        start=time(21, 0), end=time(21, 0), quiet_weekdays=frozenset(), public_holidays=False
    )
    assert never_quiet.allows(paris(2026, 12, 25, 3, 0))


def test_quiet_window_within_a_day() -> None:
    lunch = QuietHours(start=time(12, 0), end=time(14, 0))
    assert lunch.allows(paris(2026, 3, 11, 11, 0))
    assert lunch.allows(paris(2026, 3, 11, 23, 0))
    assert lunch.allows(paris(2026, 3, 11, 0, 0))
    assert lunch.next_allowed(paris(2026, 3, 11, 13, 0)) == utc(2026, 3, 11, 13, 0)


def test_quiet_configuration_is_validated() -> None:
    with pytest.raises(ValueError, match="whole week"):
        QuietHours(quiet_weekdays=frozenset(range(7)))
    with pytest.raises(ValueError, match="weekday numbers"):
        QuietHours(quiet_weekdays=frozenset({7}))
    with pytest.raises(ValueError, match="without tzinfo"):
        QuietHours(start=time(21, 0, tzinfo=UTC))


def test_scan_gives_up_on_absurd_days_off() -> None:
    years = frozenset(date(2026, 1, 1) + timedelta(days=i) for i in range(4000))
    with pytest.raises(ValueError, match="no allowed time"):
        QuietHours(extra_days_off=years).next_allowed(paris(2026, 1, 1, 12, 0))


# Spring forward: Sunday 29 March 2026, 02:00 CET -> 03:00 CEST (01:00 UTC).


def test_spring_forward_night_waits_for_monday() -> None:
    # A nudge due at 02:30 local (a time that does not exist) on a Sunday.
    assert QUIET.next_allowed(paris(2026, 3, 29, 2, 30)) == utc(2026, 3, 30, 7, 0)
    assert QUIET.next_allowed(paris(2026, 3, 28, 22, 0)) == utc(2026, 3, 30, 7, 0)


def test_spring_forward_night_when_sundays_are_allowed() -> None:
    quiet = QuietHours(quiet_weekdays=frozenset())
    expected = utc(2026, 3, 29, 7, 0)  # 09:00 CEST
    for due in (
        paris(2026, 3, 29, 2, 30),  # nonexistent, fold=0
        paris(2026, 3, 29, 2, 30, fold=1),
        utc(2026, 3, 29, 0, 30),  # 01:30 CET
        utc(2026, 3, 29, 1, 30),  # 03:30 CEST
        paris(2026, 3, 28, 21, 0),
    ):
        assert not quiet.allows(due)
        assert quiet.next_allowed(due) == expected
    assert quiet.allows(utc(2026, 3, 29, 7, 0))
    assert not quiet.allows(utc(2026, 3, 29, 6, 59))  # 08:59 CEST, 07:59 would-be CET
    # The night was one hour shorter.
    assert expected - paris(2026, 3, 28, 21, 0) == hours(11)


def test_boundary_inside_the_spring_forward_gap() -> None:
    # Quiet until 02:30, a time the clock skips: allowed from the jump (03:00 CEST).
    quiet = QuietHours(start=time(21, 0), end=time(2, 30), quiet_weekdays=frozenset())
    assert quiet.next_allowed(utc(2026, 3, 29, 0, 30)) == utc(2026, 3, 29, 1, 0)
    assert not quiet.allows(utc(2026, 3, 29, 0, 59, 59))
    assert quiet.allows(utc(2026, 3, 29, 1, 0))


# Fall back: Sunday 25 October 2026, 03:00 CEST -> 02:00 CET (01:00 UTC); 02:xx happens twice.


def test_fall_back_night_waits_for_monday() -> None:
    assert QUIET.next_allowed(paris(2026, 10, 24, 23, 0)) == utc(2026, 10, 26, 8, 0)
    assert QUIET.next_allowed(paris(2026, 10, 25, 2, 30)) == utc(2026, 10, 26, 8, 0)
    assert QUIET.next_allowed(paris(2026, 10, 25, 2, 30, fold=1)) == utc(2026, 10, 26, 8, 0)


def test_repeated_hour_when_sundays_are_allowed() -> None:
    quiet = QuietHours(quiet_weekdays=frozenset())
    expected = utc(2026, 10, 25, 8, 0)  # 09:00 CET
    first, second = paris(2026, 10, 25, 2, 30), paris(2026, 10, 25, 2, 30, fold=1)
    assert second.astimezone(UTC) - first.astimezone(UTC) == hours(1)
    for due in (first, second, paris(2026, 10, 24, 21, 0)):
        assert not quiet.allows(due)
        assert quiet.next_allowed(due) == expected
    assert not quiet.allows(utc(2026, 10, 25, 7, 59))  # 08:59 CET
    # The night was one hour longer.
    assert expected - paris(2026, 10, 24, 21, 0) == hours(13)


def test_boundary_inside_the_repeated_hour_is_its_first_occurrence() -> None:
    quiet = QuietHours(start=time(21, 0), end=time(2, 30), quiet_weekdays=frozenset())
    assert quiet.next_allowed(utc(2026, 10, 25, 0, 0)) == utc(2026, 10, 25, 0, 30)
    # 02:15 the second time round is after the first 02:30: the quiet hours are over.
    assert quiet.allows(paris(2026, 10, 25, 2, 15, fold=1))
    assert not quiet.allows(paris(2026, 10, 25, 2, 15, fold=0))


def test_naive_datetimes_are_rejected() -> None:
    naive = datetime(2026, 3, 11, 12, 0)
    for call in (
        lambda: QUIET.allows(naive),
        lambda: QUIET.next_allowed(naive),
        lambda: TEAM.is_open(naive),
        lambda: TEAM.add(naive, hours(1)),
        lambda: TEAM.between(naive, paris(2026, 3, 12, 12, 0)),
        lambda: TEAM.between(paris(2026, 3, 10, 12, 0), naive),
    ):
        with pytest.raises(ValueError, match="timezone-aware"):
            call()


# --- opening hours: parsing ---------------------------------------------------------------


def test_parse_opening_hours() -> None:
    morning, afternoon = (time(9, 0), time(12, 30)), (time(13, 30), time(17, 30))
    assert TEAM.weekly == (
        (morning, afternoon),
        (morning, afternoon),
        (morning, afternoon),
        (morning, afternoon),
        (morning, afternoon),
        ((time(10, 0), time(12, 0)),),
        (),
    )
    assert TEAM.tz == PARIS
    assert TEAM.public_holidays is True


def test_parse_variants() -> None:
    hours_ = OpeningHours.parse(
        {" FRI - Mon ": " 13:30-17:30 ,9:00-12:00", "wed, thu": "20:00-24:00", "tue": "closed"},
        tz="America/New_York",
        public_holidays=False,
    )
    day = ((time(9, 0), time(12, 0)), (time(13, 30), time(17, 30)))  # sorted
    night = ((time(20, 0), time(0, 0)),)  # 24:00 is midnight at the end of the day
    assert hours_.weekly == (day, (), night, night, day, day, day)
    assert hours_.tz == NEW_YORK
    assert hours_.public_holidays is False


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"lun-ven": "09:00-17:00"}, "invalid day 'lun-ven'"),
        ({"mon-": "09:00-17:00"}, "invalid day"),
        ({"mon-wed-fri": "09:00-17:00"}, "invalid day"),
        ({"mon": "9-17"}, "invalid time '9'"),
        ({"mon": "09:00"}, "invalid range '09:00'"),
        ({"mon": "09:00-17:00-18:00"}, "invalid range"),
        ({"mon": "25:00-26:00"}, "out of range"),
        ({"mon": "09:60-10:00"}, "out of range"),
        ({"mon": "12:00-09:00"}, "closes before it opens"),
        ({"mon": "22:00-06:00"}, "cannot cross midnight"),
        ({"mon": "09:00-09:00"}, "closes before it opens"),
        ({"mon": "09:00-12:00, 11:00-13:00"}, "overlap"),
        ({"mon-fri": "09:00-17:00", "fri": "09:00-12:00"}, "fri is given more than once"),
        ({}, "opening hours are empty"),
        ({"mon-sun": "closed"}, "opening hours are empty"),
        ({"mon": 9}, "must map a day string"),
    ],
)
def test_parse_rejects_bad_specs(spec: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        OpeningHours.parse(spec)


def test_parse_rejects_unknown_zone() -> None:
    with pytest.raises(ValueError, match="unknown time zone 'Europe/Nowhere'"):
        OpeningHours.parse({"mon": "09:00-17:00"}, tz="Europe/Nowhere")


def test_weekly_must_have_seven_days() -> None:
    with pytest.raises(ValueError, match="7 entries"):
        OpeningHours(weekly=(((time(9, 0), time(17, 0)),),))


# --- opening hours: arithmetic -----------------------------------------------------------


def test_is_open() -> None:
    assert TEAM.is_open(paris(2026, 3, 16, 9, 0))  # Monday
    assert TEAM.is_open(paris(2026, 3, 16, 12, 29))
    assert not TEAM.is_open(paris(2026, 3, 16, 12, 30))  # lunch
    assert not TEAM.is_open(paris(2026, 3, 16, 12, 45))
    assert TEAM.is_open(paris(2026, 3, 16, 13, 30))
    assert not TEAM.is_open(paris(2026, 3, 16, 17, 30))
    assert not TEAM.is_open(paris(2026, 3, 16, 8, 59))
    assert TEAM.is_open(paris(2026, 3, 14, 11, 0))  # Saturday morning
    assert not TEAM.is_open(paris(2026, 3, 14, 14, 0))
    assert not TEAM.is_open(paris(2026, 3, 15, 11, 0))  # Sunday
    assert not TEAM.is_open(paris(2026, 4, 6, 10, 0))  # Easter Monday
    assert OpeningHours(weekly=TEAM.weekly, public_holidays=False).is_open(paris(2026, 4, 6, 10, 0))
    assert TEAM.is_open(utc(2026, 3, 16, 8, 0))  # 09:00 CET


def test_add_across_weekend() -> None:
    friday_17 = paris(2026, 3, 13, 17, 0)
    # Without Saturday hours: 30 min on Friday, 3 h 30 on Monday morning.
    assert WEEKDAYS.add(friday_17, hours(4)) == paris(2026, 3, 16, 12, 30)
    # The team with Saturday 10:00-12:00: 30 min + 2 h + 1 h 30.
    assert TEAM.add(friday_17, hours(4)) == paris(2026, 3, 16, 10, 30)
    assert TEAM.add(friday_17, hours(4)).tzinfo is UTC


def test_add_skips_lunch_break() -> None:
    assert WEEKDAYS.add(paris(2026, 3, 13, 17, 0), hours(4.5)) == paris(2026, 3, 16, 14, 0)
    assert WEEKDAYS.add(paris(2026, 3, 16, 12, 0), hours(1)) == paris(2026, 3, 16, 14, 0)
    # Ending exactly at closing time gives the closing instant.
    assert WEEKDAYS.add(paris(2026, 3, 16, 12, 0), hours(0.5)) == paris(2026, 3, 16, 12, 30)


def test_add_from_closed_time() -> None:
    assert WEEKDAYS.add(paris(2026, 3, 16, 7, 0), hours(1)) == paris(2026, 3, 16, 10, 0)
    assert TEAM.add(paris(2026, 3, 14, 13, 0), hours(1)) == paris(2026, 3, 16, 10, 0)
    assert TEAM.add(paris(2026, 3, 14, 11, 30), hours(1)) == paris(2026, 3, 16, 9, 30)


def test_add_zero_and_negative() -> None:
    sunday = paris(2026, 3, 15, 11, 0)
    assert TEAM.add(sunday, timedelta(0)) == sunday
    with pytest.raises(ValueError, match="negative"):
        TEAM.add(sunday, -hours(1))


def test_add_skips_holidays() -> None:
    # Wednesday 13 May 17:00 + 1 h: Ascension Thursday is closed -> Friday 09:30.
    assert WEEKDAYS.add(paris(2026, 5, 13, 17, 0), hours(1)) == paris(2026, 5, 15, 9, 30)
    # Friday 3 April 17:00 + 1 h: weekend, Easter Monday -> Tuesday 7 April 09:30.
    assert WEEKDAYS.add(paris(2026, 4, 3, 17, 0), hours(1)) == paris(2026, 4, 7, 9, 30)
    no_holidays = OpeningHours(weekly=WEEKDAYS.weekly, public_holidays=False)
    assert no_holidays.add(paris(2026, 4, 3, 17, 0), hours(1)) == paris(2026, 4, 6, 9, 30)


def test_add_across_dst() -> None:
    # Friday 27 March 17:00 CET + 1 h -> Monday 30 March 09:30 CEST.
    assert WEEKDAYS.add(paris(2026, 3, 27, 17, 0), hours(1)) == utc(2026, 3, 30, 7, 30)
    # Friday 23 October 17:00 CEST + 1 h -> Monday 26 October 09:30 CET.
    assert WEEKDAYS.add(paris(2026, 10, 23, 17, 0), hours(1)) == utc(2026, 10, 26, 8, 30)


def test_round_the_clock_counts_real_time_across_dst() -> None:
    always = OpeningHours.parse({"mon-sun": "00:00-24:00"}, public_holidays=False)
    spring = paris(2026, 3, 29, 0, 0)
    assert always.add(spring, hours(3)) == spring.astimezone(UTC) + hours(3)  # 04:00 CEST
    assert always.add(spring, hours(3)) == utc(2026, 3, 29, 2, 0)
    assert always.between(spring, paris(2026, 3, 30, 0, 0)) == hours(23)
    assert always.between(paris(2026, 10, 25, 0, 0), paris(2026, 10, 26, 0, 0)) == hours(25)
    assert always.is_open(paris(2026, 3, 29, 23, 59))


def test_opening_hours_through_the_dst_gap() -> None:
    nights = OpeningHours.parse({"mon-sun": "01:00-04:00"}, public_holidays=False)
    # 29 March: 01:00 CET to 04:00 CEST is two real hours.
    assert nights.between(paris(2026, 3, 29, 0, 0), paris(2026, 3, 29, 12, 0)) == hours(2)
    assert nights.add(paris(2026, 3, 29, 1, 0), hours(1)) == utc(2026, 3, 29, 1, 0)  # 03:00 CEST
    # 25 October: 01:00 CEST to 04:00 CET is four real hours.
    assert nights.between(paris(2026, 10, 25, 0, 0), paris(2026, 10, 25, 12, 0)) == hours(4)
    assert nights.is_open(paris(2026, 10, 25, 2, 30, fold=1))


def test_add_over_a_long_closure_is_fast() -> None:
    # One hour a week, on Sundays: 200 hours is about four years of mostly closed days.
    sundays = OpeningHours.parse({"sun": "10:00-11:00"})
    began = wallclock.perf_counter()
    due = sundays.add(paris(2026, 1, 5, 12, 0), hours(200))
    assert wallclock.perf_counter() - began < 2
    sunday, counted = date(2026, 1, 11), 0
    while True:
        if sunday not in french_public_holidays(sunday.year):
            counted += 1
            if counted == 200:
                break
        sunday += timedelta(days=7)
    assert due == paris(sunday.year, sunday.month, sunday.day, 11, 0)
    assert sundays.between(paris(2026, 1, 5, 12, 0), due) == hours(200)


def test_between() -> None:
    monday = paris(2026, 3, 16, 0, 0)
    assert TEAM.between(paris(2026, 3, 16, 9, 0), paris(2026, 3, 16, 18, 0)) == hours(7.5)
    assert TEAM.between(paris(2026, 3, 16, 12, 0), paris(2026, 3, 16, 14, 0)) == hours(1)
    assert WEEKDAYS.between(paris(2026, 3, 13, 17, 0), paris(2026, 3, 16, 12, 30)) == hours(4)
    assert TEAM.between(monday, monday + timedelta(days=7)) == hours(5 * 7.5 + 2)
    # Easter week: Monday closed.
    easter_monday = paris(2026, 4, 6, 0, 0)
    assert TEAM.between(easter_monday, easter_monday + timedelta(days=7)) == hours(4 * 7.5 + 2)
    assert TEAM.between(paris(2026, 3, 16, 18, 0), paris(2026, 3, 16, 9, 0)) == timedelta(0)
    assert TEAM.between(monday, monday) == timedelta(0)
    assert TEAM.between(paris(2026, 3, 15, 9, 0), paris(2026, 3, 15, 18, 0)) == timedelta(0)


# --- properties ---------------------------------------------------------------------------

ZONES = st.sampled_from([PARIS, UTC, NEW_YORK, ZoneInfo("Asia/Kolkata")])
MOMENTS = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=ZONES
)
TIMES = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))
QUIET_HOURS = st.builds(
    QuietHours,
    start=TIMES,
    end=TIMES,
    quiet_weekdays=st.frozensets(st.integers(0, 6), max_size=6),
    public_holidays=st.booleans(),
)
RANGES = st.lists(TIMES, min_size=0, max_size=4, unique=True).map(
    lambda ts: tuple(zip(sorted(ts)[::2], sorted(ts)[1::2], strict=False))
)
OPENING_HOURS = st.builds(
    OpeningHours,
    weekly=st.tuples(*[RANGES] * 7).filter(any),
    tz=st.sampled_from([PARIS, NEW_YORK]),
    public_holidays=st.booleans(),
)
DURATIONS = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=20))


@settings(max_examples=300, deadline=None)
@given(quiet=QUIET_HOURS, moment=MOMENTS, fraction=st.floats(0, 1, exclude_max=True))
def test_next_allowed_properties(quiet: QuietHours, moment: datetime, fraction: float) -> None:
    result = quiet.next_allowed(moment)
    moment = moment.astimezone(UTC)
    assert result >= moment
    assert result.tzinfo is UTC
    assert quiet.allows(result)
    assert quiet.next_allowed(result) == result
    # Nothing in between was allowed.
    probe = moment + (result - moment) * fraction
    assert probe == result or not quiet.allows(probe)


@settings(max_examples=300, deadline=None)
@given(hours_=OPENING_HOURS, start=MOMENTS, duration=DURATIONS)
def test_add_then_between_gives_the_duration(
    hours_: OpeningHours, start: datetime, duration: timedelta
) -> None:
    due = hours_.add(start, duration)
    assert due >= start
    assert hours_.between(start, due) == duration
    if duration:
        # Nothing is added past the point where the duration is reached.
        assert hours_.between(start, due - timedelta(microseconds=1)) < duration


@settings(max_examples=200, deadline=None)
@given(hours_=OPENING_HOURS, a=MOMENTS, b=MOMENTS, c=MOMENTS)
def test_between_is_additive(hours_: OpeningHours, a: datetime, b: datetime, c: datetime) -> None:
    a, b, c = sorted((a, b, c))
    assert hours_.between(a, b) + hours_.between(b, c) == hours_.between(a, c)
    assert hours_.between(a, c) <= c - a


# --- last_allowed (appointment reminders: moved earlier, never into the night) ----------


def test_last_allowed_keeps_an_allowed_moment_and_moves_a_night_one_to_the_evening() -> None:
    quiet = QuietHours()  # 21:00-09:00, Sundays and public holidays off
    noon = datetime(2026, 12, 8, 12, 0, tzinfo=PARIS)
    assert quiet.last_allowed(noon) == noon
    dawn = datetime(2026, 12, 9, 7, 30, tzinfo=PARIS)
    assert quiet.last_allowed(dawn) == datetime(2026, 12, 8, 20, 59, tzinfo=PARIS)
    late = datetime(2026, 12, 8, 23, 0, tzinfo=PARIS)
    assert quiet.last_allowed(late) == datetime(2026, 12, 8, 20, 59, tzinfo=PARIS)


def test_last_allowed_skips_days_off_unless_nightly_only() -> None:
    quiet = QuietHours()
    monday_dawn = datetime(2026, 12, 14, 7, 30, tzinfo=PARIS)  # Sunday 13 is a day off
    assert quiet.last_allowed(monday_dawn) == datetime(2026, 12, 12, 20, 59, tzinfo=PARIS)
    nightly = quiet.nightly_only()
    assert nightly.last_allowed(monday_dawn) == datetime(2026, 12, 13, 20, 59, tzinfo=PARIS)
    sunday_noon = datetime(2026, 12, 13, 12, 0, tzinfo=PARIS)
    assert not quiet.allows(sunday_noon) and nightly.allows(sunday_noon)


@settings(max_examples=200, deadline=None)
@given(st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31)))
def test_last_allowed_is_allowed_and_never_later(moment: datetime) -> None:
    instant = moment.replace(tzinfo=PARIS)
    quiet = QuietHours()
    found = quiet.last_allowed(instant)
    assert found <= instant and quiet.allows(found)
