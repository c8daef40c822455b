"""`maraude privacy ...`: the young people's data rights from the command line (issue 19).

Each command is a `cmd_*` function taking the parsed arguments and returning an exit code;
`register` adds the `privacy` group to the main parser (maraude/cli.py).
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import date, datetime, tzinfo
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.retention import PurgeReport
    from maraude.services import Services


def register(sub: Any) -> None:
    """Add `maraude privacy` and its commands to the main parser's subparsers."""
    privacy = sub.add_parser("privacy", help="retention, erasure and data access requests")
    privacy_sub = privacy.add_subparsers(
        dest="privacy_command", required=True, metavar="PRIVACY_COMMAND"
    )
    _register_commands(privacy_sub)


def _register_commands(privacy_sub: argparse._SubParsersAction[Any]) -> None:
    """One block per command (purge, status, export)."""
    # purge: the retention purge now, or as of a date (core/retention.py)
    purge = privacy_sub.add_parser(
        "purge", help="erase everyone inactive for organisation.retention_days (and old logs)"
    )
    purge.add_argument("--dry-run", action="store_true", help="count only, erase nothing")
    purge.add_argument(
        "--as-of", type=_day, metavar="YYYY-MM-DD", help="as if it were that day (00:00 local)"
    )
    purge.set_defaults(func=cmd_purge)
    # status: pending tracker erasures and the last purge
    status = privacy_sub.add_parser(
        "status", help="tracker erasures still pending, the last retention purge"
    )
    status.add_argument("--retry", action="store_true", help="try the pending tracker erasures now")
    status.set_defaults(func=cmd_status)
    # export: a counsellor answers a written access request (maraude/cli_export.py)
    from maraude.cli_export import register_export

    register_export(privacy_sub)


# purge and status ---------------------------------------------------------------------------
def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"date attendue au format AAAA-MM-JJ : {value!r}"
        ) from None


def _when(moment: datetime | None, tz: tzinfo) -> str:
    """A moment as the structure reads it (local time of `nudges.timezone`)."""
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M") if moment else "-"


def _age(now: datetime, moment: datetime) -> str:
    seconds = max(int((now - moment).total_seconds()), 0)
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} j"


async def _purge(services: Services, as_of: datetime | None, dry_run: bool) -> PurgeReport:
    """The purge; with a counsellors' group, the bridge runs meanwhile, so that the erased
    people's forum topics go too (as when the app's daily job purges)."""
    assert services.retention is not None
    bridge, telegram = services.bridge, services.telegram
    live = bridge is not None and telegram is not None and not dry_run
    if live:
        assert bridge is not None and telegram is not None
        await telegram.application.initialize()
        await bridge.start()
    try:
        return await services.retention.purge(
            services.desk.forget, as_of, dry_run=dry_run, trigger="cli"
        )
    finally:
        if live:
            assert bridge is not None and telegram is not None
            await bridge.stop()  # after posting what is queued (the topics to delete)
            await telegram.application.shutdown()
        await services.engine.aclose()


def cmd_purge(args: argparse.Namespace) -> int:
    """The same purge as the daily job, through the same services (as /oubli erases)."""
    from zoneinfo import ZoneInfo

    from core import migrate
    from core.settings import load_settings
    from maraude.services import build_services

    settings = load_settings(args.config)
    tz = ZoneInfo(settings.nudges.timezone)
    migrate.upgrade(settings.effective_database_url)
    services = build_services(settings)
    assert services.retention is not None
    as_of = services.retention.as_of_day(args.as_of) if args.as_of else None
    try:
        report = asyncio.run(_purge(services, as_of, args.dry_run))
    finally:
        services.erasure.dispose()
        services.db.dispose()
    verb = "à effacer" if report.dry_run else "effacé·e·s"
    print(
        f"Purge de conservation au {_when(report.as_of, tz)} "
        f"(conservation : {settings.organisation.retention_days} jours, simulations : 1 jour, "
        f"heure de {tz.key})" + (" — essai à blanc, rien n'est effacé" if report.dry_run else "")
    )
    print(f"  jeunes inactifs {verb} : {report.people}")
    print(f"  simulations {verb} : {report.simulations}")
    print(
        f"  dont messages : {report.messages}, tickets : {report.tickets}, "
        f"tours NLU : {report.nlu_turns} (annotations non exportées : {report.annotations})"
    )
    print(f"  fichiers de log {verb} : {report.log_files}")
    if not report.dry_run:
        print(f"  effacements du tracker du moteur en attente : {report.tracker_pending}")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from zoneinfo import ZoneInfo

    from core import migrate
    from core.clock import SystemClock
    from core.db import Database
    from core.erasure import ErasureService
    from core.retention import RetentionService
    from core.settings import load_settings

    settings = load_settings(args.config)
    tz = ZoneInfo(settings.nudges.timezone)
    migrate.upgrade(settings.effective_database_url)
    db = Database.from_url(settings.effective_database_url)
    erasure = ErasureService(db, Database.from_url(settings.tracker_store_url))
    retention = RetentionService(
        db,
        erasure,
        settings.organisation.retention_days,
        settings.var_dir / "log",
        tz,
    )
    try:
        if args.retry:
            done, failed = erasure.retry_pending()
            print(f"Nouvel essai : {done} effacement(s) fait(s), {failed} toujours en attente.")
        now = SystemClock().now()
        pending = erasure.pending()
        print(f"Effacements du tracker du moteur en attente : {len(pending)}")
        for item in pending:
            error = f", dernière erreur : {item.last_error}" if item.last_error else ""
            print(
                f"  {item.pseudo_id}  demandé {_when(item.requested_at, tz)} "
                f"(il y a {_age(now, item.requested_at)}), motif : {item.reason}, "
                f"essais : {item.attempts}{error}"
            )
        run = retention.last_run()
        if run is None:
            print("Dernière purge de conservation : aucune")
        else:
            print(
                f"Dernière purge de conservation : {_when(run.started_at, tz)} ({run.trigger}), "
                f"au {_when(run.as_of, tz)} : {run.people} jeune(s), {run.simulations} "
                f"simulation(s), {run.log_files} fichier(s) de log, "
                f"{run.tracker_pending} effacement(s) du tracker laissé(s) en attente"
            )
        print(
            f"Conservation : {settings.organisation.retention_days} jours sans activité "
            "(organisation.retention_days), simulations : 1 jour"
        )
    finally:
        erasure.dispose()
        db.dispose()
    return 0
