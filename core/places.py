"""The structure's sites (`structure.sites` in maraude.yml), by id, with their map links.

Shared by the counsellors' side (appointments in person), the bot (the nearest site to a young
person) and the reminders; nothing here touches the network."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote_plus

from core.communes import Gazetteer, Location, distance_km, shipped
from core.settings_places import Site


def map_link(site: Site) -> str:
    """The site's own map link, else an OpenStreetMap search for its address."""
    if site.map_url:
        return site.map_url
    query = f"{site.address}, {site.postcode} {site.commune}"
    return f"https://www.openstreetmap.org/search?query={quote_plus(query)}"


def postal_address(site: Site) -> str:
    return f"{site.address}, {site.postcode} {site.commune}"


@dataclass(frozen=True)
class NearestSite:
    """The site nearest to a place, and how far it is (as the crow flies, in km)."""

    site: Site
    distance_km: float
    place: Location  # where the young person was read to be

    @property
    def precise(self) -> bool:
        """Measured from their commune or postcode, not only from their département."""
        return self.place.kind != "departement"


class SiteDirectory:
    """The sites, in the order of maraude.yml; `gazetteer`: the communes they are located by
    (default: core/data/communes.csv)."""

    def __init__(self, sites: Sequence[Site], gazetteer: Gazetteer | None = None) -> None:
        self._sites = list(sites)
        self._by_id = {site.id: site for site in self._sites}
        self._gazetteer = gazetteer

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

    @property
    def gazetteer(self) -> Gazetteer:
        if self._gazetteer is None:
            self._gazetteer = shipped()
        return self._gazetteer

    def point_of(self, site: Site) -> tuple[float, float] | None:
        """The site's own coordinates, else its commune's; None when neither is known."""
        if site.latitude is not None and site.longitude is not None:
            return (site.latitude, site.longitude)
        commune = self.gazetteer.commune(site.commune)
        return commune.point if commune is not None else None

    def unlocated(self) -> list[Site]:
        """Sites that cannot be placed: no coordinates and a commune the data does not know."""
        return [site for site in self._sites if self.point_of(site) is None]

    def nearest(self, place: str | None) -> NearestSite | None:
        """The site nearest to a commune, a postcode or (fallback) a département, as the young
        person wrote it; None when the place is unknown or no site can be placed. Given only a
        département, its own sites come first, measured from its seat (its préfecture)."""
        location = self.gazetteer.locate(place)
        if location is None:
            return None
        placed = [(site, point) for site in self._sites if (point := self.point_of(site))]
        if location.kind == "departement":
            own = [(s, p) for s, p in placed if _departement(s) == location.departement]
            placed = own or placed
        if not placed:
            return None
        site, point = min(placed, key=lambda item: distance_km(location.point, item[1]))
        return NearestSite(site, distance_km(location.point, point), location)


def _departement(site: Site) -> str:
    return site.postcode[:2]
