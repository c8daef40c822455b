"""What the counsellors' group shows of a ticket (pure functions): the topic's name, the
summary message and its buttons, and the post for each desk event.

Nothing here tells who the young person is: the topic's name says the ticket number, the first
need and the territory. Local times are in the service's time zone (`nudges.timezone`).
"""

from __future__ import annotations

import re
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from core.models import TicketStatus, Urgency
from core.vocabulary import SKIPPED, SOURCE_LABELS, VIA_PHRASES, WRITER_LABELS, channel_label
from core.vocabulary import crisis_label as crisis_kind_label
from handoff.accounts import CounsellorRef
from handoff.bridge.appointments import appointment_posts
from handoff.tickets import TicketView

if TYPE_CHECKING:
    from core.places import SiteDirectory

TOPIC_NAME_LIMIT = 128
MESSAGE_LIMIT = 4096
CRISIS_MARK = "🔴"
NOTE_SAVED = "📝 Note interne enregistrée (le jeune ne la voit pas)."
CALLBACK_RE = re.compile(r"^tk:(\d{1,12}):(claim|release|close|back|res:([a-z][a-z0-9_]{1,31}))$")


def crisis_label(ticket: TicketView) -> str:
    return crisis_kind_label(ticket.crisis_kind) or "crise"


def needs_of(ticket: TicketView) -> list[str]:
    needs = ticket.summary.get("needs") or []
    if not isinstance(needs, list):
        needs = [needs]
    return [str(n) for n in needs if n and n != SKIPPED]


def topic_name(ticket: TicketView, team_names: dict[str, str]) -> str:
    """e.g. "🔴 #12 · logement · Lens-Liévin": the ticket, its first need and its territory,
    nothing that tells who the young person is."""
    needs = needs_of(ticket)
    need = needs[0] if needs else ("urgence" if ticket.urgency == Urgency.crisis else "demande")
    place = ticket.territory or team_names.get(ticket.team, ticket.team)
    name = f"{ticket.reference} · {need[:40]} · {place}"
    if ticket.urgency == Urgency.crisis:
        name = f"{CRISIS_MARK} {name}"
    return name[:TOPIC_NAME_LIMIT]


def local(moment: datetime, tz: tzinfo) -> str:
    return moment.astimezone(tz).strftime("%d/%m/%Y à %H:%M")


def status_line(ticket: TicketView, outcomes: dict[str, str]) -> str:
    if ticket.status == TicketStatus.new:
        return "🟢 Nouveau : personne ne l'a encore pris"
    if ticket.relaying:
        who = ticket.assignee_name or "un·e collègue"
        return f"👤 Pris en charge par {who} ({ticket.status_label})"
    if ticket.status == TicketStatus.resolved:
        label = outcomes.get(ticket.outcome or "", ticket.outcome or "sans issue")
        return f"✅ Clôturé : {label}"
    return f"✅ {ticket.status_label}"


def summary_text(
    ticket: TicketView, team_names: dict[str, str], outcomes: dict[str, str], tz: tzinfo
) -> str:
    """The topic's first message: the triage answers, the urgency, where the young person
    writes (Telegram, Chat web: replies reach them there) and the ticket's state."""
    summary = ticket.summary

    def field(name: str) -> str:
        value = summary.get(name)
        return "—" if value in (None, "", SKIPPED) else str(value)

    crisis = ticket.urgency == Urgency.crisis
    head = (
        f"{CRISIS_MARK} URGENCE · Ticket {ticket.reference}"
        if crisis
        else f"📋 Ticket {ticket.reference}"
    )
    if ticket.minor:
        head += " · mineur·e"
    writer = WRITER_LABELS.get(str(summary.get("writer") or ""))
    if writer:
        head += f" · écrit par {writer}"
    excerpt = summary.get("excerpt")
    lines = [
        head,
        f"Équipe : {team_names.get(ticket.team, ticket.team)}"
        + (f" · {ticket.territory}" if ticket.territory else ""),
        f"Canal : {channel_label(ticket.channel)}",
        f"Statut : {status_line(ticket, outcomes)}",
        "",
        f"Besoins : {', '.join(needs_of(ticket)) or '—'}",
        f"Âge : {field('age')}",
        f"Lieu : {field('location')}",
        f"Situation : {field('situation')}",
        f"Déjà suivi : {field('followed')}",
        f"Contact : {field('contact')}",
        f"Disponibilités : {field('availability')}",
        f"Téléphone : {field('phone')}",
        *question_lines(ticket),
        *urgency_lines(ticket),
        f"Extrait : « {excerpt} »" if excerpt else "Extrait : —",
        "",
        f"Demande : {SOURCE_LABELS.get(ticket.source, ticket.source)}"
        f" · ouverte le {local(ticket.created_at, tz)}",
    ]
    if ticket.follow_up_at is not None and ticket.is_open:
        lines.append(f"Relance prévue le {local(ticket.follow_up_at, tz)}")
    if ticket.is_open:
        lines += ["", "Écris dans ce sujet pour répondre au jeune (après « Je prends »)."]
    return "\n".join(lines)[:MESSAGE_LIMIT]


def question_lines(ticket: TicketView) -> list[str]:
    """ "Questions à reprendre :" and each question the bot could not answer, if any."""
    questions = ticket.summary.get("questions") or []
    if not isinstance(questions, list):
        questions = [questions]
    asked = [str(q) for q in questions if q and q != SKIPPED]
    if not asked:
        return []
    return ["Questions à reprendre :", *(f"• « {q} »" for q in asked)]


def urgency_lines(ticket: TicketView) -> list[str]:
    """Urgence : oui/non, the alert's tier and why, the message that raised it, the flags."""
    alert = ticket.alert
    if ticket.urgency == Urgency.crisis:
        lines = [f"Urgence : oui, {crisis_label(ticket)}"]
        if alert is not None:
            lines[0] += f" · niveau {alert.tier_label}"
            lines.append(f"Pourquoi : {alert.why}")
            if alert.text:
                lines.append(f"Message d'alerte : « {alert.text} »")
    elif ticket.crisis_kind:
        lines = [f"Urgence : non (fausse alerte : {crisis_label(ticket)})"]
    else:
        lines = ["Urgence : non"]
    if ticket.flags:
        several = "s" if ticket.flags > 1 else ""
        lines.append(
            f"Signaux : {ticket.flags} message{several} inquiétant{several}, "
            "puis le jeune a dit être en sécurité"
        )
    return lines


# Buttons ----------------------------------------------------------------------------------
def callback(ticket_id: int, action: str) -> str:
    data = f"tk:{ticket_id}:{action}"
    assert len(data.encode()) <= 64, data
    return data


def parse_callback(data: str) -> tuple[int, str, str | None] | None:
    """(ticket id, action, outcome) of a bridge button, None if it is not one."""
    match = CALLBACK_RE.match(data)
    if match is None:
        return None
    action = "resolve" if match.group(3) else match.group(2)
    return int(match.group(1)), action, match.group(3)


def main_keyboard(ticket: TicketView) -> InlineKeyboardMarkup | None:
    if not ticket.is_open:
        return None
    first = (
        InlineKeyboardButton("Je prends", callback_data=callback(ticket.id, "claim"))
        if ticket.status == TicketStatus.new
        else InlineKeyboardButton("Libérer", callback_data=callback(ticket.id, "release"))
    )
    close = InlineKeyboardButton("Clôturer", callback_data=callback(ticket.id, "close"))
    return InlineKeyboardMarkup([[first, close]])


def outcome_keyboard(ticket: TicketView, outcomes: dict[str, str]) -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(label, callback_data=callback(ticket.id, f"res:{code}"))
        for code, label in outcomes.items()
    ]
    per_row = 2 if all(len(label) <= 18 for label in outcomes.values()) else 1
    rows = [buttons[i : i + per_row] for i in range(0, len(buttons), per_row)]
    rows.append([InlineKeyboardButton("↩️ Retour", callback_data=callback(ticket.id, "back"))])
    return InlineKeyboardMarkup(rows)


# Desk events ------------------------------------------------------------------------------
def event_posts(
    kind: str,
    ticket: TicketView,
    actor: CounsellorRef | None,
    data: dict[str, Any],
    team_names: dict[str, str],
    outcomes: dict[str, str],
    tz: tzinfo,
    sites: SiteDirectory | None = None,
) -> list[str]:
    """What to post in the ticket's topic for a desk event (`ticket`: as it is now)."""
    who = actor.first_name if actor else "Quelqu'un"
    via = VIA_PHRASES.get(str(data.get("via") or ""), "")
    where = f" ({via})" if via else ""
    appointment = appointment_posts(
        kind, actor.first_name if actor else None, data, tz, sites, where
    )
    if appointment is not None:  # handoff/bridge/appointments.py
        return appointment
    from_telegram = data.get("via") == "telegram"
    if kind == "youth_message":
        return [f"🧑 Jeune :\n{data.get('text', '')}"]
    if kind == "bot_message":
        return [f"🤖 Bot :\n{text}" for text in data.get("texts") or []]
    if kind == "replied":  # from Telegram, it is already in the topic
        return [] if from_telegram else [f"💬 {who}{where} :\n{data.get('text', '')}"]
    if kind == "noted":
        if from_telegram:
            return [NOTE_SAVED]
        return [f"📝 Note de {who}{where} :\n{data.get('text', '')}"]
    if kind == "youth_correction":  # /corriger (handoff/corrections.py)
        return [f"✏️ {data.get('text', '')}"]
    if kind == "reminder":  # a scheduled reminder of the follow-up rules (nudges/rules.py)
        return [f"⏰ {data.get('text', '')}"]
    if kind == "claimed":
        return [f"✋ {who} prend le ticket{where}."]
    if kind == "released":
        return [f"↩️ {who} remet le ticket dans la file{where}."]
    if kind == "transferred":
        if data.get("to_team"):
            team = team_names.get(data["to_team"], data["to_team"])
            target = f"l'équipe « {team} »"
        else:
            target = ticket.assignee_name or "un·e collègue"
        return [f"🔀 {who} transfère le ticket à {target}{where}."]
    if kind == "follow_up_set":
        when = ticket.follow_up_at
        text = f"relance prévue le {local(when, tz)}" if when else "relance annulée"
        return [f"📅 {who} : {text}{where}."]
    if kind == "escalated":
        return [
            f"{CRISIS_MARK} URGENCE ({crisis_label(ticket)}) : message de crise. "
            "Le bot a donné les numéros d'aide. À prendre en priorité !"
        ]
    if kind == "false_alarm":
        return [
            f"⚪ {who} : fausse alerte{where}, raison : « {data.get('reason', '')} ». "
            "Le ticket repasse en priorité normale."
        ]
    if kind in ("resolved", "closed_unreachable"):
        label = outcomes.get(ticket.outcome or "", ticket.outcome or "")
        closer = f" par {who}" if actor else ""
        detail = f" : {label}" if label else ""
        return [f"✅ Ticket clôturé{closer}{detail}{where}. Le bot reprend la conversation."]
    return []
