"""FindSlots and CheckTime over a warm busy cache: the solver's arrays are reused, never stale.

A tenant reads its calendars through ``ProviderCalendars`` and a ``BusyCache``
from a source the tests edit. Each cache entry converts its intervals once;
a warm request slices those arrays instead of converting its busy intervals
again. Bookings (``invalidate``), the TTL and the booking's fresh re-check
still decide what is read, and an unreadable calendar still blocks its
resource over the whole span.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta

import grpc
import pytest

from convene.v1 import scheduling_service_pb2_grpc as api_grpc
from providers.base import CalendarRef, ProviderError
from providers.cache import BusyCache
from server.api.app import create_server
from server.calendars.busy import BusySource, MemoryCalendars, ProviderCalendars
from server.tenants import Tenant
from solver.busy import BusyTable
from solver.domain import BusyInterval, BusyKind
from tests.providers.fakes import ScriptedProvider
from tests.server.conftest import MONDAY, NOW, TEAM, TEAM_BUSY, hours, key, team_config, team_tenants
from tests.server.messages import check, find, member, pool, room, rules
from tests.solver.busy_tables import assert_same_table, count_conversions

RESOURCES = sorted({*TEAM.members, *TEAM.rooms})
SPAN = (MONDAY, MONDAY + hours(24))
# A panel over every team calendar, with conflict mode so replies also list the events in the way.
PANEL = rules(member("alice", "bob"), pool("engineers"), room(pools=("rooms",)))
FIND = find(PANEL, want_alternatives=True, max_alternatives=5)
CHECK = check(PANEL, MONDAY + hours(10))
GONE = "calendar deleted"


def at(hour: float) -> datetime:
    return MONDAY + timedelta(hours=hour)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def source(events: dict[str, list[BusyInterval]], broken: Iterable[str] = ()) -> ScriptedProvider:
    """A calendar source answering ``events`` as they are when asked; ``broken`` calendars cannot be read."""
    unreadable = set(broken)

    def answer(ref: CalendarRef, attempt: int) -> list[BusyInterval]:
        if ref.resource_id in unreadable:
            raise ProviderError(ref.resource_id, GONE, transient=False)
        return list(events.get(ref.resource_id, ()))
    return ScriptedProvider(answer, name="edited")


def cached(provider: ScriptedProvider, resource_ids: Iterable[str], cache: BusyCache) -> ProviderCalendars:
    return ProviderCalendars({r: (provider, CalendarRef(r, f"{r}.ics")) for r in resource_ids}, cache)


def team_busy() -> dict[str, list[BusyInterval]]:
    events: dict[str, list[BusyInterval]] = {}
    for interval in TEAM_BUSY:
        events.setdefault(interval.resource_id, []).append(interval)
    return events


@contextlib.contextmanager
def serving(calendars: BusySource) -> Iterator[api_grpc.SchedulingServiceStub]:
    """The test config's server on a free loopback port, its "team" tenant reading ``calendars``."""
    config = team_config()
    tenants = team_tenants(config)
    team = tenants["team"]
    tenants["team"] = Tenant("team", team.directory, team.templates, calendars)
    server, port = create_server(config, "127.0.0.1:0", tenants=tenants, clock=lambda: NOW)
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield api_grpc.SchedulingServiceStub(channel)
    finally:
        server.stop(None)


@pytest.fixture
def conversions(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    return count_conversions(monkeypatch)


def test_warm_find_slots_and_check_time_convert_no_busy_interval(conversions: list[int]) -> None:
    provider = source(team_busy())
    with serving(cached(provider, RESOURCES, BusyCache(ttl=600))) as stub:
        cold = stub.FindSlots(FIND, metadata=key(), timeout=10)
        assert sum(conversions) > 0  # the first read fills the cache and converts
        conversions.clear()
        warm = stub.FindSlots(FIND, metadata=key(), timeout=10)
        checked = stub.CheckTime(CHECK, metadata=key(), timeout=10)
    assert sum(conversions) == 0
    assert warm == cold and warm.slots and warm.alternatives
    assert checked.slot.seats
    assert provider.calls == dict.fromkeys(RESOURCES, 1)  # each calendar read once


def test_replies_from_cached_arrays_equal_those_from_memory_with_an_unreadable_calendar() -> None:
    # dan's calendar is gone: he must never be offered as free, cached or not.
    events = team_busy()
    memory = MemoryCalendars(TEAM_BUSY, {"dan": f"edited: {GONE}"})
    with serving(memory) as stub:
        expected = stub.FindSlots(FIND, metadata=key(), timeout=10), stub.CheckTime(CHECK, metadata=key(), timeout=10)
    with serving(cached(source(events, broken=["dan"]), RESOURCES, BusyCache(ttl=600))) as stub:
        for _ in ("cold", "warm"):
            found = stub.FindSlots(FIND, metadata=key(), timeout=10)
            checked = stub.CheckTime(CHECK, metadata=key(), timeout=10)
            assert (found, checked) == expected
    assert [u.resource_id for u in found.unavailable_calendars] == ["dan"]
    assert all("dan" not in seat.resource_ids for s in found.slots for seat in s.seats)


def test_a_booking_the_ttl_and_a_fresh_read_each_replace_the_cached_arrays() -> None:
    clock = Clock()
    events = {"alice": [BusyInterval("alice", at(9), at(10))]}
    provider = source(events)
    calendars = cached(provider, ["alice"], BusyCache(ttl=30, clock=clock))

    def busy_hours(fresh: bool = False) -> list[float]:
        fetched = calendars.busy(["alice"], *SPAN, fresh=fresh)
        assert_same_table(fetched.table, BusyTable.of(fetched.busy))
        return [(b.start - MONDAY) / hours(1) for b in fetched.table.intervals]

    def change(*starts: float) -> None:
        events["alice"] = [BusyInterval("alice", at(h), at(h + 1)) for h in starts]

    assert busy_hours() == [9] and provider.calls == {"alice": 1}
    change(9, 14)
    assert busy_hours() == [9] and provider.calls == {"alice": 1}  # warm: the source is not asked

    calendars.invalidate(["alice"])  # what a booking or a cancellation does
    assert busy_hours() == [9, 14] and provider.calls == {"alice": 2}
    assert busy_hours() == [9, 14] and provider.calls == {"alice": 2}

    change(9, 14, 16)
    clock.now += 30.1  # the TTL
    assert busy_hours() == [9, 14, 16] and provider.calls == {"alice": 3}

    change(11)
    assert busy_hours(fresh=True) == [11] and provider.calls == {"alice": 4}  # the booking's re-check
    assert busy_hours() == [11] and provider.calls == {"alice": 4}  # which refilled the cache


def test_an_unreadable_calendar_blocks_its_resource_over_the_span_next_to_cached_ones() -> None:
    events = {"alice": [BusyInterval("alice", at(9), at(10)),
                        BusyInterval("alice", at(13), at(14), BusyKind.TENTATIVE)]}
    provider = source(events, broken=["bob"])
    calendars = cached(provider, ["alice", "bob"], BusyCache(ttl=600))
    for attempt in (1, 2):
        # carol has no calendar at all: free whenever her hours allow.
        fetched = calendars.busy(["alice", "bob", "carol"], *SPAN)
        assert provider.calls == {"alice": 1, "bob": attempt}  # a failure is never cached
        assert [(u.resource_id, u.reason) for u in fetched.unavailable] == [("bob", f"edited: {GONE}")]
        assert fetched.table.resource_ids == ("alice", "bob")
        assert_same_table(fetched.table, BusyTable.of([*events["alice"], BusyInterval("bob", *SPAN, BusyKind.BUSY)]))
