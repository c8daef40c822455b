"""The web chat's part of a person's data (core/export.py, core/export_text.py): what the web
chat keeps about a young person of the site's chat (core/models/webchat.py).

- `web_chat_state`: the e-mail address they gave for "tu as une réponse" notices (never the
  content of an answer) and when, when the next notice is due and when the last one went, how
  far their page has read;
- `web_outbox`: the messages waiting for their page (an answer, a notice, a nudge, an
  appointment), deleted once read: how many, when, from whom, their text.

The browser keeps only a random token that lets the page find the conversation again; the
app keeps a keyed hash of it as the channel address, which the export does not reproduce.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import WebChatState, WebOutboxItem

TABLES = frozenset({"web_chat_state", "web_outbox"})  # exported here, by name
ADDRESS_HIDDEN = "(jeton du navigateur, non reproduit)"


def web_chat_data(session: Session, person_id: int) -> dict[str, Any] | None:
    """What the web chat keeps about the person; None when it keeps nothing."""
    state = session.get(WebChatState, person_id)
    items = list(
        session.scalars(
            select(WebOutboxItem)
            .where(WebOutboxItem.person_id == person_id)
            .order_by(WebOutboxItem.id)
        )
    )
    if state is None and not items:
        return None
    seen = state.seen_id if state is not None else 0
    pending = [item for item in items if item.id > seen]
    return {
        "email": state.email if state is not None else None,
        "email_at": state.email_at if state is not None else None,
        "notify_due_at": state.notify_due_at if state is not None else None,
        "notified_at": state.notified_at if state is not None else None,
        "pending_messages": len(pending),
        "pending": [
            {
                "at": item.created_at,
                "origin": item.origin,
                "from": item.sender,
                "text": _text(item.payload),
            }
            for item in pending
        ],
        "read_messages_kept": len(items) - len(pending),
    }


def web_chat_lines(web: dict[str, Any] | None, when: Callable[[Any], str]) -> list[str]:
    """The readable section (French, tutoiement), [] when the web chat keeps nothing."""
    if not web:
        return []
    lines = [
        "- Sur ton navigateur, le site garde seulement un jeton au hasard pour retrouver la "
        "conversation (jamais la conversation elle-même).",
    ]
    if web.get("email"):
        lines.append(
            f"- Ton adresse e-mail pour être prévenu·e d'une réponse (sans son contenu) : "
            f"{web['email']}, donnée le {when(web.get('email_at'))}"
        )
        if web.get("notified_at"):
            lines.append(f"- Dernier e-mail de ce genre envoyé le {when(web['notified_at'])}")
    else:
        lines.append("- Pas d'adresse e-mail (tu n'en as pas donné, ou tu l'as retirée).")
    pending = web.get("pending") or []
    lines.append(f"- Messages qui t'attendent sur la page du chat : {len(pending)}")
    lines += [
        f"  [{when(m.get('at'))}] {m.get('from') or 'Maraude'} : {m.get('text')}" for m in pending
    ]
    if web.get("read_messages_kept"):
        lines.append(
            f"- Messages déjà lus, effacés bientôt de la file : {web['read_messages_kept']}"
        )
    return lines


def _text(payload: str) -> str:
    try:
        reply = json.loads(payload)
    except ValueError:
        return ""
    return str(reply.get("text") or "") if isinstance(reply, dict) else ""
