"""When an appointment's reminders go out (pure).

Each configured delay before the appointment (`appointments.reminders`, e.g. 1 day and 2 hours)
gives a reminder time; one that falls in the night's quiet hours is moved earlier, to just
before the quiet hours begin (20:59 for 21:00), never into the night nor after. Quiet days
and public holidays do not apply: a Sunday reminder of Monday's appointment is welcome
(QuietHours.nightly_only). A reminder already past is skipped, and one that would come less
than MIN_GAP after the previous one is dropped (the 2-hour reminder of a 9:30 appointment
moves to the evening before; if the day-before one is then that same evening, one is enough).
A delay in whole days keeps the local time across a daylight saving change (the day before a
14:00 appointment is 14:00, not 13:00 or 15:00); shorter delays are exact durations.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from core.calendar import QuietHours

MIN_GAP = timedelta(hours=1)
# A reminder sent this close to the appointment is pointless (they are on their way).
TOO_LATE = timedelta(minutes=20)
ONE_DAY = timedelta(days=1)


def before(starts_at: datetime, delay: timedelta, tz: ZoneInfo) -> datetime:
    """`delay` before `starts_at` (UTC): whole days in local wall time, else exactly."""
    if delay % ONE_DAY:
        return starts_at.astimezone(UTC) - delay  # exact, whatever tzinfo it came with
    wall = starts_at.astimezone(tz).replace(tzinfo=None) - delay
    return wall.replace(tzinfo=tz).astimezone(UTC)


def reminder_times(
    starts_at: datetime,
    delays: Sequence[timedelta],
    quiet: QuietHours,
    now: datetime,
) -> list[datetime]:
    """The reminder times still ahead of `now`, earliest first.

    The whole plan is laid out first, whatever `now` is, so that asking again after a
    reminder went out gives the rest of the same plan (a reminder dropped for coming too soon
    after another never comes back)."""
    nightly = quiet.nightly_only()
    plan: list[datetime] = []
    for delay in sorted(delays, reverse=True):  # the earliest reminder first
        moment = nightly.last_allowed(before(starts_at, delay, quiet.tz))
        if moment > starts_at - TOO_LATE:
            continue
        if plan and moment - plan[-1] < MIN_GAP:
            continue
        plan.append(moment)
    return [moment for moment in plan if moment > now]


def next_reminder(
    starts_at: datetime,
    delays: Sequence[timedelta],
    quiet: QuietHours,
    now: datetime,
) -> datetime | None:
    """The next reminder time after `now`; None when there is none left."""
    times = reminder_times(starts_at, delays, quiet, now)
    return times[0] if times else None
