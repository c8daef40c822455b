"""`maraude` command line: serve, up, db upgrade, train, check, chat; `user`, `privacy` and
`campaign` live in maraude/cli_users.py, maraude/cli_privacy.py and maraude/cli_campaigns.py."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from core.settings import Settings, SettingsError, load_settings

# Seconds a stopping server waits for open requests: the web chat's live streams stay open
# for minutes (webchat.stream_seconds); they reconnect to the next server.
GRACEFUL_SHUTDOWN = 5


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(args.config)


def configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    from core.logfilter import install_privacy_filter

    install_privacy_filter()  # no message text, answer or chat id in any log


def cmd_serve(args: argparse.Namespace) -> int:
    import os
    from pathlib import Path

    import uvicorn

    from core.settings import CONFIG_ENV
    from maraude.app import VERBOSE_ENV, create_app

    if args.workers is not None:  # validated with the rest: REDIS_URL and PostgreSQL needed
        os.environ["SERVER__WORKERS"] = str(args.workers)
    settings = _settings(args)
    host = args.host or settings.server.host
    port = args.port or settings.server.port
    workers = settings.server.workers
    if workers == 1:
        uvicorn.run(
            create_app(settings),
            host=host,
            port=port,
            log_level="info",
            proxy_headers=True,
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN,
        )
        return 0
    if settings.telegram_bot_token is not None and not settings.telegram_webhook_url:
        print(
            "server.workers > 1 needs TELEGRAM_WEBHOOK_URL: in polling mode only one process "
            "may ask Telegram for updates.",
            file=sys.stderr,
        )
        return 2
    # Each worker process builds its own app from the same settings (maraude/app.py).
    if args.config:
        os.environ[CONFIG_ENV] = str(Path(args.config).resolve())
    if args.verbose:
        os.environ[VERBOSE_ENV] = "1"
    print(f"App on http://{host}:{port} with {workers} workers", flush=True)
    uvicorn.run(
        "maraude.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        proxy_headers=True,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN,
    )
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from core import migrate

    settings = _settings(args)
    migrate.upgrade(settings.effective_database_url)
    print(f"Database at revision {migrate.current(settings.effective_database_url)}.")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from maraude.engine_process import latest_model, train

    settings = _settings(args)
    code = train(settings)
    if code == 0:
        print(
            f"Model: {latest_model(settings).name}. A running app picks up the newest model "
            "by itself (engine.model_watch_every): conversations in progress carry on.",
            flush=True,
        )
    return code


def cmd_check(args: argparse.Namespace) -> int:
    from maraude.engine_process import rasa_executable, validate
    from studio.checks import run_checks

    if not args.static:
        try:
            settings = _settings(args)
        except SettingsError:
            pass  # the static checks below say which setting is wrong, and on which line
        else:
            rasa_executable(settings)  # no engine env: say `make install` before anything
    # Static checks first (fast, plain French, file:line); Rasa's own validation after.
    report = run_checks(args.config)
    for line in report.lines():
        print(line)
    print(report.summary(), flush=True)
    if not report.ok:
        print("Corrige ces erreurs puis relance `maraude check`.")
        return 1
    if args.static:
        return 0
    settings = _settings(args)
    print(f"Settings OK ({settings.root / 'maraude.yml'}).")
    code = validate(settings)
    print("Rasa data OK." if code == 0 else "Rasa data has problems (see above).")
    return code


class _Terminated(Exception):
    """SIGTERM on `maraude up` (systemd, containers): stop everything as Ctrl-C does."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise _Terminated()


def cmd_up(args: argparse.Namespace) -> int:
    import signal

    import uvicorn

    from maraude.app import create_app
    from maraude.supervisor import EngineSupervisor

    settings = _settings(args)
    host = args.host or settings.server.host
    port = args.port or settings.server.port
    supervisor = None
    # uvicorn catches SIGTERM, shuts down, restores the previous handler and raises the signal
    # again: with the default handler the process would die there, before the `finally` that
    # stops the engines (left running, orphaned, holding their ports). Ours raises instead.
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        if settings.rasa_url is None:
            supervisor = EngineSupervisor.for_settings(settings)  # actions: the loopback port
            where = ", ".join(supervisor.urls)
            log_dir = settings.var_dir / "log"
            print(f"Starting the Rasa engine(s) on {where} (logs in {log_dir})…", flush=True)
            supervisor.start()  # a taken port or a missing model: EngineError, nothing started
            supervisor.wait_ready()
            supervisor.watch()  # restarts an engine that dies, with back-off
            print("Engine(s) ready.", flush=True)
        print(
            f"App on http://{host}:{port} — simulator: http://{host}:{port}/simulateur, "
            f"web chat: http://{host}:{port}/chat",
            flush=True,
        )
        uvicorn.run(
            create_app(settings, supervisor=supervisor),
            host=host,
            port=port,
            log_level="info",
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN,
        )
    except (KeyboardInterrupt, _Terminated):
        pass
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM: finish stopping
        try:
            if supervisor is not None:
                print("Stopping the engine(s)…", flush=True)
                supervisor.stop()
        finally:
            signal.signal(signal.SIGTERM, previous)
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    from maraude.chat import run_chat

    return asyncio.run(run_chat(_settings(args), port=args.port))


def cmd_annotate_export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from core import migrate
    from core.clock import SystemClock
    from core.db import Database
    from studio.annotations import AnnotationExportError, export_annotations
    from studio.insights import InsightsService

    settings = _settings(args)
    migrate.upgrade(settings.effective_database_url)
    db = Database.from_url(settings.effective_database_url)
    try:
        insights = InsightsService(db, SystemClock(), settings.root / "domain")
        report = export_annotations(insights, settings.root, Path(args.out) if args.out else None)
    except AnnotationExportError as exc:
        print(str(exc), file=sys.stderr)
        return 3
    finally:
        db.dispose()
    if not report.selected:
        print("Aucune annotation à exporter.")
        return 0
    print(
        f"{report.written} exemple(s) écrit(s) dans {report.path}, "
        f"{report.duplicates} ignoré(s) car déjà présent(s), "
        f"{len(report.conflicts)} en conflit avec une autre intention, "
        f"{report.only_personal} ignoré(s) car réduit(s) à des données masquées."
    )
    for text, intent, existing in report.conflicts:
        print(f"  conflit : « {text} » annoté {intent}, déjà dans nlu_data/ sous {existing}")
    print(
        f"Masqués : {report.masked_contacts} numéro(s)/e-mail(s), {report.masked_names} prénom(s)."
    )
    print("Ensuite : `maraude check` puis `maraude train`.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="maraude", description="Maraude outreach assistant.")
    parser.add_argument(
        "--config", help="settings file (default: $MARAUDE_CONFIG or ./maraude.yml)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the app process (web, actions, Telegram)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument(
        "--workers",
        type=int,
        help="app worker processes (default: server.workers; webhook mode, Redis, PostgreSQL)",
    )
    serve.set_defaults(func=cmd_serve)

    up = sub.add_parser("up", help="start the engine, wait until ready, then the app")
    up.add_argument("--host")
    up.add_argument("--port", type=int)
    up.set_defaults(func=cmd_up)

    db = sub.add_parser("db", help="database commands")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="DB_COMMAND")
    db_sub.add_parser("upgrade", help="apply migrations").set_defaults(func=cmd_db_upgrade)

    sub.add_parser("train", help="train the model if data changed").set_defaults(func=cmd_train)
    check = sub.add_parser("check", help="validate settings and Rasa data")
    check.add_argument(
        "--static", action="store_true", help="only the fast checks, not `rasa data validate`"
    )
    check.set_defaults(func=cmd_check)

    annotate = sub.add_parser("annotate", help="annotations of misunderstood messages")
    annotate_sub = annotate.add_subparsers(
        dest="annotate_command", required=True, metavar="ANNOTATE_COMMAND"
    )
    export = annotate_sub.add_parser("export", help="write them as Rasa NLU training data")
    export.add_argument("--out", help="NLU file (default: nlu_data/nlu/annotations.yml)")
    export.set_defaults(func=cmd_annotate_export)

    chat = sub.add_parser("chat", help="talk to the bot in the terminal through the whole stack")
    chat.add_argument("--port", type=int, default=None, help="port for the app")
    chat.set_defaults(func=cmd_chat)

    from maraude import cli_campaigns, cli_privacy, cli_users

    cli_users.register(sub)  # maraude user ...
    cli_privacy.register(sub)
    cli_campaigns.register(sub)  # maraude campaign ...
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.verbose)
    try:
        return int(args.func(args))
    except SettingsError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except Exception as exc:
        from maraude.engine_process import EngineError

        if isinstance(exc, EngineError):
            print(str(exc), file=sys.stderr)
            return 3
        raise


if __name__ == "__main__":
    sys.exit(main())
