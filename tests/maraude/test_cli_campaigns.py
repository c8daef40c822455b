"""`maraude campaign add|list|qr|archive` on a real database (SQLite and, gated, PostgreSQL):
the code, the deep link and the QR files (decoded back to the link), the list with masked
reach and `--all`, archiving, and the refusals (French message on stderr, exit code 2,
nothing created)."""

from __future__ import annotations

from pathlib import Path

import pytest
import zxingcpp

from core.campaigns import CampaignService, deep_link
from core.db import Database
from core.models import Channel
from core.people import PeopleService
from maraude.cli import main
from tests.support import write_config
from tests.support.png import read_png

BOT = "MaraudeLensBot"


@pytest.fixture
def config(db_url: str, tmp_path: Path) -> Path:
    return write_config(tmp_path, database_url=db_url, campaigns={"bot_username": BOT})


@pytest.fixture
def sqlite_config(sqlite_url: str, tmp_path: Path) -> Path:
    return write_config(tmp_path, database_url=sqlite_url, campaigns={"bot_username": BOT})


def campaign(config: Path, *argv: str) -> int:
    return main(["--config", str(config), "campaign", *argv])


def test_add_list_qr_archive(
    config: Path, db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    qr_dir = tmp_path / "flyers"
    code = campaign(
        config,
        "add",
        "Flyers gare de Lens",
        "--channel",
        "flyer",
        "--territory",
        "Lens-Liévin",
        "--team",
        "lens",
        "--starts",
        "2026-09-01",
        "--ends",
        "2026-10-15",
        "--cost",
        "89,90",
        "--qr-dir",
        str(qr_dir),
    )
    out = capsys.readouterr().out
    assert code == 0, out
    db = Database.from_url(db_url)
    try:
        [view] = CampaignService(db).list()
        link = deep_link(BOT, view.code)
        assert (view.name, view.team, view.territory, view.cost_cents) == (
            "Flyers gare de Lens",
            "lens",
            "Lens-Liévin",
            8990,
        )
        assert out.splitlines()[:4] == [
            f"Campagne créée : #{view.id} « Flyers gare de Lens » (Flyer, affiche).",
            f"Code : {view.code}",
            f"Lien : {link}",
            f"Sans le lien, un jeune peut écrire au bot : /start {view.code}",
        ]
        png, svg = qr_dir / f"qr-{view.code}.png", qr_dir / f"qr-{view.code}.svg"
        assert f"QR code : {svg} (à imprimer, avec les noms) et {png} (code seul)." in out
        decoded = zxingcpp.read_barcode(read_png(png.read_bytes()).buffer())
        assert decoded is not None and decoded.text == link
        assert "Flyers gare de Lens" in svg.read_text(encoding="utf-8")

        # Three young people brought: masked in the list.
        people = PeopleService(db, "p" * 40)
        for n in range(3):
            pseudo = people.identify(Channel.telegram, f"cli-{n}").pseudo_id
            CampaignService(db).attribute(pseudo, view.code)
        assert campaign(config, "add", "Stories", "--channel", "instagram") == 0
        capsys.readouterr()
        assert campaign(config, "list") == 0
        lines = capsys.readouterr().out.splitlines()
        assert lines[0].split("\t") == [
            "id", "code", "nom", "canal", "territoire", "équipe", "début", "fin", "jeunes",
            "coût", "état",
        ]  # fmt: skip
        rows = [line.split("\t") for line in lines[1:]]
        assert [row[2] for row in rows] == ["Stories", "Flyers gare de Lens"]  # newest first
        assert rows[1][3:] == [
            "Flyer, affiche",
            "Lens-Liévin",
            "Équipe Lens-Liévin",
            "2026-09-01",
            "2026-10-15",
            "< 5",
            "89,90 €",
            "en cours",
        ]
        assert rows[0][8:] == ["0", "-", "en cours"]

        assert campaign(config, "archive", str(view.id)) == 0
        assert "archivée" in capsys.readouterr().out
        assert campaign(config, "list") == 0
        assert "Flyers gare de Lens" not in capsys.readouterr().out
        assert campaign(config, "list", "--all") == 0
        listed = capsys.readouterr().out
        assert "Flyers gare de Lens" in listed and "\tarchivée " in listed

        again = tmp_path / "again"
        assert campaign(config, "qr", str(view.id), "--qr-dir", str(again)) == 0
        assert (again / f"qr-{view.code}.png").read_bytes() == png.read_bytes()
    finally:
        db.dispose()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--team", "paris"], "Campagne non créée : Équipe inconnue : choisis-la dans la liste."),
        (["--territory", "Paris"], "Territoire inconnu"),
        (["--cost", "beaucoup"], "Coût invalide"),
        (["--starts", "2026-10-01", "--ends", "2026-09-01"], "se termine avant de commencer"),
        (["--starts", "lundi"], "Date de début invalide"),
    ],
)
def test_add_refusals(
    sqlite_config: Path,
    sqlite_url: str,
    argv: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert campaign(sqlite_config, "add", "Forum", "--channel", "event", *argv) == 2
    assert message in capsys.readouterr().err
    db = Database.from_url(sqlite_url)
    assert CampaignService(db).list(include_archived=True) == []
    db.dispose()


def test_unknown_channel_and_ids_are_refused(
    sqlite_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        campaign(sqlite_config, "add", "Forum", "--channel", "myspace")
    assert exit_.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
    assert campaign(sqlite_config, "archive", "42") == 2
    assert capsys.readouterr().err.strip() == "Aucune campagne #42."
    assert campaign(sqlite_config, "qr", "42", "--qr-dir", "x") == 2
    for forged in ("0", "-3", "abc", "１", "9" * 20):
        with pytest.raises(SystemExit):
            campaign(sqlite_config, "archive", forged)
        assert "numéro de campagne invalide" in capsys.readouterr().err
    assert campaign(sqlite_config, "list") == 0
    assert capsys.readouterr().out == "Aucune campagne en cours.\n"


def test_without_a_bot_username(
    sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, database_url=sqlite_url)
    qr_dir = tmp_path / "qr"
    assert campaign(config, "add", "Forum", "--channel", "event", "--qr-dir", str(qr_dir)) == 2
    captured = capsys.readouterr()
    assert "Campagne créée : #1 « Forum » (Événement)." in captured.out
    assert "Lien : nom du bot inconnu. Renseigne campaigns.bot_username" in captured.out
    assert "/start forum-" in captured.out
    assert captured.err.startswith("QR code non écrit.")
    assert not qr_dir.exists()
