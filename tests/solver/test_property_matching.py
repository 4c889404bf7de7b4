"""Interacting seats through find_slots against the exhaustive oracle (tests/brute.py).

The problems are built so that seats compete and the exact assignment is the
min-cost flow's (solver/matching.py) rather than a vectorized shortcut: pool
seats of count 2 and 3 over pools that share members with each other and with
the member seats (members in several seats), strict round robin among the rules
(only the next in line may sit), room seats competing for the same rooms (listed
and from a room pool), and conflict mode (alternatives, with their least-conflict
assignments). The slots, their tie-broken assignments and the alternatives must
be the oracle's exactly; the events (``pytest --hypothesis-show-statistics``)
say how often the flow decided.

Profiles (tests/conftest.py): ``ci`` is derandomized; ``HYPOTHESIS_PROFILE=dev``
explores new examples, ``thorough`` ten times as many.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from unittest import mock

from hypothesis import event, given, settings
from hypothesis import strategies as st

import solver.matching
from solver import (
    Booking,
    BusyInterval,
    BusyKind,
    Directory,
    Distribution,
    MemberSeat,
    PoolSeat,
    Room,
    RoomSeat,
    Seat,
    SlotRequest,
)
from tests.solver.brute import brute_alternatives
from tests.solver.test_property_conflicts import CONFLICT_WEIGHTS, check_least_conflict
from tests.solver.test_property_slots import (
    BASE_DAYS,
    ZONES,
    Case,
    compare,
    intervals,
    members,
    pools,
    weights,
    working_hours,
)

# At least 300 in CI (the loaded profile in tests/conftest.py scales it).
EXAMPLES = max(300, 3 * settings().max_examples)


@st.composite
def interacting_cases(draw: st.DrawFn) -> Case:
    """A small panel whose seats compete for the same people and rooms, over a few hours."""
    window_start = draw(st.sampled_from(BASE_DAYS)) + timedelta(minutes=draw(st.integers(-6 * 60, 18 * 60)))
    duration = draw(st.sampled_from([15, 30, 45, 60]))
    window_end = window_start + timedelta(minutes=draw(st.integers(120, 6 * 60)))
    around = window_start.date()

    # People: every one of them may sit in a member seat and in a pool seat.
    everyone = [f"m{i}" for i in range(draw(st.integers(4, 6)))]
    # Hours and limits for some: enough people free at once that the seats have to share.
    people = [m if draw(st.integers(0, 2)) == 0 else replace(m, working_hours=None, daily_limit=None, weekly_limit=None)
              for m in draw(members(everyone, around))]
    team = draw(pools("team", everyone, 3, 5))
    # A third strict round robin (only the next in line may sit), the other rules alike.
    rule = draw(st.sampled_from([Distribution.STRICT_ROUND_ROBIN, Distribution.ROUND_ROBIN,
                                 Distribution.LOAD_BALANCED, Distribution.STRICT_ROUND_ROBIN,
                                 Distribution.PRIORITY, Distribution.ROUND_ROBIN]))
    team = replace(team, distribution=rule)
    crew = draw(pools("crew", everyone, 2, 4))

    # Member seats led by team members: a member seat and the pool seat want the same people.
    seats: list[Seat] = []
    for _ in range(draw(st.sampled_from([1, 1, 2, 0]))):
        primary = draw(st.sampled_from(team.members))
        others = draw(st.lists(st.sampled_from([m for m in everyone if m != primary]), max_size=2, unique=True))
        seats.append(MemberSeat((primary, *others)))
    seats.append(PoolSeat("team", count=draw(st.sampled_from([2, 1, 2, 3]))))
    if draw(st.integers(0, 2)) == 0:
        seats.append(PoolSeat("crew", count=draw(st.integers(1, 2))))

    # Rooms: one or two room seats over the same few rooms, listed or from a room pool.
    room_ids = [f"r{i}" for i in range(draw(st.integers(0, 3)))]
    rooms = [Room(r, capacity=draw(st.sampled_from([4, 6, 10, 12])), time_zone=draw(st.sampled_from(ZONES)),
                  opening_hours=draw(working_hours("UTC", around)) if draw(st.integers(0, 3)) == 0 else None)
             for r in room_ids]
    room_pool = draw(pools("rooms", room_ids, 1, len(room_ids))) if len(room_ids) > 1 else None
    for _ in range(draw(st.integers(0, 2)) if room_ids else 0):
        listed = tuple(draw(st.lists(st.sampled_from(room_ids), min_size=0 if room_pool else 1, max_size=3,
                                     unique=True)))
        from_pool = ("rooms",) if room_pool is not None and (not listed or draw(st.booleans())) else ()
        seats.append(RoomSeat(listed, from_pool))
    seats = draw(st.permutations(seats))

    # Calendars, and bookings that rank the round robins and load the load-balanced pools.
    busy: list[BusyInterval] = []
    span = int((window_end - window_start).total_seconds() // 60)
    kinds = st.sampled_from([BusyKind.BUSY, BusyKind.TENTATIVE, BusyKind.OUT_OF_OFFICE])
    for resource_id in everyone + room_ids:
        for start, end in draw(intervals(window_start - timedelta(hours=1), span + 120, 2, st.integers(5, 90))):
            busy.append(BusyInterval(resource_id, start, end, draw(kinds)))
    bookings: list[Booking] = []
    for k, (start, end) in enumerate(draw(intervals(window_start - timedelta(days=8), 8 * 1440 + span, 4,
                                                    st.integers(15, 90)))):
        held = draw(st.lists(st.sampled_from(everyone + room_ids), min_size=1, max_size=3, unique=True))
        drawn = [(pool.id, r) for pool in (team, crew, room_pool) if pool is not None
                 for r in held if r in pool.members and draw(st.booleans())]
        bookings.append(Booking(f"b{k}", start, end, tuple(held), tuple(drawn)))

    request_weights = draw(weights())
    conflict_mode = draw(st.integers(0, 2)) == 0
    if conflict_mode:
        request_weights = replace(request_weights, conflict_busy=draw(CONFLICT_WEIGHTS),
                                  conflict_tentative=draw(CONFLICT_WEIGHTS), outside_hours=draw(CONFLICT_WEIGHTS))
    request = SlotRequest(
        window_start=window_start,
        window_end=window_end,
        duration=timedelta(minutes=duration),
        time_zone=draw(st.sampled_from(ZONES)),
        seats=tuple(seats),
        customers=draw(st.integers(0, 2)),
        resolution=draw(st.sampled_from([5, 15])),
        start_interval=draw(st.sampled_from([15, 30])),
        buffer_before=timedelta(minutes=draw(st.sampled_from([0, 0, 10]))),
        weights=request_weights,
        want_alternatives=conflict_mode,
        max_alternatives=draw(st.sampled_from([3, 10])) if conflict_mode else 0,
    )
    pool_list = [team, crew] + ([room_pool] if room_pool is not None else [])
    return Case(Directory.of(people, rooms, pool_list), busy, request, bookings)


def _events(case: Case, flows: int) -> None:
    event(f"min-cost flow solves: {min(flows, 3)}{'+' if flows >= 3 else ''}")
    request = case.request
    team = case.directory.pools["team"]
    if team.distribution is Distribution.STRICT_ROUND_ROBIN:
        event("strict round robin")
    if sum(isinstance(s, RoomSeat) for s in request.seats) > 1:
        event("room seats compete")
    if any(isinstance(s, PoolSeat) and s.count > 1 for s in request.seats):
        event("pool seat of count > 1")
    if request.want_alternatives:
        event("conflict mode")


@settings(max_examples=EXAMPLES)
@given(interacting_cases())
def test_interacting_seats_agree_with_the_oracle(case: Case) -> None:
    """Every slot (cost, tie-broken assignment, free candidates) and, in conflict mode, every
    alternative with its least-conflict assignment and conflicts, exactly the oracle's."""
    with mock.patch("solver.assign.cheapest_assignment", wraps=solver.matching.cheapest_assignment) as spy:
        got, oracle = compare(case)
    _events(case, spy.call_count)
    if case.request.want_alternatives:
        directory, busy, request, bookings = case
        _, want = brute_alternatives(directory, busy, request, bookings)
        assert [(a.conflict_cost, a.start) for a in got.alternatives] == [(float(w.conflict), w.start)
                                                                          for w in want]
        for w, a in zip(want, got.alternatives, strict=True):
            check_least_conflict(case, oracle.units, w, a)
