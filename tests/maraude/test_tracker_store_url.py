"""One tracker store URL (`engine.tracker_store_url`) for the engine and the app: engine_env
hands it to Rasa (endpoints.yml), and Rasa itself opens that store from endpoints.yml."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from maraude.engine_process import engine_env, engine_tracker_url
from tests.support import ROOT, make_settings

RASA_PYTHON = ROOT / ".venv-rasa" / "bin" / "python"


def test_the_engine_gets_the_store_the_app_erases_from(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    env = engine_env(settings, "http://127.0.0.1:5055/webhook")
    assert settings.tracker_store_url == f"sqlite:///{tmp_path / 'var' / 'rasa-tracker.db'}"
    assert env["RASA_TRACKER_URL"] == settings.tracker_store_url
    assert "RASA_TRACKER_DB" not in env

    url = "postgresql+psycopg://maraude:s%40cret@db.internal:5433/rasa"
    settings = make_settings(tmp_path, engine={"tracker_store_url": url})
    assert settings.tracker_store_url == url  # what the app erases from
    # The engine's SQLAlchemy 1.4 with psycopg2: same server, database and credentials.
    expected = "postgresql://maraude:s%40cret@db.internal:5433/rasa"
    assert engine_env(settings, "http://x")["RASA_TRACKER_URL"] == expected
    assert engine_tracker_url("sqlite:////srv/var/rasa-tracker.db") == (
        "sqlite:////srv/var/rasa-tracker.db"
    )


@pytest.mark.skipif(not RASA_PYTHON.exists(), reason="the engine env (.venv-rasa) is not installed")
def test_rasa_opens_the_store_endpoints_yml_names(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    env = engine_env(settings, "http://127.0.0.1:5055/webhook")
    env.setdefault("ACTION_ENDPOINT_TOKEN", "t" * 32)
    script = (
        "from rasa.core.utils import read_endpoints_from_path\n"
        "from rasa.core.tracker_store import TrackerStore\n"
        "store = TrackerStore.create(read_endpoints_from_path('endpoints.yml').tracker_store)\n"
        "print(type(store).__name__, store.engine.url)\n"
    )
    result = subprocess.run(
        [str(RASA_PYTHON), "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["SQLTrackerStore", settings.tracker_store_url]
