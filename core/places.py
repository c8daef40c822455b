"""The structure's sites (`structure.sites` in maraude.yml), by id, with their map links.

Shared by the counsellors' side (appointments in person), the bot (the nearest site to a young
person) and the reminders; nothing here touches the network."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote_plus

from core.settings_places import Site


def map_link(site: Site) -> str:
    """The site's own map link, else an OpenStreetMap search for its address."""
    if site.map_url:
        return site.map_url
    query = f"{site.address}, {site.postcode} {site.commune}"
    return f"https://www.openstreetmap.org/search?query={quote_plus(query)}"


def postal_address(site: Site) -> str:
    return f"{site.address}, {site.postcode} {site.commune}"


class SiteDirectory:
    """The sites, in the order of maraude.yml."""

    def __init__(self, sites: Sequence[Site]) -> None:
        self._sites = list(sites)
        self._by_id = {site.id: site for site in self._sites}

    def all(self) -> list[Site]:
        return list(self._sites)

    def get(self, site_id: str | None) -> Site | None:
        return self._by_id.get(site_id) if site_id else None

    def for_team(self, team: str | None) -> list[Site]:
        """The sites a team may propose: its own first, then those of no team, then others."""
        own = [s for s in self._sites if team and s.team == team]
        shared = [s for s in self._sites if not s.team]
        others = [s for s in self._sites if s not in own and s not in shared]
        return own + shared + others
