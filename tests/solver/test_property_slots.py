"""find_slots against the exhaustive oracle (tests/brute.py) on small random panels.

Each example is a whole scheduling problem: a few members in several IANA
zones (Kathmandu's +05:45 included) with working hours and booking limits,
member seats whose candidate lists overlap so the seats compete, a pool seat,
rooms, off-grid busy time, bookings, buffers, notice, and windows that may span
a DST change. The solver must agree with the oracle on every available start,
its minimum cost, the tie-broken assignment, the free candidates per seat and
the optional members; best-first order, paging and check_time must follow.

Profiles (tests/conftest.py): ``ci`` is derandomized; ``HYPOTHESIS_PROFILE=dev``
explores new examples, ``thorough`` ten times as many.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import MISSING, fields, is_dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from fractions import Fraction
from typing import Any, NamedTuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from solver import (
    Booking,
    BusyInterval,
    BusyKind,
    Cycle,
    DayRange,
    Directory,
    Distribution,
    Member,
    MemberSeat,
    Order,
    Pool,
    PoolSeat,
    Room,
    RoomSeat,
    Seat,
    Slot,
    SlotRequest,
    SlotResult,
    Weights,
    WorkingHours,
    check_time,
    find_slots,
)
from tests.solver.brute import BruteResult, BruteSlot, brute_slots

ZONES = ("UTC", "America/New_York", "Europe/Berlin", "Asia/Kathmandu", "Asia/Kolkata")

# Days worth testing around: both DST changes on both sides of the Atlantic, a
# plain summer day, and the turn of a year (ISO week, month and year change).
BASE_DAYS = (
    datetime(2024, 3, 10, tzinfo=UTC),
    datetime(2024, 3, 31, tzinfo=UTC),
    datetime(2024, 10, 27, tzinfo=UTC),
    datetime(2024, 11, 3, tzinfo=UTC),
    datetime(2024, 6, 12, tzinfo=UTC),
    datetime(2024, 12, 30, tzinfo=UTC),
)

# Day shapes of working hours, as wall-clock minutes.
DAY_SHAPES: tuple[tuple[DayRange, ...], ...] = (
    (DayRange(540, 1020),),  # 09:00-17:00
    (DayRange(480, 720), DayRange(780, 1080)),  # 08:00-12:00, 13:00-18:00
    (DayRange(0, 1440),),  # all day
    (DayRange(1320, 1440),),  # 22:00-24:00, joins the next day's early range
    (DayRange(0, 180), DayRange(1260, 1440)),  # 00:00-03:00 (DST gap/fold inside), 21:00-24:00
    (DayRange(602, 958),),  # 10:02-15:58: off-grid edges, narrowed inward
    (DayRange(480, 720), DayRange(720, 960)),  # touching ranges
    (),  # day off
)

# The loaded profile (tests/conftest.py) scales these: at least 300 for the main comparison.
EXAMPLES = max(300, 3 * settings().max_examples)
QUICK = max(60, settings().max_examples)


# --- Strategies -----------------------------------------------------------------


@st.composite
def day_ranges(draw: st.DrawFn) -> tuple[DayRange, ...]:
    shape = draw(st.integers(0, 5))
    if shape == 0:
        return (DayRange(0, 1440),)
    if shape == 1:
        a = draw(st.integers(0, 1439))
        b = draw(st.integers(a + 1, 1440))
        return (DayRange(a, b),)
    return draw(st.sampled_from(DAY_SHAPES))


@st.composite
def working_hours(draw: st.DrawFn, zone: str, around: date) -> WorkingHours:
    weekly = tuple(draw(day_ranges()) for _ in range(7))
    overrides: tuple[tuple[date, tuple[DayRange, ...]], ...] = ()
    if draw(st.booleans()):
        day = around + timedelta(days=draw(st.integers(-1, 2)))
        overrides = ((day, draw(day_ranges())),)
    return WorkingHours(zone, weekly, overrides)


@st.composite
def members(draw: st.DrawFn, ids: list[str], around: date) -> list[Member]:
    out = []
    for member_id in ids:
        zone = draw(st.sampled_from(ZONES))
        hours = None if draw(st.booleans()) else draw(working_hours(zone, around))
        daily = draw(st.integers(1, 2)) if draw(st.integers(0, 3)) == 0 else None
        weekly = draw(st.integers(1, 3)) if draw(st.integers(0, 3)) == 0 else None
        # Limits count days in the member's own zone, which may differ from the zone of the hours.
        home = draw(st.sampled_from(ZONES)) if draw(st.integers(0, 4)) == 0 else zone
        out.append(Member(member_id, time_zone=home, working_hours=hours, daily_limit=daily, weekly_limit=weekly))
    return out


@st.composite
def pools(draw: st.DrawFn, pool_id: str, resource_ids: list[str], min_size: int, max_size: int) -> Pool:
    chosen = draw(st.lists(st.sampled_from(resource_ids), min_size=min_size, max_size=max_size, unique=True))
    distribution = draw(st.sampled_from(list(Distribution)))
    priorities = tuple((r, draw(st.integers(0, 3))) for r in chosen if draw(st.booleans()))
    return Pool(pool_id, tuple(chosen), distribution, draw(st.sampled_from(list(Cycle))), priorities)


@st.composite
def weights(draw: st.DrawFn) -> Weights:
    # Halves and small integers: exact in binary, and zeros make ties common.
    if draw(st.booleans()):
        return Weights()
    return Weights(
        alternate=draw(st.sampled_from([0.0, 1.0, 2.5, 10.0])),
        pool_balance=draw(st.sampled_from([0.0, 0.5, 1.0, 3.0])),
        pool_priority=draw(st.sampled_from([0.0, 1.0, 2.0])),
        room_fit=draw(st.sampled_from([0.0, 0.5, 1.0])),
        time_of_day=draw(st.sampled_from([0.0, 1.0, 2.5])),
    )


@st.composite
def intervals(draw: st.DrawFn, origin: datetime, span: int, max_count: int,
              durations: st.SearchStrategy[int]) -> list[tuple[datetime, datetime]]:
    """Up to ``max_count`` intervals starting anywhere in ``origin + [0, span]`` minutes."""
    out = []
    for _ in range(draw(st.integers(0, max_count))):
        start = origin + timedelta(minutes=draw(st.integers(0, span)))
        if draw(st.integers(0, 5)) == 0:
            start += timedelta(seconds=draw(st.integers(1, 59)))
        out.append((start, start + timedelta(minutes=draw(durations))))
    return out




def short(value: object) -> str:
    """A compact repr for failure reports: dataclass fields at their defaults are left out."""
    if is_dataclass(value) and not isinstance(value, type):
        parts = []
        for f in fields(value):
            v = getattr(value, f.name)
            default = f.default if f.default is not MISSING else (
                f.default_factory() if f.default_factory is not MISSING else MISSING)
            if v != default:
                parts.append(f"{f.name}={short(v)}")
        return f"{type(value).__name__}({', '.join(parts)})"
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ").replace(":00Z", "Z")
    if isinstance(value, timedelta):
        return f"{value.total_seconds() / 60:g}min"
    if isinstance(value, dict):
        return "{" + ", ".join(short(v) for v in value.values()) + "}"
    if isinstance(value, list | tuple):
        return "(" + ", ".join(short(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, StrEnum):
        return str(value)
    return repr(value)


class Case(NamedTuple):
    """One generated problem; its repr is what Hypothesis prints for a failing example."""

    directory: Directory
    busy: list[BusyInterval]
    request: SlotRequest
    bookings: list[Booking]

    def __repr__(self) -> str:
        return "\n".join([
            f"members: {short(list(self.directory.members.values()))}",
            f"rooms: {short(list(self.directory.rooms.values()))}",
            f"pools: {short(list(self.directory.pools.values()))}",
            f"busy: {short(self.busy)}",
            f"bookings: {short(self.bookings)}",
            f"request: {short(self.request)}",
        ])

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(repr(self))


@st.composite
def instances(draw: st.DrawFn) -> Case:
    """A small random scheduling problem the oracle can solve exhaustively."""
    base = draw(st.sampled_from(BASE_DAYS))
    window_start = base + timedelta(minutes=draw(st.integers(-12 * 60, 24 * 60)))
    if draw(st.integers(0, 3)) == 0:
        window_start += timedelta(minutes=draw(st.integers(1, 4)))  # off the start grid
    duration = draw(st.sampled_from([5, 10, 15, 20, 25, 30, 45, 60, 90]))
    span = draw(st.integers(max(duration, 30), 48 * 60))
    window_end = window_start + timedelta(minutes=span)
    around = window_start.date()

    # People: a panel, and pool members of whom some may sit on the panel too.
    panel_ids = [f"m{i}" for i in range(draw(st.integers(2, 5)))]
    extra_ids = [f"p{i}" for i in range(draw(st.integers(1, 4)))]
    people = draw(members(panel_ids + extra_ids, around))
    member_pool = draw(pools("team", panel_ids + extra_ids, 2, 4))

    # Rooms, maybe a room pool.
    room_ids = [f"r{i}" for i in range(draw(st.integers(0, 3)))]
    rooms = []
    for room_id in room_ids:
        zone = draw(st.sampled_from(ZONES))
        hours = draw(working_hours(zone, around)) if draw(st.integers(0, 2)) == 0 else None
        capacity = draw(st.sampled_from([1, 3, 6, 10, 12, 20]))
        rooms.append(Room(room_id, capacity=capacity, time_zone=zone, opening_hours=hours))
    room_pool = None
    if len(room_ids) > 0 and draw(st.booleans()):
        room_pool = draw(pools("rooms", room_ids, 1, len(room_ids)))

    # Seats: member seats drawn from one small panel overlap, so they compete.
    seats: list[Seat] = []
    # Primaries mostly distinct; alternates drawn from the whole panel (often another seat's primary).
    primaries = draw(st.permutations(panel_ids))
    for k in range(draw(st.integers(1, min(3, len(panel_ids))))):
        if draw(st.integers(0, 4)) == 0:
            candidates = draw(st.lists(st.sampled_from(panel_ids), min_size=1, max_size=3, unique=True))
        else:
            others = [m for m in panel_ids if m != primaries[k]]
            candidates = [primaries[k], *draw(st.lists(st.sampled_from(others), max_size=2, unique=True))]
        seats.append(MemberSeat(tuple(candidates)))
    for _ in range(draw(st.sampled_from([0, 1, 1, 1, 2]))):
        seats.append(PoolSeat("team", count=draw(st.integers(1, 2))))
    if room_ids and draw(st.integers(0, 3)) > 0:
        listed = draw(st.lists(st.sampled_from(room_ids), max_size=3, unique=True))
        pool_ids = ("rooms",) if room_pool is not None and (not listed or draw(st.booleans())) else ()
        if listed or pool_ids:
            seats.append(RoomSeat(tuple(listed), pool_ids))
    seats = draw(st.permutations(seats))
    all_members = panel_ids + extra_ids
    optional = draw(st.lists(st.sampled_from(all_members), max_size=2, unique=True))

    # Calendars: busy time around the window, off-grid ends included.
    busy: list[BusyInterval] = []
    kinds = st.sampled_from([BusyKind.BUSY, BusyKind.TENTATIVE, BusyKind.OUT_OF_OFFICE])
    for resource_id in all_members + room_ids:
        for start, end in draw(intervals(window_start - timedelta(hours=3), span + 360, 3, st.integers(1, 240))):
            busy.append(BusyInterval(resource_id, start, end, draw(kinds)))

    # Bookings, some long before the window: they feed round-robin ranks, loads and limits.
    bookings: list[Booking] = []
    for k, (start, end) in enumerate(
        draw(intervals(window_start - timedelta(days=9), 9 * 1440 + span, 4, st.integers(5, 120)))
    ):
        held = draw(st.lists(st.sampled_from(all_members + room_ids), min_size=1, max_size=3, unique=True))
        drawn = [("team", m) for m in held if m in member_pool.members and draw(st.booleans())]
        if room_pool is not None:
            drawn += [("rooms", r) for r in held if r in room_pool.members and draw(st.booleans())]
        bookings.append(Booking(f"b{k}", start, end, tuple(held), tuple(drawn)))

    now = None
    notice = timedelta(0)
    if draw(st.integers(0, 2)) == 0:
        now = window_start + timedelta(minutes=draw(st.integers(-120, span)))
        notice = timedelta(minutes=draw(st.sampled_from([0, 30, 60, 125])))
    preferred = None
    order = draw(st.sampled_from(list(Order)))
    if draw(st.booleans()):
        a = draw(st.integers(0, 94))
        b = draw(st.integers(a + 1, 95))
        preferred = (time(a // 4, a % 4 * 15), time(b // 4, b % 4 * 15))
    buffers = st.sampled_from([0, 0, 5, 7, 10, 15])

    request = SlotRequest(
        window_start=window_start,
        window_end=window_end,
        duration=timedelta(minutes=duration),
        time_zone=draw(st.sampled_from(ZONES)),
        seats=tuple(seats),
        optional_members=tuple(optional),
        customers=draw(st.integers(0, 2)),
        resolution=draw(st.sampled_from([5, 10, 15])),
        start_interval=draw(st.sampled_from([15, 30])),
        buffer_before=timedelta(minutes=draw(buffers)),
        buffer_after=timedelta(minutes=draw(buffers)),
        minimum_notice=notice,
        now=now,
        order=order,
        preferred_hours=preferred,
        weights=draw(weights()),
    )
    pool_list = [member_pool] + ([room_pool] if room_pool is not None else [])
    return Case(Directory.of(people, rooms, pool_list), busy, request, bookings)


# --- Comparison -------------------------------------------------------------------


def close(a: float, b: Fraction | float) -> bool:
    return abs(a - float(b)) <= 1e-6


def check_slot(request: SlotRequest, oracle: BruteResult, want: BruteSlot, got_slot: Slot) -> None:
    """The solver's slot is valid on its own, then equal to the oracle's in every field."""
    where = f"start {want.start.isoformat()}"
    assert got_slot.start == want.start
    assert got_slot.end == want.end, where
    fills = got_slot.assignment.seats
    assert len(fills) == len(request.seats), where

    # Valid on its own: each unit seat holds a free candidate of its own seat, all distinct.
    units_of = [[u for u in oracle.units if u.seat == i] for i in range(len(request.seats))]
    ids = [r for fill in fills for r in fill.resource_ids]
    assert len(set(ids)) == len(ids), f"{where}: a resource fills two seats: {ids}"
    indices: list[int] = []
    for i, (fill, units) in enumerate(zip(fills, units_of, strict=True)):
        assert len(fill.resource_ids) == len(units), f"{where}: seat {i} holds {fill.resource_ids}"
        for unit, r in zip(units, fill.resource_ids, strict=True):
            assert r in unit.candidates, f"{where}: {r} is not a candidate of seat {i}"
            assert r in want.free_candidates[i], f"{where}: {r} is not free for seat {i}"
            indices.append(unit.candidates.index(r))

    # Optimal, and the tie-break picks the oracle's index vector.
    assert close(got_slot.cost, want.cost), f"{where}: cost {got_slot.cost} != {float(want.cost)}"
    assert tuple(indices) == want.indices, f"{where}: indices {indices} != {want.indices} (same cost)"
    for i, fill in enumerate(fills):
        assert close(fill.cost, want.seat_costs[i]), f"{where}: seat {i} cost {fill.cost}"
    assert got_slot.free_candidates == want.free_candidates, where
    assert tuple((o.member_id, o.free) for o in got_slot.optional) == want.optional, where
    assert close(got_slot.score, want.score), f"{where}: score {got_slot.score} != {float(want.score)}"


def expected_order(request: SlotRequest, oracle: BruteResult) -> list[BruteSlot]:
    return oracle.best_first() if request.order == Order.BEST_FIRST else list(oracle.slots)


def compare(instance: Case) -> tuple[SlotResult, BruteResult]:
    directory, busy, request, bookings = instance
    got = find_slots(directory, busy, request, bookings)
    oracle = brute_slots(directory, busy, request, bookings)
    want = expected_order(request, oracle)
    assert got.candidates_considered == len(oracle.candidate_starts), "candidate starts differ"
    got_starts = {s.start for s in got.slots}
    want_starts = {s.start for s in oracle.slots}
    assert got_starts == want_starts, (
        f"available starts differ: solver only {sorted(got_starts - want_starts)}, "
        f"oracle only {sorted(want_starts - got_starts)}"
    )
    assert got.total_available == len(oracle.slots), "total_available differs"
    assert [s.start for s in got.slots] == [s.start for s in want], f"{request.order} order differs"
    assert got.next_offset is None
    for want_slot, got_slot in zip(want, got.slots, strict=True):
        check_slot(request, oracle, want_slot, got_slot)
    return got, oracle


# --- Properties -------------------------------------------------------------------


@settings(max_examples=EXAMPLES)
@given(instances())
def test_find_slots_agrees_with_the_oracle(instance: Case) -> None:
    compare(instance)


@settings(max_examples=QUICK)
@given(instances(), st.integers(0, 12), st.integers(0, 6))
def test_paging_cuts_the_same_ordered_list(instance: Case, offset: int, size: int) -> None:
    directory, busy, request, bookings = instance
    everything = find_slots(directory, busy, request, bookings).slots
    page = find_slots(directory, busy, replace(request, page_offset=offset, max_results=size), bookings)
    want = everything[offset:offset + size] if size else everything[offset:]
    assert [s.start for s in page.slots] == [s.start for s in want]
    assert page.slots == want
    assert page.total_available == len(everything)
    more = offset + len(want) < len(everything)
    assert page.next_offset == (offset + len(want) if more else None)


@settings(max_examples=QUICK)
@given(instances(), st.data())
def test_check_time_agrees_with_the_oracle(instance: Case, data: st.DataObject) -> None:
    directory, busy, request, bookings = instance
    oracle = brute_slots(directory, busy, request, bookings)
    by_start = {s.start: s for s in oracle.slots}
    if not oracle.candidate_starts:
        return
    # Available starts are rarer than unavailable ones: ask about some of each.
    pool = list(oracle.candidate_starts)
    picked = data.draw(st.lists(st.sampled_from(pool), max_size=3, unique=True), label="starts")
    if oracle.slots:
        picked.append(data.draw(st.sampled_from(list(oracle.slots)), label="available").start)
    for start in dict.fromkeys(picked):
        answer = check_time(directory, busy, request, start, bookings)
        assert answer.available == (start in by_start), f"{start.isoformat()}: {answer.reason}"
        if answer.available:
            assert answer.slot is not None
            check_slot(request, oracle, by_start[start], answer.slot)


# --- Fixed regressions ----------------------------------------------------------------


def _utc(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2024, month, day, hour, minute, tzinfo=UTC)


def _competing_panel_across_spring_forward() -> Case:
    """Berlin and New York hours over the EU DST change, with seats that compete for m1."""
    berlin = WorkingHours.weekdays(time(9), time(17), "Europe/Berlin", days=7)
    new_york = WorkingHours.weekdays(time(8), time(12), "America/New_York", days=7)
    directory = Directory.of(
        [
            Member("m0", time_zone="Europe/Berlin", working_hours=berlin),
            Member("m1", time_zone="America/New_York", working_hours=new_york, daily_limit=1),
            Member("m2", time_zone="Europe/Berlin", working_hours=berlin),
            Member("p0"), Member("p1"),
        ],
        [Room("r0", capacity=4), Room("r1", capacity=6)],
        [Pool("team", ("p0", "p1", "m2"), Distribution.ROUND_ROBIN)],
    )
    busy = [
        BusyInterval("m0", _utc(29, 13, 2), _utc(29, 13, 7)),
        BusyInterval("m1", _utc(1, 12, 50, month=4), _utc(1, 13, 20, month=4)),
        BusyInterval("r0", _utc(1, 12), _utc(1, 14)),
    ]
    bookings = [
        Booking("b0", _utc(25, 9), _utc(25, 10), ("p0",), (("team", "p0"),)),
        Booking("b1", _utc(1, 15, month=4), _utc(1, 15, 30, month=4), ("m1",)),
    ]
    request = SlotRequest(
        window_start=_utc(29, 11), window_end=_utc(1, 17, month=4), duration=timedelta(minutes=45),
        time_zone="Europe/Berlin",
        seats=(MemberSeat(("m1", "m0")), MemberSeat(("m0", "m1", "m2")), PoolSeat("team"), RoomSeat(("r0", "r1"))),
        buffer_before=timedelta(minutes=10), start_interval=15, resolution=5,
    )
    return Case(directory, busy, request, bookings)


def _kathmandu_pool_of_two() -> Case:
    """A +05:45 request zone at 10-minute resolution, two seats from a load-balanced pool."""
    hours = WorkingHours.weekdays(time(10), time(16), "Asia/Kathmandu", days=7)
    directory = Directory.of(
        [Member(f"p{i}", time_zone="Asia/Kathmandu", working_hours=hours) for i in range(3)] + [Member("m0")],
        pools=[Pool("team", ("p0", "p1", "p2"), Distribution.LOAD_BALANCED, Cycle.DAY)],
    )
    busy = [BusyInterval("p1", _utc(12, 5, 3, month=6), _utc(12, 5, 9, month=6))]
    bookings = [Booking("b0", _utc(12, 3, month=6), _utc(12, 4, month=6), ("p0",), (("team", "p0"),))]
    request = SlotRequest(
        window_start=_utc(12, 3, month=6), window_end=_utc(12, 11, month=6), duration=timedelta(minutes=30),
        time_zone="Asia/Kathmandu", seats=(PoolSeat("team", count=2), MemberSeat(("m0",))),
        resolution=10, start_interval=15, order=Order.BEST_FIRST, preferred_hours=(time(11), time(12)),
    )
    return Case(directory, busy, request, bookings)


def _one_member_twice() -> Case:
    """Found by this file: two single-candidate seats naming the same member cannot both be filled."""
    request = SlotRequest(
        window_start=_utc(12, 9, month=6), window_end=_utc(12, 11, month=6), duration=timedelta(minutes=60),
        time_zone="UTC", seats=(MemberSeat(("m0",)), MemberSeat(("m1",)), MemberSeat(("m0",))),
    )
    return Case(Directory.of([Member("m0"), Member("m1")]), [], request, [])


def _two_pool_seats_tied_with_a_member_seat() -> Case:
    """Found by this file: zero weights make a member seat look like a third seat of the pool
    (same candidates, same costs); three seats, two people: no slot, and no crash."""
    directory = Directory.of([Member("m0"), Member("m1")], pools=[Pool("team", ("m0", "m1"))])
    request = SlotRequest(
        window_start=_utc(12, 9, month=6), window_end=_utc(12, 11, month=6), duration=timedelta(minutes=60),
        time_zone="UTC", seats=(MemberSeat(("m0", "m1")), PoolSeat("team"), PoolSeat("team")),
        weights=Weights(alternate=0.0, pool_balance=0.0),
    )
    return Case(directory, [], request, [])


def _hours_joined_at_an_off_grid_midnight() -> Case:
    """Found by this file: Kathmandu midnight is 18:15 UTC, inside a 10-minute cell; all-day hours
    on both days cover that cell, so meetings across midnight are in hours."""
    hours = WorkingHours("Asia/Kathmandu", ((DayRange(0, 1440),),) * 7)
    request = SlotRequest(
        window_start=_utc(12, 17, month=6), window_end=_utc(12, 19, month=6), duration=timedelta(minutes=30),
        time_zone="UTC", seats=(MemberSeat(("m0",)),), resolution=10,
    )
    return Case(Directory.of([Member("m0", time_zone="Asia/Kathmandu", working_hours=hours)]), [], request, [])


def _touching_ranges_at_an_off_grid_minute() -> Case:
    """Found by this file: 08:00-12:02 and 12:02-16:00 join; the 12:00-12:05 cell is in hours."""
    hours = WorkingHours("UTC", ((DayRange(480, 722), DayRange(722, 960)),) * 7)
    request = SlotRequest(
        window_start=_utc(12, 11, month=6), window_end=_utc(12, 13, month=6), duration=timedelta(minutes=30),
        time_zone="UTC", seats=(MemberSeat(("m0",)),),
    )
    return Case(Directory.of([Member("m0", working_hours=hours)]), [], request, [])


REGRESSIONS = [
    _competing_panel_across_spring_forward,
    _kathmandu_pool_of_two,
    _one_member_twice,
    _two_pool_seats_tied_with_a_member_seat,
    _hours_joined_at_an_off_grid_midnight,
    _touching_ranges_at_an_off_grid_minute,
]


@pytest.mark.parametrize("build", REGRESSIONS, ids=[b.__name__.strip("_") for b in REGRESSIONS])
def test_fixed_regressions(build: Callable[[], Case]) -> None:
    compare(build())


def test_fixed_regressions_mean_something() -> None:
    """The examples that should have slots do (an empty comparison would prove nothing)."""
    for build in (_competing_panel_across_spring_forward, _kathmandu_pool_of_two,
                  _hours_joined_at_an_off_grid_midnight, _touching_ranges_at_an_off_grid_minute):
        assert brute_slots(*build()).slots, build.__name__
    assert not brute_slots(*_one_member_twice()).slots
    assert not brute_slots(*_two_pool_seats_tied_with_a_member_seat()).slots
