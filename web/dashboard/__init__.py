"""Counsellor dashboard (French, /tableau): one router over its parts.

- guard.py: `DashboardRoute`, the session and CSRF checks every dashboard route goes through;
- login.py: login and logout;
- queue.py: the queue and its live feed (rows.py: one queue line);
- ticket_page.py: a ticket and its transcript feed; ticket_actions.py: what is done on it;
  appointments.py: its appointments (appointment_view.py: the section as the page shows it);
- synthese.py: the daily digest as a page.

The results, the misunderstood inbox and the search (web/results/, web/inbox.py,
web/search.py) are dashboard pages too, with routers of their own. Pages are Jinja templates
(autoescaped, web/render.py); the scripts build the live parts with textContent only.
"""

from fastapi import APIRouter

from web.dashboard import appointments, login, queue, synthese, ticket_actions, ticket_page

router = APIRouter()
for part in (login, queue, ticket_page, ticket_actions, appointments, synthese):
    router.include_router(part.router)

__all__ = ["router"]
