"""/metrics: Prometheus' text format, for whoever runs the service (core/metrics.py).

Internal, and safe by default: without `server.metrics_token` it answers 404 to everyone (as
an unknown address); with it, only a request carrying `Authorization: Bearer <token>` gets the
figures, others 401 (wrong tokens count against the client's address, as the API's do: 429
past the limit). Keep it off the public proxy as well (docs/deployment.md).
"""

from __future__ import annotations

import asyncio
import hmac
import inspect
import logging
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import Response

from core.metrics import (
    CONTENT_TYPE,
    METRICS,
    Family,
    Gauge,
    defaults,
    engine_label,
    exposition,
    stored_figures,
)
from core.ratelimit import API_BAD_TOKEN
from web.auth import client_ip
from web.deps import ServicesDep

log = logging.getLogger(__name__)
router = APIRouter()

TICKETS_WAITING = Family(
    "maraude_tickets_waiting", "gauge", "Tickets waiting for a counsellor (never claimed)."
)
TICKETS_LATE = Family(
    "maraude_tickets_past_sla", "gauge", "Tickets waiting past their SLA (being breached now)."
)
ENGINE_UP = Family("maraude_engine_up", "gauge", "1 if the engine answers, 0 if marked down.")
ENGINES_HEALTHY = Family("maraude_engines_healthy", "gauge", "Engines answering now.")
SHARED_UP = Family(
    "maraude_metrics_shared_up",
    "gauge",
    "1 if the workers' shared counters (Redis) answered this scrape; 0: they are left out.",
)


def _authorised(request: Request, services: Any) -> None:
    """404 while /metrics is off; 401 without the right bearer token."""
    token = services.settings.server.metrics_token
    if token is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND)
    limits, ip = services.rate_limits, client_ip(request)
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and given.strip():
        if not limits.allowed(API_BAD_TOKEN, ip):
            wait = limits.retry_after(API_BAD_TOKEN, ip)
            raise HTTPException(
                status.HTTP_429_TOO_MANY_REQUESTS, headers={"Retry-After": str(wait)}
            )
        expected = token.get_secret_value().encode()
        if hmac.compare_digest(given.strip().encode(), expected):
            return
        limits.hit(API_BAD_TOKEN, ip)
    raise HTTPException(status.HTTP_401_UNAUTHORIZED, headers={"WWW-Authenticate": "Bearer"})


async def engine_figures(engine: Any, urls: list[str]) -> list[Gauge]:
    """Per engine up or down: the pool's health (bot/engine_pool.py), or a /status check."""
    up = Gauge(ENGINE_UP)
    health = getattr(engine, "health", None)
    if callable(health):
        states = health()
        if inspect.isawaitable(states):
            states = await states
        for state in states:
            up.set(1 if state.get("healthy") else 0, engine=engine_label(str(state.get("url"))))
    else:
        ready = await engine.is_ready()
        for url in urls:
            up.set(1 if ready else 0, engine=engine_label(url))
    return [up, Gauge(ENGINES_HEALTHY).set(sum(up.samples.values()))]


def queue_figures(services: Any) -> list[Gauge]:
    """Tickets waiting and past their SLA, by urgency (the SLA service: simulations are left
    out as in the queue)."""
    waiting, late = Gauge(TICKETS_WAITING), Gauge(TICKETS_LATE)
    for urgency in ("crisis", "normal"):
        waiting.set(0, urgency=urgency)
        late.set(0, urgency=urgency)
    for ticket, sla in services.sla.waiting():
        urgency = str(ticket.urgency)
        waiting.set(waiting.samples[(("urgency", urgency),)] + 1, urgency=urgency)
        if sla.breached:
            late.set(late.samples[(("urgency", urgency),)] + 1, urgency=urgency)
    return [waiting, late]


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request, services: ServicesDep) -> Response:
    _authorised(request, services)
    urls = services.settings.engine_urls
    counted = await METRICS.counted()
    shared = Gauge(SHARED_UP).set(0 if counted is None else 1)
    figures = {**defaults(urls), **(counted or {})}
    gauges = await asyncio.to_thread(queue_figures, services)
    gauges += await asyncio.to_thread(stored_figures, services.db, services.clock.now())
    gauges += await engine_figures(services.engine, urls)
    gauges.append(shared)
    return Response(
        exposition(figures, gauges),
        media_type=CONTENT_TYPE,
        headers={"Cache-Control": "no-store"},
    )
