"""The readable copy of a person's data (core/export.py): plain French text addressed to the
young person (tutoiement), the same whether they asked with /mesdonnees or a counsellor runs
`maraude privacy export` for a written request. The JSON copy holds the same, column by column.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from core import vocabulary
from core.export_webchat import web_chat_lines

# The age bands' words (the minors part adds them to core/vocabulary.py with the column).
AGE_BANDS: dict[str, str] = getattr(vocabulary, "AGE_BANDS", {})

if TYPE_CHECKING:
    from core.export import PersonalData

CHANNELS = {
    "telegram": "Telegram",
    "web": "le chat du site",
    "simulator": "le simulateur web",
    "terminal": "le terminal",
}
CONSENT = {"granted": "d'accord", "refused": "pas d'accord", "unknown": "pas encore répondu"}
# Triage answers, by slot or request field.
FIELDS = {
    "needs": "Ce que tu cherches",
    "age": "Ton âge",
    "location": "Où tu habites",
    "situation": "Ce que tu fais en ce moment",
    "followed": "Déjà suivi·e par",
    "contact": "Comment te recontacter",
    "availability": "Quand",
    "phone": "Ton téléphone",
    "questions": "Tes questions pour le/la conseiller·e",
    "writer": "Qui a écrit",
    "excerpt": "Tes mots, tels que le/la conseiller·e les lit",
}
EVENTS = {
    "created": "demande reçue",
    "escalated": "passée en urgence",
    "claimed": "prise en charge",
    "released": "remise dans la file",
    "transferred": "transmise à un·e collègue ou une autre équipe",
    "replied": "message du/de la conseiller·e",
    "youth_message": "ton message",
    "noted": "note ajoutée",
    "follow_up_set": "relance prévue",
    "resolved": "terminée",
    "closed_unreachable": "fermée (pas réussi à te joindre)",
    "reopened": "rouverte",
    "checkin_answered": "ta réponse à la prise de nouvelles",
    "sla_breached": "rappel à l'équipe (attente trop longue)",
    "manager_alerted": "responsable prévenu·e (attente trop longue)",
    "false_alarm": "urgence levée (fausse alerte)",
    "appointment_proposed": "rendez-vous proposé",
    "appointment_answered": "ta réponse au rendez-vous",
    "appointment_cancelled": "rendez-vous annulé",
    "appointment_marked": "rendez-vous passé (venu·e ou pas)",
}
FOLLOW_UPS = {
    "triage_nudge": "message pour reprendre la discussion",
    "handoff_pending": "nouvelles de ta demande",
    "youth_silent": "relance après un message de ton/ta conseiller·e",
    "youth_followup": "message prévu par ton/ta conseiller·e",
    "counsellor_reminder": "rappel pour ton/ta conseiller·e",
    "outcome_checkin": "prise de nouvelles après la fin de ta demande",
    "appointment_reminder": "rappel de ton rendez-vous",
    "appointment_missed": "message après un rendez-vous manqué",
    "appointment_unmarked": "rappel à ton/ta conseiller·e de noter si le rendez-vous a eu lieu",
}
APPOINTMENT_KINDS = {"phone": "appel", "video": "appel vidéo", "in_person": "sur place"}
APPOINTMENT_STATUS = {
    "proposed": "proposé, sans réponse de ta part",
    "unsure": "tu ne savais pas encore",
    "change_requested": "tu as demandé un autre créneau",
    "confirmed": "confirmé par toi",
    "cancelled": "annulé",
    "attended": "tu es venu·e",
    "missed": "tu n'as pas pu venir",
    "rescheduled": "remplacé par un autre",
}
FOLLOW_UP_STATUS = {
    "pending": "prévu le",
    "sending": "en cours d'envoi, prévu le",
    "sent": "envoyé le",
    "cancelled": "annulé, était prévu le",
    "failed": "pas envoyé, était prévu le",
}
CRISIS = {
    "suicide": "idées suicidaires",
    "violence": "violences",
    "shelter": "sans endroit où dormir",
}
# Columns of the person added by other parts of the app, as the young person reads them.
PERSON_EXTRA = {
    "age_band": "Ta tranche d'âge (dite au début)",
    "heard_via": "Comment tu as connu le robot (ta réponse)",
    "followed": "Déjà accompagné·e par une structure (ta réponse au questionnaire)",
}
# Shown elsewhere: the first campaign is in "Comment tu es arrivé·e jusqu'à nous".
PERSON_HIDDEN = {"campaign_id"}
WHO = {"youth": "toi", "bot": "robot", "counsellor": "conseiller·e"}


def render_text(export: PersonalData) -> str:
    """The readable copy: every section, even the empty ones (saying "rien")."""
    data, org = export.data, export.organisation
    tz = ZoneInfo(org.timezone)

    def when(value: Any) -> str:
        return _when(value, tz)

    out: list[str] = []
    add = out.append
    add(f"Tes données chez {org.name} (Maraude)")
    add(f"Copie faite le {when(export.generated_at)}.")
    add("")
    add(
        f"Ce fichier contient tout ce que {org.name} garde sur toi dans Maraude. Le fichier .json "
        "contient la même chose, dans un format qu'un autre service peut relire (portabilité)."
    )
    if org.controller:
        add(f"Responsable du traitement : {org.controller}.")
    if org.dpo_contact:
        add(f"Délégué·e à la protection des données (DPO) : {org.dpo_contact}.")

    person = data["person"]
    _title(out, "Qui tu es pour nous")
    add(
        f"- Identifiant pseudonyme (c'est tout ce que voit le moteur du robot) : {export.pseudo_id}"
    )
    channel = str(person.get("channel"))
    add(f"- Tu nous écris sur : {CHANNELS.get(channel, channel)}")
    if channel == "telegram":
        add(f"- Ton identifiant de discussion Telegram : {person.get('channel_user_id')}")
    add(f"- Premier message : {when(person.get('created_at'))}")
    add(f"- Dernier message : {when(person.get('last_seen_at'))}")
    consent = str(person.get("consent"))
    add(f"- Ton accord pour garder la conversation : {CONSENT.get(consent, consent)}")
    if person.get("opted_out_at"):
        add(f"- Relances arrêtées (/stop) le {when(person['opted_out_at'])}")
    if person.get("blocked_at"):
        add(f"- Tu as bloqué le robot le {when(person['blocked_at'])}")
    extra = {
        k: v
        for k, v in person.items()
        if k
        not in {
            "pseudo_id",
            "channel",
            "channel_user_id",
            "created_at",
            "last_seen_at",
            "consent",
            "opted_out_at",
            "blocked_at",
            *PERSON_HIDDEN,
        }
        and v not in (None, "", False)
    }
    for key, value in extra.items():
        shown = AGE_BANDS.get(str(value), value) if key == "age_band" else value
        if key == "heard_via":
            shown = vocabulary.CAMPAIGN_CHANNELS.get(str(value), value)
        add(f"- {PERSON_EXTRA.get(key, key)} : {_plain(shown, tz)}")

    _title(out, "Comment tu es arrivé·e jusqu'à nous (liens de campagnes)")
    _lines(out, (_campaign_line(c, tz) for c in data.get("campaigns") or []))

    _title(out, "Ton accord pour garder la conversation, réponse par réponse")
    _lines(
        out,
        (
            f"- {when(c.get('recorded_at'))} : {CONSENT.get(str(c.get('status')), c.get('status'))}"
            f" (notice version {c.get('notice_version')})"
            for c in data["consents"]
        ),
    )

    messages = data["messages"]
    _title(out, f"Tes messages gardés ({len(messages)})")
    _lines(out, (_message_line(m, tz) for m in messages))

    _title(out, "Tes réponses au questionnaire")
    slots = data["engine_tracker"].get("slots") or {}
    answers = [(FIELDS[k], v) for k, v in slots.items() if k in FIELDS]
    if not answers and data["handoff_requests"]:  # the engine's copy is gone or unreadable
        latest = data["handoff_requests"][-1]
        answers = [
            (label, latest[k])
            for k, label in FIELDS.items()
            if k != "excerpt" and latest.get(k) not in (None, "", [])
        ]
    _lines(out, (f"- {label} : {_plain(value, tz)}" for label, value in answers))

    tickets = data["tickets"]
    requests_by_ticket: dict[Any, list[dict[str, Any]]] = {}
    for request in data["handoff_requests"]:
        requests_by_ticket.setdefault(request.get("ticket_id"), []).append(request)
    _title(out, f"Tes demandes à un·e conseiller·e ({len(tickets)})")
    if not tickets and not data["handoff_requests"]:
        add("Rien.")
    for ticket in tickets:
        _ticket(out, ticket, requests_by_ticket.get(ticket.get("id"), []), tz)

    signals = data["crisis_signals"]
    _title(out, "Messages qui nous ont fait penser que tu étais peut-être en danger")
    _lines(
        out,
        (
            f"- {when(s.get('created_at'))} : {CRISIS.get(str(s.get('kind')), s.get('kind') or '')}"
            f"{' — ton message : « ' + str(s['text']) + ' »' if s.get('text') else ''}"
            f"{' — fausse alerte' if s.get('false_alarm_at') else ''}"
            for s in signals
        ),
    )

    appointments = data.get("appointments") or []
    _title(out, f"Tes rendez-vous ({len(appointments)})")
    _lines(out, (_appointment_line(a, tz) for a in appointments))

    web_chat = web_chat_lines(data.get("web_chat"), when)
    if web_chat:
        _title(out, "Le chat du site")
        _lines(out, web_chat)

    _title(out, "Relances prévues ou envoyées")
    _lines(
        out,
        (
            f"- {FOLLOW_UPS.get(str(f.get('kind')), f.get('kind'))} : "
            f"{FOLLOW_UP_STATUS.get(str(f.get('status')), f.get('status'))} {when(f.get('due_at'))}"
            f"{_follow_up_text(f)}"
            for f in data["follow_ups"]
        ),
    )

    turns = data["understood_messages"]
    _title(out, f"Ce que le robot a compris de tes messages ({len(turns)})")
    _lines(
        out,
        (
            f"- {when(t.get('created_at'))} : {t.get('intent') or '?'}"
            f"{' — « ' + str(t['text']) + ' »' if t.get('text') else ''}"
            for t in turns
        ),
    )

    tracker = data["engine_tracker"]
    _title(out, "Ce que garde le moteur de conversation")
    if not tracker.get("available"):
        add("Pas lisible au moment de cette copie (rien ou moteur indisponible).")
    else:
        add(f"{tracker.get('events', 0)} événements de conversation, dont ces messages :")
        _lines(
            out,
            (
                f"[{when(m.get('at'))}] {m.get('from')} : {m.get('text')}"
                for m in tracker.get("messages") or []
            ),
        )

    held = data.get("held_messages") or []
    if held:
        _title(out, "Messages pas encore répondus (robot en panne quand tu les as écrits)")
        add("Gardés jusqu'à ce que le robot y réponde, puis effacés (au plus tard après un jour).")
        _lines(out, (f"- {when(h.get('held_at'))} : « {h.get('shown')} »" for h in held))

    seen = data["wording_variants_seen"]
    if seen:
        _title(out, "Versions de messages que tu as vues (pour améliorer le robot)")
        _lines(out, (f"- {v.get('response')} : {v.get('variant')}" for v in seen))
    milestones = data["milestones"]
    if milestones:
        _title(out, "Étapes")
        _lines(
            out,
            (f"- {when(m.get('created_at'))} : questionnaire terminé" for m in milestones),
        )
    for table, rows in (data.get("other") or {}).items():
        _title(out, f"Autres données ({table})")
        _lines(out, (f"- {_plain(row, tz)}" for row in rows))

    _title(out, "Tes droits")
    add("- /mesdonnees : recevoir cette copie quand tu veux.")
    add("- /corriger : corriger ce que voit ton/ta conseiller·e.")
    add("- /oubli : tout effacer, tout de suite.")
    add("- /stop : plus aucune relance.")
    contact = org.dpo_contact or org.contact
    if contact:
        add(f"- Une question, une demande : {contact}")
    add(
        "- Si tu n'es pas satisfait·e de notre réponse : tu peux te plaindre à la CNIL, "
        "https://www.cnil.fr/fr/plaintes"
    )
    return "\n".join(out) + "\n"


def _ticket(
    out: list[str], ticket: dict[str, Any], requests: list[dict[str, Any]], tz: ZoneInfo
) -> None:
    status = str(ticket.get("status"))
    who = ticket.get("counsellor")
    state = {
        "new": "en attente d'un·e conseiller·e",
        "resolved": "terminée",
        "closed_unreachable": "fermée (on n'a pas réussi à te joindre)",
    }.get(status, f"en cours avec {who}" if who else "en cours")
    out.append("")
    out.append(f"Demande n°{ticket.get('id')} du {_when(ticket.get('created_at'), tz)} : {state}")
    out.append(f"  Équipe : {ticket.get('team_name')}")
    if ticket.get("urgency") == "crisis":
        out.append("  Traitée en priorité (urgence)")
    if ticket.get("minor"):
        out.append("  Marquée « mineur·e » pour les conseiller·es")
    if ticket.get("outcome"):
        out.append(f"  Résultat : {ticket.get('outcome_label')}")
        if ticket.get("outcome_comment"):
            out.append(f"  Commentaire du/de la conseiller·e : {ticket['outcome_comment']}")
    if ticket.get("follow_up_at"):
        out.append(f"  Relance prévue le {_when(ticket['follow_up_at'], tz)}")
    for request in requests:
        out.append("  Ce que voit le/la conseiller·e :")
        for key, label in FIELDS.items():
            value = request.get(key)
            if value not in (None, "", []):
                out.append(f"    - {label} : {_plain(value, tz)}")
    notes = ticket.get("notes") or []
    if notes:
        out.append("  Notes des conseiller·es (elles te concernent, tu as le droit de les lire) :")
        for note in notes:
            author = note.get("author") or "Maraude"
            out.append(f"    [{_when(note.get('created_at'), tz)}] {author} : {note.get('text')}")
    history = ticket.get("history") or []
    if history:
        out.append("  Historique :")
        for event in history:
            kind = str(event.get("kind"))
            out.append(f"    - {_when(event.get('created_at'), tz)} : {EVENTS.get(kind, kind)}")


def _campaign_line(campaign: dict[str, Any], tz: ZoneInfo) -> str:
    channel = str(campaign.get("channel"))
    how = "arrivé·e par" if campaign.get("first") else "revenu·e par"
    return (
        f"- {_when(campaign.get('at'), tz)} : {how} « {campaign.get('name')} »"
        f" ({vocabulary.CAMPAIGN_CHANNELS.get(channel, channel)})"
    )


def _message_line(message: dict[str, Any], tz: ZoneInfo) -> str:
    counsellor = message.get("counsellor")
    who = f"{counsellor} (conseiller·e)" if counsellor else WHO.get(str(message.get("origin")), "")
    return f"[{_when(message.get('created_at'), tz)}] {who} : {message.get('text')}"


def _appointment_line(row: dict[str, Any], tz: ZoneInfo) -> str:
    """- 15/12/2026 14:30 : sur place (Mission Locale, Arras) avec Sam — confirmé par toi"""
    kind = str(row.get("kind"))
    where = row.get("site_name") or row.get("call_from") or ""
    status = str(row.get("status"))
    shown = APPOINTMENT_STATUS.get(status, status)
    if status == "cancelled":
        shown = "annulé par toi" if row.get("cancelled_by") == "youth" else "annulé"
    line = f"- {_when(row.get('starts_at'), tz)} : {APPOINTMENT_KINDS.get(kind, kind)}"
    line += f" ({where})" if where else ""
    line += f" avec {row['counsellor']}" if row.get("counsellor") else ""
    line += f" — {shown}"
    if row.get("youth_reply"):
        line += f" — tes dispos : « {row['youth_reply']} »"
    return line


def _follow_up_text(row: dict[str, Any]) -> str:
    payload = row.get("payload") or {}
    text = payload.get("text") if isinstance(payload, dict) else None
    return f" — « {text} »" if text else ""


def _title(out: list[str], title: str) -> None:
    out.extend(["", f"== {title} =="])


def _lines(out: list[str], lines: Iterable[str]) -> None:
    before = len(out)
    out.extend(lines)
    if len(out) == before:
        out.append("Rien.")


def _when(value: Any, tz: ZoneInfo) -> str:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if not isinstance(value, datetime):
        return "—" if value is None else str(value)
    return value.astimezone(tz).strftime("%d/%m/%Y %H:%M")


def _plain(value: Any, tz: ZoneInfo) -> str:
    if isinstance(value, list):
        return ", ".join(_plain(v, tz) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k} : {_plain(v, tz)}" for k, v in value.items())
    if isinstance(value, datetime):
        return _when(value, tz)
    return str(value)
