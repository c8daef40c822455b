"""Wording experiments: record which variant of a response each young person was shown.

An exchange observer of the conversation pipeline (bot/pipeline.py): every bot reply that is a
variant of an experiment (studio/experiments/catalog.py) becomes a `response_exposure` row.
Nudges sent by the sweeper do not go through the pipeline: `ChannelDelivery` calls `record`
itself. Every showing is a row (someone shown the offer twice has two rows); analytics decide
how to count.
Exposures carry no text, only the response name and variant id, and go with the person on
erasure (ON DELETE CASCADE).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import select

from core.clock import Clock, SystemClock
from core.db import Database
from core.models import ResponseExposure, YoungPerson
from studio.experiments.catalog import Variant, VariantCatalog

if TYPE_CHECKING:
    from bot.pipeline import Exchange


class CatalogSource(Protocol):
    """A VariantCatalog, or a DomainVariants that reloads it when the domain changes."""

    def current(self) -> VariantCatalog: ...


class ExperimentService:
    def __init__(self, db: Database, catalog: CatalogSource, clock: Clock | None = None) -> None:
        self._db = db
        self._catalog = catalog
        self._clock = clock or SystemClock()

    def variants_in(self, texts: Iterable[str]) -> list[Variant]:
        """The variants among these bot messages (in order; others are left out)."""
        catalog = self._catalog.current()
        if not catalog:
            return []
        return [variant for text in texts if (variant := catalog.match(text)) is not None]

    def record(self, person_id: int, texts: Iterable[str]) -> list[Variant]:
        """Record the variants among the messages a person was shown; returns them."""
        variants = self.variants_in(texts)
        if variants:
            self._insert(person_id, variants)
        return variants

    def _insert(self, person_id: int, variants: list[Variant]) -> None:
        now = self._clock.now()
        with self._db.transaction() as session:
            if session.get(YoungPerson, person_id) is None:
                return  # erased meanwhile: nothing to attach the exposure to
            session.add_all(
                ResponseExposure(
                    person_id=person_id,
                    response=variant.response,
                    variant=variant.variant,
                    created_at=now,
                )
                for variant in variants
            )

    async def after_exchange(self, exchange: Exchange) -> None:
        """ExchangeObserver: matching runs here (fast), the database only if a variant was shown."""
        variants = self.variants_in(reply.text for reply in exchange.replies)
        if variants:
            await asyncio.to_thread(self._insert, exchange.person.id, variants)

    def exposures(self, person_id: int) -> list[tuple[str, str]]:
        """(response, variant) a person was shown, oldest first."""
        with self._db.transaction() as session:
            rows = session.execute(
                select(ResponseExposure.response, ResponseExposure.variant)
                .where(ResponseExposure.person_id == person_id)
                .order_by(ResponseExposure.created_at, ResponseExposure.id)
            )
            return [(response, variant) for response, variant in rows]
