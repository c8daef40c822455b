"""`maraude privacy export PERSON [--out DIR]`: a counsellor answers a written access request.

PERSON is the young person's pseudonymous id (`y…`, as the logs and the dashboard's search
know it), a ticket number (`12` or `#12`), or `telegram:<chat id>` when the young person gave
their Telegram id. Two files are written (readable only by their owner): the same readable
text and JSON the young person gets with /mesdonnees (core/export.py).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.vocabulary import MAX_TICKET_ID

PSEUDO_RE = re.compile(r"^y[a-z2-7]{24}$")
TICKET_RE = re.compile(r"^#?(\d{1,10})$")
TELEGRAM_RE = re.compile(r"^telegram:(-?\d{1,20})$")


def resolve_person(
    secret_key: str, person: str, pseudo_of_ticket: Callable[[int], str | None]
) -> str | None:
    """The pseudonymous id PERSON names: a pseudonymous id, a ticket number (through
    `pseudo_of_ticket`) or telegram:<chat id>; None for a ticket unknown or out of range, or a
    PERSON of no known form."""
    from core.models import Channel
    from core.people import pseudonymise

    if ticket := TICKET_RE.match(person):
        number = int(ticket.group(1))
        return pseudo_of_ticket(number) if number <= MAX_TICKET_ID else None
    if telegram := TELEGRAM_RE.match(person):
        return pseudonymise(secret_key, Channel.telegram, telegram.group(1))
    return person if PSEUDO_RE.match(person) else None


def register_export(privacy_sub: argparse._SubParsersAction[Any]) -> None:
    export = privacy_sub.add_parser(
        "export", help="write everything kept about a young person (access request)"
    )
    export.add_argument(
        "person",
        metavar="PERSON",
        help="pseudonymous id (y…), ticket number (12 or #12) or telegram:<chat id>",
    )
    export.add_argument("--out", default=".", help="folder for the two files (default: here)")
    export.set_defaults(func=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    from core import migrate
    from core.db import Database
    from core.export import export_service
    from core.settings import load_settings

    settings = load_settings(args.config)
    person = args.person.strip()
    if not (PSEUDO_RE.match(person) or TICKET_RE.match(person) or TELEGRAM_RE.match(person)):
        print(
            f"PERSON non reconnu : {person!r}. Attendu : un identifiant pseudonyme (y suivi de "
            "24 caractères), un numéro de ticket (12 ou #12) ou telegram:<identifiant>.",
            file=sys.stderr,
        )
        return 2
    migrate.upgrade(settings.effective_database_url)
    db = Database.from_url(settings.effective_database_url)
    service = export_service(settings, db)
    try:
        pseudo = resolve_person(settings.secret_key, person, service.pseudo_of_ticket)
        if pseudo is None:  # the form was checked above: an unknown ticket
            print(f"Aucun ticket n°{int(person.lstrip('#'))}.", file=sys.stderr)
            return 2
        data = service.export(pseudo)
        if data is None:
            print(
                f"Aucune donnée gardée pour {person} : personne inconnue, ou déjà effacée "
                "(/oubli ou durée de conservation dépassée).",
                file=sys.stderr,
            )
            return 2
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True, mode=0o700)
        paths = []
        for suffix, content in (("txt", data.as_text()), ("json", data.as_json())):
            path = out / f"{data.pseudo_id}-{data.filename(suffix)}"
            _write_private(path, content)
            paths.append(path)
    finally:
        service.dispose()
        db.dispose()
    print(f"Données de {data.pseudo_id} écrites dans :")
    for path in paths:
        print(f"  {path}")
    print(
        "Transmets-les à la personne par un moyen sûr, après avoir vérifié que c'est bien elle, "
        "puis supprime-les de ce dossier."
    )
    return 0


def _write_private(path: Path, content: str) -> None:
    """Write a file only its owner can read (it holds a young person's data)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(content)
    os.chmod(path, 0o600)
