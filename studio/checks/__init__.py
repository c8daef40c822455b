"""Static checks of what managers edit, run by `maraude check` before `rasa data validate`.

Reads maraude.yml, config.yml, the domain and the training data with PyYAML only (no Rasa,
no network: well under a second), and reports each problem as one line a manager can act
on, in French: `file:line: problem. Pour corriger : advice.` Errors make `maraude check`
fail; warnings are printed and do not.

What is checked, one module per family:
- every YAML file parses (file, line and column of a syntax error), no key twice in a mapping
  (yamldoc.py);
- maraude.yml: the settings (pydantic errors mapped back to the line of the setting:
  settings.py);
- config.yml: readable, a mapping with a language, a pipeline and policies; custom
  components of engine/ exist (rasa_config.py);
- the domain: responses used by rules, stories, forms and custom actions exist; no response
  without text; button payloads name declared intents and entities; `{name}` placeholders
  name a slot (or a value the custom action passes) (responses.py, on what project.py read);
- the training data: intents of rules and stories are declared; declared intents have
  examples; no example under two intents; annotated entities are declared; actions and slots
  used in rules are declared (training.py); the contract intents of DESIGN.md are all there
  (contract.py);
- wording experiments: variation ids all or none, valid and distinct (experiments.py);
- the knowledge base (FAQ): answers and examples go in pairs, each answer has its source and
  the date it was checked, not older than FAQ_MAX_AGE_MONTHS (faq.py; `today` is a parameter
  of `run_checks`, for tests);
- the tone of every response (domain responses and bot/texts.yml): tutoiement, short
  messages (tone.py).
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

from studio.checks.contract import check_contract
from studio.checks.experiments import check_experiments
from studio.checks.faq import FAQ_MAX_AGE_MONTHS, check_knowledge_base
from studio.checks.project import Project, read_domain, read_training_data, responses_in_code
from studio.checks.rasa_config import check_config
from studio.checks.report import Problem, Report
from studio.checks.responses import check_used_responses, check_variants
from studio.checks.settings import check_settings
from studio.checks.tone import (
    TEXTS_FILE,
    TONE_MAX_LINE_CHARS,
    check_texts_tone,
    check_tone_of_responses,
)
from studio.checks.training import check_training_data
from studio.checks.yamldoc import load_yaml

__all__ = [
    "FAQ_MAX_AGE_MONTHS",
    "TEXTS_FILE",
    "TONE_MAX_LINE_CHARS",
    "Problem",
    "Report",
    "check_domain_and_data",
    "check_settings",
    "run_checks",
    "today",
]

OTHER_YAML = ("endpoints.yml", "credentials.yml")


def today() -> date:
    """The date the FAQ ages are measured from (replaced in tests, or pass `today=`)."""
    return date.today()


def check_domain_and_data(root: Path, report: Report, on: date | None = None) -> None:
    """The domain and the training data; `on`: the day FAQ ages are measured from."""
    project = Project()
    before = len(report.errors)
    read_domain(root, project, report)
    read_training_data(root, project, report)
    if len(report.errors) > before:
        # A file that cannot be read would make everything it declares look missing: the
        # manager fixes it first, the cross-checks run on the next `maraude check`.
        return
    code = responses_in_code(root)
    out = report.problems
    out.extend(check_used_responses(root, project, code))
    out.extend(check_variants(project, code))
    out.extend(check_training_data(project))
    out.extend(check_contract(project))
    out.extend(check_experiments(project))
    out.extend(check_knowledge_base(project, on or today()))
    out.extend(check_tone_of_responses(project))


def run_checks(
    config: str | os.PathLike[str] | None = None, *, today: date | None = None
) -> Report:
    """Every static check of the project whose settings file is `config` (its folder is the
    project root, as for `load_settings`). `today`: the day the FAQ answers' ages are
    measured from (by default the real one, `checks.today()`)."""
    path = Path(config or os.environ.get("MARAUDE_CONFIG") or "maraude.yml")
    root = path.resolve().parent
    report = Report()
    check_settings(root, path, report)
    check_config(root, report)
    for name in OTHER_YAML:
        if (root / name).is_file():
            load_yaml(root / name, name, report)
    check_domain_and_data(root, report, on=today)
    check_texts_tone(root, report)
    return report
