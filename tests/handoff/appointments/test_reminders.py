"""When an appointment's reminders go out (pure): the configured delays before it, the same
local time the day before across a daylight saving change, moved earlier out of the nightly
quiet hours (never into the night), one dropped when too close to another, the past skipped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.calendar import QuietHours
from handoff.appointments.reminders import next_reminder, reminder_times
from tests.handoff.appointments.support import PARIS, paris

QUIET = QuietHours()  # 21:00-09:00, Sundays and public holidays off (the nudges' defaults)
DAY_AND_TWO_HOURS = [timedelta(days=1), timedelta(hours=2)]
LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)


def local(moments: list[datetime]) -> list[str]:
    return [m.astimezone(PARIS).strftime("%a %d/%m %H:%M") for m in moments]


def test_the_day_before_and_two_hours_before() -> None:
    starts = paris(2026, 3, 3, 14, 30)  # a Tuesday
    times = reminder_times(starts, DAY_AND_TWO_HOURS, QUIET, LONG_AGO)
    assert local(times) == ["Mon 02/03 14:30", "Tue 03/03 12:30"]
    assert all(t.utcoffset() == timedelta(0) for t in times)  # in UTC
    # Whatever order the delays come in, and whatever zone the start is given in.
    assert reminder_times(starts.astimezone(UTC), DAY_AND_TWO_HOURS[::-1], QUIET, LONG_AGO) == (
        times
    )


def test_the_day_before_keeps_the_local_time_across_the_spring_change() -> None:
    # Sunday 28 March 2027, 02:00 -> 03:00: the day before a 15:00 appointment is 15:00 too.
    starts = paris(2027, 3, 28, 15)
    assert starts.utcoffset() == timedelta(hours=2)
    times = reminder_times(starts, DAY_AND_TWO_HOURS, QUIET, LONG_AGO)
    assert local(times) == ["Sat 27/03 15:00", "Sun 28/03 13:00"]
    assert times[0].utcoffset() == timedelta(0) and times[0].hour == 14  # 15:00 CET


def test_the_day_before_keeps_the_local_time_across_the_autumn_change() -> None:
    # Sunday 25 October 2026, 03:00 -> 02:00.
    starts = paris(2026, 10, 25, 14)
    times = reminder_times(starts, DAY_AND_TWO_HOURS, QUIET, LONG_AGO)
    assert local(times) == ["Sat 24/10 14:00", "Sun 25/10 12:00"]
    assert times[0].hour == 12  # 14:00 CEST in UTC
    # Two hours are two real hours, even across the change: 03:30 CET is 3 hours after
    # 01:30 CEST (02:00-03:00 happens twice); at night, the reminder moves to the evening before.
    early = paris(2026, 10, 25, 3, 30)
    [two_hours] = reminder_times(early, [timedelta(hours=2)], QUIET, LONG_AGO)
    assert local([two_hours]) == ["Sat 24/10 20:59"]


def test_a_reminder_in_the_night_moves_to_the_evening_before_even_a_sunday() -> None:
    # Monday 29 March 2027 at 9:30 (the day after the spring change): the day-before reminder
    # is on a Sunday (quiet day for nudges, not for reminders), the 2-hour one (7:30, in the
    # night's quiet hours) moves to Sunday 20:59, never into the night.
    starts = paris(2027, 3, 29, 9, 30)
    times = reminder_times(starts, DAY_AND_TWO_HOURS, QUIET, LONG_AGO)
    assert local(times) == ["Sun 28/03 09:30", "Sun 28/03 20:59"]
    assert all(QUIET.nightly_only().allows(t) for t in times)
    assert not QUIET.allows(times[0])  # the nudges' calendar would have refused Sunday


def test_a_day_before_reminder_in_the_night_moves_earlier_too() -> None:
    starts = paris(2026, 3, 4, 8, 30)  # Wednesday 8:30: the day before at 8:30 is quiet
    times = reminder_times(starts, DAY_AND_TWO_HOURS, QUIET, LONG_AGO)
    assert local(times) == ["Mon 02/03 20:59", "Tue 03/03 20:59"]


def test_two_reminders_too_close_make_one() -> None:
    # Tuesday 9:00 with reminders 13 h and 2 h before: Monday 20:00, and 7:00 moved to 20:59,
    # less than an hour later: one is enough.
    starts = paris(2026, 3, 3, 9)
    times = reminder_times(starts, [timedelta(hours=13), timedelta(hours=2)], QUIET, LONG_AGO)
    assert local(times) == ["Mon 02/03 20:00"]
    # Asked again after it went out, the dropped one does not come back.
    assert reminder_times(starts, [timedelta(hours=13), timedelta(hours=2)], QUIET, times[0]) == []


def test_the_past_is_skipped_and_the_next_one_given() -> None:
    starts = paris(2026, 3, 3, 14, 30)
    day_before, two_hours = reminder_times(starts, DAY_AND_TWO_HOURS, QUIET, LONG_AGO)
    assert next_reminder(starts, DAY_AND_TWO_HOURS, QUIET, LONG_AGO) == day_before
    # Proposed in the evening before: the day-before time is past, the 2-hour one is left.
    evening = paris(2026, 3, 2, 18)
    assert reminder_times(starts, DAY_AND_TWO_HOURS, QUIET, evening) == [two_hours]
    assert next_reminder(starts, DAY_AND_TWO_HOURS, QUIET, day_before) == two_hours
    assert next_reminder(starts, DAY_AND_TWO_HOURS, QUIET, two_hours) is None
    assert next_reminder(starts, [], QUIET, LONG_AGO) is None


def test_no_reminder_when_they_are_already_on_their_way() -> None:
    starts = paris(2026, 3, 3, 14, 30)
    assert reminder_times(starts, [timedelta(minutes=10)], QUIET, LONG_AGO) == []
    # 2 h before a 10:00 appointment is 8:00 (quiet): moved to the evening before.
    assert local(reminder_times(paris(2026, 3, 3, 10), [timedelta(hours=2)], QUIET, LONG_AGO)) == [
        "Mon 02/03 20:59"
    ]
