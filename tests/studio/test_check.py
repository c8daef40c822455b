"""`maraude check`: the static checks on copies of the project files, each broken one way.

Each test breaks one thing in a copy of the project, then asserts the file, the line (found
in the broken file's text, independently of the checker) and the message managers read.
"""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import pytest

from maraude.cli import main
from studio import checks
from studio.checks import Problem, Report, run_checks
from tests.support import ROOT, write_config
from tests.support.project import copy_project, last_checked, line_of, replace


@pytest.fixture(autouse=True)
def checks_today(monkeypatch: pytest.MonkeyPatch) -> date:
    day = last_checked(ROOT / "domain")
    monkeypatch.setattr(checks, "today", lambda: day)
    return day


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_project(tmp_path / "project")


def check(project: Path) -> Report:
    return run_checks(project / "maraude.yml")


def only_error(report: Report) -> Problem:
    assert len(report.errors) == 1, "\n".join(report.lines())
    return report.errors[0]


def test_the_real_project_passes_fast() -> None:
    started = time.perf_counter()
    report = run_checks(ROOT / "maraude.yml")
    elapsed = time.perf_counter() - started
    assert report.problems == [], "\n".join(report.lines())
    assert report.ok
    print(f"static checks of the project: {elapsed:.2f}s")


def test_the_copy_passes_and_the_command_says_so(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert check(project).problems == []
    assert main(["--config", str(project / "maraude.yml"), "check", "--static"]) == 0
    assert "aucun problème" in capsys.readouterr().out


def test_yaml_syntax_error_gives_file_line_and_column(project: Path) -> None:
    path = project / "domain" / "core.yml"
    line = replace(
        path, '  utter_greet:\n    - text: "Salut !', '  utter_greet:\n    - text: "Salut !""'
    )
    problem = only_error(check(project))
    assert (problem.file, problem.line) == ("domain/core.yml", line + 1)
    assert "mal formé" in problem.message and "colonne" in problem.message
    assert str(problem).startswith(f"domain/core.yml:{line + 1}: ")
    assert "Pour corriger :" in str(problem)


def test_tab_indentation_is_named(project: Path) -> None:
    path = project / "nlu_data" / "rules" / "faq.yml"
    line = replace(path, "    steps:", "\tsteps:")
    problem = only_error(check(project))
    assert (problem.file, problem.line) == ("nlu_data/rules/faq.yml", line)
    assert "tabulation" in problem.message


def test_settings_error_points_at_the_setting_line(project: Path) -> None:
    path = project / "maraude.yml"
    line = replace(path, "  port: 8000", "  port: 80000")
    problem = only_error(check(project))
    assert (problem.file, problem.line) == ("maraude.yml", line)
    assert "server.port" in problem.message and "trop grande" in problem.message


def test_unknown_setting_is_a_probable_typo(project: Path) -> None:
    path = project / "maraude.yml"
    line = replace(path, "  sweep_every: 30s", "  sweep_evry: 30s")
    problem = only_error(check(project))
    assert (problem.file, problem.line) == ("maraude.yml", line)
    assert "nudges.sweep_evry" in problem.message and "faute de frappe" in problem.message


def test_setting_checked_across_sections_points_at_its_line(project: Path) -> None:
    path = project / "maraude.yml"
    line = replace(path, "  default_team: accueil", "  default_team: nulle_part")
    problem = only_error(check(project))
    assert (problem.file, problem.line) == ("maraude.yml", line)
    assert "handoff.default_team" in problem.message


def test_settings_file_written_by_the_tests_helpers_is_fine(tmp_path: Path) -> None:
    # write_config re-serialises maraude.yml: the checks must not depend on its layout.
    config = write_config(tmp_path / "cfg", server={"port": 8123})
    report = Report()
    from studio.checks import check_settings

    check_settings(config.parent, config, report)
    assert report.problems == []


def test_rule_using_a_missing_response(project: Path) -> None:
    path = project / "nlu_data" / "rules" / "triage.yml"
    line = replace(
        path, "      - action: utter_handoff_declined", "      - action: utter_handoff_refused"
    )
    problem = only_error(check(project))
    assert (problem.file, problem.line) == ("nlu_data/rules/triage.yml", line)
    assert "« utter_handoff_refused » n'existe pas" in problem.message


def test_response_with_empty_text(project: Path) -> None:
    path = project / "domain" / "core.yml"
    line = replace(path, '- text: "Avec plaisir !"', '- text: ""')
    problem = only_error(check(project))
    assert (problem.file, problem.line) == ("domain/core.yml", line)
    assert "utter_thanks" in problem.message and "vide" in problem.message


def test_button_payload_naming_an_undeclared_intent(project: Path) -> None:
    path = project / "domain" / "triage.yml"
    line = replace(path, 'payload: "/need_housing"', 'payload: "/need_houssing"')
    problem = only_error(check(project))
    assert (problem.file, problem.line) == ("domain/triage.yml", line)
    assert "« Un logement »" in problem.message and "need_houssing" in problem.message
    assert "/need_housing" in problem.fix  # the closest declared intent is suggested


def test_placeholder_naming_no_slot(project: Path) -> None:
    path = project / "domain" / "triage.yml"
    line = replace(path, '- text: "Tu habites où ?', '- text: "{prenom}, tu habites où ?')
    problem = only_error(check(project))
    assert (problem.file, problem.line) == ("domain/triage.yml", line)
    assert "{prenom}" in problem.message and "utter_ask_location" in problem.message


def test_placeholder_the_custom_action_no_longer_fills(project: Path) -> None:
    # utter_handoff_done and utter_parent_handoff_done get {delay} from the hand-off
    # (actions/handoff.py; the real project passes).
    domain = project / "domain" / "triage.yml"
    lines = [
        number
        for number, text in enumerate(domain.read_text(encoding="utf-8").splitlines(), 1)
        if "{delay}" in text
    ]
    assert len(lines) == 3  # two variants, and the parent's wording
    replace(
        project / "actions" / "handoff.py",
        "delay=self.promised_delay",
        "when=self.promised_delay",
        count=2,
    )
    report = check(project)
    assert [(p.file, p.line) for p in report.errors] == [("domain/triage.yml", n) for n in lines]
    assert all("« {delay} »" in p.message for p in report.errors)


def test_rule_intent_not_declared(project: Path) -> None:
    path = project / "nlu_data" / "rules" / "triage.yml"
    line = replace(path, "      - intent: need_mobility\n", "      - intent: need_mobilty\n")
    problem = only_error(check(project))
    assert (problem.file, problem.line) == ("nlu_data/rules/triage.yml", line)
    assert "« need_mobilty » n'est pas déclarée" in problem.message


def test_intent_declared_without_examples(project: Path) -> None:
    path = project / "domain" / "triage.yml"
    line = replace(path, "  - need_childcare\n", "  - need_childcare\n  - need_sport\n") + 1
    problem = only_error(check(project))
    assert (problem.file, problem.line) == ("domain/triage.yml", line)
    assert "« need_sport » n'a aucun exemple" in problem.message


def test_same_example_under_two_intents(project: Path) -> None:
    needs = project / "nlu_data" / "nlu" / "needs.yml"
    first = line_of(needs, "      - jcherche du taf\n")
    path = project / "nlu_data" / "nlu" / "conversation.yml"
    text = path.read_text(encoding="utf-8")
    marker = "  - intent: greet\n    examples: |\n"
    assert marker in text
    line = text[: text.index(marker)].count("\n") + 3
    path.write_text(text.replace(marker, marker + "      - Jcherche  du TAF\n"), encoding="utf-8")
    problem = only_error(check(project))
    # Reported where it is seen second (files in name order), naming the first place.
    assert (problem.file, problem.line) == ("nlu_data/nlu/needs.yml", first)
    assert "« need_job »" in problem.message and "« greet »" in problem.message
    assert f"nlu_data/nlu/conversation.yml:{line}" in problem.message


def test_contract_intent_missing(project: Path) -> None:
    # Renamed everywhere (domain, examples, rules): consistent for Rasa, but breaks the contract.
    for path in [*(project / "domain").glob("*.yml"), *(project / "nlu_data").rglob("*.yml")]:
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("need_childcare", "need_kids"), encoding="utf-8")
    report = check(project)
    problem = only_error(report)
    assert problem.file == "domain/core.yml"
    assert "« need_childcare » a disparu" in problem.message


def test_annotated_entity_not_declared(project: Path) -> None:
    path = project / "nlu_data" / "nlu" / "inform.yml"
    line = replace(path, "      - [17](age) ans\n", "      - [17](agee) ans\n")
    problem = only_error(check(project))
    assert (problem.file, problem.line) == ("nlu_data/nlu/inform.yml", line)
    assert "« agee »" in problem.message and "entities:" in problem.fix


def test_config_unreadable(project: Path) -> None:
    path = project / "config.yml"
    line = replace(
        path, "  - name: SpacyTokenizer\n", "  - name: SpacyTokenizer\n   - name: Oops\n"
    )
    problem = only_error(check(project))
    assert (problem.file, problem.line) == ("config.yml", line + 1)
    assert "mal formé" in problem.message


def test_config_custom_component_missing(project: Path) -> None:
    path = project / "config.yml"
    line = replace(path, "engine.components.Normaliser", "engine.components.Normalizer")
    problem = only_error(check(project))
    assert (problem.file, problem.line) == ("config.yml", line)
    assert "Normalizer" in problem.message


def test_command_fails_with_file_line_and_advice_without_running_rasa(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / ".venv-rasa").symlink_to(ROOT / ".venv-rasa")  # as after `make install`
    path = project / "nlu_data" / "rules" / "triage.yml"
    line = replace(
        path, "      - action: utter_handoff_declined", "      - action: utter_handoff_refused"
    )
    started = time.perf_counter()
    code = main(["--config", str(project / "maraude.yml"), "check"])  # not --static
    assert code == 1
    assert time.perf_counter() - started < 10  # stopped before `rasa data validate`
    out = capsys.readouterr().out
    assert f"nlu_data/rules/triage.yml:{line}: la réponse « utter_handoff_refused »" in out
    assert "Pour corriger : vérifie l'orthographe" in out
    assert "1 erreur(s)" in out


def test_wording_experiment_with_a_repeated_variant_id(project: Path) -> None:
    path = project / "domain" / "triage.yml"
    line = replace(path, "id: sans_pression", "id: directe")
    problem = only_error(check(project))
    assert (problem.file, problem.line) == ("domain/triage.yml", line)
    assert "« directe » est déjà pris dans « utter_offer_counsellor »" in problem.message


def test_wording_experiment_with_a_variant_without_id(project: Path) -> None:
    path = project / "domain" / "triage.yml"
    replace(path, "- id: sans_pression\n      text:", "- text:")
    problem = only_error(check(project))
    assert problem.file == "domain/triage.yml"
    assert problem.line == line_of(path, "utter_offer_counsellor:")
    assert "certaines variantes ont un id et d'autres non" in problem.message


def test_wording_experiment_with_an_invalid_variant_id(project: Path) -> None:
    path = project / "domain" / "triage.yml"
    line = replace(path, "id: sans_pression", "id: sans pression à accents")
    problem = only_error(check(project))
    assert (problem.file, problem.line) == ("domain/triage.yml", line)
    assert "n'est pas valable" in problem.message
