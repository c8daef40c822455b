"""Which team (and territory) a hand-off goes to, from the young person's postcode or commune."""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.settings import Area, Settings
from core.text import fold

POSTCODE_RE = re.compile(r"\b(\d{5})\b")
DEPARTEMENT_RE = re.compile(r"^(?:le |dans le )?(\d{2,3}|2[ab])$")


def departement_of(postcode: str) -> str:
    """The département of a French postcode (97xxx overseas, 20xxx Corsica)."""
    if postcode.startswith("97") or postcode.startswith("98"):
        return postcode[:3]
    if postcode.startswith("20"):
        return "2A" if postcode < "20200" else "2B"
    return postcode[:2]


@dataclass(frozen=True)
class Place:
    """What we understood of an answer to "tu habites où ?"."""

    postcode: str | None = None
    departement: str | None = None
    commune: str | None = None  # the whole answer, folded ("j habite a lievin")

    @classmethod
    def parse(cls, location: str | None) -> Place:
        if not location:
            return cls()
        text = location.strip()
        if match := POSTCODE_RE.search(text):
            code = match.group(1)
            return cls(postcode=code, departement=departement_of(code))
        folded = fold(text)
        if match := DEPARTEMENT_RE.match(folded):
            return cls(departement=match.group(1).upper())
        return cls(commune=folded or None)


@dataclass(frozen=True)
class _Coverage:
    postcodes: frozenset[str]
    departements: frozenset[str]
    communes: frozenset[str]

    @classmethod
    def of(cls, areas: list[Area]) -> _Coverage:
        return cls(
            frozenset(code for a in areas for code in a.postcodes),
            frozenset(code.upper() for a in areas for code in a.departements),
            frozenset(fold(name) for a in areas for name in a.communes),
        )

    def _names_commune(self, folded: str) -> bool:
        """The answer is, or contains as whole words, one of the communes ("vers lievin")."""
        if folded in self.communes:
            return True
        padded = f" {folded} "
        return any(f" {name} " in padded for name in self.communes)

    def score(self, place: Place) -> int:
        """How precisely this coverage matches: 3 postcode, 2 commune, 1 département, 0 no."""
        if place.postcode and place.postcode in self.postcodes:
            return 3
        if place.commune and self._names_commune(place.commune):
            return 2
        if place.departement and place.departement in self.departements:
            return 1
        return 0


@dataclass(frozen=True)
class Route:
    team: str
    territory: str | None


class Router:
    def __init__(self, settings: Settings) -> None:
        territories = {t.name: t for t in settings.territories}
        self._default = settings.handoff.default_team
        self._territories = [(t.name, _Coverage.of([t])) for t in settings.territories]
        self._teams = [
            (
                team.id,
                _Coverage.of([team, *(territories[name] for name in team.territories)]),
            )
            for team in settings.teams
        ]

    def route(self, location: str | None) -> Route:
        """The most precise match wins (postcode, then commune, then département)."""
        place = Place.parse(location)
        return Route(
            self._best(self._teams, place) or self._default, self._best(self._territories, place)
        )

    @staticmethod
    def _best(candidates: list[tuple[str, _Coverage]], place: Place) -> str | None:
        best, best_score = None, 0
        for key, coverage in candidates:
            score = coverage.score(place)
            if score > best_score:
                best, best_score = key, score
        return best
