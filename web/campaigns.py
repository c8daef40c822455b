"""Outreach campaigns for managers and admins (French): the list with the creation form
(`/tableau/campagnes`), a campaign's page with its deep link, code and QR code
(`/tableau/campagnes/<id>`), the QR code to print (`qr.svg`, with the structure's and the
campaign's names) or to drop into a visual (`qr.png`, the bare code), its cost and archiving.

Counsellors get 403 (`Manager`, web/deps.py); the session and the CSRF token of every form
are checked by DashboardRoute. An unknown or malformed id is a French 404 page; a form that
cannot be read is the same page again, 400, with the French message saying what to fix.
Without a bot username (Services.bot_username) there is no link nor QR code: the page says how
to set `campaigns.bot_username`, and that `/start <code>` typed in the bot works meanwhile.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from core.campaigns import CampaignError, CampaignView, deep_link
from core.vocabulary import CAMPAIGN_CHANNELS
from studio.campaigns import (
    CampaignFields,
    Reach,
    campaign_reach,
    euros,
    flyer_svg,
    parse_euros,
    qr_png,
    read_draft,
)
from studio.campaigns.entry import MAX_FIELD
from web import auth
from web.dashboard.guard import QUEUE_PATH, DashboardRoute
from web.deps import Manager, ServicesDep
from web.labels import team_names
from web.render import LocalTime, error, render

if TYPE_CHECKING:
    from maraude.services import Services

router = APIRouter(prefix=QUEUE_PATH, include_in_schema=False, route_class=DashboardRoute)
CAMPAIGNS_PATH = f"{QUEUE_PATH}/campagnes"
NOT_FOUND = "Cette campagne n'existe pas."
MAX_ID_DIGITS = 9
FormText = Annotated[str, Form()]  # lengths checked by studio/campaigns/entry.py: 400, in French
NO_USERNAME = (
    "Le nom du bot Telegram n'est pas connu : pas de lien ni de QR code pour l'instant. "
    "Renseigne campaigns.bot_username dans maraude.yml (le nom du bot, sans @), ou démarre "
    "l'app avec TELEGRAM_BOT_TOKEN."
)


def campaign_path(campaign_id: int) -> str:
    return f"{CAMPAIGNS_PATH}/{campaign_id}"


def _id(text: str) -> int | None:
    """The campaign id of a URL, or None when it cannot be one (then: 404)."""
    if not text.isascii() or not text.isdigit() or len(text) > MAX_ID_DIGITS:
        return None
    return int(text) or None


async def _campaign(services: Services, campaign_id: str) -> CampaignView | None:
    number = _id(campaign_id)
    if number is None:
        return None
    return await asyncio.to_thread(services.campaigns.get, number)


def _dates(view: CampaignView) -> str:
    start = f"{view.starts_on:%d/%m/%Y}" if view.starts_on else ""
    end = f"{view.ends_on:%d/%m/%Y}" if view.ends_on else ""
    if start and end:
        return f"du {start} au {end}"
    if start:
        return f"à partir du {start}"
    return f"jusqu'au {end}" if end else ""


def _row(services: Services, view: CampaignView, reach: Reach) -> dict[str, Any]:
    """What the pages show of a campaign."""
    times = LocalTime.of(services.settings)
    return {
        "id": view.id,
        "url": campaign_path(view.id),
        "code": view.code,
        "name": view.name,
        "channel": CAMPAIGN_CHANNELS.get(view.channel.value, view.channel.value),
        "territory": view.territory or "",
        "team": team_names(services.settings).get(view.team or "", view.team or ""),
        "dates": _dates(view),
        "note": view.note or "",
        "cost": euros(view.cost_cents),
        "cost_input": euros(view.cost_cents).removesuffix(" €").replace("\u202f", ""),
        "cost_per_person": reach.cost_per_person(view.cost_cents),
        "people": reach.people_shown,
        "touches": reach.touches_shown,
        "created": times.show(view.created_at, "%d/%m/%Y"),
        "archived": times.show(view.archived_at, "%d/%m/%Y") if view.archived_at else "",
    }


def _choices(services: Services) -> dict[str, Any]:
    settings = services.settings
    return {
        "channels": list(CAMPAIGN_CHANNELS.items()),
        "territories": [t.name for t in settings.territories],
        "teams": [(t.id, t.name) for t in settings.teams],
        "max_name": 120,
        "max_note": 500,
    }


# List and creation --------------------------------------------------------------------------
async def _list_page(
    request: Request,
    services: Services,
    form: CampaignFields | None = None,
    problem: str = "",
    status_code: int = 200,
) -> Response:
    views = await asyncio.to_thread(services.campaigns.list, include_archived=True)
    reach = await asyncio.to_thread(campaign_reach, services.db)
    rows = [(view, _row(services, view, reach.get(view.id, Reach()))) for view in views]
    return render(
        request,
        services,
        "dashboard_campaigns.html",
        {
            **_choices(services),
            "active": [row for view, row in rows if not view.archived],
            "archived": [row for view, row in rows if view.archived],
            "form": form or CampaignFields(),
            "error": problem,
            "has_username": services.bot_username() is not None,
        },
        status_code,
    )


@router.get("/campagnes")
async def campaigns_page(request: Request, services: ServicesDep, me: Manager) -> Response:
    return await _list_page(request, services)


@router.post("/campagnes")
async def create_campaign(
    request: Request,
    services: ServicesDep,
    me: Manager,
    nom: FormText = "",
    canal: FormText = "",
    territoire: FormText = "",
    equipe: FormText = "",
    debut: FormText = "",
    fin: FormText = "",
    note: FormText = "",
    cout: FormText = "",
) -> Response:
    fields = CampaignFields(nom, canal, territoire, equipe, debut, fin, note, cout)
    try:
        draft = read_draft(fields, services.settings)
        view = await asyncio.to_thread(services.campaigns.create, draft)
    except CampaignError as exc:
        shown = CampaignFields(*(value[:MAX_FIELD] for value in vars(fields).values()))
        return await _list_page(request, services, shown, str(exc), 400)
    auth.flash(request, f"Campagne « {view.name} » créée.")
    return RedirectResponse(campaign_path(view.id), status_code=303)


# One campaign -------------------------------------------------------------------------------
async def _campaign_page(
    request: Request,
    services: Services,
    view: CampaignView,
    problem: str = "",
    status_code: int = 200,
) -> Response:
    reach = await asyncio.to_thread(campaign_reach, services.db)
    username = services.bot_username()
    return render(
        request,
        services,
        "dashboard_campaign.html",
        {
            "c": _row(services, view, reach.get(view.id, Reach())),
            "is_archived": view.archived,
            "link": deep_link(username, view.code) if username else "",
            # The same campaign on the web chat (a link, a QR code, or data-campagne).
            "chat_link": (
                f"{services.settings.public_url}/chat?c={view.code}"
                if services.settings.webchat.enabled
                else ""
            ),
            "username": username or "",
            "no_username": NO_USERNAME,
            "error": problem,
        },
        status_code,
    )


@router.get("/campagnes/{campaign_id}")
async def campaign_page(
    request: Request, services: ServicesDep, me: Manager, campaign_id: str
) -> Response:
    view = await _campaign(services, campaign_id)
    if view is None:
        return error(request, NOT_FOUND, 404, json=False)
    return await _campaign_page(request, services, view)


def _qr_answer(body: bytes | str, media_type: str, filename: str) -> Response:
    return Response(
        body,
        media_type=media_type,
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )


async def _link_of(
    request: Request, services: Services, campaign_id: str
) -> tuple[CampaignView, str] | Response:
    view = await _campaign(services, campaign_id)
    if view is None:
        return error(request, NOT_FOUND, 404, json=False)
    username = services.bot_username()
    if username is None:
        return error(request, NO_USERNAME, 404, json=False)
    return view, deep_link(username, view.code)


@router.get("/campagnes/{campaign_id}/qr.svg")
async def campaign_qr_svg(
    request: Request, services: ServicesDep, me: Manager, campaign_id: str
) -> Response:
    found = await _link_of(request, services, campaign_id)
    if isinstance(found, Response):
        return found
    view, link = found
    svg = flyer_svg(link, services.settings.organisation.name, view.name)
    return _qr_answer(svg, "image/svg+xml", f"qr-{view.code}.svg")


@router.get("/campagnes/{campaign_id}/qr.png")
async def campaign_qr_png(
    request: Request, services: ServicesDep, me: Manager, campaign_id: str
) -> Response:
    found = await _link_of(request, services, campaign_id)
    if isinstance(found, Response):
        return found
    view, link = found
    return _qr_answer(qr_png(link), "image/png", f"qr-{view.code}.png")


@router.post("/campagnes/{campaign_id}/cout")
async def set_cost(
    request: Request,
    services: ServicesDep,
    me: Manager,
    campaign_id: str,
    cout: FormText = "",
) -> Response:
    view = await _campaign(services, campaign_id)
    if view is None:
        return error(request, NOT_FOUND, 404, json=False)
    try:
        if len(cout) > MAX_FIELD:
            raise CampaignError("Coût invalide : un montant en euros.")
        cents = parse_euros(cout)
        changed = await asyncio.to_thread(services.campaigns.set_cost, view.id, cents)
    except CampaignError as exc:
        return await _campaign_page(request, services, view, str(exc), 400)
    if changed is None:  # pragma: no cover - campaigns are never deleted
        return error(request, NOT_FOUND, 404, json=False)
    auth.flash(
        request, f"Coût enregistré : {euros(cents)}." if cents is not None else "Coût effacé."
    )
    return RedirectResponse(campaign_path(view.id), status_code=303)


@router.post("/campagnes/{campaign_id}/archiver")
async def archive_campaign(
    request: Request, services: ServicesDep, me: Manager, campaign_id: str
) -> Response:
    number = _id(campaign_id)
    view = await asyncio.to_thread(services.campaigns.archive, number) if number else None
    if view is None:
        return error(request, NOT_FOUND, 404, json=False)
    auth.flash(
        request,
        f"Campagne « {view.name} » archivée : elle quitte la liste des campagnes actives ; "
        "son lien et son QR code amènent toujours au bot.",
    )
    return RedirectResponse(campaign_path(view.id), status_code=303)
