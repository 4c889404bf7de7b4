"""``BusyCache.table``: the entry's arrays, converted once, sliced per query like ``get``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from providers.base import CalendarRef
from providers.cache import BusyCache
from solver.busy import BusyTable
from solver.domain import BusyInterval, BusyKind
from tests.solver.busy_tables import assert_same_table, count_conversions

DAY = datetime(2024, 3, 4, tzinfo=UTC)
WINDOW = (DAY, DAY + timedelta(days=1))
ADA = CalendarRef("ada", "ada.ics")


def at(hour: float) -> datetime:
    return DAY + timedelta(hours=hour)


ADA_BUSY = [
    BusyInterval("ada", at(9), at(10)),
    BusyInterval("ada", at(12), at(13), BusyKind.TENTATIVE),
    BusyInterval("ada", at(11), at(12)),  # sources need not answer in order
    BusyInterval("ada", at(15), at(15)),  # empty: blocks nothing
    BusyInterval("ada", at(16), at(18), BusyKind.OUT_OF_OFFICE),
]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def conversions(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    return count_conversions(monkeypatch)


@pytest.mark.parametrize("query", [
    WINDOW,
    (at(10), at(12)),  # touches [9, 10) and [12, 13) only at their ends: neither overlaps
    (at(9.5), at(12.5)),
    (at(13), at(16)),  # nothing blocking inside
])
def test_a_table_holds_the_blocking_intervals_get_returns(query: tuple[datetime, datetime]) -> None:
    cache = BusyCache(ttl=60)
    cache.put("ics", ADA, *WINDOW, ADA_BUSY)
    table = cache.table("ics", ADA, *query)
    listed = cache.get("ics", ADA, *query)
    assert table is not None and listed is not None
    assert_same_table(table, BusyTable.of(listed))


def test_an_entry_converts_once_whatever_the_queries(conversions: list[int]) -> None:
    cache = BusyCache(ttl=60)
    cache.put("ics", ADA, *WINDOW, ADA_BUSY)
    for query in [WINDOW, (at(8), at(14)), (at(11), at(17)), WINDOW]:
        assert cache.table("ics", ADA, *query) is not None
    assert conversions == [len(ADA_BUSY)]
    assert (cache.hits, cache.misses) == (4, 0)


def test_no_table_where_get_has_none_and_a_new_read_is_converted_anew(conversions: list[int]) -> None:
    clock = Clock()
    cache = BusyCache(ttl=30, clock=clock)
    cache.put("ics", ADA, *WINDOW, ADA_BUSY)
    assert cache.table("ics", ADA, DAY, DAY + timedelta(days=2)) is None  # reaches past what was read
    assert cache.table("other-source", ADA, *WINDOW) is None
    assert cache.misses == 0  # the fetch's own ``get`` counts a miss

    cache.invalidate("ada")  # a booking
    assert cache.table("ics", ADA, *WINDOW) is None
    cache.put("ics", ADA, *WINDOW, [BusyInterval("ada", at(14), at(15))], generation=cache.generation("ada"))
    table = cache.table("ics", ADA, *WINDOW)
    assert table is not None and [b.start for b in table.intervals] == [at(14)]

    clock.now += 30.1  # the TTL
    assert cache.table("ics", ADA, *WINDOW) is None
    cache.put("ics", ADA, *WINDOW, [BusyInterval("ada", at(8), at(9))])
    table = cache.table("ics", ADA, *WINDOW)
    assert table is not None and [b.start for b in table.intervals] == [at(8)]
    assert conversions == [1, 1]
