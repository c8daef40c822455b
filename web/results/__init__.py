"""Results pages for managers and admins (French): pages.py has the routes; tables.py the
tables (page and CSV), charts.py the inline SVG geometry, figures.py which charts show what,
numbers.py the French number formatting."""

from web.results.pages import router

__all__ = ["router"]
