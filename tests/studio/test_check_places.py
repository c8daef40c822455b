"""`maraude check` reports a site of maraude.yml that cannot be placed on the map (no latitude/
longitude and a commune unknown to core/data/communes.csv): never the nearest, never a crash."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from studio.checks import Report, check_settings
from tests.support import ROOT, write_config


def sites_with(extra: dict[str, Any]) -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "maraude.yml").read_text(encoding="utf-8"))
    return {"sites": [*data["structure"]["sites"], extra]}


def problems(config: Path) -> Report:
    report = Report()
    check_settings(config.parent, config, report)
    return report


def test_the_shipped_sites_are_all_placed(tmp_path: Path) -> None:
    report = problems(write_config(tmp_path))
    assert not [p for p in report.problems if "structure" in p.message or "site" in p.message]


def test_a_site_in_an_unknown_commune_without_coordinates_is_reported(tmp_path: Path) -> None:
    lost = {"id": "perdu", "name": "Permanence", "address": "1 rue X", "postcode": "62999",
            "commune": "Trifouilly-les-Oies"}  # fmt: skip
    config = write_config(tmp_path, structure=sites_with(lost))
    report = problems(config)
    assert report.ok  # a warning: the other sites still answer
    [warning] = report.warnings
    assert "« perdu »" in warning.message and "Trifouilly-les-Oies" in warning.message
    assert "latitude" in warning.fix
    lines = config.read_text(encoding="utf-8").splitlines()
    assert "Trifouilly-les-Oies" in lines[(warning.line or 0) - 1]


def test_coordinates_or_a_known_commune_are_enough(tmp_path: Path) -> None:
    placed = {"id": "placee", "name": "Permanence", "address": "1 rue X", "postcode": "62999",
              "commune": "Trifouilly-les-Oies", "latitude": 50.4, "longitude": 2.8}  # fmt: skip
    assert problems(write_config(tmp_path / "a", structure=sites_with(placed))).problems == []
    misspelt = {"id": "liev", "name": "Antenne", "address": "1 rue X", "postcode": "62800",
                "commune": "lievin"}  # fmt: skip
    assert problems(write_config(tmp_path / "b", structure=sites_with(misspelt))).problems == []


def test_a_site_naming_an_unknown_team_is_reported_not_refused(tmp_path: Path) -> None:
    stray = {"id": "stray", "name": "Permanence", "address": "1 rue X", "postcode": "62300",
             "commune": "Lens", "team": "nulle-part"}  # fmt: skip
    report = problems(write_config(tmp_path, structure=sites_with(stray)))
    assert report.ok  # the app starts: only the proposal order of the sites uses the team
    [warning] = [w for w in report.warnings if "nulle-part" in w.message]
    assert "« stray »" in warning.message and "lens" in warning.fix
