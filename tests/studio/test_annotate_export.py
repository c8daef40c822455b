"""`maraude annotate export`: masking, de-duplication against nlu_data/, merging, and the
round trip export -> `rasa data validate` (engine env, gated) with names found by spaCy."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from core import migrate
from core.clock import FixedClock
from core.db import Database
from core.models import Channel
from core.people import PeopleService
from core.turns import TurnInfo
from maraude import cli
from maraude.engine_process import engine_env
from studio.annotations import (
    EMAIL_STAND_IN,
    NAME_STAND_INS,
    AnnotationExportError,
    Span,
    clean_example,
    export_annotations,
    mask_contacts,
    mask_names,
    read_examples,
    spacy_names,
)
from studio.insights import OUT_OF_SCOPE, InsightsService
from tests.support import ROOT, TEST_SECRET, make_settings

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
RASA = ROOT / ".venv-rasa" / "bin" / "rasa"
ENGINE_PYTHON = ROOT / ".venv-rasa" / "bin" / "python"


def engine_env_missing() -> str | None:
    """Masking names and `rasa data validate` need the engine env (no trained model)."""
    if not (RASA.exists() and ENGINE_PYTHON.exists()):
        return "Rasa engine env .venv-rasa is missing: run `make install` (make test does it)"
    return None


needs_engine_env = pytest.mark.skipif(
    engine_env_missing() is not None, reason=engine_env_missing() or ""
)


def no_names(texts: Sequence[str]) -> list[list[Span]]:
    """For the tests about de-duplication only: a text without any person name."""
    return [[] for _ in texts]


class Studio:
    """An app database with one consenting young person whose messages managers annotate."""

    def __init__(self, url: str) -> None:
        migrate.upgrade(url)
        self.db = Database.from_url(url)
        self.clock = FixedClock(START)
        self.insights = InsightsService(self.db, self.clock)
        people = PeopleService(self.db, TEST_SECRET, self.clock)
        self.person = people.identify(Channel.simulator, "jeune")
        people.record_consent(self.person.pseudo_id, True)

    def annotated(self, text: str, intent: str) -> int:
        turn = TurnInfo(text, text.lower(), "nlu_fallback", 0.3)
        turn_id = self.insights.record(self.person.id, text, turn)
        assert turn_id is not None
        assert self.insights.annotate([turn_id], intent, None) == 1
        return turn_id


@pytest.fixture
def studio(tmp_path: Path) -> Studio:
    studio = Studio(f"sqlite:///{tmp_path / 'app.db'}")
    yield studio
    studio.db.dispose()


# Masking -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("mon num 06 12 34 56 78 rappelle moi", "mon num 06 00 00 00 00 rappelle moi"),
        ("0612345678", "0600000000"),
        ("appelle au 07.98.76.54.32.", "appelle au 07.00.00.00.00."),
        ("+33 6 12 34 56 78", "+33 6 00 00 00 00"),
        ("+33612345678 stp", "+33600000000 stp"),
        ("0033 7 12 34 56 78", "0033 7 00 00 00 00"),
        ("+33 (0)6 12 34 56 78", "+33 (0)6 00 00 00 00"),
        ("fixe 03-21-12-34-56", "fixe 03-00-00-00-00"),
        ("mon mail cest kevin.martin59@gmail.com ok", f"mon mail cest {EMAIL_STAND_IN} ok"),
    ],
)
def test_phone_numbers_and_emails_are_masked(text: str, masked: str) -> None:
    assert mask_contacts(text) == (masked, 1)


@pytest.mark.parametrize(
    "text", ["jai 19 ans", "59100", "jhabite au 12 rue de la paix 62300", "entre 10 et 12 h"]
)
def test_ages_postcodes_and_other_numbers_stay(text: str) -> None:
    assert mask_contacts(text) == (text, 0)


def test_names_are_replaced_except_known_words() -> None:
    text = "Jsp si Kevin Martin peut maider"
    masked, count = mask_names(text, [(0, 3), (7, 19)], {"jsp", "peut"})
    assert count == 1
    assert masked.startswith("Jsp si ") and masked.endswith(" peut maider")
    stand_in = masked.removeprefix("Jsp si ").removesuffix(" peut maider")
    assert stand_in in NAME_STAND_INS
    # one name always gets the same stand-in
    assert mask_names("Kevin Martin", [(0, 12)], set())[0] == stand_in


def test_examples_are_one_line_without_entity_markup() -> None:
    assert clean_example("  [salut](greet)\nca va\t?\x00 ") == "(salut)(greet) ca va ?"


# De-duplication and merging ----------------------------------------------------------------
def test_duplicates_of_nlu_data_are_skipped_and_conflicts_reported(
    studio: Studio, tmp_path: Path
) -> None:
    existing = read_examples(ROOT / "nlu_data" / "nlu" / "consent.yml")["consent_accept"][0]
    out = tmp_path / "annotations.yml"
    studio.annotated(existing.upper() + " !!", "consent_accept")  # same, folded
    studio.annotated(f"  {existing}  ", "greet")  # same text, another intent: conflict
    studio.annotated("tu connais le club de foot de lens", OUT_OF_SCOPE)
    studio.annotated("Tu connais le club de foot de Lens ?", OUT_OF_SCOPE)  # twice here
    studio.annotated("c quoi le montant du cej en vrai", "faq/cej")
    report = export_annotations(studio.insights, ROOT, out, names=no_names)
    assert (report.selected, report.written, report.duplicates) == (5, 2, 2)
    assert report.conflicts == [(existing, "greet", "consent_accept")]
    assert read_examples(out) == {
        "faq/cej": ["c quoi le montant du cej en vrai"],
        OUT_OF_SCOPE: ["tu connais le club de foot de lens"],
    }
    assert studio.insights.export_selection() == []  # all five settled
    assert studio.insights.counts().exported == 5


def test_a_second_export_merges_with_the_file(studio: Studio, tmp_path: Path) -> None:
    out = tmp_path / "nlu" / "annotations.yml"
    studio.annotated("jveux bosser dans la cuisine", "need_job")
    assert export_annotations(studio.insights, ROOT, out, names=no_names).written == 1
    again = export_annotations(studio.insights, ROOT, out, names=no_names)
    assert (again.selected, again.written) == (0, 0)  # nothing waiting: file untouched
    studio.annotated("Jveux bosser dans la cuisine.", "need_job")  # already in the file
    studio.annotated("jcherche un taf de magasinier", "need_job")
    studio.annotated("rien a voir mais il fait beau", OUT_OF_SCOPE)
    report = export_annotations(studio.insights, ROOT, out, names=no_names)
    assert (report.written, report.duplicates) == (2, 1)
    assert read_examples(out) == {
        "need_job": ["jveux bosser dans la cuisine", "jcherche un taf de magasinier"],
        OUT_OF_SCOPE: ["rien a voir mais il fait beau"],
    }
    data = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert data["version"] == "3.1"
    assert [item["intent"] for item in data["nlu"]] == ["need_job", OUT_OF_SCOPE]


def test_an_example_left_with_masked_data_only_is_dropped(studio: Studio, tmp_path: Path) -> None:
    def whole(texts: Sequence[str]) -> list[list[Span]]:
        return [[(0, len(text))] if text.islower() else [] for text in texts]

    studio.annotated("zorglub kwakwa pfffrt", OUT_OF_SCOPE)  # taken whole for a name
    studio.annotated("kevin.martin59@gmail.com", "inform")  # an address alone
    studio.annotated("0612345678", "inform")  # a number keeps its shape: kept
    report = export_annotations(studio.insights, ROOT, tmp_path / "a.yml", names=whole)
    assert (report.written, report.only_personal, report.masked_names) == (1, 2, 1)
    assert read_examples(tmp_path / "a.yml") == {"inform": ["0600000000"]}


def test_without_the_engine_env_nothing_is_exported(studio: Studio, tmp_path: Path) -> None:
    studio.annotated("Salut cest Kevin", "greet")
    out = tmp_path / "annotations.yml"
    with pytest.raises(AnnotationExportError, match="make install"):
        export_annotations(studio.insights, tmp_path, out)  # tmp_path has no .venv-rasa
    assert not out.exists()
    assert len(studio.insights.export_selection()) == 1  # still waiting


# With the engine env: spaCy names, the command, and `rasa data validate` -------------------
@needs_engine_env
def test_spacy_finds_person_names() -> None:
    texts = ["Salut cest Kevin Martin jcherche du taf", "ma conseillere cest Mme Durand", "ok"]
    spans = spacy_names(ROOT)(texts)
    assert [[texts[i][a:b] for a, b in found] for i, found in enumerate(spans)] == [
        ["Kevin Martin"],
        ["Mme Durand"],
        [],
    ]


def project_copy(folder: Path) -> Path:
    """The project's Rasa data (nlu_data, domain, config.yml) in a temp folder."""
    for name in ("nlu_data", "domain"):
        shutil.copytree(ROOT / name, folder / name)
    shutil.copy2(ROOT / "config.yml", folder / "config.yml")
    return folder


def rasa_validate(folder: Path, settings: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(RASA), "data", "validate", "--data", "nlu_data", "--domain", "domain"]
        + ["--config", "config.yml", "--fail-on-warnings"],
        cwd=folder,
        env=engine_env(settings, "http://127.0.0.1:9/webhook"),  # type: ignore[arg-type]
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@needs_engine_env
def test_export_round_trip_passes_rasa_data_validate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = make_settings(tmp_path / "app")
    copy = project_copy(tmp_path / "project")
    out = copy / "nlu_data" / "nlu" / "annotations.yml"
    studio = Studio(settings.effective_database_url)
    try:
        studio.annotated("Salut cest Kevin Martin, mon num 06 12 34 56 78", "greet")
        studio.annotated("ecris moi a kevin.martin59@gmail.com stp", "ask_human")
        studio.annotated("Jsp si Mme Durand peut m'aider pour le CEJ", "faq/cej")
        studio.annotated("[lol](greet) t ki\ntoi", "bot_challenge")
        studio.annotated("tu kiffes le PSG ou l'OM ?", OUT_OF_SCOPE)
        studio.annotated("jdors dans ma voiture depuis 3 jours", "crisis_shelter")
        studio.annotated("ok vas y", "consent_accept")  # in nlu_data already
        studio.annotated("Kevin Martin", "inform")  # nothing left once masked
        config = str(tmp_path / "app" / "maraude.yml")
        code = cli.main(["--config", config, "annotate", "export", "--out", str(out)])
        printed = capsys.readouterr().out
        assert code == 0, printed
        assert "6 exemple(s) écrit(s)" in printed, printed
        assert "1 ignoré(s) car déjà présent(s)" in printed, printed
        assert "1 ignoré(s) car réduit(s) à des données masquées" in printed, printed
        assert "2 numéro(s)/e-mail(s), 3 prénom(s)" in printed, printed

        written = out.read_text(encoding="utf-8")
        for secret in ("Kevin", "Martin", "Durand", "12 34 56 78", "gmail"):
            assert secret not in written, written
        examples = read_examples(out)
        [greet] = examples["greet"]
        assert greet.startswith("Salut cest ") and greet.endswith(", mon num 06 00 00 00 00")
        assert greet.removeprefix("Salut cest ").split(",")[0] in NAME_STAND_INS
        assert examples["ask_human"] == [f"ecris moi a {EMAIL_STAND_IN} stp"]
        [faq] = examples["faq/cej"]
        assert faq.startswith("Jsp si ") and faq.endswith(" peut m'aider pour le CEJ")
        assert examples["bot_challenge"] == ["(lol)(greet) t ki toi"]
        assert examples[OUT_OF_SCOPE] == ["tu kiffes le PSG ou l'OM ?"]
        assert "consent_accept" not in examples and "inform" not in examples
        assert studio.insights.export_selection() == []

        # a second run has nothing left to do
        assert cli.main(["--config", config, "annotate", "export", "--out", str(out)]) == 0
        assert "Aucune annotation à exporter." in capsys.readouterr().out
    finally:
        studio.db.dispose()

    checked = rasa_validate(copy, settings)
    assert checked.returncode == 0, (checked.stdout + checked.stderr)[-3000:]
