"""REST API for integrations (token authentication), documented at /openapi.json.

Tokens come from `maraude user token EMAIL` and act as their counsellor: every write goes
through the hand-off desk with via="api", so the young person, the dashboard and the
Telegram bridge see what an integration does exactly as if it were done in the dashboard.
Refused operations answer `{"detail": "<message en français>"}` with the status code of
the `TicketError` (404, 409, 403, 422); invalid requests (including unknown query
parameters) get FastAPI's 422 with the fields at fault. Every status a route can give is
declared in its `responses`, and checked by tests/test_api_schemathesis.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, status
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AfterValidator, AwareDatetime, BaseModel, Field, model_validator

from core.models import OPEN_STATUSES, Direction, Origin, TicketStatus, Urgency
from handoff.access import may_see
from handoff.accounts import CounsellorRef
from handoff.alarms import MAX_REASON
from handoff.signals import SignalView
from handoff.tickets import (
    MAX_NOTE,
    MAX_TEXT,
    NoteView,
    QueueFilter,
    TicketError,
    TicketInvalid,
    TicketView,
    TranscriptItem,
)
from web.deps import get_services

MAX_PAGE = 200
MAX_OFFSET = 1_000_000
MAX_TICKET_ID = 2**31 - 1  # an INTEGER column on every backend
TEAM_PATTERN = r"^[a-z0-9][a-z0-9_-]{1,31}$"  # as `teams[].id` in maraude.yml

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="apiToken",
    description="Jeton d'API créé par `maraude user token EMAIL` (préfixe `mrd_`).",
)


# Schemas -----------------------------------------------------------------------------------
def _storable(value: str) -> str:
    """Text every database can store: no NUL byte, valid UTF-8 (no lone surrogate)."""
    if "\x00" in value:
        raise ValueError("le texte ne doit pas contenir de caractère nul")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("le texte doit être de l'UTF-8 valide") from None
    return value


Text = Annotated[str, AfterValidator(_storable)]


class Problem(BaseModel):
    """Demande refusée : `detail` est un message à montrer au conseiller ou à la conseillère."""

    detail: str = Field(examples=["Trop tard : Awa a déjà pris le ticket #12."])


class ValidationIssue(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ValidationProblem(BaseModel):
    """Demande invalide : un message (règle du ticket) ou la liste des champs en cause."""

    detail: str | list[ValidationIssue]


class Summary(BaseModel):
    """Le résumé du triage confirmé par le jeune (chaque réponse est facultative)."""

    needs: list[str] = []
    age: str | None = None
    location: str | None = None
    situation: str | None = None
    followed: str | None = None
    contact: str | None = None
    availability: str | None = None
    phone: str | None = Field(
        default=None, description="numéro pour être rappelé·e (donné avec consentement)"
    )
    questions: list[str] = Field(
        default=[], description="questions que le robot n'a pas su répondre, à reprendre"
    )
    writer: str | None = Field(
        default=None,
        description="`parent` ou `proche` si quelqu'un a écrit pour le jeune ; sinon null",
    )
    excerpt: str | None = None


class SignalOut(BaseModel):
    """Ce qui a fait penser au robot que le jeune pouvait être en danger."""

    id: int
    origin: str = Field(
        description="`urgent` : a déclenché (ou relevé) l'urgence ; `request` : avec une demande "
        "normale ; `flag` : message inquiétant, puis le jeune a dit être en sécurité"
    )
    tier: str = Field(description="`high` ou `medium`", examples=["high"])
    reason: str = Field(
        description="`pattern`, `intent`, `danger_words`, `safety_answer` ou `app_check`"
    )
    kind: str | None = Field(description="`suicide`, `violence` ou `shelter`")
    detail: str | None
    intent: str | None
    confidence: float | None
    answer: str | None = Field(description="réponse à « Est-ce que tu es en sécurité ? »")
    text: str | None = Field(
        description="le message du jeune (gardé pour une urgence même sans consentement ; "
        "sinon seulement avec)"
    )
    created_at: datetime
    false_alarm_at: datetime | None
    false_alarm_reason: str | None


class Assignee(BaseModel):
    id: int
    first_name: str


class TicketOut(BaseModel):
    id: int
    reference: str = Field(examples=["#12"])
    status: TicketStatus
    status_label: str
    urgency: Urgency
    crisis_kind: str | None
    source: str
    team: str
    territory: str | None
    minor: bool = Field(description="le jeune a dit avoir moins de 18 ans")
    alert: SignalOut | None = Field(description="ce qui a déclenché l'urgence (tickets urgents)")
    assignee: Assignee | None
    request: str | None = Field(
        default=None,
        description="premiers mots de la demande du jeune (80 caractères au plus) ; null "
        "pour un ticket d'une autre équipe que tu ne suis pas (dans la liste, le résumé "
        "n'a alors ni extrait, ni téléphone, ni questions)",
    )
    summary: Summary
    outcome: str | None
    outcome_label: str | None
    outcome_comment: str | None
    follow_up_at: datetime | None
    created_at: datetime
    updated_at: datetime
    claimed_at: datetime | None
    first_reply_at: datetime | None
    last_youth_at: datetime | None
    last_counsellor_at: datetime | None
    resolved_at: datetime | None


class NoteOut(BaseModel):
    id: int
    author: str | None
    text: str
    created_at: datetime


class TranscriptMessage(BaseModel):
    id: int
    direction: Direction = Field(description="`in` : écrit par le jeune")
    origin: Origin
    text: str
    created_at: datetime
    counsellor: str | None = Field(description="prénom du conseiller ou de la conseillère")
    in_ticket: bool = Field(description="échangé (relayé) dans le cadre de ce ticket")


class TicketDetail(TicketOut):
    notes: list[NoteOut]
    signals: list[SignalOut] = Field(description="tous les signaux de crise, du plus ancien")
    transcript: list[TranscriptMessage] | None = Field(
        description="toute la conversation gardée, la plus ancienne d'abord "
        "(avec `include_transcript`)"
    )


class TicketPage(BaseModel):
    items: list[TicketOut]
    limit: int
    offset: int


class ReplyIn(BaseModel):
    text: Text = Field(
        min_length=1, max_length=MAX_TEXT, examples=["Salut, c'est Awa ! Je t'appelle demain ?"]
    )


class ReplyOut(BaseModel):
    message_id: int
    ticket: TicketOut


class NoteIn(BaseModel):
    text: Text = Field(min_length=1, max_length=MAX_NOTE, examples=["Rappeler après 14 h"])


class ResolveIn(BaseModel):
    outcome: Text = Field(
        min_length=1,
        max_length=32,
        description="code d'issue (voir GET /api/v1/outcomes)",
        examples=["mission_locale"],
    )
    comment: Text | None = Field(default=None, max_length=2000, examples=["RDV jeudi 10 h"])


class FalseAlarmIn(BaseModel):
    reason: Text = Field(
        min_length=1,
        max_length=MAX_REASON,
        description="pourquoi ce n'est pas une urgence (obligatoire)",
        examples=["« me tuer » au sens de « mourir de rire »"],
    )


class TransferIn(BaseModel):
    """Soit `to_team` (retour dans la file de cette équipe), soit `to_counsellor_email`."""

    to_team: Annotated[str, Field(pattern=TEAM_PATTERN)] | None = Field(
        default=None, examples=["lens"]
    )
    to_counsellor_email: Text | None = Field(
        default=None, min_length=3, max_length=254, examples=["awa@ml-lens.fr"]
    )

    @model_validator(mode="after")
    def _one_target(self) -> TransferIn:
        if (self.to_team is None) == (self.to_counsellor_email is None):
            raise ValueError("donne soit to_team, soit to_counsellor_email")
        return self


class FollowUpIn(BaseModel):
    at: AwareDatetime | None = Field(
        description="date de relance, avec fuseau horaire, dans le futur ; null pour l'effacer",
        examples=["2099-03-09T10:00:00+01:00"],
    )
    message: Text | None = Field(
        default=None,
        max_length=4096,
        description="message envoyé au jeune à cette date, signé du prénom (facultatif)",
    )


class Outcome(BaseModel):
    code: str
    label: str
    positive: bool


# Responses each route may give, besides its success -----------------------------------------
Responses = dict[int | str, dict[str, Any]]


def _problem(description: str) -> dict[str, Any]:
    return {"model": Problem, "description": description}


UNAUTHORIZED: Responses = {
    status.HTTP_401_UNAUTHORIZED: _problem("Jeton manquant, invalide, révoqué ou compte désactivé")
}
INVALID: Responses = {
    status.HTTP_422_UNPROCESSABLE_CONTENT: {
        "model": ValidationProblem,
        "description": "Requête invalide",
    }
}
NOT_FOUND: Responses = {status.HTTP_404_NOT_FOUND: _problem("Ticket introuvable")}
CONFLICT: Responses = {status.HTTP_409_CONFLICT: _problem("Le ticket a changé (pris, clôturé…)")}
FORBIDDEN: Responses = {status.HTTP_403_FORBIDDEN: _problem("Ticket suivi par un·e collègue")}
# FastAPI's own answer to a body it cannot even decode (not UTF-8), before any validation.
UNREADABLE: Responses = {
    status.HTTP_400_BAD_REQUEST: _problem("Corps de requête illisible (JSON en UTF-8 attendu)")
}

TicketId = Annotated[
    int, Path(ge=1, le=MAX_TICKET_ID, description="numéro du ticket", examples=[1])
]


# Authentication and errors -----------------------------------------------------------------
def current_counsellor(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    services: Annotated[Any, Depends(get_services)],
) -> CounsellorRef:
    """The counsellor the bearer token acts for (sync: runs in the thread pool)."""
    actor = None
    if credentials is not None:
        actor = services.accounts.authenticate_token(credentials.credentials)
    if actor is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="Jeton d'API manquant, invalide ou révoqué.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return actor


Actor = Annotated[CounsellorRef, Depends(current_counsellor)]
ServicesDep = Annotated[Any, Depends(get_services)]


def _query_names(dependant: Dependant) -> set[str]:
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


def known_query(request: Request, actor: Actor) -> None:
    """Refuse query parameters the route does not know (a typo such as `?mien=true` would
    otherwise silently list everything). Runs after authentication."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    unknown = [name for name in request.query_params if name not in _query_names(route.dependant)]
    if unknown:
        raise RequestValidationError(
            [
                {"type": "extra_forbidden", "loc": ("query", name), "msg": "Paramètre inconnu"}
                for name in unknown
            ]
        )


router = APIRouter(
    prefix="/api/v1",
    tags=["tickets"],
    dependencies=[Depends(known_query)],
    responses={**UNAUTHORIZED, **INVALID},
    generate_unique_id_function=lambda route: route.name,  # operationId = function name
)


@contextmanager
def refused() -> Iterator[None]:
    """Turn a refused ticket operation into its HTTP answer with the French message."""
    try:
        yield
    except TicketError as error:
        raise HTTPException(error.status_code, detail=str(error)) from None


def _ticket_out(view: TicketView, outcomes: dict[str, str]) -> TicketOut:
    return TicketOut(**_ticket_fields(view, outcomes))


def _listed(view: TicketView, actor: CounsellorRef, outcomes: dict[str, str]) -> TicketOut:
    """A line of the list: the request's words only for a ticket `actor` may see (need to
    know, as the dashboard's queue)."""
    fields = _ticket_fields(view, outcomes)
    if not may_see(actor, view.team, view.assignee_id):
        fields["request"] = None
        fields["summary"] = fields["summary"].model_copy(
            update={"excerpt": None, "phone": None, "questions": []}
        )
    return TicketOut(**fields)


def _ticket_fields(view: TicketView, outcomes: dict[str, str]) -> dict[str, Any]:
    return {
        "id": view.id,
        "reference": view.reference,
        "status": view.status,
        "status_label": view.status_label,
        "urgency": view.urgency,
        "crisis_kind": view.crisis_kind,
        "source": view.source,
        "team": view.team,
        "territory": view.territory,
        "minor": view.minor,
        "alert": _signal_out(view.alert) if view.alert is not None else None,
        "assignee": (
            Assignee(id=view.assignee_id, first_name=view.assignee_name or "")
            if view.assignee_id is not None
            else None
        ),
        "request": view.request_excerpt or None,
        "summary": Summary(**{k: v for k, v in view.summary.items() if v is not None}),
        "outcome": view.outcome,
        "outcome_label": outcomes.get(view.outcome) if view.outcome else None,
        "outcome_comment": view.outcome_comment,
        "follow_up_at": view.follow_up_at,
        "created_at": view.created_at,
        "updated_at": view.updated_at,
        "claimed_at": view.claimed_at,
        "first_reply_at": view.first_reply_at,
        "last_youth_at": view.last_youth_at,
        "last_counsellor_at": view.last_counsellor_at,
        "resolved_at": view.resolved_at,
    }


def _signal_out(signal: SignalView) -> SignalOut:
    return SignalOut(
        id=signal.id,
        origin=str(signal.origin),
        tier=signal.tier,
        reason=signal.reason,
        kind=signal.kind,
        detail=signal.detail,
        intent=signal.intent,
        confidence=signal.confidence,
        answer=signal.answer,
        text=signal.text,
        created_at=signal.created_at,
        false_alarm_at=signal.false_alarm_at,
        false_alarm_reason=signal.false_alarm_reason,
    )


def _note_out(note: NoteView) -> NoteOut:
    return NoteOut(id=note.id, author=note.author_name, text=note.text, created_at=note.created_at)


def _message_out(item: TranscriptItem) -> TranscriptMessage:
    return TranscriptMessage(
        id=item.id,
        direction=Direction(item.direction),
        origin=item.origin,
        text=item.text,
        created_at=item.created_at,
        counsellor=item.counsellor_name,
        in_ticket=item.in_ticket,
    )


# Reading -----------------------------------------------------------------------------------
@router.get("/tickets", response_model=TicketPage, summary="Lister les tickets")
def list_tickets(
    actor: Actor,
    services: ServicesDep,
    status_: Annotated[
        list[TicketStatus] | None,
        Query(alias="status", description="statuts voulus (répétable) ; par défaut les ouverts"),
    ] = None,
    team: Annotated[str | None, Query(pattern=TEAM_PATTERN, description="équipe")] = None,
    mine: Annotated[bool, Query(description="seulement mes tickets")] = False,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> TicketPage:
    """La file d'attente : urgences d'abord, puis les plus anciens. Pour un ticket d'une autre
    équipe que tu ne suis pas (sauf responsable), ni `request`, ni extrait, téléphone ou
    questions dans le résumé."""
    filters = QueueFilter(
        team=team,
        statuses=tuple(dict.fromkeys(status_)) if status_ else OPEN_STATUSES,
        assignee_id=actor.id if mine else None,
        limit=limit,
        offset=offset,
    )
    outcomes = services.tickets.outcomes
    items = [_listed(view, actor, outcomes) for view in services.tickets.queue(filters)]
    return TicketPage(items=items, limit=limit, offset=offset)


@router.get(
    "/tickets/{ticket_id}",
    response_model=TicketDetail,
    summary="Lire un ticket",
    responses={**NOT_FOUND},
)
def get_ticket(
    ticket_id: TicketId,
    actor: Actor,
    services: ServicesDep,
    include_transcript: Annotated[
        bool, Query(description="joindre toute la conversation gardée")
    ] = False,
) -> TicketDetail:
    """Un ticket : résumé du triage, statut, notes internes et, sur demande, la conversation."""
    with refused():
        view = services.tickets.get(ticket_id)
        notes = [_note_out(note) for note in services.tickets.notes(ticket_id)]
        alarms = services.desk.alarms
        signals = [_signal_out(s) for s in alarms.signals(ticket_id)] if alarms else []
        transcript = (
            [_message_out(item) for item in services.tickets.transcript(ticket_id)]
            if include_transcript
            else None
        )
    return TicketDetail(
        **_ticket_fields(view, services.tickets.outcomes),
        notes=notes,
        signals=signals,
        transcript=transcript,
    )


@router.get("/outcomes", response_model=list[Outcome], summary="Issues de clôture")
def list_outcomes(actor: Actor, services: ServicesDep) -> list[Outcome]:
    """Les issues possibles pour clôturer un ticket (code et libellé)."""
    positive = set(services.settings.handoff.positive_outcomes)
    return [
        Outcome(code=code, label=label, positive=code in positive)
        for code, label in services.tickets.outcomes.items()
    ]


# Counsellor actions (through the desk) -----------------------------------------------------
@router.post(
    "/tickets/{ticket_id}/claim",
    summary="Prendre un ticket",
    response_model=TicketOut,
    responses={**NOT_FOUND, **CONFLICT},
)
async def claim(ticket_id: TicketId, actor: Actor, services: ServicesDep) -> TicketOut:
    """Prendre un nouveau ticket. Si un·e collègue l'a pris avant : 409."""
    with refused():
        view = await services.desk.claim(ticket_id, actor, via="api")
    return _ticket_out(view, services.tickets.outcomes)


@router.post(
    "/tickets/{ticket_id}/release",
    summary="Libérer un ticket",
    response_model=TicketOut,
    responses={**NOT_FOUND, **CONFLICT, **FORBIDDEN},
)
async def release(ticket_id: TicketId, actor: Actor, services: ServicesDep) -> TicketOut:
    """Remettre le ticket dans la file (le sien ; un·e responsable peut libérer tout ticket)."""
    with refused():
        view = await services.desk.release(ticket_id, actor, via="api")
    return _ticket_out(view, services.tickets.outcomes)


@router.post(
    "/tickets/{ticket_id}/reply",
    summary="Répondre au jeune",
    response_model=ReplyOut,
    status_code=status.HTTP_201_CREATED,
    responses={**UNREADABLE, **NOT_FOUND, **CONFLICT, **FORBIDDEN},
)
async def reply(
    ticket_id: TicketId, body: ReplyIn, actor: Actor, services: ServicesDep
) -> ReplyOut:
    """Écrire au jeune : le bot lui transmet le message, signé de ton prénom."""
    with refused():
        delivery = await services.desk.reply(ticket_id, actor, body.text, via="api")
    return ReplyOut(
        message_id=delivery.message_id,
        ticket=_ticket_out(delivery.ticket, services.tickets.outcomes),
    )


@router.post(
    "/tickets/{ticket_id}/notes",
    summary="Ajouter une note",
    response_model=NoteOut,
    status_code=status.HTTP_201_CREATED,
    responses={**UNREADABLE, **NOT_FOUND},
)
async def add_note(
    ticket_id: TicketId, body: NoteIn, actor: Actor, services: ServicesDep
) -> NoteOut:
    """Ajouter une note interne (jamais envoyée au jeune)."""
    with refused():
        note = await services.desk.add_note(ticket_id, actor, body.text, via="api")
    return _note_out(note)


@router.post(
    "/tickets/{ticket_id}/resolve",
    summary="Clôturer un ticket",
    response_model=TicketOut,
    responses={**UNREADABLE, **NOT_FOUND, **CONFLICT, **FORBIDDEN},
)
async def resolve(
    ticket_id: TicketId, body: ResolveIn, actor: Actor, services: ServicesDep
) -> TicketOut:
    """Clôturer avec une issue (voir /api/v1/outcomes) ; le bot reprend la conversation."""
    with refused():
        view = await services.desk.resolve(ticket_id, actor, body.outcome, body.comment, via="api")
    return _ticket_out(view, services.tickets.outcomes)


@router.post(
    "/tickets/{ticket_id}/transfer",
    summary="Transférer un ticket",
    response_model=TicketOut,
    responses={**UNREADABLE, **NOT_FOUND, **CONFLICT, **FORBIDDEN},
)
async def transfer(
    ticket_id: TicketId, body: TransferIn, actor: Actor, services: ServicesDep
) -> TicketOut:
    """Transférer à une équipe (retour dans sa file) ou à un·e collègue (qui le suit alors)."""
    with refused():
        colleague = None
        if body.to_counsellor_email is not None:
            colleague = await asyncio.to_thread(
                services.accounts.by_email, body.to_counsellor_email
            )
            if colleague is None:
                raise TicketInvalid(f"Aucun compte actif pour {body.to_counsellor_email}.")
        view = await services.desk.transfer(
            ticket_id, actor, to_counsellor=colleague, to_team=body.to_team, via="api"
        )
    return _ticket_out(view, services.tickets.outcomes)


@router.post(
    "/tickets/{ticket_id}/follow-up",
    summary="Programmer une relance",
    response_model=TicketOut,
    responses={**UNREADABLE, **FORBIDDEN, **NOT_FOUND, **CONFLICT},
)
async def follow_up(
    ticket_id: TicketId, body: FollowUpIn, actor: Actor, services: ServicesDep
) -> TicketOut:
    """Programmer (ou effacer avec null) une date de relance."""
    with refused():
        view = await services.desk.set_follow_up(
            ticket_id, actor, body.at, via="api", message=body.message
        )
    return _ticket_out(view, services.tickets.outcomes)


@router.post(
    "/tickets/{ticket_id}/false-alarm",
    summary="Fausse alerte",
    response_model=TicketOut,
    responses={**UNREADABLE, **NOT_FOUND, **CONFLICT, **FORBIDDEN},
)
async def false_alarm(
    ticket_id: TicketId, body: FalseAlarmIn, actor: Actor, services: ServicesDep
) -> TicketOut:
    """Marquer un ticket urgent comme fausse alerte, avec la raison : il repasse en priorité
    normale et le message qui a déclenché l'alerte part dans la boîte des messages incompris
    des responsables. Le ticket doit être ouvert et urgent (sinon 409) ; il faut le suivre,
    ou être responsable (sinon 403, ou 409 s'il n'est pris par personne)."""
    with refused():
        view = await services.desk.false_alarm(ticket_id, actor, body.reason, via="api")
    return _ticket_out(view, services.tickets.outcomes)
