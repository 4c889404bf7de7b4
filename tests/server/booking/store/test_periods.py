"""The local day and week of booking limits, as UTC bounds, on the member's own calendar."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from server.booking.store.periods import local_day, local_week


@pytest.fixture
def host_in_new_york(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The server's own zone must never leak into a member's day or week."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("host_in_new_york")
@pytest.mark.parametrize(("instant", "zone", "day", "week"), [
    # Monday 01:00 in Kiritimati (+14) is Sunday 11:00 UTC: the member's day and week are Monday's.
    (datetime(2026, 11, 29, 11, tzinfo=UTC), "Pacific/Kiritimati",
     (datetime(2026, 11, 29, 10, tzinfo=UTC), datetime(2026, 11, 30, 10, tzinfo=UTC)),
     (datetime(2026, 11, 29, 10, tzinfo=UTC), datetime(2026, 12, 6, 10, tzinfo=UTC))),
    # Sunday 23:00 in Pago Pago (-11) is Monday 10:00 UTC: still the member's Sunday and last week.
    (datetime(2026, 11, 30, 10, tzinfo=UTC), "Pacific/Pago_Pago",
     (datetime(2026, 11, 29, 11, tzinfo=UTC), datetime(2026, 11, 30, 11, tzinfo=UTC)),
     (datetime(2026, 11, 23, 11, tzinfo=UTC), datetime(2026, 11, 30, 11, tzinfo=UTC))),
    # The spring-forward day in Berlin has 23 hours; the week holding it 167.
    (datetime(2026, 3, 29, 12, tzinfo=UTC), "Europe/Berlin",
     (datetime(2026, 3, 28, 23, tzinfo=UTC), datetime(2026, 3, 29, 22, tzinfo=UTC)),
     (datetime(2026, 3, 22, 23, tzinfo=UTC), datetime(2026, 3, 29, 22, tzinfo=UTC))),
])
def test_day_and_week_are_the_members_local_ones(instant: datetime, zone: str,
                                                 day: tuple[datetime, datetime],
                                                 week: tuple[datetime, datetime]) -> None:
    got_day, got_week = local_day(instant, zone), local_week(instant, zone)
    assert got_day == day and got_week == week
    for bound in (*got_day, *got_week):
        assert bound.utcoffset() == timedelta(0)  # UTC bounds, compared with the store's UTC instants


def test_an_instant_at_local_midnight_opens_its_day() -> None:
    midnight = datetime(2026, 12, 3, 5, tzinfo=UTC)  # 00:00 in New York
    assert local_day(midnight, "America/New_York") == (midnight, midnight + timedelta(days=1))
    assert local_day(midnight - timedelta(microseconds=1), "America/New_York")[1] == midnight
