"""``BusyCache``: coverage, expiry, invalidation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from providers.base import CalendarRef
from providers.cache import BusyCache
from solver.domain import BusyInterval

DAY = datetime(2024, 3, 4, tzinfo=UTC)
ADA = CalendarRef("ada", "ada.ics")
BOB = CalendarRef("bob", "bob.ics")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def busy(ref: CalendarRef, hour: int) -> BusyInterval:
    return BusyInterval(ref.resource_id, DAY + timedelta(hours=hour), DAY + timedelta(hours=hour + 1))


def test_a_window_inside_a_cached_one_is_a_hit_trimmed_to_it():
    cache = BusyCache(ttl=60)
    cache.put("ics", ADA, DAY, DAY + timedelta(days=1), [busy(ADA, 9), busy(ADA, 15)])
    assert cache.get("ics", ADA, DAY + timedelta(hours=12), DAY + timedelta(hours=18)) == [busy(ADA, 15)]
    assert cache.get("ics", ADA, DAY, DAY + timedelta(days=2)) is None  # reaches past what was read
    assert cache.get("other-source", ADA, DAY, DAY + timedelta(hours=1)) is None
    assert (cache.hits, cache.misses) == (1, 2)


def test_entries_expire_after_the_ttl():
    clock = Clock()
    cache = BusyCache(ttl=30, clock=clock)
    cache.put("ics", ADA, DAY, DAY + timedelta(days=1), [busy(ADA, 9)])
    clock.now += 29.9
    assert cache.get("ics", ADA, DAY, DAY + timedelta(days=1)) == [busy(ADA, 9)]
    clock.now += 0.2
    assert cache.get("ics", ADA, DAY, DAY + timedelta(days=1)) is None


def test_invalidate_drops_only_that_resource_and_a_read_started_before_it():
    cache = BusyCache(ttl=60)
    window = (DAY, DAY + timedelta(days=1))
    cache.put("ics", ADA, *window, [busy(ADA, 9)])
    cache.put("ics", BOB, *window, [busy(BOB, 9)])
    before = cache.generation("ada")
    cache.invalidate("ada")
    assert cache.get("ics", ADA, *window) is None
    assert cache.get("ics", BOB, *window) == [busy(BOB, 9)]
    cache.put("ics", ADA, *window, [busy(ADA, 9)], generation=before)  # a read from before the booking
    assert cache.get("ics", ADA, *window) is None
    cache.put("ics", ADA, *window, [busy(ADA, 10)], generation=cache.generation("ada"))
    assert cache.get("ics", ADA, *window) == [busy(ADA, 10)]


def test_least_recently_used_calendar_goes_first():
    cache = BusyCache(ttl=60, max_calendars=2)
    window = (DAY, DAY + timedelta(days=1))
    carl = CalendarRef("carl", "carl.ics")
    cache.put("ics", ADA, *window, [])
    cache.put("ics", BOB, *window, [])
    assert cache.get("ics", ADA, *window) == []
    cache.put("ics", carl, *window, [])
    assert cache.get("ics", BOB, *window) is None and cache.get("ics", ADA, *window) == [] and len(cache) == 2


def test_ttl_must_be_positive():
    with pytest.raises(ValueError, match="ttl"):
        BusyCache(ttl=0)
