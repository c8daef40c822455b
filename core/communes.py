"""The communes shipped with the project (core/data/communes.csv): where a town, a postcode or a
département is, read from how young people write them ("lievin", "LIÉVIN", "st omer",
"henin beaumon", "59000", "le 62"). No network: the data is a file of the repository.
"""

from __future__ import annotations

import csv
import difflib
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from core.text import fold

DATA_DIR = Path(__file__).resolve().parent / "data"
COMMUNES_FILE = DATA_DIR / "communes.csv"
DEPARTEMENTS_FILE = DATA_DIR / "departements.csv"
EARTH_RADIUS_KM = 6371.0
POSTCODE_RE = re.compile(r"(?<!\d)(\d{5})(?!\d)")
DEPARTEMENT_RE = re.compile(
    r"^(?:(?:le|dans le|departement|dep|dept|dpt|du)\s+)?(\d{2}|2a|2b|97[1-6])$"
)
# How people abbreviate inside a name ("st omer", "lys lez lannoy"): the spelling compared.
WORD_FORMS = {"st": "saint", "ste": "sainte", "lez": "les"}
# Short names people use for a commune ("henin", "vda"): spelling -> the commune's name.
ALIASES = {
    "henin": "Hénin-Beaumont",
    "vda": "Villeneuve-d'Ascq",
    "villeneuve": "Villeneuve-d'Ascq",
    "marcq": "Marcq-en-Barœul",
    "bully": "Bully-les-Mines",
    "noeux": "Nœux-les-Mines",
    "boulogne": "Boulogne-sur-Mer",
    "le touquet": "Le Touquet-Paris-Plage",
    "pont de roide": "Pont-de-Roide-Vermondans",
    "berck sur mer": "Berck",
    "montbel": "Montbéliard",
}
# Names that are also everyday words or first names: found in a sentence only after a place
# word ("la ml de croix", "a avion"), never in "jprends l'avion".
COMMON_WORDS = frozenset(
    {"avion", "croix", "hem", "bart", "albert", "saone", "lure", "saint nicolas"}
)
PLACE_WORDS = frozenset({"a", "de", "d", "sur", "vers", "pres", "cote", "dans", "secteur"})


def place_key(text: str) -> str:
    """The spelling places are compared in: folded (core.text.fold), abbreviations written out."""
    words = fold(text.replace("œ", "oe").replace("Œ", "Oe")).split()
    return " ".join(WORD_FORMS.get(word, word) for word in words)


def _compact(key: str) -> str:
    return key.replace(" ", "")


def departement_of(postcode: str) -> str:
    """The département of a French postcode (97x overseas, 2A/2B Corsica)."""
    if postcode.startswith(("97", "98")):
        return postcode[:3]
    if postcode.startswith("20"):
        return "2A" if postcode < "20200" else "2B"
    return postcode[:2]


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle (haversine) distance between two (latitude, longitude) points."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))


@dataclass(frozen=True)
class Commune:
    name: str
    postcodes: tuple[str, ...]
    departement: str
    latitude: float
    longitude: float

    @property
    def point(self) -> tuple[float, float]:
        return (self.latitude, self.longitude)


@dataclass(frozen=True)
class Location:
    """Where a place was read to be: `kind` is commune, postcode or departement (the latter a
    fallback: the département's seat stands for it)."""

    kind: str
    label: str  # "Liévin", "59000", "62"
    departement: str
    point: tuple[float, float]


def _rows(path: Path) -> Iterable[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        lines = [line for line in handle if line.strip() and not line.startswith("#")]
    reader = csv.reader(lines)
    next(reader, None)  # the header
    yield from reader


class Gazetteer:
    """The communes, by every spelling they are looked up by."""

    def __init__(self, communes: Iterable[Commune], seats: dict[str, str] | None = None) -> None:
        self.communes = list(communes)
        self._by_key: dict[str, Commune] = {}
        for commune in self.communes:
            key = place_key(commune.name)
            self._by_key.setdefault(key, commune)
            self._by_key.setdefault(_compact(key), commune)
        for alias, name in ALIASES.items():
            if (target := self._by_key.get(place_key(name))) is not None:
                self._by_key.setdefault(alias, target)
        self._by_postcode: dict[str, list[Commune]] = {}
        for commune in self.communes:
            for code in commune.postcodes:
                self._by_postcode.setdefault(code, []).append(commune)
        self._seats = {
            code: seat
            for code, name in (seats or {}).items()
            if (seat := self._by_key.get(place_key(name))) is not None
        }
        # Names looked for in a sentence, longest first ("villeneuve d ascq" before "ascq").
        self._named = sorted(
            {place_key(c.name) for c in self.communes} | set(ALIASES), key=len, reverse=True
        )

    @classmethod
    def load(
        cls, communes: Path = COMMUNES_FILE, departements: Path = DEPARTEMENTS_FILE
    ) -> Gazetteer:
        rows = [
            Commune(name, tuple(codes.split()), dep, float(lat), float(lon))
            for name, codes, dep, lat, lon, *_ in _rows(communes)
        ]
        seats = {code: seat for code, _name, seat, *_ in _rows(departements)}
        return cls(rows, seats)

    def commune(self, name: str) -> Commune | None:
        """The commune of this name as people write it; a typo within reason is forgiven
        ("lieven", "tourcoin"); None when no commune is close enough."""
        key = place_key(name)
        if len(_compact(key)) < 3:
            return None
        found = self._by_key.get(key) or self._by_key.get(_compact(key))
        if found is not None or len(_compact(key)) < 4:
            return found
        cutoff = 0.8 if len(_compact(key)) >= 6 else 0.86
        close = difflib.get_close_matches(_compact(key), list(self._by_key), n=1, cutoff=cutoff)
        return self._by_key[close[0]] if close else None

    def by_postcode(self, code: str) -> list[Commune]:
        return list(self._by_postcode.get(code, []))

    def seat(self, departement: str) -> Commune | None:
        """The town that stands for a département (its préfecture), if the data has it."""
        return self._seats.get(departement.upper())

    def locate(self, place: str | None) -> Location | None:
        """A commune name, a 5-digit postcode (anywhere in the text: "Lens (62300)") or a
        département ("62", "le 59"); None when the place is unknown."""
        if not place or not place.strip():
            return None
        if match := POSTCODE_RE.search(place):
            return self._postcode_location(match.group(1))
        key = place_key(place)
        if match := DEPARTEMENT_RE.match(key):
            return self._departement_location(match.group(1).upper())
        commune = self.commune(place)
        if commune is None:
            return None
        return Location("commune", commune.name, commune.departement, commune.point)

    def _postcode_location(self, code: str) -> Location | None:
        communes = self.by_postcode(code)
        if not communes:
            return self._departement_location(departement_of(code))
        lat = sum(c.latitude for c in communes) / len(communes)
        lon = sum(c.longitude for c in communes) / len(communes)
        return Location("postcode", code, communes[0].departement, (lat, lon))

    def _departement_location(self, departement: str) -> Location | None:
        seat = self.seat(departement)
        if seat is None:
            return None
        return Location("departement", departement, departement, seat.point)

    def place_in(self, text: str) -> str | None:
        """A postcode or a commune of the data named in a sentence ("elle est ou la ml de
        lens", "ya une ml vers 59100 ?"), else None. Typos are not guessed in a sentence."""
        if match := POSTCODE_RE.search(text):
            return match.group(1)
        words = place_key(text.replace("-", " ")).split()
        padded = f" {' '.join(words)} "
        for key in self._named:
            at = padded.find(f" {key} ")
            if at < 0:
                continue
            before = padded[:at].split()
            if key in COMMON_WORDS and (not before or before[-1] not in PLACE_WORDS):
                continue
            commune = self._by_key.get(key)
            if commune is not None:
                return commune.name
        return None


@lru_cache(maxsize=1)
def shipped() -> Gazetteer:
    """The communes of core/data, read once."""
    return Gazetteer.load()
