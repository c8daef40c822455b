"""`maraude user ...`: counsellor, manager and admin accounts from the command line.

add, list, token (named, with an expiry), tokens, revoke-tokens, sessions, password (ends the
account's dashboard sessions), deactivate (ends its sessions and revokes its tokens). Each
command is a `cmd_*` function taking the parsed arguments and returning an exit code;
`register` adds the `user` group to the main parser (maraude/cli.py). Messages are in French,
for the structure's admin.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from core.settings import Settings, load_settings

if TYPE_CHECKING:
    from handoff.accounts import AccountService, CounsellorRef

MAX_TOKEN_DAYS = 3650


@contextmanager
def _accounts(args: argparse.Namespace) -> Iterator[tuple[Settings, AccountService]]:
    """The settings and the account service on the migrated database (closed after)."""
    from core import migrate
    from core.db import Database
    from handoff.accounts import AccountService

    settings = load_settings(args.config)
    migrate.upgrade(settings.effective_database_url)
    db = Database.from_url(settings.effective_database_url)
    try:
        yield (
            settings,
            AccountService(
                db,
                session_idle=settings.server.session_idle,
                session_lifetime=settings.server.session_lifetime,
                token_lifetime=timedelta(days=settings.server.api_token_days),
            ),
        )
    finally:
        db.dispose()


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Mot de passe (12 caractères minimum, une phrase convient) : ")
    if getpass.getpass("Encore une fois : ") != first:
        raise SystemExit("Les deux mots de passe ne sont pas identiques.")
    return first


def _find(accounts: AccountService, email: str, *, even_inactive: bool = False) -> Any:
    account = accounts.by_email(email, even_inactive=even_inactive)
    if account is None:
        state = "" if even_inactive else " actif"
        print(f"Aucun compte{state} pour {email}", file=sys.stderr)
    return account


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment is not None else "-"


# Commands ------------------------------------------------------------------------------------
def cmd_user_add(args: argparse.Namespace) -> int:
    from core.models import Role
    from handoff.accounts import AccountError

    with _accounts(args) as (settings, accounts):
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


def cmd_user_list(args: argparse.Namespace) -> int:
    with _accounts(args) as (_settings, accounts):
        for account in accounts.list():
            print(f"{account.email}\t{account.first_name}\t{account.role}\t{account.team or '-'}")
    return 0


def cmd_user_token(args: argparse.Namespace) -> int:
    from handoff.accounts import AccountError

    if args.expires_days is not None and not 1 <= args.expires_days <= MAX_TOKEN_DAYS:
        print(f"--expires-days : entre 1 et {MAX_TOKEN_DAYS} jours.", file=sys.stderr)
        return 2
    with _accounts(args) as (settings, accounts):
        account: CounsellorRef | None = _find(accounts, args.email)
        if account is None:
            return 2
        days = args.expires_days or settings.server.api_token_days
        try:
            token = accounts.create_token(account.id, args.name, lifetime=timedelta(days=days))
        except AccountError as exc:
            print(f"Jeton non créé : {exc}", file=sys.stderr)
            return 2
    print(f"Jeton d'API « {args.name.strip()} », valable {days} jours.")
    print("Jeton d'API (affiché une seule fois, garde-le en lieu sûr) :")
    print(token)
    return 0


def cmd_user_tokens(args: argparse.Namespace) -> int:
    with _accounts(args) as (_settings, accounts):
        account = _find(accounts, args.email, even_inactive=True)
        if account is None:
            return 2
        now = accounts.now()
        for token in accounts.tokens(account.id):
            state = "actif" if token.live(now) else ("révoqué" if token.revoked_at else "expiré")
            print(
                f"{token.name}\t{state}\tcréé {_when(token.created_at)}\t"
                f"expire {_when(token.expires_at)}\tutilisé {_when(token.last_used_at)}"
            )
    return 0


def cmd_user_revoke_tokens(args: argparse.Namespace) -> int:
    with _accounts(args) as (_settings, accounts):
        account = _find(accounts, args.email, even_inactive=True)
        if account is None:
            return 2
        count = accounts.revoke_tokens(account.id, args.name)
    which = f" « {args.name} »" if args.name else ""
    print(f"{count} jeton(s){which} révoqué(s) pour {account.email}.")
    return 0


def cmd_user_sessions(args: argparse.Namespace) -> int:
    with _accounts(args) as (_settings, accounts):
        account = _find(accounts, args.email, even_inactive=True)
        if account is None:
            return 2
        if args.end:
            count = accounts.revoke_sessions(account.id)
            print(f"{count} session(s) du tableau de bord fermée(s) pour {account.email}.")
            return 0
        for item in accounts.sessions(account.id):
            print(
                f"ouverte {_when(item.created_at)}\tvue {_when(item.last_seen_at)}\t"
                f"expire {_when(item.expires_at)}\t{item.user_agent or '-'}"
            )
    return 0


def cmd_user_password(args: argparse.Namespace) -> int:
    from handoff.accounts import AccountError

    with _accounts(args) as (_settings, accounts):
        account = _find(accounts, args.email)
        if account is None:
            return 2
        try:
            ended = accounts.set_password(account.id, _read_password(args))
        except AccountError as exc:
            print(f"Mot de passe non changé : {exc}", file=sys.stderr)
            return 2
    print(
        f"Mot de passe changé pour {account.email} ; {ended} session(s) du tableau de bord "
        "fermée(s). Les jetons d'API restent valables : `maraude user revoke-tokens` au besoin."
    )
    return 0


def cmd_user_deactivate(args: argparse.Namespace) -> int:
    with _accounts(args) as (_settings, accounts):
        account = _find(accounts, args.email, even_inactive=True)
        if account is None:
            return 2
        was_active = accounts.deactivate(account.id)
    if not was_active:
        print(f"Le compte {account.email} était déjà désactivé.")
        return 0
    print(
        f"Compte {account.email} désactivé : plus de connexion, sessions fermées, jetons "
        "d'API révoqués, boutons du groupe Telegram refusés."
    )
    return 0


# Parser ----------------------------------------------------------------------------------------
def register(sub: Any) -> None:
    """Add `maraude user` and its commands to the main parser's subparsers."""
    user = sub.add_parser("user", help="counsellor, manager and admin accounts")
    user_sub = user.add_subparsers(dest="user_command", required=True, metavar="USER_COMMAND")

    add = user_sub.add_parser("add", help="create an account (asks for the password)")
    add.add_argument("email")
    add.add_argument("--first-name", required=True, help="shown to young people")
    add.add_argument("--role", choices=["counsellor", "manager", "admin"], default="counsellor")
    add.add_argument("--team", help="team id from maraude.yml")
    add.add_argument("--telegram-id", type=int, help="Telegram user id, for the counsellors' group")
    _password_stdin(add)
    add.set_defaults(func=cmd_user_add)

    user_sub.add_parser("list", help="list active accounts").set_defaults(func=cmd_user_list)

    token = user_sub.add_parser("token", help="create a named REST API token for an account")
    token.add_argument("email")
    token.add_argument("--name", default="api", help="what the token is for")
    token.add_argument(
        "--expires-days", type=int, help="lifetime in days (default: server.api_token_days)"
    )
    token.set_defaults(func=cmd_user_token)

    tokens = user_sub.add_parser("tokens", help="list an account's API tokens (never the value)")
    tokens.add_argument("email")
    tokens.set_defaults(func=cmd_user_tokens)

    revoke = user_sub.add_parser("revoke-tokens", help="revoke an account's API tokens")
    revoke.add_argument("email")
    revoke.add_argument("--name", help="only the tokens with this name")
    revoke.set_defaults(func=cmd_user_revoke_tokens)

    sessions = user_sub.add_parser("sessions", help="list (or --end) dashboard sessions")
    sessions.add_argument("email")
    sessions.add_argument("--end", action="store_true", help="log the account out everywhere")
    sessions.set_defaults(func=cmd_user_sessions)

    password = user_sub.add_parser(
        "password", help="set a new password (asks twice); ends the dashboard sessions"
    )
    password.add_argument("email")
    _password_stdin(password)
    password.set_defaults(func=cmd_user_password)

    deactivate = user_sub.add_parser(
        "deactivate", help="disable an account: sessions ended, tokens revoked"
    )
    deactivate.add_argument("email")
    deactivate.set_defaults(func=cmd_user_deactivate)


def _password_stdin(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
