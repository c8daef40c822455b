"""The REST API's schemas (French descriptions, shown in /openapi.json): what it answers,
and the bodies it accepts (validated before any route runs)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, Field, model_validator

from core.models import Channel, Direction, Origin, TicketStatus, Urgency
from handoff.alarms import MAX_REASON
from handoff.tickets import MAX_NOTE, MAX_TEXT

TEAM_PATTERN = r"^[a-z0-9][a-z0-9_-]{1,31}$"  # as `teams[].id` in maraude.yml


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
    minor: bool = Field(
        description="mineur·e : le jeune a dit avoir moins de 18 ans (son âge, ou sa tranche "
        "d'âge demandée avant le consentement)"
    )
    channel: Channel = Field(
        description="où le jeune écrit : telegram, web (le chat du site), simulator (le "
        "simulateur), terminal ; les réponses lui arrivent là",
        examples=["web"],
    )
    channel_label: str = Field(examples=["Chat web"])
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
