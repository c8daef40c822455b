"""The ticket page's "Rendez-vous" section as the template reads it (French): the ticket's
appointments, the proposal form (its values kept after a refusal, with the outside-opening-
hours warning), and the words of the appointment events in the ticket's history. Pure: the
routes (web/dashboard/appointments.py, ticket_page.py) read the services."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from core.models import AppointmentKind
from core.places import map_link, postal_address
from handoff.appointments.views import KIND_LABELS, MARK_TITLES, MARKS, STATUS_LABELS

if TYPE_CHECKING:
    from core.places import SiteDirectory
    from handoff.appointments import AppointmentView
    from web.render import LocalTime

# History lines of the appointment events (ticket_page.EVENT_LABELS takes them in).
APPOINTMENT_EVENT_LABELS = {
    "appointment_proposed": "Rendez-vous proposé",
    "appointment_answered": "Réponse du jeune au rendez-vous",
    "appointment_cancelled": "Rendez-vous annulé",
    "appointment_marked": "Présence au rendez-vous",
}
ANSWER_LABELS = {
    "ok": "ça lui va",
    "change": "demande un autre créneau",
    "unsure": "ne sait pas encore",
}
# The attendance buttons, in this order (form value, button title).
MARK_BUTTONS = tuple((str(mark), MARK_TITLES[mark]) for mark in MARKS)


@dataclass
class ProposalForm:
    """What the counsellor typed in the proposal form (kept after a refusal), its error, and
    whether the refusal was only the opening hours (then "proposer quand même")."""

    kind: str = "phone"
    day: str = ""
    time: str = ""
    duration: str = ""
    site: str = ""
    call_from: str = ""
    location: str = ""
    note: str = ""
    error: str = ""
    outside_hours: bool = False


def appointment_event_detail(kind: str, data: dict[str, Any], times: LocalTime) -> str:
    """The detail of an appointment event in the ticket's history ("" when none)."""
    label = ""
    if data.get("appointment_kind"):
        try:
            label = KIND_LABELS[AppointmentKind(str(data["appointment_kind"]))].lower()
        except ValueError:
            label = ""
    if kind == "appointment_proposed":
        try:
            at = datetime.fromisoformat(str(data["at"])) if data.get("at") else None
        except ValueError:
            at = None
        when = f"le {times.show(at)}" if at else ""
        return " ".join(part for part in (label, when) if part)
    if kind == "appointment_answered":
        return ANSWER_LABELS.get(str(data.get("answer", "")), "")
    if kind == "appointment_cancelled":
        return "par le jeune : créneau libéré" if data.get("by") == "youth" else ""
    if kind == "appointment_marked":
        status = str(data.get("status", ""))
        return next((title for value, title in MARK_BUTTONS if value == status), status)
    return ""


def place_of(view: AppointmentView, sites: SiteDirectory) -> dict[str, str]:
    """Where (in person), the number the counsellor calls from (phone) or the link (video)."""
    if view.kind == AppointmentKind.in_person:
        site = sites.get(view.site_id)
        if site is None:
            return {"text": view.site_id or "—", "detail": view.location or "", "map": ""}
        return {
            "text": f"{site.name}, {postal_address(site)}",
            "detail": view.location or "",
            "map": map_link(site),
        }
    if view.kind == AppointmentKind.phone:
        return {"text": f"appel depuis le {view.call_from or '—'}", "detail": "", "map": ""}
    link = view.location or ""
    return {
        "text": "lien de l'appel vidéo" if link else "lien à envoyer",
        "detail": link,
        "map": "",
    }


def appointment_line(
    view: AppointmentView,
    *,
    now: datetime,
    times: LocalTime,
    sites: SiteDirectory,
    names: dict[int, str],
) -> dict[str, Any]:
    return {
        "id": view.id,
        "when": times.show(view.starts_at, "%d/%m/%Y à %H:%M"),
        "duration": view.duration_minutes,
        "kind": str(view.kind),
        "kind_label": view.kind_label,
        "place": place_of(view, sites),
        "note": view.note or "",
        "status": str(view.status),
        "status_label": view.status_label,
        "active": view.active,
        "youth_reply": view.youth_reply or "",
        "change_requested": str(view.status) == "change_requested",
        "reminders_sent": view.reminders_sent,
        "outside_hours": view.outside_hours,
        "proposed_by": view.counsellor_name or "",
        "marked_by": names.get(view.marked_by_id, "") if view.marked_by_id else "",
        "marked_at": times.show(view.marked_at),
        "needs_marking": view.needs_marking(now),
        "ahead": view.active and view.starts_at > now,
        "replaced": view.replaced_by_id is not None,
    }


def section_context(
    views: list[AppointmentView],
    *,
    team: str | None,
    now: datetime,
    times: LocalTime,
    sites: SiteDirectory,
    names: dict[int, str],
    form: ProposalForm | None,
) -> dict[str, Any]:
    """What the "Rendez-vous" section of the ticket page shows."""
    return {
        "appointments": [
            appointment_line(v, now=now, times=times, sites=sites, names=names) for v in views
        ],
        "appointment_form": form or ProposalForm(),
        "appointment_kinds": [(str(k), label) for k, label in KIND_LABELS.items()],
        "appointment_sites": [(s.id, s.name) for s in sites.for_team(team)],
        "appointment_marks": MARK_BUTTONS,
        "appointment_min_day": times.show(now, "%Y-%m-%d"),
        "appointment_status_labels": STATUS_LABELS,
    }
