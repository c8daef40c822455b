"""Campaigns on the managers' side (studio/campaigns): the QR codes decode back to the exact
deep link (the PNG read by a pure-Python PNG reader, the flyer SVG's own drawing rasterised
from its path, both decoded by zxing-cpp, and checked module by module against segno's
matrix), the flyer carries the names (escaped), what managers type is read or refused in
French, and each campaign's reach is counted without simulations and masked under 5 people
(SQLite and, gated, PostgreSQL)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date

import pytest
import zxingcpp

from core.campaigns import CampaignDraft, CampaignError, CampaignService, deep_link
from core.clock import FixedClock
from core.db import Database
from core.models import CampaignChannel, Channel
from core.people import PeopleService
from core.settings import load_settings
from studio.campaigns import (
    CampaignFields,
    Reach,
    campaign_reach,
    euros,
    flyer_svg,
    parse_euros,
    qr_code,
    qr_png,
    read_draft,
)
from studio.campaigns.qr import BORDER, SCALE
from tests.support import ROOT
from tests.support.png import read_png

SVG = "{http://www.w3.org/2000/svg}"
LINKS = [
    deep_link("MaraudeLensBot", "flyers-gare-k3x9q2mz"),
    deep_link("a" * 32, "x" * 64),  # the longest username and payload Telegram allows
    deep_link("Bot_2026", "rentree-tiktok-2-_-abc"),
]


# QR codes ---------------------------------------------------------------------------------
def decode(pixels: memoryview) -> zxingcpp.Result:
    result = zxingcpp.read_barcode(pixels)
    assert result is not None and result.valid
    return result


@pytest.mark.parametrize("link", LINKS)
def test_the_png_decodes_back_to_the_exact_link(link: str) -> None:
    image = read_png(qr_png(link))
    assert (image.colour_type, image.bit_depth) == (0, 1)  # what segno writes: 1-bit grey
    assert image.width == image.height
    result = decode(image.buffer())
    assert result.text == link
    assert result.format == zxingcpp.BarcodeFormat.QRCode
    assert result.ec_level == "Q"
    # Module by module, the picture is segno's matrix (quiet zone included).
    matrix = qr_code(link).matrix
    scale = image.width // (len(matrix) + 2 * BORDER)
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            px = image.at((x + BORDER) * scale + scale // 2, (y + BORDER) * scale + scale // 2)
            assert (px == 0) == bool(dark), (x, y)


def symbol_modules(svg: str) -> list[list[bool]]:
    """The dark modules the flyer draws: its nested symbol's path (segno's horizontal runs
    `M x y` / `m dx dy` / `h n`, stroked 1 unit wide, in modules), quiet zone included."""
    root = ET.fromstring(svg)
    symbol = root.find(f"{SVG}svg")
    assert symbol is not None
    size = int(symbol.get("width", "0")) // SCALE
    assert int(symbol.get("height", "0")) // SCALE == size
    [path] = [p for p in symbol.iter(f"{SVG}path") if p.get("stroke")]
    grid = [[False] * size for _ in range(size)]
    x = y = 0.0
    for command, first, second in re.findall(
        r"([MmHh])\s*(-?[\d.]+)(?:[ ,](-?[\d.]+))?", path.get("d", "")
    ):
        if command == "M":
            x, y = float(first), float(second)
        elif command == "m":
            x, y = x + float(first), y + float(second)
        else:
            end = float(first) if command == "H" else x + float(first)
            for column in range(int(x), int(end)):
                grid[int(y)][column] = True
            x = end
    return grid


def raster(grid: list[list[bool]], scale: int = 4) -> memoryview:
    size = len(grid) * scale
    pixels = bytearray(
        0 if grid[y // scale][x // scale] else 255 for y in range(size) for x in range(size)
    )
    return memoryview(bytes(pixels)).cast("B", (size, size))


@pytest.mark.parametrize("link", LINKS)
def test_the_flyer_svg_draws_the_same_code(link: str) -> None:
    svg = flyer_svg(link, "la Mission Locale de Lens", "Flyers gare")
    grid = symbol_modules(svg)
    matrix = qr_code(link).matrix
    assert len(grid) == len(matrix) + 2 * BORDER
    inner = [row[BORDER:-BORDER] for row in grid[BORDER:-BORDER]]
    assert inner == [[bool(m) for m in row] for row in matrix]
    assert not any(grid[0]) and not any(grid[-1])  # the quiet zone is white
    assert decode(raster(grid)).text == link


def test_the_flyer_names_the_structure_and_the_campaign_under_the_code() -> None:
    link = LINKS[0]
    svg = flyer_svg(link, "Mission Locale <Lens & Liévin>", 'Abribus "gare"\x01 ' + "é" * 130)
    root = ET.fromstring(svg)  # well-formed XML: escaped, no control character
    assert root.tag == f"{SVG}svg"
    symbol = root.find(f"{SVG}svg")
    assert symbol is not None
    code_height = int(symbol.get("height", "0"))
    texts = root.findall(f"{SVG}text")
    lines = [t.text or "" for t in texts]
    assert lines[0] == "Mission Locale <Lens & Liévin>"
    assert lines[1].startswith('Abribus "gare" é')
    assert "".join(lines[1:-1]).replace(" ", "") == 'Abribus"gare"' + "é" * 130  # wrapped
    assert lines[-1] == link  # for whoever cannot scan
    width = int(root.get("width", "0"))
    assert all(int(t.get("y", "0")) > code_height for t in texts)  # under the code
    assert int(root.get("height", "0")) > int(texts[-1].get("y", "0"))
    assert all(t.get("x") == str(width // 2) and t.get("text-anchor") == "middle" for t in texts)
    assert all(len(line) * 0.6 * 18 <= width for line in lines[1:-1])  # wrapped to the code
    assert "<Lens" not in svg and "&lt;Lens &amp; Liévin&gt;" in svg
    title = root.find(f"{SVG}title")
    assert title is not None and (title.text or "").startswith("Mission Locale <Lens")


# What managers type -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("typed", "cents"),
    [
        ("", None),
        ("  ", None),
        ("150", 15000),
        ("89,90", 8990),
        ("12.5", 1250),
        ("1 200,50", 120050),
        ("1\u202f200 €", 120000),
        ("0", 0),
        ("1000000", 100_000_000),
    ],
)
def test_costs_in_euros(typed: str, cents: int | None) -> None:
    assert parse_euros(typed) == cents


@pytest.mark.parametrize(
    "typed", ["abc", "-5", "12,345", "1e3", "1000000,01", "9" * 12, "١٢", "12,", "NaN"]
)
def test_costs_refused(typed: str) -> None:
    with pytest.raises(CampaignError, match=r"(?i)coût"):
        parse_euros(typed)


def test_euros_as_managers_read_them() -> None:
    assert [euros(c) for c in (None, 0, 15000, 8990, 120050)] == [
        "",
        "0 €",
        "150 €",
        "89,90 €",
        "1\u202f200,50 €",
    ]


SETTINGS = load_settings(ROOT / "maraude.yml")


def test_a_draft_from_the_form() -> None:
    draft = read_draft(
        CampaignFields(
            "Flyers gare", "flyer", "Lens-Liévin", "lens", "2026-09-01", "2026-10-15", "200", "80"
        ),
        SETTINGS,
    )
    assert draft == CampaignDraft(
        "Flyers gare",
        CampaignChannel.flyer,
        "Lens-Liévin",
        "lens",
        date(2026, 9, 1),
        date(2026, 10, 15),
        "200",
        8000,
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (CampaignFields("X", ""), "canal"),
        (CampaignFields("X", "myspace"), "canal"),
        (CampaignFields("X", "flyer", territory="Paris"), "Territoire inconnu"),
        (CampaignFields("X", "flyer", team="paris"), "Équipe inconnue"),
        (CampaignFields("X", "flyer", starts_on="01/09/2026"), "Date de début invalide"),
        (CampaignFields("X", "flyer", ends_on="2026-02-30"), "Date de fin invalide"),
        (CampaignFields("X", "flyer", ends_on="9999-01-01"), "année"),
        (CampaignFields("X", "flyer", cost="beaucoup"), "Coût invalide"),
        (CampaignFields("X" * 5000, "flyer"), "trop long"),
    ],
)
def test_drafts_refused_with_a_french_message(fields: CampaignFields, message: str) -> None:
    with pytest.raises(CampaignError, match=message):
        read_draft(fields, SETTINGS)


# Reach, masked ----------------------------------------------------------------------------------
def test_reach_counts_real_people_and_masks_small_numbers(
    database: Database, clock: FixedClock
) -> None:
    campaigns = CampaignService(database, clock)
    people = PeopleService(database, "r" * 40, clock)
    flyers = campaigns.create(CampaignDraft("Flyers", CampaignChannel.flyer, cost_cents=30000))
    tiktok = campaigns.create(CampaignDraft("TikTok", CampaignChannel.tiktok, cost_cents=1000))
    quiet = campaigns.create(CampaignDraft("Rien", CampaignChannel.other))
    for n in range(6):  # six brought by the flyers, two of them later reached by TikTok
        pseudo = people.identify(Channel.telegram, f"flyer-{n}").pseudo_id
        campaigns.attribute(pseudo, flyers.code)
        if n < 2:
            campaigns.attribute(pseudo, tiktok.code)
    for n in range(3):  # three brought by TikTok
        pseudo = people.identify(Channel.telegram, f"tiktok-{n}").pseudo_id
        campaigns.attribute(pseudo, tiktok.code)
    for n in range(4):  # simulations never count
        pseudo = people.identify(Channel.simulator, f"sim-{n}").pseudo_id
        campaigns.attribute(pseudo, tiktok.code)
        campaigns.attribute(pseudo, flyers.code)
    reach = campaign_reach(database)
    assert reach == {flyers.id: Reach(6, 6), tiktok.id: Reach(3, 5)}
    assert quiet.id not in reach and Reach().people_shown == "0"
    assert (reach[flyers.id].people_shown, reach[flyers.id].touches_shown) == ("6", "6")
    assert (reach[tiktok.id].people_shown, reach[tiktok.id].touches_shown) == ("< 5", "5")
    assert reach[flyers.id].cost_per_person(30000) == "50 €"
    assert reach[tiktok.id].cost_per_person(1000) == "—"  # over 3 people: not shown
    assert reach[flyers.id].cost_per_person(None) == ""
