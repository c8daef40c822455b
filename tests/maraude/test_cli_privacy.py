"""`maraude privacy purge` and `maraude privacy status`: what they print and what they do."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from core import migrate
from core.clock import FixedClock
from core.db import Database
from core.erasure import ErasureService
from core.models import Channel, Ticket
from core.people import PeopleService
from core.settings import load_settings
from handoff.requests import HandoffService, TriageSummary
from handoff.routing import Router
from maraude.cli import main
from tests.fakes.telegram_api import FakeTelegramServer
from tests.support import TEST_TOKEN, write_config
from tests.support.bridge import GROUP
from tests.support.trackers_store import add_events, tracker_events


def project(folder: Path) -> tuple[Path, str, str]:
    """A config, one young person last seen in March 2026 (with an engine tracker): (config,
    their pseudonymous id, the tracker store URL)."""
    config = write_config(folder)
    settings = load_settings(config)
    migrate.upgrade(settings.effective_database_url)
    db = Database.from_url(settings.effective_database_url)
    clock = FixedClock(datetime(2026, 3, 2, 9, tzinfo=UTC))
    pseudo = PeopleService(db, settings.secret_key, clock).identify(Channel.telegram, "1").pseudo_id
    db.dispose()
    add_events(settings.tracker_store_url, pseudo, 2)
    return config, pseudo, settings.tracker_store_url


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


def test_purge_dry_run_then_for_real_then_status(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, pseudo, tracker = project(tmp_path)
    cfg = ["--config", str(config)]

    code, out = run(capsys, *cfg, "privacy", "purge", "--dry-run", "--as-of", "2027-03-15")
    assert code == 0
    assert "essai à blanc, rien n'est effacé" in out
    assert "jeunes inactifs à effacer : 1" in out
    assert tracker_events(tracker, pseudo) == 2

    # Not inactive for a year yet on 1 March 2027 (last seen 2 March 2026).
    code, out = run(capsys, *cfg, "privacy", "purge", "--as-of", "2027-03-01")
    assert "jeunes inactifs effacé·e·s : 0" in out

    code, out = run(capsys, *cfg, "privacy", "purge", "--as-of", "2027-03-04")
    assert code == 0
    assert "jeunes inactifs effacé·e·s : 1" in out
    assert "effacements du tracker du moteur en attente : 0" in out
    assert tracker_events(tracker, pseudo) == 0

    code, out = run(capsys, *cfg, "privacy", "status")
    assert code == 0
    assert "Effacements du tracker du moteur en attente : 0" in out
    assert "(cli), au 2027-03-04" in out and "1 jeune(s)" in out
    assert "Conservation : 365 jours" in out


def test_status_lists_pending_tracker_erasures_and_retries_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, pseudo, tracker = project(tmp_path)
    settings = load_settings(config)
    db = Database.from_url(settings.effective_database_url)
    ErasureService(db, db).erase_app(pseudo)  # the app's side, the tracker still to do
    db.dispose()
    cfg = ["--config", str(config)]

    code, out = run(capsys, *cfg, "privacy", "status")
    assert "Effacements du tracker du moteur en attente : 1" in out
    assert pseudo in out and "motif : request" in out and "essais : 0" in out
    assert "Dernière purge de conservation : aucune" in out
    assert tracker_events(tracker, pseudo) == 2

    code, out = run(capsys, *cfg, "privacy", "status", "--retry")
    assert "Nouvel essai : 1 effacement(s) fait(s), 0 toujours en attente." in out
    assert "Effacements du tracker du moteur en attente : 0" in out
    assert tracker_events(tracker, pseudo) == 0


def test_a_bad_date_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main(["--config", str(config), "privacy", "purge", "--as-of", "15/01/2027"])
    assert exit_.value.code == 2
    assert "AAAA-MM-JJ" in capsys.readouterr().err


def test_purge_from_the_command_line_deletes_the_forum_topics_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeTelegramServer() as tg:
        config = write_config(
            tmp_path,
            telegram_bot_token=TEST_TOKEN,
            telegram_api_base_url=tg.url,
            counsellor_group_id=GROUP,
        )
        settings = load_settings(config)
        migrate.upgrade(settings.effective_database_url)
        db = Database.from_url(settings.effective_database_url)
        clock = FixedClock(datetime(2026, 3, 2, 9, tzinfo=UTC))
        person = PeopleService(db, settings.secret_key, clock).identify(Channel.telegram, "1")
        request = HandoffService(db, Router(settings), clock).request(
            person.pseudo_id, TriageSummary(needs=["emploi"]), source="triage"
        )
        # The ticket's topic in the counsellors' group (as the bridge opened it).
        topic = httpx.post(
            f"{tg.url}/bot{TEST_TOKEN}/createForumTopic",
            json={"chat_id": GROUP, "name": f"#{request.ticket_id}"},
        ).json()["result"]["message_thread_id"]
        with db.transaction() as session:
            ticket = session.get(Ticket, request.ticket_id)
            assert ticket is not None
            ticket.topic_id = topic
        db.dispose()

        code, out = run(
            capsys, "--config", str(config), "privacy", "purge", "--as-of", "2027-06-01"
        )

        assert code == 0 and "jeunes inactifs effacé·e·s : 1" in out
        deleted = [int(c["message_thread_id"]) for c in tg.calls("deleteForumTopic", GROUP)]
        assert deleted == [topic]


def test_erase_answers_a_written_request_as_oubli_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, pseudo, tracker = project(tmp_path)
    settings = load_settings(config)
    db = Database.from_url(settings.effective_database_url)
    clock = FixedClock(datetime(2026, 3, 2, 9, tzinfo=UTC))
    request = HandoffService(db, Router(settings), clock).request(
        pseudo, TriageSummary(needs=["emploi"]), source="triage"
    )
    db.dispose()
    cfg = ["--config", str(config), "privacy", "erase"]

    code, out = run(capsys, *cfg, f"#{request.ticket_id}")  # without --yes: says what
    assert code == 1 and f"{pseudo} : 0 message(s), 1 ticket(s)" in out and "--yes" in out
    assert tracker_events(tracker, pseudo) == 2

    code, out = run(capsys, *cfg, "telegram:1", "--yes")  # the same person, by chat id
    assert code == 0
    assert f"{pseudo} effacé·e" in out and "2 événement(s) effacé(s)" in out
    assert tracker_events(tracker, pseudo) == 0
    db = Database.from_url(settings.effective_database_url)
    assert PeopleService(db, settings.secret_key).get(pseudo) is None
    db.dispose()

    assert main([*cfg, pseudo, "--yes"]) == 2  # gone: nothing more to erase
    assert "Personne inconnue" in capsys.readouterr().err
    assert main([*cfg, "nimporte-quoi", "--yes"]) == 2
