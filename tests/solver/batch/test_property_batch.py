"""optimize_batch against the exhaustive oracle (tests/batch/oracle.py) on tiny batches.

Each example: 2-4 items over 2-4 members (one pool among them) and 1-2 rooms, a
few starts each, in zones whose offsets are not all multiples of the grid
(Kathmandu, +05:45), with working hours, busy and tentative time, existing
bookings, booking limits, buffers and, now and then, conflict mode or an
explicit priority weight. The solver's optimum must equal the oracle's, and the
schedule it returns must obey every rule, checked from scratch.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, time, timedelta
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from solver import (
    Booking,
    BusyInterval,
    BusyKind,
    Directory,
    Distribution,
    Member,
    MemberSeat,
    Pool,
    PoolSeat,
    Room,
    RoomSeat,
    Seat,
    SlotRequest,
    Weights,
    WorkingHours,
)
from solver.batch import BatchItem, BatchRequest, BatchResult, BatchStatus, optimize_batch
from solver.batch.types import TICKS_PER_POINT
from tests.solver.batch.oracle import BruteOption, brute_batch, fairness_spread, item_options, pair_clashes
from tests.solver.brute import Freedom

BASE = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday
ZONES = ("UTC", "Europe/Berlin", "Asia/Kathmandu")
# Dyadic weights: exact as floats, so the oracle's Fractions and the solver's ticks agree.
SMALL = st.sampled_from([0.0, 0.5, 1.0, 2.0])


@st.composite
def batches(draw: st.DrawFn) -> tuple[Directory, list[BusyInterval], list[Booking], BatchRequest]:
    n_members = draw(st.integers(2, 4))
    members = []
    for k in range(n_members):
        zone = draw(st.sampled_from(ZONES))
        hours = draw(st.sampled_from([None, (time(0), time(0)), (time(9), time(17)), (time(13), time(20))]))
        working = WorkingHours.weekdays(hours[0], hours[1], zone, 7) if hours else None
        limit = draw(st.sampled_from([None, None, 1, 2]))
        weekly = draw(st.sampled_from([None, None, None, 2]))
        members.append(Member(f"m{k}", time_zone=zone, working_hours=working, daily_limit=limit,
                              weekly_limit=weekly))
    rooms = [Room(f"r{k}", capacity=draw(st.integers(1, 5)),
                  opening_hours=draw(st.sampled_from([None, WorkingHours.weekdays(time(8), time(18), "UTC", 7)])))
             for k in range(draw(st.integers(1, 2)))]
    pool_members = tuple(m.id for m in members[: draw(st.sampled_from([2, 2, n_members]))])
    distribution = draw(st.sampled_from(list(Distribution)))
    pools = [Pool("team", pool_members, distribution,
                  priorities=tuple((m, draw(st.integers(0, 2))) for m in pool_members)),
             Pool("rooms", tuple(r.id for r in rooms))]
    directory = Directory.of(members, rooms, pools)

    resources = [m.id for m in members] + [r.id for r in rooms]
    busy = []
    for _ in range(draw(st.integers(0, 4))):
        start = BASE + timedelta(minutes=draw(st.integers(0, 240)))
        busy.append(BusyInterval(draw(st.sampled_from(resources)), start,
                                 start + timedelta(minutes=draw(st.integers(5, 90))),
                                 draw(st.sampled_from([BusyKind.BUSY, BusyKind.TENTATIVE]))))
    bookings = []
    for b in range(draw(st.integers(0, 2))):
        member = draw(st.sampled_from(pool_members))
        start = BASE + timedelta(minutes=draw(st.sampled_from([-1440, -60, 30, 150])))
        bookings.append(Booking(f"b{b}", start, start + timedelta(minutes=30), (member,), (("team", member),)))

    resolution = draw(st.sampled_from([5, 15, 30]))
    items = []
    for k in range(draw(st.integers(2, 4))):
        seats: list[Seat] = []
        for _ in range(draw(st.integers(1, 2))):
            kind = draw(st.sampled_from(["member", "pool", "room"]))
            if kind == "member":
                seats.append(MemberSeat(tuple(draw(st.lists(st.sampled_from([m.id for m in members]), min_size=1,
                                                            max_size=2, unique=True)))))
            elif kind == "pool":
                seats.append(PoolSeat("team", draw(st.integers(1, min(2, len(pool_members))))))
            else:
                listed = tuple(draw(st.lists(st.sampled_from([r.id for r in rooms]), max_size=2, unique=True)))
                seats.append(RoomSeat(listed, ("rooms",) if draw(st.booleans()) or not listed else ()))
        first = BASE + timedelta(minutes=draw(st.sampled_from([0, 15, 45, 60, 120])))
        duration = timedelta(minutes=draw(st.sampled_from([30, 45, 60])))
        interval = draw(st.sampled_from([30, 60]))
        request = SlotRequest(
            window_start=first,
            window_end=first + duration + timedelta(minutes=interval * draw(st.integers(0, 3))),
            duration=duration,
            time_zone=draw(st.sampled_from(ZONES)),
            seats=tuple(seats),
            customers=draw(st.integers(0, 2)),
            resolution=resolution,
            start_interval=interval,
            buffer_before=timedelta(minutes=draw(st.sampled_from([0, 0, 10]))),
            buffer_after=timedelta(minutes=draw(st.sampled_from([0, 15]))),
        )
        items.append(BatchItem(f"i{k}", request, draw(st.integers(1, 3))))
    weights = Weights(alternate=draw(st.sampled_from([0.0, 10.0])), pool_balance=draw(SMALL),
                      pool_priority=draw(SMALL), room_fit=draw(SMALL), fairness=draw(st.sampled_from([0.0, 1.0, 4.0])),
                      earliness=draw(SMALL), conflict_busy=8.0, conflict_tentative=2.0, outside_hours=4.0)
    batch = BatchRequest(tuple(items), weights, allow_conflicts=draw(st.booleans()), time_limit=20.0,
                         priority_weight=draw(st.sampled_from([None, None, None, 3.0, 40.0])))
    return directory, busy, bookings, batch


def _as_options(directory: Directory, busy: list[BusyInterval], bookings: list[Booking], batch: BatchRequest,
                result: BatchResult) -> list[BruteOption]:
    """The solver's schedule as the oracle's options: each must be one the oracle lists."""
    chosen = []
    for index, item in enumerate(batch.items):
        scheduled = result.scheduled.get(item.id)
        if scheduled is None:
            continue
        seats = tuple(tuple(sorted(fill.resource_ids)) for fill in scheduled.assignment.seats)
        matches = [o for o in item_options(directory, busy, bookings, batch, index)
                   if o.start == scheduled.start and o.seats == seats]
        assert matches, f"{item.id} at {scheduled.start} with {seats} is not a valid way to schedule it alone"
        assert Fraction(scheduled.cost).limit_denominator(10**6) == matches[0].cost
        chosen.append(matches[0])
    return chosen


@settings(max_examples=150)
@given(batches())
def test_batch_optimum_matches_brute_force(case: tuple[Directory, list[BusyInterval], list[Booking], BatchRequest]):
    directory, busy, bookings, batch = case
    result = optimize_batch(directory, busy, bookings, batch)
    assert result.status is BatchStatus.OPTIMAL
    assert set(result.scheduled) | set(result.unscheduled) == {i.id for i in batch.items}

    # The schedule obeys every rule, checked from scratch.
    chosen = _as_options(directory, busy, bookings, batch, result)
    grid = math.lcm(*(i.request.resolution for i in batch.items))
    for a in range(len(chosen)):
        for b in range(a + 1, len(chosen)):
            assert not pair_clashes(chosen[a], chosen[b], grid), "two items hold one resource at once"
    # ... and each item could be booked after all the others (the commit check), rooms always free.
    as_bookings = {o.item: Booking(f"batch-{o.item}", o.start, o.end, tuple(sorted(o.resources))) for o in chosen}
    for o in chosen:
        others = [bk for k, bk in as_bookings.items() if k != o.item]
        request = batch.items[o.item].request
        freedom = Freedom(directory, busy if not batch.allow_conflicts else [], request, [*bookings, *others])
        for resource in o.resources:
            if batch.allow_conflicts:
                assert freedom.within_limits(resource, o.start)
                clear = Freedom(directory, [], request, others)
                assert clear.unblocked(resource, o.start, o.end) or grid != request.resolution
            else:
                assert freedom.is_free(resource, o.start) or grid != request.resolution, (o, resource)
        for seat in o.seats:
            for room in seat:
                if room in directory.rooms:
                    assert Freedom(directory, busy, request, [*bookings, *others]).is_free(room, o.start) or \
                        grid != request.resolution

    # Its objective is the optimum.
    best = brute_batch(directory, busy, bookings, batch)
    spread = fairness_spread(directory, batch, chosen)
    cost = sum((o.cost for o in chosen), Fraction(0)) + Fraction(batch.weights.fairness) * spread
    left_out = sum(i.priority for i in batch.items if i.id not in result.scheduled)
    assert result.score.cost == cost * TICKS_PER_POINT, "the solver prices its schedule as the rules do"
    if batch.priority_weight is None:
        assert (left_out, cost) == (best.left_out, best.cost)
    else:
        weight = Fraction(str(batch.priority_weight))
        assert weight * left_out + cost == weight * best.left_out + best.cost
    assert result.gap == 0 and result.best_bound == result.objective
