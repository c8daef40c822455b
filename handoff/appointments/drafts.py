"""A counsellor's appointment draft, checked and cleaned (pure): a time ahead and within six
months, a duration, a site of the structure for a visit, the number they call from for a call, an
https link for a video call, and the team's opening hours (outside them: a warning the
counsellor may go past)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from core.calendar import OpeningHours
from core.models import AppointmentKind
from core.places import SiteDirectory
from core.text import storable
from handoff.appointments.views import AppointmentDraft, AppointmentInvalid, OutsideOpeningHours
from handoff.search import normalise_phone

MAX_NOTE = 500
MAX_LOCATION = 300
MIN_DURATION, MAX_DURATION = 10, 8 * 60
MIN_LEAD = timedelta(minutes=15)  # an appointment is proposed at least this far ahead
MAX_LEAD = timedelta(days=180)


def spaced_phone(compact: str) -> str:
    """ "0321000000" -> "03 21 00 00 00" (as said to a young person)."""
    return " ".join(compact[i : i + 2] for i in range(0, 10, 2))


def clean_draft(
    draft: AppointmentDraft,
    *,
    now: datetime,
    default_duration: timedelta,
    sites: SiteDirectory,
    hours: OpeningHours,
) -> AppointmentDraft:
    """The draft cleaned, or AppointmentInvalid with a French message (OutsideOpeningHours
    when the time is outside opening hours and the counsellor did not say go on); the result's
    `allow_outside_hours` says whether it is outside them."""
    starts = draft.starts_at
    if starts.tzinfo is None:
        raise AppointmentInvalid("Date du rendez-vous sans fuseau horaire.")
    if starts < now + MIN_LEAD:
        raise AppointmentInvalid(
            "Le rendez-vous doit être dans le futur (au moins 15 minutes après maintenant)."
        )
    if starts > now + MAX_LEAD:
        raise AppointmentInvalid("Le rendez-vous doit être dans les 6 prochains mois.")
    duration = draft.duration_minutes or int(default_duration.total_seconds() // 60)
    if not MIN_DURATION <= duration <= MAX_DURATION:
        raise AppointmentInvalid("La durée doit être entre 10 minutes et 8 heures.")
    kind = AppointmentKind(draft.kind)
    site_id = (draft.site_id or "").strip() or None
    call_from = (draft.call_from or "").strip() or None
    location = storable(draft.location or "").strip() or None
    note = storable(draft.note or "").strip() or None
    if note and len(note) > MAX_NOTE:
        raise AppointmentInvalid(f"Le mot pour le jeune dépasse {MAX_NOTE} caractères.")
    if location and len(location) > MAX_LOCATION:
        raise AppointmentInvalid(f"Le lieu ou le lien dépasse {MAX_LOCATION} caractères.")
    if kind == AppointmentKind.in_person:
        if site_id is None or sites.get(site_id) is None:
            raise AppointmentInvalid("Choisis un des lieux de la structure.")
        call_from = None
    else:
        site_id = None
    if kind == AppointmentKind.phone:
        compact = normalise_phone(call_from or "")
        if compact is None:
            raise AppointmentInvalid("Indique le numéro d'où tu appelleras (ex. 03 21 00 00 00).")
        call_from = spaced_phone(compact)
    elif kind == AppointmentKind.video:
        call_from = None
        if location and not re.fullmatch(r"https://[^\s<>\"]+", location):
            raise AppointmentInvalid("Le lien de l'appel vidéo doit commencer par https://.")
    end = starts + timedelta(minutes=duration)
    inside = hours.is_open(starts) and hours.presence(starts)[1] >= end
    if not inside and not draft.allow_outside_hours:
        raise OutsideOpeningHours(
            "Ce créneau est en dehors des horaires d'ouverture. Confirme pour le proposer "
            "quand même."
        )
    return AppointmentDraft(
        kind=kind,
        starts_at=starts,
        duration_minutes=duration,
        site_id=site_id,
        call_from=call_from,
        location=location,
        note=note,
        allow_outside_hours=not inside,
    )
