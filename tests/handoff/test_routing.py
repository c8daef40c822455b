"""Team routing of hand-off tickets from the young person's postcode, département or commune."""

from __future__ import annotations

from pathlib import Path

import pytest

from handoff.routing import Place, Route, Router, departement_of
from tests.support import make_settings, repo_router


@pytest.mark.parametrize(
    ("postcode", "departement"),
    [
        ("59100", "59"),
        ("62300", "62"),
        ("01000", "01"),
        ("75011", "75"),
        ("20000", "2A"),  # Ajaccio
        ("20090", "2A"),
        ("20167", "2A"),
        ("20200", "2B"),  # Bastia
        ("20600", "2B"),
        ("97400", "974"),  # La Réunion
        ("97300", "973"),  # Guyane
        ("97600", "976"),  # Mayotte
        ("98800", "988"),  # Nouvelle-Calédonie
    ],
)
def test_departement_of_a_postcode(postcode: str, departement: str) -> None:
    assert departement_of(postcode) == departement


@pytest.mark.parametrize(
    ("answer", "place"),
    [
        ("59100", Place(postcode="59100", departement="59")),
        ("59100 Roubaix", Place(postcode="59100", departement="59")),
        ("jsuis au 62300 mdr", Place(postcode="62300", departement="62")),
        ("20200", Place(postcode="20200", departement="2B")),
        ("le 62", Place(departement="62")),
        ("dans le 59", Place(departement="59")),
        ("Le 25", Place(departement="25")),
        ("2a", Place(departement="2A")),
        ("2B", Place(departement="2B")),
        ("974", Place(departement="974")),
        ("Hénin-Beaumont", Place(commune="henin beaumont")),
        ("  VILLENEUVE-D'ASCQ ", Place(commune="villeneuve d ascq")),
        ("", Place()),
        (None, Place()),
        ("???", Place()),
        ("123456", Place(commune="123456")),  # not a postcode (6 digits)
    ],
)
def test_what_is_understood_of_an_answer(answer: str | None, place: Place) -> None:
    assert Place.parse(answer) == place


@pytest.mark.parametrize(
    ("answer", "route"),
    [
        ("59100", Route("lille", "Métropole lilloise")),
        ("62300", Route("lens", "Lens-Liévin")),
        ("25200", Route("montbeliard", "Pays de Montbéliard")),
        ("le 25", Route("montbeliard", "Pays de Montbéliard")),
        ("dans le 62", Route("lens", "Lens-Liévin")),
        ("Lens", Route("lens", "Lens-Liévin")),
        ("lievin", Route("lens", "Lens-Liévin")),
        ("LIÉVIN", Route("lens", "Lens-Liévin")),
        ("henin beaumont", Route("lens", "Lens-Liévin")),
        ("Hénin-Beaumont", Route("lens", "Lens-Liévin")),
        ("bully les mines", Route("lens", "Lens-Liévin")),
        ("Villeneuve d'Ascq", Route("lille", "Métropole lilloise")),
        ("Montbeliard", Route("montbeliard", "Pays de Montbéliard")),
        ("grand charmont", Route("montbeliard", "Pays de Montbéliard")),
        ("75011", Route("accueil", None)),
        ("Paris", Route("accueil", None)),
        ("20000", Route("accueil", None)),
        ("97400", Route("accueil", None)),
        ("", Route("accueil", None)),
        (None, Route("accueil", None)),
    ],
)
def test_repository_teams(answer: str | None, route: Route) -> None:
    assert repo_router().route(answer) == route


@pytest.fixture
def router(tmp_path: Path) -> Router:
    """Overlapping areas: the most precise match must win, whatever the order of the teams."""
    settings = make_settings(
        tmp_path,
        territories=[
            {"name": "Nord", "departements": ["59"]},
            {"name": "Roubaix-Tourcoing", "postcodes": ["59100", "59200"]},
            {"name": "Corse", "departements": ["2A", "2B"]},
            {"name": "Réunion", "departements": ["974"]},
        ],
        teams=[
            {"id": "nord", "name": "Équipe Nord", "territories": ["Nord"]},
            {"id": "roubaix", "name": "Équipe Roubaix", "postcodes": ["59100"]},
            {"id": "tourcoing", "name": "Équipe Tourcoing", "communes": ["Tourcoing"]},
            {"id": "ajaccio", "name": "Équipe Ajaccio", "departements": ["2A"]},
            {"id": "corse", "name": "Équipe Corse", "territories": ["Corse"]},
            {"id": "ocean", "name": "Équipe océan Indien", "departements": ["974", "976"]},
            {"id": "accueil", "name": "Accueil"},
        ],
        handoff={"default_team": "accueil"},
    )
    return Router(settings)


@pytest.mark.parametrize(
    ("answer", "team", "territory"),
    [
        # Postcode beats département: the Roubaix team, not the Nord one listed before it.
        ("59100", "roubaix", "Roubaix-Tourcoing"),
        ("59200", "nord", "Roubaix-Tourcoing"),
        ("59000", "nord", "Nord"),
        ("le 59", "nord", "Nord"),
        # A commune the team lists itself (no territory names it).
        ("Tourcoing", "tourcoing", None),
        ("tourcoing", "tourcoing", None),
        # Corsica: the first team serving the département wins a tie.
        ("20000", "ajaccio", "Corse"),
        ("2a", "ajaccio", "Corse"),
        ("20200", "corse", "Corse"),
        ("2B", "corse", "Corse"),
        # Overseas: three-digit départements from postcode or answer.
        ("97400", "ocean", "Réunion"),
        ("976", "ocean", None),
        ("97300", "accueil", None),
        ("Lens", "accueil", None),
    ],
)
def test_most_precise_match_wins(
    router: Router, answer: str, team: str, territory: str | None
) -> None:
    assert router.route(answer) == Route(team, territory)


def test_a_commune_inside_a_free_text_answer_routes_too() -> None:
    router = repo_router()
    assert router.route("j'habite vers Liévin").team == "lens"
    assert router.route("jsuis a henin beaumont depuis 2 ans").team == "lens"
    assert router.route("lensois").team == "accueil"  # whole words only
