"""`maraude privacy ...`: the young people's data rights from the command line (issue 19).

Each command is a `cmd_*` function taking the parsed arguments and returning an exit code;
`register` adds the `privacy` group to the main parser (maraude/cli.py).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable
from datetime import date, datetime, tzinfo
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from core.retention import PurgeReport
    from maraude.services import Services

T = TypeVar("T")


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
    # erase: a written erasure request (what /oubli does, for a counsellor)
    erase = privacy_sub.add_parser(
        "erase", help="erase one young person from every store (a written erasure request)"
    )
    erase.add_argument(
        "person",
        metavar="PERSON",
        help="pseudonymous id (y…), ticket number (12 or #12) or telegram:<chat id>",
    )
    erase.add_argument("--yes", action="store_true", help="really erase (without: say what)")
    erase.set_defaults(func=cmd_erase)
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


async def _with_bridge(services: Services, work: Awaitable[T], *, live: bool = True) -> T:
    """`work` (erasures); with a counsellors' group, the bridge runs meanwhile, so that the
    erased people's forum topics go too (as when the app erases)."""
    bridge, telegram = services.bridge, services.telegram
    live = live and bridge is not None and telegram is not None
    if live:
        assert bridge is not None and telegram is not None
        await telegram.application.initialize()
        await bridge.start()
    try:
        return await work
    finally:
        if live:
            assert bridge is not None and telegram is not None
            await bridge.stop()  # after posting what is queued (the topics to delete)
            await telegram.application.shutdown()
        await services.engine.aclose()


async def _purge(services: Services, as_of: datetime | None, dry_run: bool) -> PurgeReport:
    assert services.retention is not None
    work = services.retention.purge(services.desk.forget, as_of, dry_run=dry_run, trigger="cli")
    return await _with_bridge(services, work, live=not dry_run)


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


def cmd_erase(args: argparse.Namespace) -> int:
    """Erase one young person as /oubli does: the app's data at once, the engine's tracker
    (pending if its store cannot be reached), the forum topics of the counsellors' group."""
    from sqlalchemy import func, select

    from core import migrate
    from core.models import Message, Ticket, YoungPerson
    from core.settings import load_settings
    from maraude.cli_export import resolve_person
    from maraude.services import build_services

    settings = load_settings(args.config)
    person = args.person.strip()
    migrate.upgrade(settings.effective_database_url)
    services = build_services(settings)
    try:
        with services.db.transaction() as session:
            pseudo = resolve_person(
                settings.secret_key,
                person,
                lambda number: session.scalar(
                    select(YoungPerson.pseudo_id)
                    .join(Ticket, Ticket.person_id == YoungPerson.id)
                    .where(Ticket.id == number)
                ),
            )
            found = session.scalar(select(YoungPerson.id).where(YoungPerson.pseudo_id == pseudo))
            messages: int | None = 0
            tickets: int | None = 0
            if found is not None:
                count = select(func.count())
                messages = session.scalar(
                    count.select_from(Message).where(Message.person_id == found)
                )
                tickets = session.scalar(count.select_from(Ticket).where(Ticket.person_id == found))
        if pseudo is None or found is None:
            print(
                f"Personne inconnue : {person!r} (déjà effacée, ou jamais venue). Attendu : un "
                "identifiant pseudonyme (y…), un numéro de ticket ou telegram:<identifiant>.",
                file=sys.stderr,
            )
            return 2
        if not args.yes:
            print(
                f"{pseudo} : {messages} message(s), {tickets} ticket(s), et sa conversation "
                "chez le moteur. Relance avec --yes pour tout effacer (irréversible)."
            )
            return 1

        async def erase() -> int | None:
            await services.desk.forget(pseudo, services.erasure.erase_app)
            return await asyncio.to_thread(services.erasure.erase_tracker, pseudo)

        events = asyncio.run(_with_bridge(services, erase()))
    finally:
        services.erasure.dispose()
        services.db.dispose()
    tracker = (
        "en attente (stockage injoignable : voir `maraude privacy status`)"
        if events is None
        else f"{events} événement(s) effacé(s)"
    )
    print(f"{pseudo} effacé·e de la base de l'application ; tracker du moteur : {tracker}.")
    return 0
