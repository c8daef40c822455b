"""Wording experiments: for each (response, variant), the people whose first exposure falls in
the period and those of them who then asked for a hand-off; each variant compared with the
response's reference variant (the first by id) with a two-proportion z-test."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, exists, func, select
from sqlalchemy.orm import Session

from core.models import HandoffRequest, ResponseExposure
from studio.analytics.anonymous import VARIANT, VARIANT_CONVERTED, archived_totals
from studio.analytics.filters import Filters, people_condition
from studio.analytics.stats import ZTest, share, two_proportion_z

SIGNIFICANCE = 0.05  # two-sided p-value under which a variant difference is reported
MIN_PER_ARM = 30  # fewer people exposed: "too few to conclude", whatever the p-value


@dataclass(frozen=True)
class VariantRow:
    response: str
    variant: str
    exposed: int
    converted: int  # asked for a hand-off after the first exposure
    reference: bool  # the variant the others are compared with
    test: ZTest | None = None  # against the reference variant

    @property
    def rate(self) -> float | None:
        return share(self.converted, self.exposed)

    @property
    def verdict(self) -> str:
        """A manager's reading of the comparison, in French."""
        if self.reference:
            return "référence"
        if self.test is None:
            return "pas de comparaison possible"
        if self.exposed < MIN_PER_ARM:
            return "trop peu de personnes pour conclure"
        if self.test.p_value < SIGNIFICANCE:
            return "différence significative"
        return "différence non significative"


def compare_variants(session: Session, filters: Filters, tz: ZoneInfo) -> list[VariantRow]:
    """Each variant of each response: people first exposed in the period, and those of them
    who asked for a hand-off after, compared with the response's reference variant."""
    first = (
        select(
            ResponseExposure.person_id,
            ResponseExposure.response,
            ResponseExposure.variant,
            func.min(ResponseExposure.created_at).label("first_at"),
        )
        .where(*people_condition(ResponseExposure.person_id, filters))
        .group_by(ResponseExposure.person_id, ResponseExposure.response, ResponseExposure.variant)
        .subquery()
    )
    converted = exists().where(
        and_(
            HandoffRequest.person_id == first.c.person_id,
            HandoffRequest.created_at >= first.c.first_at,
        )
    )
    rows = session.execute(
        select(
            first.c.response,
            first.c.variant,
            func.count(),
            func.coalesce(func.sum(case((converted, 1), else_=0)), 0),
        )
        .where(first.c.first_at >= filters.since(tz), first.c.first_at < filters.until(tz))
        .group_by(first.c.response, first.c.variant)
        .order_by(first.c.response, first.c.variant)
    ).all()
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for response, variant, exposed, conv in rows:
        counts[(response, variant)][0] += int(exposed)
        counts[(response, variant)][1] += int(conv)
    # The erased people's first exposures (archive.py): "<response>:<variant>".
    for column, prefix in ((0, VARIANT), (1, VARIANT_CONVERTED)):
        for key, n in archived_totals(session, prefix, filters).items():
            response, _, variant = key.partition(":")
            counts[(response, variant)][column] += n
    by_response: dict[str, list[tuple[str, int, int]]] = defaultdict(list)
    for (response, variant), (exposed, conv) in sorted(counts.items()):
        by_response[response].append((variant, exposed, conv))
    result = []
    for response, variants in by_response.items():
        _, ref_n, ref_x = variants[0]
        for index, (variant, exposed, conv) in enumerate(variants):
            test = None if index == 0 else two_proportion_z(ref_x, ref_n, conv, exposed)
            result.append(VariantRow(response, variant, exposed, conv, index == 0, test))
    return result
