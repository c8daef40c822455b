"""When an appointment's reminders go out (pure).

Each configured delay before the appointment (`appointments.reminders`, e.g. 1 day and 2 hours)
gives a reminder time; one that falls in the night's quiet hours is moved earlier, to just
before the quiet hours begin (20:59 for 21:00), never into the night nor after. Quiet days
and public holidays do not apply: a Sunday reminder of Monday's appointment is welcome
(QuietHours.nightly_only). A reminder already past is skipped, and one that would come less
than MIN_GAP after the previous one is dropped (the 2-hour reminder of a 9:30 appointment
moves to the evening before; if the day-before one is then that same evening, one is enough).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from core.calendar import QuietHours

MIN_GAP = timedelta(hours=1)
# A reminder sent this close to the appointment is pointless (they are on their way).
TOO_LATE = timedelta(minutes=20)


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
        moment = nightly.last_allowed(starts_at - delay)
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
