"""Settings: defaults, environment overrides, and errors that name the setting."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from core.settings import SettingsError, load_settings
from tests.support import TEST_TOKEN, write_config


def test_project_settings_load_with_defaults(tmp_path: Path) -> None:
    settings = load_settings(write_config(tmp_path))
    assert settings.telegram_bot_token is None  # optional: the simulator still works
    assert settings.telegram_api_base_url == "https://api.telegram.org"
    assert settings.effective_database_url == f"sqlite:///{tmp_path / 'var' / 'maraude.db'}"
    assert settings.engine_url == "http://127.0.0.1:5005"
    assert settings.privacy_url == "http://127.0.0.1:8000/confidentialite"
    assert settings.organisation.name


def test_environment_overrides_yaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TEST_TOKEN)
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", "http://127.0.0.1:8081/")
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://u@127.0.0.1:5432/maraude")
    monkeypatch.setenv("RASA_URL", "http://127.0.0.1:5999")
    monkeypatch.setenv("COUNSELLOR_GROUP_ID", "-1001234567890")
    monkeypatch.setenv("ORGANISATION__NAME", "Mission Locale de Lens")
    settings = load_settings(write_config(tmp_path, rasa_url="http://127.0.0.1:1"))
    assert settings.telegram_bot_token is not None
    assert settings.telegram_bot_token.get_secret_value() == TEST_TOKEN
    assert TEST_TOKEN not in repr(settings)  # secrets never printed
    assert settings.telegram_api_base_url == "http://127.0.0.1:8081"
    assert settings.effective_database_url.startswith("postgresql+psycopg://")
    assert settings.engine_url == "http://127.0.0.1:5999"
    assert settings.counsellor_group_id == -1001234567890
    assert settings.organisation.name == "Mission Locale de Lens"
    assert settings.organisation.retention_days == 365  # rest of the section kept


def test_dotenv_next_to_config_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("RASA_URL=http://127.0.0.1:5055\n")
    assert load_settings(write_config(tmp_path)).engine_url == "http://127.0.0.1:5055"


@pytest.mark.parametrize(
    ("env", "value", "named", "expected"),
    [
        ("TELEGRAM_BOT_TOKEN", "not-a-token", "TELEGRAM_BOT_TOKEN", "BotFather token"),
        ("TELEGRAM_BOT_TOKEN", "change-me", "TELEGRAM_BOT_TOKEN", "placeholder"),
        ("TELEGRAM_API_BASE_URL", "api.telegram.org", "TELEGRAM_API_BASE_URL", "http(s) URL"),
        ("TELEGRAM_WEBHOOK_URL", "not a url", "TELEGRAM_WEBHOOK_URL", "https URL"),
        ("COUNSELLOR_GROUP_ID", "12345", "COUNSELLOR_GROUP_ID", "negative number"),
        ("COUNSELLOR_GROUP_ID", "abc", "COUNSELLOR_GROUP_ID", "supergroup id"),
        ("DATABASE_URL", "nonsense", "DATABASE_URL", "SQLAlchemy URL"),
        ("RASA_URL", "localhost:5005", "RASA_URL", "http(s) URL"),
        ("MARAUDE_SECRET_KEY", "changethis", "MARAUDE_SECRET_KEY", "placeholder"),
        ("MARAUDE_SECRET_KEY", "short", "MARAUDE_SECRET_KEY", "32 characters"),
        ("SERVER__PORT", "99999", "server.port", "less than or equal to 65535"),
    ],
)
def test_bad_setting_names_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: str, value: str, named: str, expected: str
) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(SettingsError) as error:
        load_settings(write_config(tmp_path))
    message = str(error.value)
    assert named in message
    assert expected in message
    assert value not in message or len(value) < 12  # no echo of secrets


def test_missing_required_setting(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    path.write_text("server:\n  port: 8000\n")
    with pytest.raises(SettingsError, match=r"organisation in maraude.yml .*is required"):
        load_settings(path)


def test_unknown_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"organisation.nmae .*not a known setting"):
        load_settings(write_config(tmp_path, organisation={"nmae": "typo"}))


def test_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="Settings file not found"):
        load_settings(tmp_path / "nope.yml")
    bad = tmp_path / "maraude.yml"
    bad.write_text("organisation: [unclosed\n")
    with pytest.raises(SettingsError, match="not valid YAML"):
        load_settings(bad)


def test_secret_key_generated_once_private_and_stable(tmp_path: Path) -> None:
    settings = load_settings(write_config(tmp_path))
    key = settings.secret_key
    path = tmp_path / "var" / "secret_key"
    assert path.read_text() == key and len(key) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_settings(write_config(tmp_path)).secret_key == key
