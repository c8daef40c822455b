"""Simulated conversations: the young people of the web simulator (`Channel.simulator`).

Once the app talks to real young people (a Telegram token is set, `server.simulator` is not
`open`: `Settings.simulations_hidden`), a simulation never shows where real work is counted or
done: the counsellors' queue and search, the SLA alerts and digest, the results and the impact
report each add `real_person(<person id column>)` to their queries. In the open demo (no
token) they show, with a "simulation" badge in the queue. The retention purge erases
simulated people a day after their last message (`SIMULATION_RETENTION`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, select

from core.models import Channel, YoungPerson

SIMULATED_CHANNELS: tuple[Channel, ...] = (Channel.simulator,)
SIMULATION_RETENTION = timedelta(days=1)


def simulated_people() -> Select[int]:
    """The ids of the simulator's young people."""
    return select(YoungPerson.id).where(YoungPerson.channel.in_(SIMULATED_CHANNELS))


def real_person(person_id: Any) -> ColumnElement[bool]:
    """The condition that `person_id` (a column holding a young person's id) is not a
    simulation."""
    condition: ColumnElement[bool] = person_id.not_in(simulated_people())
    return condition


def is_simulated(channel: Channel | str) -> bool:
    return str(channel) in {str(c) for c in SIMULATED_CHANNELS}
