"""`maraude privacy export PERSON`: a counsellor answers a written access request with the same
two files the young person gets with /mesdonnees; an unknown person is a clear error."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from core.models import Direction, Origin
from core.people import LoggedMessage
from handoff.requests import TriageSummary
from maraude.cli import main
from tests.support.world import World


def export(world: World, person: str, out: Path) -> int:
    config = world.settings.var_dir.parent / "maraude.yml"  # the world's own settings file
    return main(["--config", str(config), "privacy", "export", person, "--out", str(out)])


async def young_person(world: World, chat: str) -> tuple[str, int]:
    person_id, pseudo = world.person(chat, consent=True)
    world.people.log_messages(
        person_id, [LoggedMessage(Direction.incoming, Origin.youth, "jveux passer le permis")]
    )
    ticket = await world.ticket(pseudo, TriageSummary(needs=["mobilité"], age="20"))
    return pseudo, ticket


async def test_export_by_pseudonymous_id_writes_two_private_files(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pseudo, ticket = await young_person(world, "733001")
    out = tmp_path / "demande-acces"
    assert export(world, pseudo, out) == 0
    files = sorted(out.iterdir())
    assert [f.suffix for f in files] == [".json", ".txt"]
    for path in files:
        assert path.name.startswith(pseudo)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600  # a young person's data
    text = files[1].read_text(encoding="utf-8")
    assert "jveux passer le permis" in text and f"Demande n°{ticket}" in text
    data = json.loads(files[0].read_text(encoding="utf-8"))
    assert data["person"]["pseudo_id"] == pseudo
    assert data["tickets"][0]["id"] == ticket
    printed = capsys.readouterr().out
    assert str(files[0]) in printed and "jveux" not in printed  # paths, never the data


async def test_export_by_ticket_number_or_telegram_id_finds_the_same_person(
    world: World, tmp_path: Path
) -> None:
    pseudo, ticket = await young_person(world, "733002")
    for number, person in enumerate((str(ticket), f"#{ticket}", "telegram:733002")):
        out = tmp_path / f"out{number}"
        assert export(world, person, out) == 0, person
        [portable] = out.glob("*.json")
        assert json.loads(portable.read_text(encoding="utf-8"))["person"]["pseudo_id"] == pseudo


@pytest.mark.parametrize(
    ("person", "message"),
    [
        ("y" + "a" * 24, "Aucune donnée gardée"),  # well formed, nobody (or already erased)
        ("telegram:123", "Aucune donnée gardée"),
        ("#987654", "Aucun ticket n°987654"),
        ("99999999999", "PERSON non reconnu"),  # not a ticket id
        ("Kevin", "PERSON non reconnu"),
        ("'; DROP TABLE ticket; --", "PERSON non reconnu"),
    ],
)
async def test_unknown_person_is_a_clear_error_and_writes_nothing(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str], person: str, message: str
) -> None:
    out = tmp_path / "out"
    assert export(world, person, out) == 2
    assert message in capsys.readouterr().err
    assert not out.exists() or not list(out.iterdir())
