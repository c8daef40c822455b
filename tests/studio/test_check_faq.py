"""`maraude check`: the knowledge base (FAQ sources and their age) and the tone of responses.

Each test breaks one thing in a copy of the project, then asserts the file, the line and the
message managers read. "Today" is always passed in (`run_checks(..., today=...)`): no test
depends on the real date.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from studio import checks
from studio.checks import FAQ_MAX_AGE_MONTHS, TONE_MAX_LINE_CHARS, Problem, Report, run_checks
from studio.checks.faq import add_months
from tests.support import ROOT
from tests.support.project import copy_project, last_checked, line_of, replace

CEJ_DATE = 'source: "https://www.service-public.fr/particuliers/vosdroits/F32700", checked_on: "'
RSA_META = (
    'metadata: {source: "https://www.service-public.fr/particuliers/vosdroits/N19775", '
    'checked_on: "2026-12-06"}'
)
COUNSELLOR = "Tu veux qu'un·e conseiller·e t'en parle ? Écris « conseiller »."


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_project(tmp_path / "project")


def check(project: Path, today: date) -> Report:
    return run_checks(project / "maraude.yml", today=today)


def about(report: Report, *words: str) -> list[Problem]:
    return [p for p in report.problems if all(w in p.message for w in words)]


def set_checked_on(project: Path, name: str, value: str) -> int:
    """Give `utter_faq/<name>` another checked_on; the line of its metadata."""
    path = project / "domain" / "faq.yml"
    text = path.read_text(encoding="utf-8")
    start = text.index(f"  utter_faq/{name}:\n")
    meta = text.index("checked_on: ", start)
    end = text.index("}", meta)
    path.write_text(text[:meta] + f"checked_on: {value}" + text[end:], encoding="utf-8")
    return text[:meta].count("\n") + 1


def faq_day(project: Path) -> date:
    return last_checked(project / "domain")


# The knowledge base ------------------------------------------------------------------------
def test_the_real_knowledge_base_is_complete_sourced_and_fresh() -> None:
    data = yaml.safe_load((ROOT / "domain" / "faq.yml").read_text(encoding="utf-8"))
    answers = {k: v for k, v in data["responses"].items() if k.startswith("utter_faq/")}
    assert len(answers) >= 40
    for name in ("cej", "service_civique", "mission_locale", "apprentissage", "aides"):
        assert f"utter_faq/{name}" in answers
    for name, variants in answers.items():
        for variant in variants:
            assert variant["text"].split("\n")[-1] == COUNSELLOR, name
            assert 2 <= len(variant["text"].split("\n")) <= 6, name
            assert variant["metadata"]["source"].startswith("https://"), name
    report = run_checks(ROOT / "maraude.yml", today=last_checked(ROOT / "domain"))
    assert [str(p) for p in report.problems if "faq" in p.file or "faq/" in p.message] == []


def test_an_answer_checked_within_the_months_passes(project: Path) -> None:
    day = faq_day(project)
    assert about(check(project, day), "vérifiée le") == []
    within = add_months(day, FAQ_MAX_AGE_MONTHS)  # exactly 12 months: still fresh
    assert about(check(project, within), "vérifiée le") == []


def test_an_answer_checked_too_long_ago_is_a_warning_with_its_source(project: Path) -> None:
    line = set_checked_on(project, "rsa", '"2025-11-30"')
    report = check(project, date(2026, 12, 6))
    [problem] = about(report, "vérifiée le")
    assert not problem.error and report.ok  # the bot still trains: a manager re-checks it
    assert (problem.file, problem.line) == ("domain/faq.yml", line)
    assert "« utter_faq/rsa » a été vérifiée le 2025-11-30" in problem.message
    assert f"plus de {FAQ_MAX_AGE_MONTHS} mois" in problem.message
    assert "vosdroits/N19775" in problem.fix and "checked_on" in problem.fix
    assert str(problem).startswith(f"domain/faq.yml:{line}: attention : ")
    # One day younger, it passes.
    assert about(check(project, date(2026, 11, 30)), "vérifiée le") == []


def test_today_comes_from_checks_today_by_default(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_checked_on(project, "rsa", '"2025-11-30"')
    monkeypatch.setattr(checks, "today", lambda: date(2026, 12, 6))
    assert len(about(run_checks(project / "maraude.yml"), "vérifiée le")) == 1
    monkeypatch.setattr(checks, "today", lambda: date(2026, 1, 6))
    assert about(run_checks(project / "maraude.yml"), "vérifiée le") == []


def test_an_answer_without_source_is_an_error(project: Path) -> None:
    path = project / "domain" / "faq.yml"
    line = replace(path, CEJ_DATE, 'checked_on: "')
    report = check(project, faq_day(project))
    [problem] = report.errors
    assert (problem.file, problem.line) == ("domain/faq.yml", line)
    assert "« utter_faq/cej » n'a pas de source" in problem.message
    assert "metadata:" in problem.fix and "https://" in problem.fix


def test_an_answer_without_metadata_is_an_error(project: Path) -> None:
    path = project / "domain" / "faq.yml"
    line = line_of(path, RSA_META)
    replace(path, "      " + RSA_META + "\n", "")
    [problem] = check(project, faq_day(project)).errors
    assert problem.file == "domain/faq.yml" and problem.line == line - 1  # its `- text:`
    assert "utter_faq/rsa" in problem.message and "checked_on" in problem.message


def test_a_source_that_is_not_an_https_address_is_an_error(project: Path) -> None:
    path = project / "domain" / "faq.yml"
    line = replace(
        path,
        '"https://www.service-public.fr/particuliers/vosdroits/N19775"',
        '"service-public.fr, fiche RSA"',
    )
    [problem] = check(project, faq_day(project)).errors
    assert (problem.file, problem.line) == ("domain/faq.yml", line)
    assert "n'est pas une adresse web en https://" in problem.message


def test_a_date_without_quotes_is_an_error(project: Path) -> None:
    # YAML reads it as a date: Rasa would put a date object in the tracker store's events.
    line = set_checked_on(project, "rsa", "2026-12-06")
    [problem] = check(project, faq_day(project)).errors
    assert (problem.file, problem.line) == ("domain/faq.yml", line)
    assert "pas entre guillemets" in problem.message
    assert 'checked_on: "2026-12-06"' in problem.fix


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ('"06/12/2026"', "n'est pas une date AAAA-MM-JJ"),
        ('"2026-02-30"', "n'est pas une date AAAA-MM-JJ"),
        ('""', "n'a pas de date de vérification"),
        ('"2099-01-01"', "est dans le futur"),
    ],
)
def test_a_wrong_date_is_an_error(project: Path, value: str, words: str) -> None:
    line = set_checked_on(project, "rsa", value)
    [problem] = check(project, date(2026, 12, 6)).errors
    assert (problem.file, problem.line) == ("domain/faq.yml", line)
    assert words in problem.message and "utter_faq/rsa" in problem.message


def test_an_answer_without_examples_is_an_error(project: Path) -> None:
    path = project / "nlu_data" / "nlu" / "faq.yml"
    text = path.read_text(encoding="utf-8")
    start = text.index("  - intent: faq/rsa\n")
    end = text.index("  - intent:", start + 1)
    path.write_text(text[:start] + text[end:], encoding="utf-8")
    [problem] = check(project, faq_day(project)).errors
    domain = project / "domain" / "faq.yml"
    assert (problem.file, problem.line) == ("domain/faq.yml", line_of(domain, "utter_faq/rsa:"))
    assert "« utter_faq/rsa » n'a aucun exemple « faq/rsa »" in problem.message


def test_examples_without_an_answer_are_an_error(project: Path) -> None:
    path = project / "nlu_data" / "nlu" / "faq.yml"
    line = replace(path, "  - intent: faq/rsa\n", "  - intent: faq/rsa_jeune\n")
    report = check(project, faq_day(project))
    assert sorted(p.message.split(" : ")[0] for p in report.errors) == [
        "la question « faq/rsa_jeune » a des exemples mais aucune réponse "
        "« utter_faq/rsa_jeune » dans le domaine",
        "la réponse « utter_faq/rsa » n'a aucun exemple « faq/rsa » dans nlu_data/",
    ]
    [problem] = about(report, "faq/rsa_jeune")
    assert (problem.file, problem.line) == ("nlu_data/nlu/faq.yml", line)


def test_a_contract_answer_is_still_required_once(project: Path) -> None:
    path = project / "domain" / "faq.yml"
    text = path.read_text(encoding="utf-8")
    start = text.index("  utter_faq/cej:\n")
    end = text.index("  utter_faq/", start + 1)
    path.write_text(text[:start] + text[end:], encoding="utf-8")
    [problem] = check(project, faq_day(project)).errors
    assert "« utter_faq/cej » de la question fréquente « faq/cej » manque" in problem.message


# Tone --------------------------------------------------------------------------------------
def test_vouvoiement_outside_the_parent_path_is_an_error(project: Path) -> None:
    path = project / "domain" / "core.yml"
    line = replace(path, '"Avec plaisir !"', '"Avec plaisir, je reste à votre écoute !"')
    problem = [p for p in check(project, faq_day(project)).errors][0]
    assert (problem.file, problem.line) == ("domain/core.yml", line)
    assert "« utter_thanks » vouvoie (« votre »)" in problem.message
    assert "tutoyant" in problem.fix


def test_vouvoiement_in_an_faq_answer_or_a_button_is_an_error(project: Path) -> None:
    faq = project / "domain" / "faq.yml"
    replace(faq, "Le RSA, c'est en général", "Vous savez, le RSA, c'est en général")
    triage = project / "domain" / "triage.yml"
    line = replace(triage, 'title: "Un taf"', 'title: "Vos offres"')
    report = check(project, faq_day(project))
    assert len(about(report, "« utter_faq/rsa » vouvoie (« Vous »)")) == 1
    [button] = about(report, "un bouton de « utter_ask_needs » vouvoie (« Vos »)")
    assert (button.file, button.line) == ("domain/triage.yml", line)


def test_the_parent_path_may_say_vous(project: Path) -> None:
    path = project / "domain" / "faq.yml"
    path.write_text(
        path.read_text(encoding="utf-8")
        + '\n  utter_parent_test:\n    - text: "Bonjour, vous pouvez écrire pour votre enfant."\n',
        encoding="utf-8",
    )
    texts = project / "bot" / "texts.yml"
    texts.write_text(
        texts.read_text(encoding="utf-8") + 'parent_test: "Vos messages restent ici."\n',
        encoding="utf-8",
    )
    assert about(check(project, faq_day(project)), "vouvoie") == []


def test_rendez_vous_is_not_vouvoiement(project: Path) -> None:
    path = project / "domain" / "core.yml"
    replace(path, '"Avec plaisir !"', '"Avec plaisir ! Pense à ton rendez-vous."')
    assert about(check(project, faq_day(project)), "vouvoie") == []


def test_vouvoiement_in_the_app_texts_is_an_error(project: Path) -> None:
    path = project / checks.TEXTS_FILE
    line = replace(path, "J'ai bien ton message :", "Patientez, j'ai bien ton message :")
    assert about(check(project, faq_day(project)), "vouvoie") == []  # "Patientez": no pronoun
    # (verb endings are not checked: "chez", "assez", "nez" would be false alarms)
    replace(path, "Patientez, j'ai bien", "Merci de vous reconnecter, j'ai bien")
    [problem] = check(project, faq_day(project)).errors
    assert (problem.file, problem.line) == (checks.TEXTS_FILE, line)
    assert "le texte « engine_down » vouvoie (« vous »)" in problem.message


def test_a_too_long_line_is_reported(project: Path) -> None:
    path = project / "domain" / "nudges.yml"
    long = "Petite info : " + "ta demande est toujours en cours, " * 6
    assert len(long) > TONE_MAX_LINE_CHARS
    line = replace(path, '"Petite info : ta demande est toujours en cours', f'"{long}')
    [problem] = about(check(project, faq_day(project)), "« utter_handoff_pending » a une ligne")
    assert (problem.file, problem.line, problem.error) == ("domain/nudges.yml", line, False)
    assert f"{TONE_MAX_LINE_CHARS} au plus" in problem.message
    assert str(problem).startswith(f"domain/nudges.yml:{line}: attention : ")


def test_too_many_lines_are_reported(project: Path) -> None:
    path = project / "domain" / "faq.yml"
    replace(path, "Le RSA, c'est en général à partir de 25 ans.", "Le RSA.\\n" * 4 + "Voilà.")
    [problem] = about(check(project, faq_day(project)), "« utter_faq/rsa » fait 8 lignes")
    assert not problem.error and "6 au plus" in problem.message


def test_the_real_responses_keep_the_tone() -> None:
    report = run_checks(ROOT / "maraude.yml", today=last_checked(ROOT / "domain"))
    tone = [
        str(p)
        for p in report.problems
        if "vouvoie" in p.message or "a une ligne de" in p.message or "lignes (" in p.message
    ]
    assert tone == []
