"""`maraude check` warns, once the bot is live, while the privacy notice would show an empty or
example controller or DPO contact (maraude.yml `organisation.controller`, `dpo_contact`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.checks import Report, check_settings
from tests.support import TEST_TOKEN, write_config


def warnings(config: Path) -> list[str]:
    report = Report()
    check_settings(config.parent, config, report)
    assert report.ok, report.lines()
    return [str(p) for p in report.warnings]


def test_example_values_are_warned_about_in_production(tmp_path: Path) -> None:
    config = write_config(tmp_path, telegram_bot_token=TEST_TOKEN)
    found = warnings(config)
    assert len(found) == 2
    assert any("organisation.controller" in w for w in found)
    assert any("organisation.dpo_contact" in w for w in found)
    text = config.read_text(encoding="utf-8").splitlines()
    [line] = [i for i, row in enumerate(text, 1) if row.strip().startswith("dpo_contact:")]
    assert any(w.startswith(f"maraude.yml:{line}: attention") for w in found)


@pytest.mark.parametrize(
    "organisation",
    [
        {
            "controller": "Mission Locale de Lens, 12 rue Paul Bert, 62300 Lens",
            "dpo_contact": "dpo@ml-lens.fr",
        },
    ],
)
def test_real_values_pass(tmp_path: Path, organisation: dict[str, str]) -> None:
    config = write_config(tmp_path, telegram_bot_token=TEST_TOKEN, organisation=organisation)
    assert warnings(config) == []


def test_the_demo_without_a_token_keeps_its_examples_quietly(tmp_path: Path) -> None:
    assert warnings(write_config(tmp_path)) == []


def test_empty_values_are_warned_about_too(tmp_path: Path) -> None:
    config = write_config(
        tmp_path, telegram_bot_token=TEST_TOKEN, organisation={"controller": "", "dpo_contact": ""}
    )
    assert len(warnings(config)) == 2
