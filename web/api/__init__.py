"""REST API for integrations (token authentication), documented at /openapi.json.

Tokens come from `maraude user token EMAIL` and act as their counsellor (common.py): every
write goes through the hand-off desk with via="api" (writing.py), so the young person, the
dashboard and the Telegram bridge see what an integration does exactly as if it were done in
the dashboard; reading.py lists and reads tickets; appointments.py proposes, cancels and
marks appointments (outside opening hours: 409 with `code: outside_opening_hours`). Refused
operations answer `{"detail": "<message en français>"}` with the status of their class
(web/errors.py: 404, 409, 403, 422); invalid requests (including unknown query parameters)
get FastAPI's 422 with the fields at fault. Every status a route can give is declared in its
`responses` (common.py), and checked by tests/web/test_api_schemathesis.py.
"""

from fastapi import APIRouter, Depends

from web.api import appointments, reading, writing
from web.api.common import INVALID, UNAUTHORIZED, known_query

router = APIRouter(
    prefix="/api/v1",
    tags=["tickets"],
    dependencies=[Depends(known_query)],
    responses={**UNAUTHORIZED, **INVALID},
    generate_unique_id_function=lambda route: route.name,  # operationId = function name
)
router.include_router(reading.router)
router.include_router(writing.router)
router.include_router(appointments.router)

__all__ = ["router"]
