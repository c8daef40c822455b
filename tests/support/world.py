"""The app's services as the app builds them, for tests that drive several of them together.

`World(folder, clock)`: settings in `folder` (`make_settings`, the repository's maraude.yml),
the database migrated, `services = build_services(settings, clock)` (maraude/services.py). No
Telegram token, so no Telegram channel and no bridge. A test plugs its fakes into the real
services (`services.pipeline.engine = fake`, `services.desk.register_sender(...)`,
`services.desk.add_listener(...)`), never re-wires them. The `world` fixture (tests/conftest.py)
yields one and closes it.
"""

from __future__ import annotations

from itertools import count
from pathlib import Path
from typing import Any

from core import migrate
from core.clock import FixedClock
from core.models import Channel
from core.people import PeopleService
from handoff.accounts import AccountService, CounsellorRef
from handoff.alarms import AlarmService
from handoff.desk import HandoffDesk
from handoff.requests import HandoffService, TriageSummary
from handoff.tickets import TicketService
from maraude.services import Services, build_services
from nudges.rules import FollowUpRules
from nudges.store import FollowUpService
from tests.support import make_settings
from tests.support.tickets import DEFAULT_TEAM, FAST_HASHER

# Fast hashes: these tests are about the desk, the nudges and the actions, not passwords.


class World:
    """`services` built by `build_services` at `clock`; `settings` overrides go to
    `make_settings` (e.g. `database_url=` for PostgreSQL)."""

    def __init__(self, folder: Path, clock: FixedClock, **settings: Any) -> None:
        self.settings = make_settings(folder, **settings)
        migrate.upgrade(self.settings.effective_database_url)
        self.clock = clock
        self.services: Services = build_services(self.settings, clock)
        # The same accounts service on the same database, with fast hashes.
        self.services.accounts = AccountService(self.services.db, clock, FAST_HASHER)
        self._ids = count(1000)

    # The services tests use most ---------------------------------------------------------
    @property
    def people(self) -> PeopleService:
        return self.services.people

    @property
    def handoff(self) -> HandoffService:
        return self.services.handoff

    @property
    def tickets(self) -> TicketService:
        return self.services.tickets

    @property
    def desk(self) -> HandoffDesk:
        return self.services.desk

    @property
    def alarms(self) -> AlarmService:
        assert self.services.desk.alarms is not None
        return self.services.desk.alarms

    @property
    def accounts(self) -> AccountService:
        return self.services.accounts

    @property
    def followups(self) -> FollowUpService:
        return self.services.followups

    @property
    def nudge_rules(self) -> FollowUpRules:
        return self.services.nudge_rules

    # Factories ---------------------------------------------------------------------------
    def person(
        self,
        key: str | None = None,
        *,
        channel: Channel = Channel.telegram,
        consent: bool = False,
    ) -> tuple[int, str]:
        """A young person (a new one unless `key`, their channel address, is given), with
        consent granted if `consent`: (id, pseudo_id)."""
        ref = self.people.identify(channel, key or str(next(self._ids)))
        if consent:
            self.people.record_consent(ref.pseudo_id, True)
        return ref.id, ref.pseudo_id

    async def ticket(
        self, pseudo: str, summary: TriageSummary | None = None, *, source: str = "triage"
    ) -> int:
        """A hand-off request through the desk, as the actions make it (listeners hear it)."""
        ref = await self.desk.request(
            pseudo, summary or TriageSummary(needs=["emploi"]), source=source
        )
        return ref.ticket_id

    def counsellor(
        self, first_name: str = "Sam", *, team: str | None = DEFAULT_TEAM
    ) -> CounsellorRef:
        """A counsellor account with a new e-mail address, by default in the team of the
        tickets without a place (need to know)."""
        email = f"{first_name.lower()}{next(self._ids)}@example.org"
        return self.accounts.add(email, first_name, "motdepasse-solide", team=team)

    async def close(self) -> None:
        """What the app's lifespan stops (maraude/app.py): the engine client, the databases."""
        await self.services.engine.aclose()
        self.services.erasure.dispose()
        self.services.db.dispose()
