"""What every route of the REST API shares: the bearer token acting as its counsellor
(`Actor`), the refusal of unknown query parameters, the ticket id in paths, and the error
answers each route documents (web/errors.py gives them: `{"detail": "<message>"}`)."""

from __future__ import annotations

from typing import Annotated, Any, NoReturn

from fastapi import Depends, HTTPException, Path, Request, status
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from core.ratelimit import API_BAD_TOKEN, API_TOKEN
from core.vocabulary import MAX_TICKET_ID
from handoff.accounts import CounsellorRef
from web.api.schemas import Problem, ValidationProblem
from web.auth import client_ip, wait_text
from web.deps import ServicesDep

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="apiToken",
    description=(
        "Jeton d'API créé par `maraude user token EMAIL --name USAGE` (préfixe `mrd_`), "
        "valable `server.api_token_days` jours par défaut."
    ),
)


# Responses each route may give, besides its success -----------------------------------------
Responses = dict[int | str, dict[str, Any]]


def _problem(description: str) -> dict[str, Any]:
    return {"model": Problem, "description": description}


UNAUTHORIZED: Responses = {
    status.HTTP_401_UNAUTHORIZED: _problem(
        "Jeton manquant, invalide, expiré, révoqué ou compte désactivé"
    ),
    status.HTTP_429_TOO_MANY_REQUESTS: _problem(
        "Trop de requêtes avec ce jeton, ou trop de jetons invalides depuis cette adresse "
        "(en-tête Retry-After : secondes à attendre)"
    ),
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


# Authentication and unknown parameters ---------------------------------------------------------
def current_counsellor(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    services: ServicesDep,
) -> CounsellorRef:
    """The counsellor the bearer token acts for (sync: runs in the thread pool).

    Rate limits (core/ratelimit.py): an IP that sent too many wrong tokens waits
    (`API_BAD_TOKEN`, checked before the token is even looked up), and each valid token has
    its own pace (`API_TOKEN`); both answer 429 with Retry-After."""
    limits, ip = services.rate_limits, client_ip(request)
    actor = None
    if credentials is not None:  # no token at all is no guess: 401, never counted
        if not limits.allowed(API_BAD_TOKEN, ip):
            _too_many(limits.retry_after(API_BAD_TOKEN, ip), "Trop de jetons invalides")
        actor = services.accounts.authenticate_token(credentials.credentials)
        if actor is None:
            limits.hit(API_BAD_TOKEN, ip)
    if actor is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="Jeton d'API manquant, invalide, expiré ou révoqué.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    assert credentials is not None
    if not limits.hit(API_TOKEN, credentials.credentials):
        _too_many(limits.retry_after(API_TOKEN, credentials.credentials), "Trop de requêtes")
    return actor


def _too_many(wait: int, what: str) -> NoReturn:
    raise HTTPException(
        status.HTTP_429_TOO_MANY_REQUESTS,
        detail=f"{what} : réessaie dans {wait_text(wait)}.",
        headers={"Retry-After": str(max(wait, 1))},
    )


Actor = Annotated[CounsellorRef, Depends(current_counsellor)]


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
