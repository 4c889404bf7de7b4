"""OptimizeBatch through the real server and its generated stubs.

Two worlds: the hiring week of examples/batch (14 interviews, in-memory
calendars, no booking store) for the stream, its equality with the batch API
in process, bad input and deadlines; and the booking world of
``booking_world`` (ICS calendars, SQLite and PostgreSQL stores, SMTP) for
commits, their idempotent retries and their rollback.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from dask.distributed import LocalCluster
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from convene.v1 import batch_pb2, booking_pb2, meeting_pb2
from convene.v1 import scheduling_service_pb2 as api
from convene.v1 import scheduling_service_pb2_grpc as api_grpc
from server.batch.runner import run_batch
from server.calendars.busy import MemoryCalendars
from server.cli.batch import LoadedBatch, load_batch
from server.config import parse_config
from server.tenants import MemoryBookings, Tenant
from server.wire.batch import batch_request_to_proto
from solver.batch import BatchResult, BatchStatus
from tests.paths import EXAMPLES
from tests.server import booking_world
from tests.server.booking_world import World, add_event, at, events_in, key, member, room, rules
from tests.server.conftest import serve

# The booking fixtures: pytest finds a module's fixtures among its attributes.
database_url = booking_world.database_url
pg_admin = booking_world.pg_admin
smtp_sink = booking_world.smtp_sink
world = booking_world.world

EXAMPLE = EXAMPLES / "batch" / "hiring-week.json"
HIRING_KEY = "hiring-ops-key-0123456789"
OPS = booking_world.OPS_KEY
# Before every window of the example (June 2026): the minimum notice cuts nothing.
HIRING_NOW = datetime(2026, 5, 1, tzinfo=UTC)


# --- The hiring week, served --------------------------------------------------------------


@pytest.fixture(scope="module")
def hiring() -> LoadedBatch:
    return load_batch(EXAMPLE)


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False,  # type: ignore[no-untyped-call]
                      dashboard_address=None) as running:
        yield running


@pytest.fixture(scope="module")
def hiring_stub(hiring: LoadedBatch, cluster: LocalCluster) -> Iterator[api_grpc.SchedulingServiceStub]:
    config = parse_config({
        "server": {"plaintext": True},
        "api_keys": [{"key": HIRING_KEY, "tenant": "hiring", "principal": "ops@example.com"}],
        "tenants": {"hiring": {}},
        "batch": {"max_items": 20, "schedulers": [cluster.scheduler_address]},
    })
    tenant = Tenant("hiring", hiring.tenant.directory, hiring.tenant.templates, MemoryCalendars(hiring.busy),
                    MemoryBookings(hiring.bookings))
    with serve(config, {"hiring": tenant}, HIRING_NOW) as running:
        yield running.stub


def hiring_request(hiring: LoadedBatch, items: int | None = None, **fields: object) -> api.OptimizeBatchRequest:
    batch = replace(hiring.batch, items=hiring.batch.items[:items])
    request = batch_request_to_proto(batch, now=HIRING_NOW)
    for name, value in fields.items():
        if name == "time_limit":
            request.time_limit.FromTimedelta(timedelta(seconds=float(value)))  # type: ignore[arg-type]
        else:
            setattr(request, name, value)
    return request


def in_process(hiring: LoadedBatch, items: int) -> BatchResult:
    """The batch API on the same data, every item with the RPC's ``now``."""
    batch = replace(hiring.batch, items=tuple(replace(i, request=replace(i.request, now=HIRING_NOW))
                                              for i in hiring.batch.items[:items]))
    return run_batch(hiring.tenant.directory, hiring.busy, hiring.bookings, batch)


def stream(stub: api_grpc.SchedulingServiceStub, request: api.OptimizeBatchRequest, api_key: str = HIRING_KEY,
           timeout: float = 30) -> tuple[list[batch_pb2.BatchProgress], batch_pb2.BatchResult]:
    """Every progress message and the final result; the result comes last and only once."""
    replies = list(stub.OptimizeBatch(request, metadata=key(api_key), timeout=timeout))
    assert replies and all(r.WhichOneof("event") == "progress" for r in replies[:-1])
    assert replies[-1].WhichOneof("event") == "result"
    return [r.progress for r in replies[:-1]], replies[-1].result


def scheduled_ids(result: batch_pb2.BatchResult) -> set[str]:
    return {i.id for i in result.items if i.WhichOneof("outcome") == "scheduled"}


def violations(error: grpc.RpcError) -> dict[str, str]:
    status = rpc_status.from_call(error)
    assert status is not None
    found: dict[str, str] = {}
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            found |= {v.field: v.description for v in bad.field_violations}
    return found


def fails(stub: api_grpc.SchedulingServiceStub, request: api.OptimizeBatchRequest) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        list(stub.OptimizeBatch(request, metadata=key(HIRING_KEY), timeout=30))
    error: grpc.RpcError = caught.value
    return error


def test_the_stream_reports_progress_then_the_result_of_the_batch_api(hiring: LoadedBatch,
                                                                      hiring_stub: api_grpc.SchedulingServiceStub
                                                                      ) -> None:
    request = hiring_request(hiring, 6)
    # One item by template, its seats overridden: the same meeting as the file's.
    first = request.items[0]
    seats = list(first.rules.seats)
    first.ClearField("rules")
    first.template.CopyFrom(meeting_pb2.TemplateRef(template_id="panel-interview",
                                                    overrides=meeting_pb2.MeetingRules(seats=seats)))
    progress, result = stream(hiring_stub, request)
    expected = in_process(hiring, 6)

    assert expected.status is BatchStatus.OPTIMAL
    assert result.status == batch_pb2.BATCH_STATUS_OPTIMAL and result.gap == 0
    assert result.objective == pytest.approx(expected.objective)
    assert scheduled_ids(result) == set(expected.scheduled) and len(expected.scheduled) == 6
    assert progress and progress[0].source == "greedy" and progress[-1].objective == pytest.approx(result.objective)
    assert [i.id for i in result.items] == [i.id for i in hiring.batch.items[:6]]
    placed = result.items[0].scheduled
    assert [s.label for s in placed.seats] == ["hiring manager", "interviewers", "room"]
    assert len(placed.seats[1].resource_ids) == 2  # a pool seat of two
    assert placed.end.ToDatetime() - placed.start.ToDatetime() == timedelta(hours=1)
    assert not result.committed and result.kpis.scheduled == 6 and result.parts == 1
    # Each item's share of the fairness term, as in process; together the KPI.
    shares = {i.id: i.scheduled.fairness_cost for i in result.items}
    assert shares == pytest.approx({k: s.fairness_cost for k, s in expected.scheduled.items()})
    assert sum(shares.values()) == pytest.approx(result.kpis.fairness_cost)


def test_a_dask_scheduler_the_server_lists_solves_the_same(hiring: LoadedBatch, cluster: LocalCluster,
                                                           hiring_stub: api_grpc.SchedulingServiceStub) -> None:
    _, result = stream(hiring_stub, hiring_request(hiring, 6, scheduler=cluster.scheduler_address))
    assert result.status == batch_pb2.BATCH_STATUS_OPTIMAL
    assert result.objective == pytest.approx(in_process(hiring, 6).objective)


def test_a_short_deadline_returns_the_best_schedule_found_not_proven_optimal(
        hiring: LoadedBatch, hiring_stub: api_grpc.SchedulingServiceStub) -> None:
    began = time.monotonic()
    progress, result = stream(hiring_stub, hiring_request(hiring, time_limit=60), timeout=1.5)
    assert time.monotonic() - began < 1.5
    assert result.status == batch_pb2.BATCH_STATUS_FEASIBLE and result.gap > 0
    assert result.wall_time.ToTimedelta() < timedelta(seconds=1.5)
    assert scheduled_ids(result) and progress


def test_a_caller_who_leaves_stops_the_solver(hiring: LoadedBatch,
                                              hiring_stub: api_grpc.SchedulingServiceStub) -> None:
    replies = hiring_stub.OptimizeBatch(hiring_request(hiring, time_limit=60), metadata=key(HIRING_KEY))
    assert next(replies).WhichOneof("event") == "progress"
    replies.cancel()

    def solving() -> bool:
        return any(t.name == "batch-solve" and t.is_alive() for t in threading.enumerate())

    deadline = time.monotonic() + 5
    while solving() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not solving()  # well before its 60 s time limit


def test_bad_input_is_invalid_argument_with_every_field_named(hiring: LoadedBatch,
                                                              hiring_stub: api_grpc.SchedulingServiceStub) -> None:
    request = hiring_request(hiring, 3, commit=True, scheduler="tcp://elsewhere.example:8786")
    request.items[0].ClearField("window_end")
    request.items[2].id = request.items[1].id
    request.items[1].rules.ClearField("duration")
    request.items[1].customers.append(booking_pb2.Person(name="No address"))
    request.weights.fairness = float("nan")
    error = fails(hiring_stub, request)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert {"request_id", "scheduler", "items[0].window_end", "items[1].rules.duration",
            "weights.fairness"} <= set(violations(error))

    # What the solver checks, named in the request's terms.
    request = hiring_request(hiring, 3, time_limit=-1, workers=-2)
    request.items[0].priority = -1
    request.items[1].rules.seats[0].member.ClearField("candidates")
    request.items[2].id = request.items[1].id
    error = fails(hiring_stub, request)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert {"time_limit", "workers", "items[0].priority", "items[2].id"} <= set(violations(error))

    request = hiring_request(hiring, 2)
    request.items[1].rules.seats[0].member.candidates[1] = "zed"
    error = fails(hiring_stub, request)
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert set(violations(error)) == {"items[1].rules.seats[0].member.candidates[1]"}

    error = fails(hiring_stub, hiring_request(hiring, 2, commit=True, request_id="b-1"))
    assert error.code() == grpc.StatusCode.UNIMPLEMENTED  # this server has no booking store

    request = hiring_request(hiring)
    request.items.extend(list(request.items)[:7])  # 21 items, the server allows 20
    assert fails(hiring_stub, request).code() == grpc.StatusCode.RESOURCE_EXHAUSTED


# --- Commits, in the booking world ---------------------------------------------------------------


def panel(window_start: datetime, window_end: datetime, item_id: str, **fields: object) -> batch_pb2.BatchItem:
    item = batch_pb2.BatchItem(id=item_id, time_zone="Europe/Berlin",
                               template=meeting_pb2.TemplateRef(template_id="panel"), **fields)  # type: ignore[arg-type]
    item.window_start.FromDatetime(window_start)
    item.window_end.FromDatetime(window_end)
    return item


def inline(seats: list[meeting_pb2.Seat], window_start: datetime, window_end: datetime,
           item_id: str) -> batch_pb2.BatchItem:
    item = batch_pb2.BatchItem(id=item_id, time_zone="UTC", rules=rules(*seats))
    item.window_start.FromDatetime(window_start)
    item.window_end.FromDatetime(window_end)
    return item


def commit_request(request_id: str, *items: batch_pb2.BatchItem, commit: bool = True) -> api.OptimizeBatchRequest:
    request = api.OptimizeBatchRequest(request_id=request_id, items=items, commit=commit)
    request.now.FromDatetime(booking_world.NOW)
    request.time_limit.FromTimedelta(timedelta(seconds=10))
    return request


def free_starts(world: World, placed: batch_pb2.BatchPlacement) -> int:
    """Available starts of a meeting needing exactly the placed resources at the placed time."""
    seats = [room(r) if r in ("small", "large") else member(r) for s in placed.seats for r in s.resource_ids]
    request = api.FindSlotsRequest(rules=rules(*seats), time_zone="UTC", window_start=placed.start,
                                   window_end=placed.end)
    request.now.FromDatetime(booking_world.NOW)
    reply = world.stub.FindSlots(request, metadata=key(), timeout=10)
    return int(reply.total_available)


def confirmed(world: World) -> list[booking_pb2.Booking]:
    listed = world.stub.ListBookings(api.ListBookingsRequest(status=booking_pb2.BOOKING_STATUS_CONFIRMED),
                                     metadata=key(), timeout=10)
    return list(listed.bookings)


def test_a_commit_books_every_item_once_and_the_bookings_block_find_slots(world: World) -> None:
    customers = [booking_pb2.Person(name="Carla Customer", email="carla@customer.example")]
    request = commit_request(
        "hire-1",
        panel(at(9), at(12), "cand-1", customers=customers),
        panel(at(9), at(12), "cand-2", customers=customers, title="Second interview"),
        inline([member("erin"), room("small")], at(13), at(15), "sync"))
    _, planned = stream(world.stub, commit_request("hire-1", *request.items, commit=False), OPS)
    assert scheduled_ids(planned) == {"cand-1", "cand-2", "sync"}
    assert all(free_starts(world, i.scheduled) == 1 for i in planned.items)  # free before the commit

    _, result = stream(world.stub, request, OPS)

    assert result.committed and not result.replayed
    booked = {i.id: i.booking_id for i in result.items}
    assert all(booked.values()) and len(set(booked.values())) == 3
    stored = {b.id: b for b in confirmed(world)}
    assert set(stored) == set(booked.values())
    fingerprints = set()
    for item in result.items:
        booking = stored[item.booking_id]
        batch_id, fingerprint, item_id = booking.request_id.split("/")
        assert (batch_id, item_id) == ("hire-1", item.id)
        fingerprints.add(fingerprint)
        assert booking.start == item.scheduled.start
        assert [list(s.resource_ids) for s in booking.seats] == [list(s.resource_ids) for s in item.scheduled.seats]
        assert free_starts(world, item.scheduled) == 0  # the booking holds them now
    assert len(fingerprints) == 1  # the batch's own
    assert stored[booked["cand-2"]].title == "Second interview"
    assert stored[booked["cand-1"]].title == "Panel interview"  # the template's name
    assert [c.email for c in stored[booked["cand-1"]].customers] == ["carla@customer.example"]

    # A retry replays the commit: same bookings, nothing solved or booked again (how the
    # call runs may change).
    retry = api.OptimizeBatchRequest()
    retry.CopyFrom(request)
    retry.time_limit.FromTimedelta(timedelta(seconds=3))
    _, again = stream(world.stub, retry, OPS)
    assert again.replayed and again.committed
    assert {i.id: i.booking_id for i in again.items} == booked
    assert len(confirmed(world)) == 3

    # The same request_id for another batch is refused.
    other = commit_request("hire-1", *request.items[:2])
    with pytest.raises(grpc.RpcError) as caught:
        list(world.stub.OptimizeBatch(other, metadata=key(), timeout=30))
    assert caught.value.code() == grpc.StatusCode.ALREADY_EXISTS


def test_a_commit_that_cannot_complete_leaves_no_booking_behind(world: World) -> None:
    items = (inline([member("bob"), room("small")], at(9), at(10), "standup"),
             inline([member("alice")], at(13), at(14), "review"))
    # Solved once: alice's calendar is read and cached (60 s) as it is now.
    _, planned = stream(world.stub, commit_request("r-1", *items, commit=False), OPS)
    assert scheduled_ids(planned) == {"standup", "review"}
    # Then alice accepts a meeting elsewhere: the solver's cached read does not know it,
    # the re-check at commit (a fresh read) does.
    add_event(world.calendar("alice"), "dentist", at(13), at(14), "Dentist")

    with pytest.raises(grpc.RpcError) as caught:
        list(world.stub.OptimizeBatch(commit_request("r-1", *items), metadata=key(), timeout=30))
    error = caught.value
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "items[1] ('review')" in (error.details() or "")
    status = rpc_status.from_call(error)
    assert status is not None
    infos: list[error_details_pb2.ResourceInfo] = []
    conflicts: list[str] = []
    for detail in status.details:
        if detail.Is(error_details_pb2.ResourceInfo.DESCRIPTOR):
            info = error_details_pb2.ResourceInfo()
            detail.Unpack(info)
            infos.append(info)
        if detail.Is(booking_pb2.BookingConflictDetails.DESCRIPTOR):
            found = booking_pb2.BookingConflictDetails()
            detail.Unpack(found)
            conflicts.extend(c.resource_id for c in found.conflicts)
    assert [(i.resource_type, i.resource_name) for i in infos] == [("batch item", "review")]
    assert conflicts == ["alice"]

    # Every item is re-checked before anything is booked: the standup never was, not even for a moment.
    assert world.stub.ListBookings(api.ListBookingsRequest(), metadata=key(), timeout=10).bookings == []
    assert "nothing was booked" in (error.details() or "")
    assert events_in(world.calendar("bob")) == []

    # A retry solves again (now knowing the dentist) and commits.
    _, retried = stream(world.stub, commit_request("r-1", *items), OPS)
    assert retried.committed and scheduled_ids(retried) == {"standup"}
    review = next(i for i in retried.items if i.id == "review")
    assert review.unscheduled.reason == batch_pb2.UNSCHEDULED_REASON_NO_AVAILABLE_START
    assert review.unscheduled.rule == batch_pb2.UNSCHEDULED_RULE_CALENDAR_BUSY
    [booking] = confirmed(world)
    assert booking.request_id.endswith("/standup")



def test_two_calls_with_one_request_id_at_once_book_the_batch_once(world: World) -> None:
    items = (inline([member("erin"), room("small")], at(9), at(10), "standup"),
             inline([member("alice")], at(15), at(16), "review"))
    request = commit_request("r-2", *items)
    gate = threading.Barrier(2)
    results: list[batch_pb2.BatchResult] = []

    def call() -> None:
        gate.wait()
        results.append(stream(world.stub, request, OPS)[1])

    threads = [threading.Thread(target=call) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    # Both succeed with one commit: the second to book either replays the first's bookings
    # in the store, or is refused by them and replies with the first's commit.
    assert len(results) == 2 and all(r.committed for r in results)
    booked = confirmed(world)
    assert sorted(b.request_id.rsplit("/", 1)[-1] for b in booked) == ["review", "standup"]
    assert all({i.booking_id for i in r.items} == {b.id for b in booked} for r in results)
