"""QR codes of a campaign's deep link, to print on a flyer or a poster (segno).

- `flyer_svg`: the printable version, the code with the structure's name and the campaign's
  name written under it (and the link itself, small, for whoever cannot scan). Vector: it
  prints sharp at any size.
- `qr_png`: the bare code as a PNG (black and white, 1 bit per pixel), to drop into a
  visual made elsewhere (an Instagram story, a partner's page). segno writes no text in a
  PNG and the app has no imaging library: the names are on the SVG only.

Error correction level Q (a quarter of the code can be lost): a flyer gets folded, scratched
or photographed askew in a bus shelter.
"""

from __future__ import annotations

import io
import textwrap
import unicodedata
from html import escape

import segno

ERROR_LEVEL = "q"
SCALE = 10  # pixels (SVG user units) per module
BORDER = 4  # quiet zone, in modules (the standard asks for 4)
PNG_SCALE = 8
FONT = "Arial, Helvetica, sans-serif"
# (font size, line height, weight, colour) of the lines under the code.
ORGANISATION_STYLE = (22, 28, "bold", "#000")
CAMPAIGN_STYLE = (18, 24, "normal", "#000")
LINK_STYLE = (12, 16, "normal", "#444")
CHAR_WIDTH = 0.6  # a rough average glyph width, in ems, to wrap lines before the edge
PADDING = 12


def qr_code(link: str) -> segno.QRCode:
    """The QR code of `link` at level Q (not boosted: the level stays what the flyer says)."""
    return segno.make_qr(link, error=ERROR_LEVEL, boost_error=False)


def qr_png(link: str, scale: int = PNG_SCALE) -> bytes:
    """The bare code as a PNG (greyscale, 1 bit per pixel, with its quiet zone)."""
    buffer = io.BytesIO()
    qr_code(link).save(buffer, kind="png", scale=scale, border=BORDER)
    return buffer.getvalue()


def _symbol_svg(code: segno.QRCode) -> str:
    """segno's SVG of the code, without XML declaration or namespace, to nest in another
    SVG (it sits at the top left of its parent, as a nested <svg> does)."""
    buffer = io.BytesIO()
    code.save(
        buffer,
        kind="svg",
        scale=SCALE,
        border=BORDER,
        xmldecl=False,
        svgns=False,
        nl=False,
        light="#fff",
        svgclass=None,
        lineclass=None,
    )
    return buffer.getvalue().decode("utf-8")


def _printable(text: str) -> str:
    """The text on one line, without control characters (XML does not allow them)."""
    kept = "".join(" " if unicodedata.category(c) in ("Cc", "Cs") else c for c in text)
    return " ".join(kept.split())


def _lines(text: str, width: int, font_size: int) -> list[str]:
    per_line = max(8, int(width / (font_size * CHAR_WIDTH)))
    return textwrap.wrap(_printable(text), per_line, break_long_words=True) or [""]


def flyer_svg(link: str, organisation: str, campaign: str) -> str:
    """A standalone SVG: the code of `link`, then the structure's and the campaign's names
    (centred, wrapped to the code's width, escaped) and the link in small print."""
    code = qr_code(link)
    width, symbol_height = (int(n) for n in code.symbol_size(scale=SCALE, border=BORDER))
    texts: list[str] = []
    y = symbol_height
    for text, (size, line_height, weight, colour) in (
        (organisation, ORGANISATION_STYLE),
        (campaign, CAMPAIGN_STYLE),
        (link, LINK_STYLE),
    ):
        for line in _lines(text, width - 2 * PADDING, size):
            y += line_height
            texts.append(
                f'<text x="{width // 2}" y="{y}" text-anchor="middle" font-family="{FONT}" '
                f'font-size="{size}" font-weight="{weight}" fill="{colour}">'
                f"{escape(line)}</text>"
            )
        y += PADDING // 2
    height = y + PADDING
    title = escape(_printable(f"{organisation} · {campaign}"))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img">'
        f"<title>{title}</title>"
        f'<rect width="{width}" height="{height}" fill="#fff"/>'
        f"{_symbol_svg(code)}{''.join(texts)}</svg>\n"
    )
