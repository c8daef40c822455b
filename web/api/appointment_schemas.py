"""The REST API's appointment schemas (French descriptions, shown in /openapi.json): what it
answers about an appointment and the bodies it accepts (handoff/appointments)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field

from core.models import AppointmentKind, AppointmentStatus
from handoff.appointments.views import AppointmentView
from web.api.schemas import Text

OUTSIDE_HOURS_CODE = "outside_opening_hours"


class AppointmentIn(BaseModel):
    """Un rendez-vous proposé au jeune (le ticket doit être suivi par toi, ou tu es responsable).
    En dehors des horaires d'ouverture de l'équipe : 409 avec `code` `outside_opening_hours` ;
    renvoie alors la même demande avec `allow_outside_hours: true`."""

    kind: AppointmentKind = Field(
        description="`phone` (tu appelles le jeune), `video` (appel vidéo), `in_person` (sur place)"
    )
    starts_at: AwareDatetime = Field(
        description="début, avec fuseau horaire ; au moins 15 minutes après maintenant, dans les "
        "6 mois",
        examples=["2099-03-09T14:30:00+01:00"],
    )
    duration_minutes: int | None = Field(
        default=None, ge=10, le=480, description="durée (défaut : `appointments.default_duration`)"
    )
    site_id: Text | None = Field(
        default=None,
        max_length=40,
        description="`in_person` : un lieu de la structure (`structure.sites` de maraude.yml)",
        examples=["lens"],
    )
    call_from: Text | None = Field(
        default=None,
        max_length=20,
        description="`phone` : le numéro d'où tu appelles",
        examples=["03 21 00 00 00"],
    )
    location: Text | None = Field(
        default=None,
        max_length=300,
        description="`video` : le lien (https://…) ; sinon une précision sur le lieu",
    )
    note: Text | None = Field(
        default=None, max_length=500, description="un mot pour le jeune (facultatif)"
    )
    allow_outside_hours: bool = Field(
        default=False, description="proposer même en dehors des horaires d'ouverture"
    )


class AttendanceIn(BaseModel):
    """Après l'heure du rendez-vous : venu·e (`attended`), pas venu·e (`missed`), reporté
    (`rescheduled`). Aussi une fois le ticket clôturé."""

    status: Literal["attended", "missed", "rescheduled"]


class AppointmentProblem(BaseModel):
    """Demande refusée : `detail` est un message à montrer ; `code` vaut
    `outside_opening_hours` quand seul l'horaire pose problème (renvoyer avec
    `allow_outside_hours: true`)."""

    detail: str = Field(examples=["Ce créneau est en dehors des horaires d'ouverture."])
    code: str | None = Field(default=None, examples=[OUTSIDE_HOURS_CODE])


class AppointmentOut(BaseModel):
    id: int
    ticket_id: int
    team: str
    kind: AppointmentKind
    kind_label: str
    starts_at: datetime
    ends_at: datetime
    duration_minutes: int
    site_id: str | None
    call_from: str | None
    location: str | None
    note: str | None
    outside_hours: bool = Field(description="proposé en dehors des horaires d'ouverture")
    status: AppointmentStatus
    status_label: str
    youth_reply: str | None = Field(
        description="les disponibilités écrites par le jeune quand il demande un autre créneau"
    )
    reminders_sent: int
    cancelled_by: str | None = Field(description="`youth` ou `counsellor`")
    replaced_by_id: int | None
    counsellor_id: int | None
    counsellor_name: str | None
    marked_by_id: int | None
    created_at: datetime
    answered_at: datetime | None
    confirmed_at: datetime | None
    cancelled_at: datetime | None
    marked_at: datetime | None


def appointment_out(view: AppointmentView) -> AppointmentOut:
    return AppointmentOut(
        id=view.id,
        ticket_id=view.ticket_id,
        team=view.team,
        kind=view.kind,
        kind_label=view.kind_label,
        starts_at=view.starts_at,
        ends_at=view.ends_at,
        duration_minutes=view.duration_minutes,
        site_id=view.site_id,
        call_from=view.call_from,
        location=view.location,
        note=view.note,
        outside_hours=view.outside_hours,
        status=view.status,
        status_label=view.status_label,
        youth_reply=view.youth_reply,
        reminders_sent=view.reminders_sent,
        cancelled_by=view.cancelled_by,
        replaced_by_id=view.replaced_by_id,
        counsellor_id=view.counsellor_id,
        counsellor_name=view.counsellor_name,
        marked_by_id=view.marked_by_id,
        created_at=view.created_at,
        answered_at=view.answered_at,
        confirmed_at=view.confirmed_at,
        cancelled_at=view.cancelled_at,
        marked_at=view.marked_at,
    )
