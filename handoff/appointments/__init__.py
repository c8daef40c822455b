"""Appointments on a ticket (issue 22): the service (service.py), the desk that tells the young
person and the listeners (desk.py), their wording (wording.py), reminder times (reminders.py)
and the .ics file (ics.py)."""

from handoff.appointments.desk import AppointmentDesk
from handoff.appointments.service import AppointmentService
from handoff.appointments.views import (
    AppointmentConflict,
    AppointmentDraft,
    AppointmentInvalid,
    AppointmentNotFound,
    AppointmentView,
    OutsideOpeningHours,
)

__all__ = [
    "AppointmentConflict",
    "AppointmentDesk",
    "AppointmentDraft",
    "AppointmentInvalid",
    "AppointmentNotFound",
    "AppointmentService",
    "AppointmentView",
    "OutsideOpeningHours",
]
