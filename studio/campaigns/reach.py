"""How many young people each campaign reached, for the campaigns' pages and `maraude
campaign list`: the people it brought first (first touch: `young_person.campaign_id`) and
every person it reached (`campaign_touch`, one per person). Simulations never count. Shown
through studio/analytics/masking.py: 1-4 people read "< 5", a cost per person over fewer than
5 people is not shown.

The full per-source funnel (consent, triage, hand-off, outcomes) is the results page's.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from core.db import Database
from core.models import CampaignTouch, YoungPerson
from core.simulations import real_person
from studio.analytics.masking import NOT_SHOWN, enough, masked
from studio.campaigns.entry import euros


@dataclass(frozen=True)
class Reach:
    people: int = 0  # brought first by the campaign
    touches: int = 0  # reached by it, first or not

    @property
    def people_shown(self) -> str:
        return masked(self.people)

    @property
    def touches_shown(self) -> str:
        return masked(self.touches)

    def cost_per_person(self, cost_cents: int | None) -> str:
        """The campaign's cost divided by the people it brought first ("" without a cost,
        "—" over fewer than 5 people)."""
        if cost_cents is None:
            return ""
        if not enough(self.people):
            return NOT_SHOWN
        return euros(round(cost_cents / self.people))


def campaign_reach(db: Database) -> dict[int, Reach]:
    """Reach per campaign id (campaigns that reached nobody are absent: `Reach()`)."""
    first = (
        select(YoungPerson.campaign_id, func.count(YoungPerson.id))
        .where(YoungPerson.campaign_id.is_not(None), real_person(YoungPerson.id))
        .group_by(YoungPerson.campaign_id)
    )
    touched = (
        select(CampaignTouch.campaign_id, func.count(CampaignTouch.id))
        .where(real_person(CampaignTouch.person_id))
        .group_by(CampaignTouch.campaign_id)
    )
    with db.transaction() as session:
        people = {cid: int(n) for cid, n in session.execute(first) if cid is not None}
        touches = {cid: int(n) for cid, n in session.execute(touched)}
    return {cid: Reach(people.get(cid, 0), touches.get(cid, 0)) for cid in people | touches}
