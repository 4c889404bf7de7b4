"""Deterministic mode over the real server: OptimizeBatchRequest.work_limit and seed reach
the solver, and the same request twice gives the same schedule (the one the batch API
gives in process); bad values are INVALID_ARGUMENT naming the field."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC

import grpc
import pytest

from bench.batch_instances import Instance, interview_weeks
from convene.v1 import batch_pb2
from convene.v1 import scheduling_service_pb2 as api
from convene.v1 import scheduling_service_pb2_grpc as api_grpc
from server.batch.runner import run_batch
from server.wire.batch import batch_request_to_proto
from tests.server.batch.served import API_KEY, serve
from tests.server.batch.test_rpc import violations
from tests.server.booking_world import key


@pytest.fixture(scope="module")
def instance() -> Instance:
    directory, busy, bookings, batch = interview_weeks(requests=40, members=14, rooms=3, seed=5)
    return directory, busy, bookings, replace(batch, work_limit=0.8, time_limit=60, workers=2, seed=3)


@pytest.fixture(scope="module")
def stub(instance: Instance) -> Iterator[api_grpc.SchedulingServiceStub]:
    server, served = serve([], instance)
    try:
        yield served
    finally:
        server.stop(None)


def solve(stub: api_grpc.SchedulingServiceStub, request: api.OptimizeBatchRequest) -> batch_pb2.BatchResult:
    replies = list(stub.OptimizeBatch(request, metadata=key(API_KEY), timeout=60))
    return replies[-1].result


def schedule(result: batch_pb2.BatchResult) -> list[tuple[str, str, list[list[str]]]]:
    return [(i.id, i.scheduled.start.ToJsonString(), [list(s.resource_ids) for s in i.scheduled.seats])
            for i in result.items if i.WhichOneof("outcome") == "scheduled"]


def test_the_same_request_with_a_work_limit_gives_the_same_schedule_twice(
        instance: Instance, stub: api_grpc.SchedulingServiceStub) -> None:
    directory, busy, bookings, batch = instance
    request = batch_request_to_proto(batch)
    assert request.work_limit == pytest.approx(0.8) and request.seed == 3
    first, second = solve(stub, request), solve(stub, request)
    assert schedule(first) and schedule(first) == schedule(second)
    assert first.objective == second.objective and first.best_bound == second.best_bound
    # What the batch API gives in process with the same work limit, seed and workers.
    now = request.now.ToDatetime(tzinfo=UTC)
    items = tuple(replace(i, request=replace(i.request, now=now)) for i in batch.items)
    local = run_batch(directory, busy, bookings, replace(batch, items=items))
    assert first.objective == pytest.approx(local.objective)
    assert [s[0] for s in schedule(first)] == list(local.scheduled)


@pytest.mark.parametrize(("field", "value"), [("work_limit", -1.0), ("work_limit", float("inf")), ("seed", -2)])
def test_a_bad_work_limit_or_seed_names_the_field(instance: Instance, stub: api_grpc.SchedulingServiceStub,
                                                  field: str, value: float) -> None:
    request = batch_request_to_proto(instance[3])
    setattr(request, field, value)
    with pytest.raises(grpc.RpcError) as caught:
        solve(stub, request)
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert field in violations(caught.value)
