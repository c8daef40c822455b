"""Finding a ticket: by reference (#12), phone number, commune / place, or need.

Only among the tickets the counsellor may see (handoff/access.py), open or closed.
What the counsellor types is read by `parse_search`: a bad input raises `SearchError`, whose
message is French, for the page. Every condition is a SQLAlchemy expression with bound
parameters; LIKE patterns have their wildcards escaped (`like_pattern`).

- reference: "#12" or "12" (the ticket id, as the dashboard shows it);
- phone: a French number as people write it ("06 12 34 56 78", "06.12.34.56.78",
  "+33 6 12 34 56 78", "0033 6…") is normalised to "0612345678", as hand-off requests store it;
- place: the request's location (commune, postcode), case-blind; a commune of maraude.yml
  typed without its accents ("lievin") finds it too; a territory's whole name ("metropole
  lilloise") finds the tickets of that territory;
- need: the needs of the request, as the triage stores them ("logement", "santé"...).
With the kind "tout" (the default), every reading that fits the text is tried.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, String, cast, func, or_, select

from core.db import Database
from core.models import HandoffRequest, Ticket
from core.settings import Settings
from core.simulations import real_person
from core.text import fold
from core.vocabulary import MAX_TICKET_ID, NEEDS
from handoff.access import visible
from handoff.accounts import CounsellorRef
from handoff.tickets import TicketView, ticket_view

MAX_QUERY = 100  # characters typed
MIN_WORDS = 2  # characters, for a place or a need
MIN_FOLDED = 3  # letters and digits, to look for a commune or a need by its folded name
RESULTS = 50
LIKE_ESCAPE = "!"
KINDS = {
    "tout": "tout",
    "reference": "référence",
    "telephone": "téléphone",
    "lieu": "commune ou lieu",
    "besoin": "besoin",
}
MATCH_LABELS = {
    "reference": "référence",
    "telephone": "téléphone",
    "lieu": "lieu",
    "besoin": "besoin",
}
EMPTY = (
    "Tape ce que tu cherches : une référence (#12), un numéro de téléphone, "
    "une commune ou un besoin."
)
BAD_REFERENCE = "Référence invalide : tape le numéro du ticket, par exemple #12."
BAD_PHONE = (
    "Numéro de téléphone invalide : il faut les 10 chiffres d'un numéro français, "
    "par exemple 06 12 34 56 78 ou +33 6 12 34 56 78."
)
SHORT = f"Tape au moins {MIN_WORDS} caractères pour chercher une commune ou un besoin."
SEPARATORS = re.compile(r"[\s.\-/()]+")


class SearchError(ValueError):
    """A search that cannot be run; `str(error)` is a French message for the counsellor."""


@dataclass(frozen=True)
class Search:
    text: str  # as typed, cleaned
    kind: str  # a key of KINDS
    reference: int | None = None
    phone: str | None = None
    place: str | None = None
    need: str | None = None


@dataclass(frozen=True)
class Hit:
    ticket: TicketView
    matched: tuple[str, ...]  # keys of MATCH_LABELS, in that order


def clean(text: str) -> str:
    """No control characters (NUL would break PostgreSQL), single spaces, trimmed."""
    kept = "".join(" " if unicodedata.category(c) in ("Cc", "Cs") else c for c in text)
    return " ".join(kept.split())


def normalise_phone(text: str) -> str | None:
    """A French phone number as stored ("0612345678"), or None if `text` is not one."""
    compact = SEPARATORS.sub("", text)
    for prefix in ("+33", "0033"):
        if compact.startswith(prefix):
            compact = "0" + compact.removeprefix(prefix).removeprefix("0")
            break
    return compact if re.fullmatch(r"0[1-9]\d{8}", compact) else None


def parse_reference(text: str) -> int | None:
    found = re.fullmatch(r"#?\s*0*(\d{1,10})", text.strip())
    if found is None:
        return None
    number = int(found.group(1))
    return number if 1 <= number <= MAX_TICKET_ID else None


def parse_search(text: str, kind: str = "tout") -> Search:
    """What to look for; SearchError (a French message) when it cannot be read."""
    if kind not in KINDS:
        raise SearchError("Type de recherche inconnu : choisis dans la liste.")
    if len(text) > MAX_QUERY * 4:
        raise SearchError(f"Recherche trop longue ({MAX_QUERY} caractères max).")
    text = clean(text)
    if not text:
        raise SearchError(EMPTY)
    if len(text) > MAX_QUERY:
        raise SearchError(f"Recherche trop longue ({len(text)} caractères, {MAX_QUERY} max).")
    if kind == "reference":
        return Search(text, kind, reference=_required(parse_reference(text), BAD_REFERENCE))
    if kind == "telephone":
        return Search(text, kind, phone=_required(normalise_phone(text), BAD_PHONE))
    if kind in ("lieu", "besoin"):
        if len(text) < MIN_WORDS:
            raise SearchError(SHORT)
        if kind == "lieu":
            return Search(text, kind, place=text)
        return Search(text, kind, need=text)
    return _guess(text)


def _required(value: Any, message: str) -> Any:
    if value is None:
        raise SearchError(message)
    return value


def _guess(text: str) -> Search:
    """Kind "tout": every reading that fits."""
    if text.startswith("#"):
        return Search(text, "tout", reference=_required(parse_reference(text), BAD_REFERENCE))
    compact = SEPARATORS.sub("", text)
    if re.fullmatch(r"\+?\d+", compact):
        phone = normalise_phone(text)
        if phone is not None:
            return Search(text, "tout", phone=phone)
        if compact.isdigit() and compact == text and len(compact) <= 9:
            # a ticket number; five digits may also be a postcode
            place = text if len(text) == 5 else None
            return Search(text, "tout", reference=parse_reference(text), place=place)
        raise SearchError(BAD_PHONE)
    if len(text) < MIN_WORDS:
        raise SearchError(SHORT)
    return Search(text, "tout", place=text, need=text)


def like_pattern(text: str) -> str:
    """`%text%` for LIKE ... ESCAPE '!', the wildcards of `text` taken literally."""
    escaped = (
        text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2)
        .replace("%", LIKE_ESCAPE + "%")
        .replace("_", LIKE_ESCAPE + "_")
    )
    return f"%{escaped}%"


def _contains(column: Any, text: str) -> ColumnElement[bool]:
    """Case-blind `column` contains `text`."""
    return func.lower(column).like(like_pattern(text.lower()), escape=LIKE_ESCAPE)


def _json_forms(value: str) -> list[str]:
    """How a string may be written inside a stored JSON list (escaped or not)."""
    return list(dict.fromkeys([json.dumps(value), json.dumps(value, ensure_ascii=False)]))


class TicketSearch:
    def __init__(self, db: Database, settings: Settings) -> None:
        self._db = db
        communes: list[str] = []
        for area in [*settings.territories, *settings.teams]:
            communes += [str(commune) for commune in area.communes]
        self._communes = sorted(set(communes))
        self._territories = [t.name for t in settings.territories]
        self._hide_simulations = settings.simulations_hidden  # core/simulations.py

    def search(self, viewer: CounsellorRef, query: Search, limit: int = RESULTS) -> list[Hit]:
        """The tickets `viewer` may see that match, the most recent first."""
        criteria = self._criteria(query)
        scope = visible(viewer)
        limit = max(1, min(limit, 200))
        with self._db.transaction() as session:
            found: dict[int, list[str]] = {}
            for name, condition in criteria:
                ids = select(Ticket.id).where(condition)
                if scope is not None:
                    ids = ids.where(scope)
                if self._hide_simulations:
                    ids = ids.where(real_person(Ticket.person_id))
                for ticket_id in session.scalars(ids.order_by(Ticket.id.desc()).limit(limit)):
                    found.setdefault(ticket_id, []).append(name)
            chosen = sorted(found, reverse=True)[:limit]
            if not chosen:
                return []
            tickets = session.scalars(select(Ticket).where(Ticket.id.in_(chosen)))
            by_id = {t.id: ticket_view(t) for t in tickets}
            return [Hit(by_id[i], tuple(found[i])) for i in chosen if i in by_id]

    def _criteria(self, query: Search) -> list[tuple[str, ColumnElement[bool]]]:
        criteria: list[tuple[str, ColumnElement[bool]]] = []
        if query.reference is not None:
            criteria.append(("reference", Ticket.id == query.reference))
        if query.phone is not None:
            forms = [query.phone, "+33" + query.phone[1:]]
            criteria.append(("telephone", _requested(HandoffRequest.phone.in_(forms))))
        if query.place is not None:
            places = [query.place, *self._known_communes(query.place)]
            where = _requested(or_(*(_contains(HandoffRequest.location, p) for p in places)))
            territories = self._known_territories(query.place)
            if territories:
                where = or_(where, Ticket.territory.in_(territories))
            criteria.append(("lieu", where))
        if query.need is not None:
            # A need of the triage, as a whole element of the stored JSON list ("santé" for
            # "sante"), or the text typed anywhere in it; escaped or not by the JSON writer.
            forms = [form for label in _known_needs(query.need) for form in _json_forms(label)]
            forms += [form[1:-1] for form in _json_forms(query.need)]
            needs = cast(HandoffRequest.needs, String)
            criteria.append(("besoin", _requested(or_(*(_contains(needs, f) for f in forms)))))
        return criteria

    def _known_communes(self, text: str) -> list[str]:
        """Communes of the settings whose folded name contains the folded text ("lievin" →
        "Liévin"), at most 20."""
        folded = fold(text)
        if len(folded) < MIN_FOLDED:
            return []
        return [name for name in self._communes if folded in fold(name) and name != text][:20]

    def _known_territories(self, text: str) -> list[str]:
        """The territory the text names, accents and case aside ("metropole lilloise")."""
        folded = fold(text)
        return [name for name in self._territories if folded and fold(name) == folded]


def _known_needs(text: str) -> list[str]:
    """Need labels of the triage that the text names, accents or not ("sante" → "santé")."""
    folded = fold(text)
    if len(folded) < MIN_FOLDED:
        return []
    return [label for label in NEEDS if folded in fold(label)]


def _requested(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """Tickets with a hand-off request that matches `condition`."""
    return Ticket.id.in_(
        select(HandoffRequest.ticket_id).where(HandoffRequest.ticket_id.is_not(None), condition)
    )
