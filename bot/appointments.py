"""The young person's side of an appointment, for every channel (bot/pipeline.py asks here).

- A proposal's buttons ("Ça me va", "Pas possible, on change ?", "Je sais pas encore"), a
  reminder's "Je peux plus venir" and the two buttons asked after /stop ("Garder le rdv",
  "Annuler le rdv") carry `/rdv_<what>{"rdv":"<id>"}` payloads: answered here, before the relay
  and the engine. Telegram refuses a button it did not show in that chat; the simulator does
  not, so the appointment desk checks the appointment is the person's own.
- The message typed after "Pas possible, on change ?" is the young person's availability: kept
  on the appointment and passed to the counsellor (still relayed as usual when a counsellor
  holds the conversation).
- "je peux plus venir", as young people write it (`cant_come`), cancels the next appointment
  and tells the counsellor at once. A crisis message never gets here (the pipeline checks it
  first).
- After /stop (the engine's opt-out), an appointment ahead is kept unless the young person
  says to cancel it too: `after_stop` asks.

The counsellors' side (handoff/appointments/desk.py, AppointmentDesk) implements
`AppointmentHooks`; the composition root sets it as `pipeline.appointments`.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from bot.messages import Reply
from core.turns import TurnInfo

# Button payloads (handoff/appointments/wording.py writes them): /rdv_ok{"rdv":"12"}.
BUTTON_RE = re.compile(r'^/(rdv_[a-z_]+)\{"rdv":\s*"(\d{1,12})"\}$')
ANSWERS = {"rdv_ok": "ok", "rdv_change": "change", "rdv_unsure": "unsure"}
CANCEL, STOP_KEEP, STOP_CANCEL = "rdv_cancel", "rdv_stop_keep", "rdv_stop_cancel"
STOP_RE = re.compile(r"^/stop(?:@[A-Za-z0-9_]{3,64})?$", re.IGNORECASE)
OPT_OUT_ACTION = "action_opt_out"
MAX_CANT_COME = 120  # a longer message says more than "je peux plus venir": not taken as it

_VERB = r"(?:peux|peu|peut|pe|pourrai|pourrais|pourrait|pourai|pourais|pourra|pourrez)"
_NOT = r"(?:pas|plus|pa|plu|pu)"
_COME = r"(?:venir|v nir|passer|y aller|y etre|etre la|etre present|etre presente|aller au rdv)"
_RDV = r"(?:rdv|rendez vous|rendezvous|rv)"
_ME = r"\bj(?:e| )?\s*(?:ne\s+|n\s+)?"
CANT_COME_RE = re.compile(
    "|".join(
        (
            rf"{_ME}{_VERB}\s+{_NOT}\s+(?:du tout\s+)?{_COME}\b",
            rf"{_ME}(?:vais|vai|v|vas)\s+{_NOT}\s+pouvoir\s+{_COME}\b",
            rf"{_ME}(?:viendrai|viendrais|viendre|viens|vien)\s+{_NOT}\b",
            rf"\bannul\w*\s+(?:le\s+|mon\s+|ce\s+|notre\s+|l\s+)?{_RDV}\b",
            r"\b(?:veux|veut|veu|voudrais|voudrai|dois|doit|faut)\s+annuler\b",
        )
    )
)
# "je peux pas venir à 14h mais à 16h oui", "si je peux pas venir ?": not a cancellation.
NOT_A_CANCEL_RE = re.compile(r"\b(?:mais|plutot|par contre|sauf|si je|si j|s il|est ce que)\b")


def normalise(text: str) -> str:
    """Lower case, no accents, words separated by single spaces ("J'peux" -> "j peux")."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(re.sub(r"[^a-z0-9]+", " ", bare).split())


def cant_come(text: str) -> bool:
    """The young person says they cannot come any more ("je peu plus venir", "jpeux pas venir
    demain", "annule le rdv", "je pourrai pas venir"...)."""
    words = normalise(text)
    if not words or len(words) > MAX_CANT_COME or NOT_A_CANCEL_RE.search(words):
        return False
    return CANT_COME_RE.search(words) is not None


def parse_button(payload: str) -> tuple[str, int] | None:
    """(intent, appointment id) of an appointment button's payload; None for another one."""
    match = BUTTON_RE.match(payload)
    if match is None:
        return None
    intent = match.group(1)
    if intent not in ANSWERS and intent not in (CANCEL, STOP_KEEP, STOP_CANCEL):
        return None
    return intent, int(match.group(2))


def button_payload(intent: str, appointment_id: int) -> str:
    """The payload `parse_button` reads (for tests and channels that build one)."""
    return f"/{intent}{json.dumps({'rdv': str(appointment_id)}, separators=(',', ':'))}"


# What a button or message about an appointment does, once the caller has recorded it.
Answer = Callable[[], Awaitable[list[Reply]]]


class AppointmentHooks(Protocol):
    """What the pipeline needs of the appointments (handoff AppointmentDesk implements it).
    An appointment is passed back as the desk gave it (`Any`: the bot does not read it)."""

    async def youth_answer(self, person_id: int, appointment_id: int, answer: str) -> list[Reply]:
        """A proposal's button: "ok", "change" or "unsure"; what to say back."""

    async def youth_cancel(self, person_id: int, appointment_id: int | None = None) -> list[Reply]:
        """Cancel that appointment (None: the next one) and tell the counsellors."""

    async def youth_keep(self, person_id: int, appointment_id: int) -> list[Reply]:
        """ "Garder le rdv" after /stop."""

    async def upcoming(self, person_id: int) -> Any:
        """The person's next appointment still ahead, or None."""

    async def awaiting_availability(self, person_id: int) -> Any:
        """The appointment whose change the person asked and whose availability is awaited."""

    async def youth_availability(self, appointment: Any, text: str) -> list[Reply]:
        """Keep the person's availability on `appointment` and tell the counsellors."""

    async def after_stop(self, person_id: int) -> list[Reply]:
        """After an opt-out: ask whether to keep the appointment ahead ([] without one)."""


def on_button(hooks: AppointmentHooks, person_id: int, payload: str) -> Answer | None:
    """What an appointment button does (run it for the replies); None when `payload` is not
    one. The caller records the press first, so the transcript reads in order."""
    parsed = parse_button(payload)
    if parsed is None:
        return None
    intent, appointment_id = parsed
    if intent in ANSWERS:
        return lambda: hooks.youth_answer(person_id, appointment_id, ANSWERS[intent])
    if intent == STOP_KEEP:
        return lambda: hooks.youth_keep(person_id, appointment_id)
    return lambda: hooks.youth_cancel(person_id, appointment_id)  # rdv_cancel, rdv_stop_cancel


async def on_typed(hooks: AppointmentHooks, person_id: int, text: str) -> Answer | None:
    """What a typed message (not a command, not a crisis) about an appointment does: "je peux
    plus venir" with an appointment ahead, or the availability asked after "on change ?".
    None: the message goes the usual way. The caller passes the message on first."""
    if cant_come(text):
        if await hooks.upcoming(person_id) is not None:
            return lambda: hooks.youth_cancel(person_id, None)
        return None
    waiting = await hooks.awaiting_availability(person_id)
    if waiting is not None:
        return lambda: hooks.youth_availability(waiting, text)
    return None


def opted_out_now(shown: str, turn: TurnInfo | None) -> bool:
    """This exchange may have opted the person out: /stop, or the engine ran its opt-out
    action on a typed message (the desk checks the person really is opted out before asking
    anything)."""
    if STOP_RE.match(shown.strip()):
        return True
    return turn is not None and OPT_OUT_ACTION in turn.actions
