"""The counsellors' daily digest: what it holds (built by `SlaService.digest`, shown at
/tableau/synthese) and its Telegram text (posted in the counsellors' group by
handoff/sla/alerts.py `send_digest`). Everything here is read by counsellors: French.

Appointments (issue 22): those of the day (time, kind, ticket, confirmed or not yet) and
those whose time has passed before today that nobody marked yet, by team.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from typing import Any

from core.models import AppointmentKind, AppointmentStatus, TicketStatus, Urgency
from core.vocabulary import SKIPPED
from handoff.sla.policy import SlaStatus, waited_fr
from handoff.tickets import TicketView

MAX_DIGEST_LINES = 30  # per section in the Telegram message; the page shows everything
SYNTHESE_PATH = "/tableau/synthese"


@dataclass(frozen=True)
class DigestTicket:
    ticket: TicketView
    status: SlaStatus
    needs: list[str]

    @property
    def waited(self) -> str:
        return waited_fr(self.status)


@dataclass(frozen=True)
class DigestTeam:
    team: str
    team_name: str
    tickets: list[DigestTicket]  # oldest first


@dataclass(frozen=True)
class DigestBreach:
    ticket_id: int
    team: str
    team_name: str
    urgency: Urgency
    breached_at: datetime | None  # the team was reminded
    manager_alerted_at: datetime | None
    status: TicketStatus
    assignee_name: str | None

    @property
    def still_waiting(self) -> bool:
        return self.status == TicketStatus.new


@dataclass(frozen=True)
class DigestFollowUp:
    ticket_id: int
    team: str
    team_name: str
    due_at: datetime
    assignee_name: str | None
    status: TicketStatus
    reminder: bool  # a counsellor reminder (follow_up row) is pending for it


KIND_WORDS = {
    AppointmentKind.phone: "appel",
    AppointmentKind.video: "visio",
    AppointmentKind.in_person: "sur place",
}


@dataclass(frozen=True)
class DigestAppointment:
    appointment_id: int
    ticket_id: int
    team: str
    team_name: str
    kind: AppointmentKind
    starts_at: datetime
    status: AppointmentStatus
    counsellor_name: str | None

    @property
    def confirmed(self) -> bool:
        return self.status == AppointmentStatus.confirmed

    @property
    def kind_word(self) -> str:
        return KIND_WORDS[self.kind]

    @property
    def state(self) -> str:
        """ "confirmé", "pas encore confirmé" or "le jeune demande un autre créneau"."""
        if self.confirmed:
            return "confirmé"
        if self.status == AppointmentStatus.change_requested:
            return "le jeune demande un autre créneau"
        return "pas encore confirmé"


@dataclass(frozen=True)
class Digest:
    generated_at: datetime
    day: date  # local day of the digest
    unclaimed: list[DigestTeam] = field(default_factory=list)
    breaches: list[DigestBreach] = field(default_factory=list)
    follow_ups: list[DigestFollowUp] = field(default_factory=list)
    # Today's appointments (by team, then time), and earlier ones not marked yet (oldest first).
    appointments: list[DigestAppointment] = field(default_factory=list)
    unmarked: list[DigestAppointment] = field(default_factory=list)

    @property
    def unclaimed_count(self) -> int:
        return sum(len(team.tickets) for team in self.unclaimed)

    @property
    def empty(self) -> bool:
        return not (
            self.unclaimed or self.breaches or self.follow_ups or self.appointments or self.unmarked
        )


def digest_needs(ticket: TicketView) -> list[str]:
    needs = ticket.summary.get("needs") or []
    if not isinstance(needs, list):
        needs = [needs]
    return [str(n) for n in needs if n and n != SKIPPED]


def _local(moment: datetime, tz: tzinfo, fmt: str) -> str:
    return str(moment.astimezone(tz).strftime(fmt))


def digest_text(digest: Digest, base_url: str, tz: tzinfo) -> str:
    """The digest as a Telegram message (plain text, French)."""
    day = digest.day.strftime("%d/%m/%Y")
    lines = [f"☀️ Synthèse du {day}"]

    def link(ticket_id: int) -> str:
        return f"{base_url}/tableau/tickets/{ticket_id}"

    lines.append("")
    if digest.unclaimed:
        lines.append(f"📥 Tickets non pris en charge ({digest.unclaimed_count}) :")
        for team in digest.unclaimed:
            lines.append(f"• {team.team_name} ({len(team.tickets)})")
            for item in team.tickets[:MAX_DIGEST_LINES]:
                ticket = item.ticket
                mark = "🔴 urgence, " if ticket.urgency == Urgency.crisis else ""
                late = " ⚠️ délai dépassé" if item.status.breached else ""
                needs = f", {', '.join(item.needs)}" if item.needs else ""
                lines.append(
                    f"  {ticket.reference} ({mark}depuis le "
                    f"{_local(ticket.created_at, tz, '%d/%m %H:%M')}, "
                    f"{item.waited}{needs}){late} {link(ticket.id)}"
                )
            if len(team.tickets) > MAX_DIGEST_LINES:
                lines.append(f"  … et {len(team.tickets) - MAX_DIGEST_LINES} autres")
    else:
        lines.append("📥 Aucun ticket en attente de prise en charge.")

    lines.append("")
    if digest.breaches:
        lines.append(f"⏰ Délais dépassés ces dernières 24 h ({len(digest.breaches)}) :")
        for breach in digest.breaches[:MAX_DIGEST_LINES]:
            state = (
                "toujours en attente"
                if breach.still_waiting
                else f"pris par {breach.assignee_name}"
                if breach.assignee_name
                else "traité"
            )
            manager = ", responsable alerté·e" if breach.manager_alerted_at else ""
            lines.append(
                f"• #{breach.ticket_id} ({breach.team_name}) : {state}{manager} "
                f"{link(breach.ticket_id)}"
            )
    else:
        lines.append("⏰ Aucun délai dépassé ces dernières 24 h.")

    lines.append("")
    if digest.follow_ups:
        lines.append(f"📅 Relances prévues aujourd'hui ({len(digest.follow_ups)}) :")
        for follow in digest.follow_ups[:MAX_DIGEST_LINES]:
            who = f", suivi par {follow.assignee_name}" if follow.assignee_name else ""
            lines.append(
                f"• #{follow.ticket_id} à {_local(follow.due_at, tz, '%H:%M')} "
                f"({follow.team_name}{who}) {link(follow.ticket_id)}"
            )
    else:
        lines.append("📅 Aucune relance prévue aujourd'hui.")
    lines.append("")
    lines += appointment_lines(digest, link, tz)
    lines.append("")
    lines.append(f"Tout le détail : {base_url}{SYNTHESE_PATH}")
    return "\n".join(lines)


def appointment_lines(digest: Digest, link: Any, tz: tzinfo) -> list[str]:
    """Today's appointments by team, then those passed and not marked yet."""
    lines: list[str] = []
    if digest.appointments:
        lines.append(f"📆 Rendez-vous du jour ({len(digest.appointments)}) :")
        for team_name, items in by_team(digest.appointments):
            lines.append(f"• {team_name} ({len(items)})")
            for item in items[:MAX_DIGEST_LINES]:
                who = f", {item.counsellor_name}" if item.counsellor_name else ""
                lines.append(
                    f"  {_local(item.starts_at, tz, '%H:%M')} {item.kind_word}, "
                    f"#{item.ticket_id} ({item.state}{who}) {link(item.ticket_id)}"
                )
            if len(items) > MAX_DIGEST_LINES:
                lines.append(f"  … et {len(items) - MAX_DIGEST_LINES} autres")
    else:
        lines.append("📆 Aucun rendez-vous aujourd'hui.")
    if digest.unmarked:
        lines.append("")
        lines.append(f"📋 Rendez-vous passés à marquer ({len(digest.unmarked)}) :")
        for team_name, items in by_team(digest.unmarked):
            lines.append(f"• {team_name} ({len(items)})")
            for item in items[:MAX_DIGEST_LINES]:
                who = f", {item.counsellor_name}" if item.counsellor_name else ""
                lines.append(
                    f"  {_local(item.starts_at, tz, '%d/%m %H:%M')} {item.kind_word}, "
                    f"#{item.ticket_id}{who} : venu·e ou pas ? {link(item.ticket_id)}"
                )
            if len(items) > MAX_DIGEST_LINES:
                lines.append(f"  … et {len(items) - MAX_DIGEST_LINES} autres")
    return lines


def by_team(items: list[DigestAppointment]) -> list[tuple[str, list[DigestAppointment]]]:
    """The appointments grouped by team, in the order the teams first come."""
    teams: dict[str, list[DigestAppointment]] = {}
    for item in items:
        teams.setdefault(item.team_name, []).append(item)
    return list(teams.items())
