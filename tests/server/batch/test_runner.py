"""server.batch.runner: a local process pool, threads and a Dask cluster give the same schedule.

A decomposable batch (two teams, two weeks: four parts) whose parts are all
proven optimal, so every way of running them must score exactly the same.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from dask.distributed import Client, LocalCluster

from bench.batch_instances import interview_weeks
from server.batch.runner import part_inputs, run_batch
from solver import Booking, Directory, MemberSeat, RoomSeat
from solver.batch import BatchItem, BatchProgress, BatchRequest, BatchStatus, Current, optimize_batch, split_batch
from tests.solver.batch.helpers import at, item, member, room


@pytest.fixture(scope="module")
def instance():
    directory, busy, bookings, batch = interview_weeks(requests=12, members=10, rooms=2, weeks=2, teams=2, seed=3)
    return directory, busy, bookings, replace(batch, time_limit=20, workers=2)


@pytest.fixture(scope="module")
def in_process(instance):
    directory, busy, bookings, batch = instance
    result = optimize_batch(directory, busy, bookings, batch)
    assert result.status is BatchStatus.OPTIMAL and result.parts == 4
    return result


def same_schedule_value(a, b) -> None:
    """Equal optima, term by term (the schedules may differ where several are optimal)."""
    assert a.status is b.status is BatchStatus.OPTIMAL
    assert a.score == b.score  # objective, bound and baseline
    assert a.kpis.scheduled_priority == b.kpis.scheduled_priority and a.parts == b.parts


def test_local_process_pool(instance, in_process) -> None:
    directory, busy, bookings, batch = instance
    reports: list[BatchProgress] = []
    result = run_batch(directory, busy, bookings, batch, on_progress=reports.append)
    same_schedule_value(result, in_process)
    assert [r.parts_done for r in reports] == [1, 2, 3, 4] and reports[-1].parts_total == 4


def test_threads_report_every_solution(instance, in_process) -> None:
    directory, busy, bookings, batch = instance
    reports: list[BatchProgress] = []
    result = run_batch(directory, busy, bookings, batch, executor="thread", on_progress=reports.append)
    same_schedule_value(result, in_process)
    assert {r.source for r in reports} >= {"greedy", "part"} and reports[-1].parts_done == 4


def test_dask_cluster(instance, in_process) -> None:
    """A LocalCluster in this process (no network): one task per part, same result."""
    directory, busy, bookings, batch = instance
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=False,  # type: ignore[no-untyped-call]
                           dashboard_address=None)
    with cluster, Client(cluster) as client:  # type: ignore[no-untyped-call]
        by_client = run_batch(directory, busy, bookings, batch, client=client)
        by_address = run_batch(directory, busy, bookings, batch, scheduler=cluster.scheduler_address)
    same_schedule_value(by_client, in_process)
    same_schedule_value(by_address, in_process)


def test_a_part_gets_only_its_own_calendars(instance) -> None:
    """Workers receive the busy time and bookings of their part's team only."""
    directory, busy, bookings, batch = instance
    part = split_batch(directory, batch)[0]
    lead = part.items[0].request.seats[0]
    assert isinstance(lead, MemberSeat)
    team = lead.candidates[0].split("-")[0]  # "t0-m001" -> "t0"
    part_busy, part_bookings = part_inputs(directory, part, busy, bookings)
    assert part_busy and {b.resource_id.split("-")[0] for b in part_busy} == {team}
    assert part_bookings and all(r.startswith(team) for bk in part_bookings for r in bk.resources)
    assert len(part_busy) < len(busy)


def test_pinned_and_movable_items_run_the_same_on_pools_dask_and_in_process() -> None:
    """Two parts (one movable booking and a new item wanting its place; one pinned booking and a
    new item around it), on a process pool, threads and a Dask cluster: the same schedule as in process, the
    pinned item where it is, the movable one moved."""
    directory = Directory(members={m: member(m) for m in ("ann", "bo")}, rooms={r: room(r) for r in ("r1", "r2")})

    def named(item_id: str, who: str, where: str, hour: int, *, movable: bool) -> tuple[BatchItem, Booking]:
        base = item(item_id, (MemberSeat((who,)), RoomSeat((where,))), at(9), at(13))
        current = Current(f"bk-{item_id}", at(hour), at(hour + 1), ((who,), (where,)), movable=movable)
        return BatchItem(item_id, base.request, 1, current), Booking(current.booking_id, at(hour), at(hour + 1),
                                                                    (who, where))

    moving, first = named("moving", "ann", "r1", 10, movable=True)
    pinned, second = named("pinned", "bo", "r2", 10, movable=False)
    items = (moving, item("wants-10", (MemberSeat(("ann",)), RoomSeat(("r1",))), at(10), at(11)),
             pinned, item("around", (MemberSeat(("bo",)), RoomSeat(("r2",))), at(10), at(12)))
    batch = BatchRequest(items, time_limit=10, workers=2)
    assert len(split_batch(directory, batch)) == 2
    expected = optimize_batch(directory, [], [first, second], batch)
    assert expected.status is BatchStatus.OPTIMAL
    assert expected.scheduled["pinned"].start == at(10) and expected.scheduled["around"].start == at(11)
    assert expected.scheduled["moving"].moved and expected.scheduled["wants-10"].start == at(10)
    results = [run_batch(directory, [], [first, second], batch, executor=executor)
               for executor in ("thread", "process")]
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=False,  # type: ignore[no-untyped-call]
                           dashboard_address=None)
    with cluster, Client(cluster) as client:  # type: ignore[no-untyped-call]
        results.append(run_batch(directory, [], [first, second], batch, client=client))
    for result in results:
        assert result.score == expected.score and result.kpis == expected.kpis
        assert {k: (v.start, v.moved) for k, v in result.scheduled.items()} == \
            {k: (v.start, v.moved) for k, v in expected.scheduled.items()}
