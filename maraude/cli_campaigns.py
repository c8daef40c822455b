"""`maraude campaign ...`: outreach campaigns from the command line (the web page is
/tableau/campagnes).

add (prints the code and the deep link, writes the QR codes with --qr-dir), list (--all with
the archived ones), qr (writes a campaign's QR codes again), archive. The deep link needs the
bot's username: here only `campaigns.bot_username` (the command line does not ask Telegram).
Messages are in French, for the structure's staff, as `maraude user`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.settings import Settings, load_settings
from core.vocabulary import CAMPAIGN_CHANNELS

if TYPE_CHECKING:
    from core.campaigns import CampaignService, CampaignView
    from core.db import Database

NO_USERNAME = (
    "Lien : nom du bot inconnu. Renseigne campaigns.bot_username dans maraude.yml pour avoir "
    "le lien et le QR code."
)


@contextmanager
def _campaigns(args: argparse.Namespace) -> Iterator[tuple[Settings, Database, CampaignService]]:
    """The settings, database and campaign service on the migrated database (closed after)."""
    from core import migrate
    from core.campaigns import CampaignService
    from core.db import Database

    settings = load_settings(args.config)
    migrate.upgrade(settings.effective_database_url)
    db = Database.from_url(settings.effective_database_url)
    try:
        yield settings, db, CampaignService(db)
    finally:
        db.dispose()


def _write_qr(settings: Settings, view: CampaignView, folder: str) -> int:
    """Write qr-<code>.svg (the flyer) and qr-<code>.png (the bare code) into `folder`."""
    from core.campaigns import deep_link
    from studio.campaigns import flyer_svg, qr_png

    username = settings.campaigns.bot_username
    if not username:
        print(f"QR code non écrit. {NO_USERNAME}", file=sys.stderr)
        return 2
    link = deep_link(username, view.code)
    target = Path(folder)
    try:
        target.mkdir(parents=True, exist_ok=True)
        svg = target / f"qr-{view.code}.svg"
        png = target / f"qr-{view.code}.png"
        svg.write_text(flyer_svg(link, settings.organisation.name, view.name), encoding="utf-8")
        png.write_bytes(qr_png(link))
    except OSError as exc:
        print(f"QR code non écrit dans {folder} : {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(f"QR code : {svg} (à imprimer, avec les noms) et {png} (code seul).")
    return 0


def _show_link(settings: Settings, view: CampaignView) -> None:
    from core.campaigns import deep_link

    username = settings.campaigns.bot_username
    print(f"Code : {view.code}")
    if username:
        print(f"Lien : {deep_link(username, view.code)}")
    else:
        print(NO_USERNAME)
    print(f"Sans le lien, un jeune peut écrire au bot : /start {view.code}")


# Commands ------------------------------------------------------------------------------------
def cmd_campaign_add(args: argparse.Namespace) -> int:
    from core.campaigns import CampaignError
    from studio.campaigns import CampaignFields, read_draft

    fields = CampaignFields(
        name=args.name,
        channel=args.channel,
        territory=args.territory or "",
        team=args.team or "",
        starts_on=args.starts or "",
        ends_on=args.ends or "",
        note=args.note or "",
        cost=args.cost or "",
    )
    with _campaigns(args) as (settings, _db, campaigns):
        try:
            view = campaigns.create(read_draft(fields, settings))
        except CampaignError as exc:
            print(f"Campagne non créée : {exc}", file=sys.stderr)
            return 2
    label = CAMPAIGN_CHANNELS[view.channel.value]
    print(f"Campagne créée : #{view.id} « {view.name} » ({label}).")
    _show_link(settings, view)
    if args.qr_dir:
        return _write_qr(settings, view, args.qr_dir)
    return 0


def cmd_campaign_list(args: argparse.Namespace) -> int:
    from studio.campaigns import Reach, campaign_reach, euros

    with _campaigns(args) as (settings, db, campaigns):
        views = campaigns.list(include_archived=args.all)
        reach = campaign_reach(db)
    if not views:
        print("Aucune campagne." if args.all else "Aucune campagne en cours.")
        return 0
    teams = {team.id: team.name for team in settings.teams}
    print("id\tcode\tnom\tcanal\tterritoire\téquipe\tdébut\tfin\tjeunes\tcoût\tétat")
    for view in views:
        state = f"archivée {view.archived_at:%Y-%m-%d}" if view.archived_at else "en cours"
        people = reach.get(view.id, Reach()).people_shown
        print(
            "\t".join(
                [
                    str(view.id),
                    view.code,
                    view.name,
                    CAMPAIGN_CHANNELS[view.channel.value],
                    view.territory or "-",
                    teams.get(view.team, view.team) if view.team else "-",
                    view.starts_on.isoformat() if view.starts_on else "-",
                    view.ends_on.isoformat() if view.ends_on else "-",
                    people,
                    euros(view.cost_cents) or "-",
                    state,
                ]
            )
        )
    return 0


def cmd_campaign_qr(args: argparse.Namespace) -> int:
    with _campaigns(args) as (settings, _db, campaigns):
        view = campaigns.get(args.id)
    if view is None:
        print(f"Aucune campagne #{args.id}.", file=sys.stderr)
        return 2
    return _write_qr(settings, view, args.qr_dir)


def cmd_campaign_archive(args: argparse.Namespace) -> int:
    with _campaigns(args) as (_settings, _db, campaigns):
        view = campaigns.archive(args.id)
    if view is None:
        print(f"Aucune campagne #{args.id}.", file=sys.stderr)
        return 2
    print(
        f"Campagne #{view.id} « {view.name} » archivée : elle quitte la liste des campagnes en "
        "cours ; son lien et son QR code amènent toujours au bot."
    )
    return 0


# Parser ----------------------------------------------------------------------------------------
def _campaign_id(text: str) -> int:
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= 999_999_999:
        raise argparse.ArgumentTypeError(f"numéro de campagne invalide : {text!r}")
    return int(text)


def register(sub: Any) -> None:
    """Add `maraude campaign` and its commands to the main parser's subparsers."""
    campaign = sub.add_parser("campaign", help="outreach campaigns: deep links and QR codes")
    campaign_sub = campaign.add_subparsers(
        dest="campaign_command", required=True, metavar="CAMPAIGN_COMMAND"
    )

    add = campaign_sub.add_parser("add", help="create a campaign, print its code and link")
    add.add_argument("name", help="the campaign's name, e.g. 'Flyers gare de Lens'")
    add.add_argument("--channel", required=True, choices=list(CAMPAIGN_CHANNELS))
    add.add_argument("--territory", help="a territory name from maraude.yml")
    add.add_argument("--team", help="a team id from maraude.yml")
    add.add_argument("--starts", help="first day, YYYY-MM-DD")
    add.add_argument("--ends", help="last day, YYYY-MM-DD")
    add.add_argument("--note", help="a note for the team")
    add.add_argument("--cost", help="what it cost, in euros (e.g. 150 or 89,90)")
    add.add_argument("--qr-dir", help="write qr-<code>.svg and qr-<code>.png in this folder")
    add.set_defaults(func=cmd_campaign_add)

    listing = campaign_sub.add_parser("list", help="list the campaigns in progress")
    listing.add_argument("--all", action="store_true", help="archived campaigns too")
    listing.set_defaults(func=cmd_campaign_list)

    qr = campaign_sub.add_parser("qr", help="write a campaign's QR codes (SVG flyer, PNG)")
    qr.add_argument("id", type=_campaign_id)
    qr.add_argument("--qr-dir", required=True, help="folder for qr-<code>.svg and .png")
    qr.set_defaults(func=cmd_campaign_qr)

    archive = campaign_sub.add_parser("archive", help="archive a campaign (its link still works)")
    archive.add_argument("id", type=_campaign_id)
    archive.set_defaults(func=cmd_campaign_archive)
