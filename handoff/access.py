"""Need to know as a query condition: which tickets' content a dashboard or API user may read.

The rule is the permission policy's `read` (handoff/permissions.py; docs/handoff.md "Finding a
ticket, and need to know"), used by the search, the queue's request excerpt, the REST list and
the person's other tickets on a ticket page:
- managers and admins see every ticket;
- a counsellor sees the tickets of their own team and the ones they hold (assignee), whatever
  the team; a counsellor without a team sees only the ones they hold.

`may_see` (handoff/permissions.py) checks a ticket already read; `visible` is the same rule as
a SQLAlchemy condition on `Ticket`, for queries (None: no restriction).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_

from core.models import Ticket
from handoff.accounts import CounsellorRef
from handoff.permissions import may_see

__all__ = ["may_see", "visible"]


def visible(viewer: CounsellorRef) -> ColumnElement[bool] | None:
    """The condition on Ticket for the tickets `viewer` may see (None: all of them)."""
    if viewer.can_manage:
        return None
    held = Ticket.assignee_id == viewer.id
    if viewer.team is None:
        return held
    return or_(Ticket.team == viewer.team, held)
