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
from solver import MemberSeat
from solver.batch import BatchProgress, BatchStatus, optimize_batch, split_batch


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
