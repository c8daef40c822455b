"""The nearest site to a young person's commune, postcode or département (core/places.py), from
the communes shipped in core/data (core/communes.py): the sites of the repository's maraude.yml."""

from __future__ import annotations

import pytest

from core.communes import Gazetteer, distance_km, place_key, shipped
from core.places import NearestSite, SiteDirectory
from core.settings_places import Site
from tests.support import ROOT, load_settings


@pytest.fixture(scope="module")
def directory() -> SiteDirectory:
    return SiteDirectory(load_settings(ROOT / "maraude.yml").structure.sites)


def nearest(directory: SiteDirectory, place: str) -> NearestSite:
    found = directory.nearest(place)
    assert found is not None, place
    return found


@pytest.mark.parametrize(
    ("place", "site"),
    [
        ("Liévin", "lens"),
        ("lievin", "lens"),
        ("LIEVIN", "lens"),
        ("liévin", "lens"),
        ("Avion", "lens"),
        ("Hénin-Beaumont", "henin"),
        ("henin beaumont", "henin"),
        ("heninbeaumont", "henin"),
        ("Courrières", "henin"),
        ("Audincourt", "montbeliard"),
        ("Belfort", "montbeliard"),
        ("59000", "lille"),
        ("59100", "roubaix"),
        ("Lens (62300)", "lens"),
        ("Wattrelos", "roubaix"),
        ("st omer", "lens"),
        ("Saint-Omer", "lens"),
        ("villeneuve d ascq", "lille"),
    ],
)
def test_the_nearest_site_to_a_commune_or_a_postcode(
    directory: SiteDirectory, place: str, site: str
) -> None:
    assert nearest(directory, place).site.id == site


def test_tourcoing_goes_to_the_site_at_the_shortest_distance(directory: SiteDirectory) -> None:
    gazetteer = directory.gazetteer
    tourcoing = gazetteer.commune("Tourcoing")
    roubaix, lille = gazetteer.commune("Roubaix"), gazetteer.commune("Lille")
    assert tourcoing and roubaix and lille
    to_roubaix = distance_km(tourcoing.point, roubaix.point)
    to_lille = distance_km(tourcoing.point, lille.point)
    found = nearest(directory, "Tourcoing")
    expected = "roubaix" if to_roubaix < to_lille else "lille"
    assert found.site.id == expected == "roubaix"
    assert found.distance_km == pytest.approx(min(to_roubaix, to_lille))
    assert 3 < found.distance_km < 6  # about 4 km between the two town centres


def test_spellings_of_one_commune_give_the_same_answer(directory: SiteDirectory) -> None:
    answers = [nearest(directory, p) for p in ("lievin", "LIEVIN", "liévin", "Lievin ", "lieven")]
    assert all(a == answers[0] for a in answers)
    answer = answers[0]
    assert answer.place.label == "Liévin" and answer.precise
    assert answer.distance_km == pytest.approx(4.0, abs=0.5)


@pytest.mark.parametrize("place", ["Paris", "75001", "jsp", "", "passé", "a", "mission locale"])
def test_an_unknown_place_is_none(directory: SiteDirectory, place: str) -> None:
    assert directory.nearest(place) is None


def test_a_departement_alone_is_measured_from_its_seat_among_its_own_sites(
    directory: SiteDirectory,
) -> None:
    found = nearest(directory, "62")
    assert found.site.id == "lens" and not found.precise  # Arras: Lens is nearer than Hénin
    assert found.place.kind == "departement"
    assert nearest(directory, "le 59").site.id == "lille"
    # the Doubs's seat (Besançon) is far from Montbéliard, still its only site
    assert nearest(directory, "25").site.id == "montbeliard"
    # a postcode the data does not list falls back on its département
    fallback = nearest(directory, "62999")
    assert fallback.place.kind == "departement" and fallback.site.id == "lens"


def test_a_site_is_placed_by_its_own_coordinates_first() -> None:
    far = Site(
        id="annexe",
        name="Permanence (démo)",
        address="1 rue X",
        postcode="62300",
        commune="Lens",
        latitude=50.95,
        longitude=1.86,
    )
    lens = Site(id="lens", name="ML Lens", address="1 rue Y", postcode="62300", commune="Lens")
    directory = SiteDirectory([far, lens])
    assert nearest(directory, "Calais").site.id == "annexe"
    assert nearest(directory, "Liévin").site.id == "lens"


def test_a_site_that_cannot_be_placed_is_skipped_not_a_crash() -> None:
    lost = Site(id="lost", name="Quelque part", address="1 rue X", postcode="62300", commune="Xyz")
    lens = Site(id="lens", name="ML Lens", address="1 rue Y", postcode="62300", commune="Lens")
    directory = SiteDirectory([lost, lens])
    assert directory.unlocated() == [lost]
    assert nearest(directory, "Liévin").site.id == "lens"
    assert SiteDirectory([lost]).nearest("Liévin") is None


def test_no_site_no_answer() -> None:
    assert SiteDirectory([]).nearest("Lens") is None


def test_the_shipped_data_covers_every_territory_commune() -> None:
    settings = load_settings(ROOT / "maraude.yml")
    gazetteer = shipped()
    for territory in settings.territories:
        for name in territory.communes:
            commune = gazetteer.commune(name)
            assert commune is not None and place_key(commune.name) == place_key(name), name
    assert 150 <= len(gazetteer.communes) <= 400
    for commune in gazetteer.communes:  # metropolitan France, 5-digit postcodes
        assert 41 < commune.latitude < 51.5 and -5.5 < commune.longitude < 10, commune
        assert all(len(code) == 5 and code.isdigit() for code in commune.postcodes), commune
        assert all(code.startswith(commune.departement) for code in commune.postcodes)
    for departement in ("59", "62", "25"):
        assert gazetteer.seat(departement) is not None


@pytest.mark.parametrize(
    ("text", "place"),
    [
        ("elle est ou la mission locale de lens", "Lens"),
        ("ya une ml vers 59100 ?", "59100"),
        ("jsuis sur st omer, c ou", "Saint-Omer"),
        ("c ou la ml a hénin", "Hénin-Beaumont"),
        ("la ml de croix cest ou", "Croix"),
        ("jhabite a villeneuve-d'ascq", "Villeneuve-d'Ascq"),
        ("c ou la mission locale", None),
        ("jprends l'avion demain", None),  # a commune that is also a word: not without "a", "de"
        ("tu connais albert ?", None),
    ],
)
def test_a_place_named_in_a_sentence(text: str, place: str | None) -> None:
    assert shipped().place_in(text) == place


def test_typos_within_reason_and_not_beyond() -> None:
    gazetteer = shipped()
    for typed, name in [("tourcoin", "Tourcoing"), ("roubais", "Roubaix"), ("lile", "Lille")]:
        found = gazetteer.commune(typed)
        assert found is not None and found.name == name, typed
    assert gazetteer.commune("zzz") is None
    assert gazetteer.commune("lyon") is None


def test_a_small_gazetteer_can_be_given() -> None:
    from core.communes import Commune

    gazetteer = Gazetteer([Commune("Lens", ("62300",), "62", 50.43, 2.83)], {"62": "Lens"})
    site = Site(id="lens", name="ML Lens", address="1 rue Y", postcode="62300", commune="Lens")
    found = SiteDirectory([site], gazetteer).nearest("62300")
    assert found is not None and found.distance_km == pytest.approx(0.0)
    assert SiteDirectory([site], gazetteer).nearest("Liévin") is None
