"""Batch failures are named, never raw, and bounded by the call's deadline: a real Dask
scheduler and workers started as processes (one worker killed: the batch finishes; all
killed; unreachable; no workers), a local pool whose processes are killed, and the local
pool's start counted against the time limit (no part dropped for it)."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace

import grpc
import pytest
from dask.distributed import Client

from bench.batch_instances import Instance, interview_weeks
from convene.v1 import batch_pb2
from convene.v1 import scheduling_service_pb2 as api
from convene.v1 import scheduling_service_pb2_grpc as api_grpc
from server.batch.runner import ClusterWithoutWorkers, SolverUnavailable, run_batch
from server.config.batch import BatchPolicy
from server.wire.batch import batch_query, batch_request_to_proto, result_to_proto
from solver.batch import BatchResult, BatchStatus, UnscheduledReason, merge_results, solve_part, split_batch
from tests.server.batch.dask_processes import DaskCluster, wait_until
from tests.server.batch.served import API_KEY, serve
from tests.server.booking.store.helpers import free_port
from tests.server.booking_world import key


def small() -> Instance:
    """Four parts (two teams, two weeks), each proven optimal in well under a second."""
    return interview_weeks(requests=12, members=10, rooms=2, weeks=2, teams=2, seed=3)


def in_thread(call: Callable[[], BatchResult]) -> tuple[threading.Thread, list[BatchResult | BaseException]]:
    out: list[BatchResult | BaseException] = []

    def run() -> None:
        try:
            out.append(call())
        except BaseException as exc:
            out.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out


# --- Dask, real processes ---------------------------------------------------------------------


@pytest.fixture
def cluster() -> Iterator[DaskCluster]:
    with DaskCluster(workers=2) as running:
        yield running


def test_one_worker_killed_mid_solve_the_batch_finishes(cluster: DaskCluster) -> None:
    directory, busy, bookings, batch = small()
    batch = replace(batch, time_limit=20, workers=2)
    with Client(cluster.address, timeout=10) as watcher:  # type: ignore[no-untyped-call]
        thread, out = in_thread(lambda: run_batch(directory, busy, bookings, batch, scheduler=cluster.address))
        assert wait_until(lambda: cluster.busy_workers(watcher), 30)
        cluster.kill_worker(cluster.busy_workers(watcher)[0])
        thread.join(40)
    assert out and isinstance(out[0], BatchResult), out
    result = out[0]
    assert result.parts == 4 and result.incomplete == () and result.status is BatchStatus.OPTIMAL


def test_every_worker_killed_is_unavailable_well_inside_the_limit(cluster: DaskCluster) -> None:
    directory, busy, bookings, batch = interview_weeks(requests=60, members=16, rooms=4, weeks=2, teams=2, seed=3)
    batch = replace(batch, time_limit=60, workers=2)
    began = time.monotonic()
    with Client(cluster.address, timeout=10) as watcher:  # type: ignore[no-untyped-call]
        thread, out = in_thread(lambda: run_batch(directory, busy, bookings, batch, scheduler=cluster.address))
        assert wait_until(lambda: len(cluster.busy_workers(watcher)) == 2, 30)
        cluster.kill_worker(0)
        cluster.kill_worker(1)
        thread.join(30)
    assert out and isinstance(out[0], SolverUnavailable), out
    assert "every worker" in str(out[0]) or "lost part" in str(out[0])
    assert time.monotonic() - began < 30


def test_an_unreachable_scheduler_is_unavailable_within_the_time_limit() -> None:
    directory, busy, bookings, batch = small()
    began = time.monotonic()
    with pytest.raises(SolverUnavailable, match="cannot be reached within"):
        run_batch(directory, busy, bookings, replace(batch, time_limit=60), scheduler=f"tcp://127.0.0.1:{free_port()}",
                  deadline=time.monotonic() + 2)
    assert time.monotonic() - began < 5  # not Dask's 30 s connect timeout


def test_a_scheduler_without_workers_is_named() -> None:
    with DaskCluster(workers=0) as empty:
        directory, busy, bookings, batch = small()
        began = time.monotonic()
        with pytest.raises(ClusterWithoutWorkers, match="has no workers"):
            run_batch(directory, busy, bookings, replace(batch, time_limit=60), scheduler=empty.address)
        assert time.monotonic() - began < 10


# --- Over the real server ------------------------------------------------------------------------


def call_fails(stub: api_grpc.SchedulingServiceStub, request: api.OptimizeBatchRequest,
               timeout: float) -> tuple[grpc.RpcError, float]:
    began = time.monotonic()
    with pytest.raises(grpc.RpcError) as caught:
        list(stub.OptimizeBatch(request, metadata=key(API_KEY), timeout=timeout))
    return caught.value, time.monotonic() - began


def test_over_grpc_unreachable_is_unavailable_and_no_workers_failed_precondition() -> None:
    instance = small()
    nowhere = f"tcp://127.0.0.1:{free_port()}"
    with DaskCluster(workers=0) as empty:
        server, stub = serve([nowhere, empty.address], instance)
        try:
            request = batch_request_to_proto(replace(instance[3], time_limit=60), scheduler=nowhere)
            error, took = call_fails(stub, request, timeout=3)
            assert error.code() is grpc.StatusCode.UNAVAILABLE, error
            assert "cannot be reached" in (error.details() or "") and took < 3
            request = batch_request_to_proto(replace(instance[3], time_limit=60), scheduler=empty.address)
            error, took = call_fails(stub, request, timeout=20)
            assert error.code() is grpc.StatusCode.FAILED_PRECONDITION, error
            assert "has no workers" in (error.details() or "") and took < 10
        finally:
            server.stop(None)


# --- The local pool --------------------------------------------------------------------------------


def test_a_killed_pool_process_is_unavailable_not_internal() -> None:
    directory, busy, bookings, batch = interview_weeks(requests=60, members=16, rooms=4, weeks=2, teams=2, seed=3)
    batch = replace(batch, time_limit=60, workers=2)
    before = {p.pid for p in multiprocessing.active_children()}
    thread, out = in_thread(lambda: run_batch(directory, busy, bookings, batch))
    assert wait_until(lambda: len({p.pid for p in multiprocessing.active_children()} - before) >= 2, 30)
    time.sleep(1.0)  # the parts are being solved
    for pid in {p.pid for p in multiprocessing.active_children()} - before:
        os.kill(pid, signal.SIGKILL)
    thread.join(30)
    assert out and isinstance(out[0], SolverUnavailable), out
    assert "worker process" in str(out[0])


def test_the_local_pool_with_2_workers_drops_no_part() -> None:
    """Starting the pool's processes (seconds on a busy machine) is counted before the
    parts' shares are set: no part runs out of time while it is being planned."""
    directory, busy, bookings, batch = interview_weeks(requests=120, members=32, rooms=8, weeks=2, teams=4, seed=7)
    result = run_batch(directory, busy, bookings, replace(batch, time_limit=4, workers=2))
    assert result.parts >= 6
    assert result.incomplete == () and result.status is not BatchStatus.UNKNOWN
    assert all(u.reason is not UnscheduledReason.DEADLINE for u in result.unscheduled.values())
    assert result.wall_time < 4 + 1


# --- The reply ------------------------------------------------------------------------------------


def test_the_reply_lists_a_dropped_part_and_why() -> None:
    directory, busy, bookings, batch = small()
    parts = split_batch(directory, batch)
    results = [solve_part(directory, busy, bookings, part) for part in parts[:-1]]
    results.append(solve_part(directory, busy, bookings, parts[-1], deadline=time.monotonic()))
    merged = merge_results(directory, batch, results, 1.0)
    first = batch.items[0].request
    query = batch_query(batch_request_to_proto(batch), {}, now=first.window_start, policy=BatchPolicy())
    reply = result_to_proto(merged, query, [], "ops@example.com").result
    assert len(reply.incomplete_parts) == 1
    dropped = reply.incomplete_parts[0]
    assert list(dropped.item_ids) == [item.id for item in parts[-1].items]
    assert "being planned" in dropped.reason
    by_id = {item.id: item for item in reply.items}
    assert all(by_id[i].unscheduled.reason == batch_pb2.UNSCHEDULED_REASON_DEADLINE for i in dropped.item_ids)
    assert any(item.WhichOneof("outcome") == "scheduled" for item in reply.items)


def test_dask_missing_is_unavailable_with_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    """A server without the 'dask' extra: the import fails, the call says so (not INTERNAL)."""
    monkeypatch.setitem(sys.modules, "dask.distributed", None)  # import raises ImportError
    directory, busy, bookings, batch = small()
    with pytest.raises(SolverUnavailable, match="Dask is not installed"):
        run_batch(directory, busy, bookings, batch, scheduler="tcp://127.0.0.1:8786")
