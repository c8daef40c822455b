"""Results pages for managers and admins (French): pages.py has the routes of the results page
and the impact report, indicators.py the funders' indicators page; tables.py the tables (page
and CSV), charts.py the inline SVG geometry, figures.py which charts show what, numbers.py the
French number formatting."""

from fastapi import APIRouter

from web.results import indicators, pages

router = APIRouter()
router.include_router(pages.router)
router.include_router(indicators.router)

__all__ = ["router"]
