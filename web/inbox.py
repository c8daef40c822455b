"""Manager studio: the inbox of messages the bot did not understand (French, /tableau/incompris).

Managers and admins only (a counsellor gets 403). The page lists the misunderstood typed
messages (fallback or low confidence) kept with consent, grouped by similarity, with the
intent the engine guessed; a manager picks the right intent or "hors sujet" for a whole
group, and may override it message by message. The annotations become training data with
`maraude annotate export` (studio/annotations.py). Each message comes with the bot's message
just before it and the bot's answer after it (studio/turn_context.py); intents
are shown by their French names (core/intents.py). The routes go through the dashboard's
DashboardRoute (session + CSRF); the service owns the database.

Above them, marked "fausse alerte": the messages that raised a crisis a counsellor then
called a false alarm (with the counsellor's reason), to annotate the same way; those of
young people who did not consent come without their text, and a manager acknowledges them.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from core.intents import intent_label
from studio.insights import (
    OUT_OF_SCOPE,
    TurnGroup,
    TurnView,
    UnknownIntent,
    group_turns,
)
from studio.turn_context import TurnContext, turn_contexts
from web import auth
from web.dashboard.guard import QUEUE_PATH, DashboardRoute
from web.deps import Manager, ServicesDep
from web.render import LocalTime, render

INBOX_PATH = f"{QUEUE_PATH}/incompris"
GROUPS_SHOWN = 60  # groups on the page; the rest comes once these are annotated
MESSAGES_SHOWN = 25  # messages shown per group
SAME_AS_GROUP = ""  # per-message choice: follow the group's choice
LATER = "plus_tard"  # per-message choice: leave this message in the inbox
MAX_TURN_ID = 2**62

router = APIRouter(prefix=QUEUE_PATH, include_in_schema=False, route_class=DashboardRoute)


def _label(intent: str | None) -> str:
    """The French name of an intent (core/intents.py); "?" is a turn without one."""
    return intent_label(None if intent == "?" else intent)


def _turn(
    turn: TurnView, times: LocalTime, contexts: dict[int, TurnContext] | None = None
) -> dict[str, Any]:
    context = (contexts or {}).get(turn.id) or TurnContext()
    return {
        "id": turn.id,
        "text": turn.text,
        "asked": context.asked or "",
        "answered": context.answered,
        "intent": _label(turn.intent),
        "confidence": f"{round(turn.confidence * 100)} %" if turn.confidence is not None else "—",
        "fallback": turn.fallback,
        "at": times.show(turn.created_at, "%d/%m %H:%M"),
        "false_alarm": turn.false_alarm,
        "note": turn.review_note or "",
    }


def _group(
    group: TurnGroup, times: LocalTime, contexts: dict[int, TurnContext], false_alarm: bool = False
) -> dict[str, Any]:
    return {
        "id": group.id,
        "count": group.count,
        "intents": [(_label(name), n) for name, n in group.intents],
        "turns": [_turn(t, times, contexts) for t in group.turns[:MESSAGES_SHOWN]],
        "more": max(0, group.count - MESSAGES_SHOWN),
        "false_alarm": false_alarm,
    }


@router.get("/incompris", response_class=HTMLResponse)
async def inbox_page(request: Request, services: ServicesDep, me: Manager) -> Response:
    insights = services.insights
    groups = await asyncio.to_thread(insights.groups)
    alarms = await asyncio.to_thread(insights.false_alarms)
    alarm_groups = group_turns([t for t in alarms if t.text])
    counts = await asyncio.to_thread(insights.counts)
    intents = await asyncio.to_thread(insights.intents)
    choices = [(name, intent_label(name)) for name in intents if name != OUT_OF_SCOPE]
    shown = [
        turn
        for group in [*alarm_groups[:GROUPS_SHOWN], *groups[:GROUPS_SHOWN]]
        for turn in group.turns[:MESSAGES_SHOWN]
    ]
    contexts = await asyncio.to_thread(turn_contexts, services.db, shown)
    times = LocalTime.of(services.settings)
    return render(
        request,
        services,
        "dashboard_inbox.html",
        {
            "alarm_groups": [_group(g, times, contexts, True) for g in alarm_groups[:GROUPS_SHOWN]],
            "hidden_alarms": [_turn(t, times) for t in alarms if not t.text][:GROUPS_SHOWN],
            "groups": [_group(g, times, contexts) for g in groups[:GROUPS_SHOWN]],
            "groups_total": len(groups),
            "counts": counts,
            "choices": choices,
            "out_of_scope": OUT_OF_SCOPE,
            "same_as_group": SAME_AS_GROUP,
            "later": LATER,
            "action": f"{INBOX_PATH}/annoter",
            "dismiss_action": f"{INBOX_PATH}/vu",
        },
    )


def _turn_ids(values: list[Any]) -> list[int]:
    ids = []
    for value in values:
        if isinstance(value, str) and value.isdigit() and 0 < int(value) <= MAX_TURN_ID:
            ids.append(int(value))
    return ids


@router.post("/incompris/annoter")
async def inbox_annotate(request: Request, services: ServicesDep, me: Manager) -> Response:
    """One group's form: `groupe` (the group's intent), `tour` (its message ids, repeated),
    `intention_<id>` (per message: "" = as the group, "plus_tard" = leave it, or an intent)."""
    form = await request.form()
    group_choice = str(form.get("groupe") or "")
    by_intent: dict[str, list[int]] = {}
    left = 0
    for turn_id in _turn_ids(form.getlist("tour")):
        choice = str(form.get(f"intention_{turn_id}") or SAME_AS_GROUP)
        if choice == SAME_AS_GROUP:
            choice = group_choice
        if not choice or choice == LATER:
            left += 1
            continue
        by_intent.setdefault(choice, []).append(turn_id)
    if not by_intent:
        auth.flash(request, "Choisis une intention (ou « hors sujet ») pour ce groupe.", "error")
        return RedirectResponse(INBOX_PATH, status_code=303)
    done = 0
    unknown: list[str] = []
    for intent, ids in by_intent.items():
        try:
            done += await asyncio.to_thread(services.insights.annotate, ids, intent, me.id)
        except UnknownIntent as error:
            unknown.append(error.intent)
    if unknown:
        auth.flash(
            request,
            "Intention inconnue dans le domaine : " + ", ".join(sorted(unknown)[:5]) + ".",
            "error",
        )
    if done:
        message = f"{done} message{'s' if done > 1 else ''} annoté{'s' if done > 1 else ''}"
        if left:
            message += f", {left} laissé{'s' if left > 1 else ''} pour plus tard"
        auth.flash(request, message + ". Exporte-les avec « maraude annotate export ».")
    elif not unknown:
        auth.flash(request, "Ces messages étaient déjà annotés (par un·e collègue ?).", "error")
    return RedirectResponse(INBOX_PATH, status_code=303)


@router.post("/incompris/vu")
async def inbox_dismiss(request: Request, services: ServicesDep, me: Manager) -> Response:
    """Acknowledge false alarms that came without their text (`tour`, repeated)."""
    form = await request.form()
    ids = _turn_ids(form.getlist("tour"))
    done = await asyncio.to_thread(services.insights.dismiss, ids, me.id) if ids else 0
    if done:
        auth.flash(request, f"Fausse alerte sans texte marquée comme vue ({done}).")
    else:
        auth.flash(request, "Rien à marquer (déjà vu par un·e collègue ?).", "error")
    return RedirectResponse(INBOX_PATH, status_code=303)
