"""`SlaPolicy.exceeded` says what `elapsed(...) > limit` says, without walking every day of a
long wait (the results page's delays and the erasure's fold use it)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.models import Urgency
from handoff.sla.policy import SlaPolicy
from tests.support import make_settings


@pytest.fixture(scope="module")
def policy(tmp_path_factory: pytest.TempPathFactory) -> SlaPolicy:
    hours = {"mon-thu": "09:00-12:30, 13:30-17:30", "fri": "09:00-12:00"}
    settings = make_settings(
        tmp_path_factory.mktemp("sla"),
        handoff={"sla_minutes": {"crisis": 15, "normal": 240}, "opening_hours": hours},
    )
    return SlaPolicy.from_settings(settings)


FIRST = datetime(2026, 1, 1, tzinfo=UTC)  # a year with both DST changes and 11 holidays
instants = st.integers(0, 400 * 24 * 60 * 60).map(lambda s: FIRST + timedelta(seconds=s))
waits = st.one_of(
    st.integers(0, 6 * 60 * 60),  # around the limit: seconds to hours
    st.integers(0, 60 * 24 * 60 * 60),  # up to two months
).map(lambda s: timedelta(seconds=s))


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(start=instants, wait=waits, urgency=st.sampled_from([Urgency.normal, Urgency.crisis]))
def test_exceeded_is_elapsed_over_the_limit(
    policy: SlaPolicy, start: datetime, wait: timedelta, urgency: Urgency
) -> None:
    for end in (start + wait, start - wait):
        expected = policy.elapsed(urgency, start, end) > policy.limit(urgency)
        assert policy.exceeded(urgency, start, end) is expected


def test_the_exact_edges(policy: SlaPolicy) -> None:
    monday = datetime(2026, 3, 2, 16, 0, tzinfo=UTC)  # 17:00 in Paris
    deadline = policy.after(Urgency.normal, monday, policy.limit(Urgency.normal))
    # 30 minutes on Monday, 3 h 30 on Tuesday morning: the SLA ends at the lunch closing.
    assert deadline == datetime(2026, 3, 3, 11, 30, tzinfo=UTC)
    assert not policy.exceeded(Urgency.normal, monday, deadline)  # exactly the SLA: within
    # Later instants before the reopening (13:30) are still within; after it, over.
    assert not policy.exceeded(Urgency.normal, monday, deadline + timedelta(minutes=60))
    assert policy.exceeded(Urgency.normal, monday, deadline + timedelta(minutes=60, seconds=1))
    crisis = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)  # a Sunday night: real minutes
    assert not policy.exceeded(Urgency.crisis, crisis, crisis + timedelta(minutes=15))
    assert policy.exceeded(Urgency.crisis, crisis, crisis + timedelta(minutes=15, microseconds=1))
    # A year-old open ticket is answered without walking the year twice per ticket.
    assert policy.exceeded(Urgency.normal, monday - timedelta(days=365), monday)
