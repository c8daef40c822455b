"""`maraude check` warns about web chat settings that pass validation but would hurt: a
colour too light for its white text, an embedding site in clear http, a mail server that
cannot send (no sender, no SMTP_PASSWORD for its login)."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.checks import Report, check_settings
from studio.checks.webchat import contrast_with_white
from tests.support import write_config


def problems(config: Path) -> Report:
    report = Report()
    check_settings(config.parent, config, report)
    return report


def chat_warnings(report: Report) -> list[str]:
    return [
        w.message
        for w in report.warnings
        if "chat" in w.message or "webchat" in w.message or "http://" in w.message
    ]


def test_the_shipped_settings_have_no_web_chat_warning(tmp_path: Path) -> None:
    assert chat_warnings(problems(write_config(tmp_path))) == []


def test_contrast_is_measured_as_wcag_does() -> None:
    assert contrast_with_white("#ffffff") == pytest.approx(1.0)
    assert contrast_with_white("#000000") == pytest.approx(21.0)
    assert contrast_with_white("#1d4ed8") > 4.5  # the default passes AA
    assert contrast_with_white("#60a5fa") < 4.5  # a light blue does not


def test_a_light_colour_and_a_clear_http_site_are_reported_not_refused(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        webchat={
            "colour": "#ffcc00",
            "allowed_origins": ["http://www.partenaire.example", "http://localhost:8080"],
        },
    )
    report = problems(config)
    assert report.ok
    messages = chat_warnings(report)
    assert any("#ffcc00" in m and "contraste" in m for m in messages)
    assert any("http://www.partenaire.example" in m for m in messages)
    assert not any("localhost" in m for m in messages)  # a developer's own machine


def test_a_mail_server_that_cannot_send_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SMTP_PASSWORD", raising=False)
    no_sender = problems(
        write_config(tmp_path / "a", webchat={"email": {"smtp_host": "smtp.example"}})
    )
    assert any("expéditeur" in m for m in chat_warnings(no_sender))
    login = {"smtp_host": "smtp.example", "sender": "ml@example.fr", "username": "ml"}
    no_password = problems(write_config(tmp_path / "b", webchat={"email": login}))
    [warning] = [w for w in no_password.warnings if "SMTP_PASSWORD" in w.message]
    assert "maraude.yml" in warning.fix
    monkeypatch.setenv("SMTP_PASSWORD", "un-mot-de-passe")
    assert not [
        w
        for w in problems(write_config(tmp_path / "c", webchat={"email": login})).warnings
        if "SMTP_PASSWORD" in w.message
    ]
