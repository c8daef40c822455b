"""`maraude` command line: serve, up, db upgrade, train, check, chat."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import sys
from collections.abc import Sequence
from typing import Any

from core.settings import Settings, SettingsError, load_settings


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(args.config)


def _configure_logging(verbose: bool) -> None:
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
    import uvicorn

    from maraude.app import create_app

    settings = _settings(args)
    host = args.host or settings.server.host
    port = args.port or settings.server.port
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info", proxy_headers=True)
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


def cmd_up(args: argparse.Namespace) -> int:
    import uvicorn

    from maraude.app import create_app
    from maraude.engine_process import EngineProcess

    settings = _settings(args)
    host = args.host or settings.server.host
    port = args.port or settings.server.port
    engine = None
    if settings.rasa_url is None:
        engine = EngineProcess(settings)  # actions: the app's loopback action port
        engine.command()  # fail fast if the engine env or the model is missing
        print(f"Starting the Rasa engine on {engine.url} (log: {engine.log_path})…", flush=True)
        engine.start()
    try:
        if engine is not None:
            engine.wait_ready()
            print("Engine ready.", flush=True)
        print(
            f"App on http://{host}:{port} — simulator: http://{host}:{port}/simulateur", flush=True
        )
        uvicorn.run(create_app(settings), host=host, port=port, log_level="info")
    except KeyboardInterrupt:
        pass
    finally:
        if engine is not None:
            print("Stopping the engine…", flush=True)
            engine.stop()
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    from maraude.chat import run_chat

    return asyncio.run(run_chat(_settings(args), port=args.port))


def _account_service(args: argparse.Namespace) -> tuple[Settings, Any]:
    from core import migrate
    from core.db import Database
    from handoff.accounts import AccountService

    settings = _settings(args)
    migrate.upgrade(settings.effective_database_url)
    return settings, AccountService(Database.from_url(settings.effective_database_url))


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Mot de passe : ")
    if getpass.getpass("Encore une fois : ") != first:
        raise SystemExit("Les deux mots de passe ne sont pas identiques.")
    return first


def cmd_user_add(args: argparse.Namespace) -> int:
    from core.models import Role
    from handoff.accounts import AccountError

    settings, accounts = _account_service(args)
    teams = [team.id for team in settings.teams]
    if args.team is not None and args.team not in teams:
        print(f"Équipe inconnue : {args.team} (équipes : {', '.join(teams)})", file=sys.stderr)
        return 2
    try:
        account = accounts.add(
            args.email,
            args.first_name,
            _read_password(args),
            role=Role(args.role),
            team=args.team,
            telegram_user_id=args.telegram_id,
        )
    except AccountError as exc:
        print(f"Compte non créé : {exc}", file=sys.stderr)
        return 2
    print(f"Compte créé : {account.email} ({account.role}, équipe {account.team or '-'}).")
    return 0


def cmd_user_token(args: argparse.Namespace) -> int:
    _settings_, accounts = _account_service(args)
    account = accounts.by_email(args.email)
    if account is None:
        print(f"Aucun compte actif pour {args.email}", file=sys.stderr)
        return 2
    token = accounts.create_token(account.id, args.name)
    print("Jeton d'API (affiché une seule fois, garde-le en lieu sûr) :")
    print(token)
    return 0


def cmd_user_list(args: argparse.Namespace) -> int:
    _settings_, accounts = _account_service(args)
    for account in accounts.list():
        print(f"{account.email}\t{account.first_name}\t{account.role}\t{account.team or '-'}")
    return 0


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

    user = sub.add_parser("user", help="counsellor, manager and admin accounts")
    user_sub = user.add_subparsers(dest="user_command", required=True, metavar="USER_COMMAND")
    add = user_sub.add_parser("add", help="create an account (asks for the password)")
    add.add_argument("email")
    add.add_argument("--first-name", required=True, help="shown to young people")
    add.add_argument("--role", choices=["counsellor", "manager", "admin"], default="counsellor")
    add.add_argument("--team", help="team id from maraude.yml")
    add.add_argument("--telegram-id", type=int, help="Telegram user id, for the counsellors' group")
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    add.set_defaults(func=cmd_user_add)
    token = user_sub.add_parser("token", help="create a REST API token for an account")
    token.add_argument("email")
    token.add_argument("--name", default="api", help="what the token is for")
    token.set_defaults(func=cmd_user_token)
    user_sub.add_parser("list", help="list active accounts").set_defaults(func=cmd_user_list)

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

    from maraude import cli_privacy

    cli_privacy.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_logging(args.verbose)
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
