"""Independent parts: what joins two items, and that solving parts apart changes nothing."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from bench.batch_instances import interview_weeks, sales_demo_waves
from solver import Booking, Directory, Distribution, MemberSeat, Pool, PoolSeat, RoomSeat, Weights
from solver.batch import BatchRequest, BatchStatus, merge_results, optimize_batch, solve_part, split_batch
from solver.batch.prepare import plan_items, with_weights
from solver.busy import BusyTable
from solver.plan import make_plan
from tests.solver.batch.helpers import at, item, member, room

DIR = Directory.of([member("ana"), member("ben"), member("cy", daily_limit=2), member("dee")],
                   [room("r1")], [Pool("team", ("ana", "ben"), Distribution.ROUND_ROBIN)])


def ids(parts: list[BatchRequest]) -> list[list[str]]:
    return [[i.id for i in p.items] for p in parts]


def test_items_join_when_they_could_meet_on_a_resource() -> None:
    a = item("a", (MemberSeat(("ana",)),), at(9), at(11))
    b = item("b", (MemberSeat(("ben", "ana")),), at(10), at(12))  # ana, overlapping windows
    c = item("c", (MemberSeat(("ana",)),), at(14), at(16))  # ana, later the same day
    d = item("d", (RoomSeat(("r1",)),), at(9), at(10))  # nothing in common
    parts = split_batch(DIR, BatchRequest((a, b, c, d), Weights(fairness=0)))
    assert ids(parts) == [["a", "b"], ["c"], ["d"]]
    assert all(p.grid_minutes == 5 for p in parts)


def test_a_buffer_or_a_grid_cell_joins_windows_that_touch() -> None:
    a = item("a", (MemberSeat(("ana",)),), at(9), at(10))
    b = item("b", (MemberSeat(("ana",)),), at(10), at(11))  # touching: the grid cell margin joins them
    assert ids(split_batch(DIR, BatchRequest((a, b), Weights(fairness=0)))) == [["a", "b"]]


def test_a_daily_limit_joins_a_members_items_of_one_day() -> None:
    a = item("a", (MemberSeat(("cy",)),), at(9), at(10))
    b = item("b", (MemberSeat(("cy",)),), at(15), at(16))
    c = item("c", (MemberSeat(("cy",)),), at(15, day=3), at(16, day=3))
    assert ids(split_batch(DIR, BatchRequest((a, b, c), Weights(fairness=0)))) == [["a", "b"], ["c"]]


def test_fairness_joins_a_pools_items_of_one_week_only_when_weighed() -> None:
    a = item("a", (PoolSeat("team"),), at(9), at(10))
    b = item("b", (PoolSeat("team"),), at(9, day=4), at(10, day=4))
    c = item("c", (PoolSeat("team"),), at(9, day=9), at(10, day=9))  # the next ISO week
    assert ids(split_batch(DIR, BatchRequest((a, b, c), Weights(fairness=1)))) == [["a", "b"], ["c"]]
    assert ids(split_batch(DIR, BatchRequest((a, b, c), Weights(fairness=0)))) == [["a"], ["b"], ["c"]]


def test_parts_solved_apart_equal_one_model() -> None:
    """Two teams over two weeks: four parts. Each part and the whole (one model) are proven
    optimal, and the merged parts score exactly what the whole does."""
    directory, busy, bookings, batch = interview_weeks(requests=12, members=10, rooms=2, weeks=2, teams=2, seed=3)
    batch = replace(batch, time_limit=20, workers=2)
    parts = split_batch(directory, batch)
    assert len(parts) == 4
    results = [solve_part(directory, busy, bookings, part) for part in parts]
    assert all(r.status is BatchStatus.OPTIMAL for r in results)
    merged = merge_results(directory, batch, results, 0.0)
    whole = solve_part(directory, busy, bookings, replace(batch, grid_minutes=parts[0].grid_minutes))
    assert whole.status is BatchStatus.OPTIMAL
    # Equal optima (the schedules themselves may differ where several are optimal).
    assert merged.score == whole.score and merged.objective == whole.objective
    assert merged.kpis.scheduled_priority == whole.kpis.scheduled_priority
    assert optimize_batch(directory, busy, bookings, batch).objective == whole.objective


def test_shared_plans_equal_make_plan() -> None:
    """plan_items builds one FreeMask per meeting shape; each item's plan is make_plan's."""
    for generate in (interview_weeks, sales_demo_waves):
        directory, busy, bookings, batch = generate(requests=40, members=12, rooms=3, weeks=1, seed=5)
        bookings_by: dict[str, list[Booking]] = {}
        for bk in bookings:
            for r in bk.resources:
                bookings_by.setdefault(r, []).append(bk)
        requests = [with_weights(i, batch.weights) for i in batch.items]
        table = BusyTable.of(busy)
        for request, plan in zip(requests, plan_items(directory, table, bookings_by, requests), strict=True):
            alone = make_plan(directory, BusyTable.of(busy), bookings, request)
            assert np.array_equal(plan.starts, alone.starts)
            assert plan.too_small == alone.too_small
            for ours, theirs in zip(plan.seat_costs(), alone.seat_costs(), strict=True):
                assert np.array_equal(ours.cost, theirs.cost)
