"""`maraude privacy ...`: the young people's data rights from the command line (issue 19).

Each command is a `cmd_*` function taking the parsed arguments and returning an exit code;
`register` adds the `privacy` group to the main parser (maraude/cli.py).
"""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    """Add `maraude privacy` and its commands to the main parser's subparsers."""
    privacy = sub.add_parser("privacy", help="retention, erasure and data access requests")
    privacy_sub = privacy.add_subparsers(
        dest="privacy_command", required=True, metavar="PRIVACY_COMMAND"
    )
    _register_commands(privacy_sub)


def _register_commands(privacy_sub: argparse._SubParsersAction[Any]) -> None:
    """One block per command (purge, status, export)."""
    # export: a counsellor answers a written access request (maraude/cli_export.py)
    from maraude.cli_export import register_export

    register_export(privacy_sub)
