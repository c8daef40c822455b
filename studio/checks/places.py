"""maraude.yml `structure.sites`: each site can be placed on the map (its own latitude and
longitude, or its commune in core/data/communes.csv); a site that cannot is never given as the
nearest one to a young person ("c'est où la mission locale ?"), so it is reported."""

from __future__ import annotations

from core.places import SiteDirectory
from core.settings import Settings
from studio.checks.report import Problem
from studio.checks.yamldoc import Doc


def site_warnings(doc: Doc, settings: Settings) -> list[Problem]:
    """One warning per site with no coordinates and a commune the shipped data does not know."""
    sites = settings.structure.sites
    directory = SiteDirectory(sites)
    unlocated = {site.id for site in directory.unlocated()}
    problems: list[Problem] = []
    for index, site in enumerate(sites):
        if site.id not in unlocated:
            continue
        problems.append(
            Problem(
                doc.rel,
                doc.line("structure", "sites", index, "commune"),
                f"le site « {site.id} » : la commune « {site.commune} » est inconnue "
                "(core/data/communes.csv) et le site n'a pas de latitude/longitude ; il ne "
                "sera jamais donné comme adresse la plus proche",
                "vérifie l'orthographe de la commune, ou ajoute au site « latitude: » et "
                "« longitude: » (en degrés décimaux, par ex. 50.43 et 2.83), ou ajoute la "
                "commune à core/data/communes.csv",
                error=False,
            )
        )
    teams = {team.id for team in settings.teams}
    for index, site in enumerate(sites):
        if site.team and site.team not in teams:
            problems.append(
                Problem(
                    doc.rel,
                    doc.line("structure", "sites", index, "team"),
                    f"le site « {site.id} » nomme une équipe inconnue « {site.team} »",
                    f"mets l'identifiant d'une équipe de « teams » ({', '.join(sorted(teams))}) "
                    "ou retire la ligne « team: »",
                    error=False,
                )
            )
    return problems
