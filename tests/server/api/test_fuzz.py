"""Every RPC under hostile input, over the wire (Hypothesis, ``tests/server/protofuzz.py``).

A real server on a loopback port (the test team's tenant, a SQLite booking
store, small batch limits) gets requests drawn for every RPC, streaming
OptimizeBatch included: valid ones, variations of them and wholly drawn ones.
Each answer is OK or one of the documented codes, never INTERNAL or UNKNOWN;
every error carries parseable rich details (google.rpc.Status with the
request id) and fits gRPC's default metadata limit (8 KiB: a status past it
reaches the client as RESOURCE_EXHAUSTED "Stream removed" without details,
which fails here too). After all of it the server is healthy, answers a
known request as before, and the process's memory grew by a bounded amount.

``make test`` draws ``FUZZ_EXAMPLES`` (1000) requests; ``make fuzz`` many more
(``CONVENE_FUZZ_EXAMPLES``).
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os
from dataclasses import dataclass
from datetime import datetime, timedelta

import grpc
from google.protobuf import field_mask_pb2, timestamp_pb2
from google.protobuf.message import Message
from google.rpc import code_pb2, error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convene.v1 import batch_pb2, booking_pb2, meeting_pb2, schedule_pb2, sequences_pb2, webhooks_pb2
from convene.v1 import scheduling_service_pb2 as api
from convene.v1 import scheduling_service_pb2_grpc as api_grpc
from tests.server.api.conftest import BookingServer
from tests.server.conftest import MONDAY, NOW, OTHER_KEY, hours, key
from tests.server.messages import (
    book_sequence,
    check,
    check_sequence,
    find,
    find_sequences,
    member,
    pool,
    room,
    rules,
    segment,
    sequence,
)
from tests.server.protofuzz import requests

FUZZ_EXAMPLES = int(os.environ.get("CONVENE_FUZZ_EXAMPLES", "1000"))
METADATA_LIMIT = 8 * 1024  # gRPC's default grpc.max_metadata_size
DOCUMENTED = {
    grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND, grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.ALREADY_EXISTS, grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.UNIMPLEMENTED, grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.ABORTED,
}
CALL_TIMEOUT = 5.0


def _at(instant: datetime) -> timestamp_pb2.Timestamp:
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(instant)
    return ts


def _template(template_id: str = "interview") -> meeting_pb2.TemplateRef:
    return meeting_pb2.TemplateRef(template_id=template_id)


def _booking() -> api.CreateBookingRequest:
    request = api.CreateBookingRequest(
        request_id="fuzz-1", template=_template(), time_zone="Europe/Berlin",
        seats=[booking_pb2.SeatChoice(resource_ids=["bob"]), booking_pb2.SeatChoice(resource_ids=["carol"]),
               booking_pb2.SeatChoice(resource_ids=["small"])],
        customers=[booking_pb2.Person(name="Ada", email="ada@example.org")], title="Interview")
    request.start.FromDatetime(MONDAY + hours(9))
    request.now.FromDatetime(NOW)
    return request


def _hold() -> api.HoldSlotRequest:
    request = api.HoldSlotRequest(resource_ids=["erin"])
    request.start.FromDatetime(MONDAY + hours(15))
    request.end.FromDatetime(MONDAY + hours(16))
    request.ttl.FromTimedelta(timedelta(minutes=2))
    return request


def _batch() -> api.OptimizeBatchRequest:
    items = []
    for i, seats in enumerate(([member("alice", "bob"), pool("engineers")], [member("dan"), room("small")])):
        found = find(rules(*seats))
        items.append(batch_pb2.BatchItem(id=f"item-{i}", rules=found.rules, window_start=found.window_start,
                                         window_end=found.window_end, time_zone="UTC", priority=1))
    request = api.OptimizeBatchRequest(items=items, workers=1)
    request.time_limit.FromTimedelta(timedelta(seconds=1))
    request.now.FromDatetime(NOW)
    return request


def _schedule() -> schedule_pb2.GetScheduleRequest:
    request = schedule_pb2.GetScheduleRequest(resource_ids=["alice", "small"], interval_minutes=30)
    request.window_start.FromDatetime(MONDAY)
    request.window_end.FromDatetime(MONDAY + hours(24))
    return request


def _loop() -> sequences_pb2.SequenceRules:
    return sequence(segment(rules(member("alice", "bob"), pool("engineers")), "coding"),
                    segment(_template(), "panel"), segment(rules(member("dan"), room("small"), duration=hours(1) / 2)),
                    any_order=True, free_order=[1, 2], max_gap=timedelta(minutes=15))


def _book_loop() -> api.BookSequenceRequest:
    return book_sequence("fuzz-loop-1", _loop(), [(MONDAY + hours(9), [["bob"], ["carol"]]),
                                                  (MONDAY + hours(10), [["bob"], ["dan"], ["small"]]),
                                                  (MONDAY + hours(11), [["dan"], ["small"]])],
                         zone="Europe/Berlin", title="Loop")


def _listing(kind: type[Message]) -> Message:
    return kind(page_size=2)


# One valid request per RPC: the seeds the drawn requests vary.
SEEDS: dict[str, Message] = {
    "FindSlots": find(_template(), min_available=3, max_alternatives=2),
    "GetSchedule": _schedule(),
    "CheckTime": check(rules(member("alice", "bob"), pool("engineers"), room(pools=("rooms",))), MONDAY + hours(9)),
    "ListMembers": _listing(api.ListMembersRequest),
    "GetMember": api.GetMemberRequest(member_id="alice"),
    "ListRooms": _listing(api.ListRoomsRequest),
    "ListPools": _listing(api.ListPoolsRequest),
    "ListTemplates": _listing(api.ListTemplatesRequest),
    "GetTemplate": api.GetTemplateRequest(template_id="interview"),
    "CreateBooking": _booking(),
    "GetBooking": api.GetBookingRequest(booking_id="b-1"),
    "ListBookings": api.ListBookingsRequest(resource_id="bob", page_size=5),
    "CancelBooking": api.CancelBookingRequest(booking_id="b-1"),
    "RescheduleBooking": api.RescheduleBookingRequest(
        booking_id="b-1", request_id="fuzz-move", etag="1", start=_at(MONDAY + hours(11)),
        replacement=api.SeatReplacement(seat_index=0, replaced_id="bob", resource_id="alice"), validate_only=True),
    "UpdateBooking": api.UpdateBookingRequest(
        booking_id="b-1", etag="2", booking=booking_pb2.Booking(title="Moved", customers=[
            booking_pb2.Person(name="Cleo", email="cleo@example.com")]),
        update_mask=field_mask_pb2.FieldMask(paths=["title", "customers"])),
    "HoldSlot": _hold(),
    "ReleaseHold": api.ReleaseHoldRequest(hold_id="h-1"),
    "CreateWebhookEndpoint": webhooks_pb2.CreateWebhookEndpointRequest(url="https://hooks.example.org/convene"),
    "ListWebhookEndpoints": webhooks_pb2.ListWebhookEndpointsRequest(),
    "DeleteWebhookEndpoint": webhooks_pb2.DeleteWebhookEndpointRequest(endpoint_id="we_1"),
    "ListWebhookDeliveries": webhooks_pb2.ListWebhookDeliveriesRequest(endpoint_id="we_1", booking_id="b-1",
                                                                       page_size=10),
    "OptimizeBatch": _batch(),
    "StartBatchJob": api.StartBatchJobRequest(batch=_batch()),
    "GetBatchJob": api.GetBatchJobRequest(job_id="bj_0661c62ec10b29e36d3bf711"),
    "WatchBatchJob": api.WatchBatchJobRequest(job_id="bj_0661c62ec10b29e36d3bf711"),
    "CancelBatchJob": api.CancelBatchJobRequest(job_id="bj_0661c62ec10b29e36d3bf711"),
    "ListBatchJobs": _listing(api.ListBatchJobsRequest),
    "FindSequences": find_sequences(_loop(), page_size=3),
    "CheckSequence": check_sequence(_loop(), MONDAY + hours(9)),
    "BookSequence": _book_loop(),
}


STREAMING = {m.name for m in api.DESCRIPTOR.services_by_name["SchedulingService"].methods if m.server_streaming}


def test_every_rpc_has_a_seed():
    assert set(SEEDS) == set(api.DESCRIPTOR.services_by_name["SchedulingService"].methods_by_name)


def call(stub: api_grpc.SchedulingServiceStub, method: str, request: Message, metadata: tuple[tuple[str, str], ...],
         ) -> grpc.RpcError | None:
    """Sends ``request``; the error it got, or None (OK). A stream is read to its end."""
    try:
        if method in STREAMING:
            for _ in getattr(stub, method)(request, metadata=metadata, timeout=CALL_TIMEOUT):
                pass
        else:
            getattr(stub, method)(request, metadata=metadata, timeout=CALL_TIMEOUT)
    except grpc.RpcError as exc:
        return exc
    return None


def check_error(method: str, error: grpc.RpcError) -> None:
    code = error.code()
    assert code in DOCUMENTED, f"{method}: {code} {error.details()}"
    trailers = error.trailing_metadata() or ()
    size = sum(len(k) + len(v) for k, v in trailers) + len(error.details() or "")
    assert size < METADATA_LIMIT, f"{method}: a status of {size} bytes"
    if code == grpc.StatusCode.DEADLINE_EXCEEDED and not trailers:
        return  # the client's own timer, not the server's answer
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED and "larger than max" in (error.details() or ""):
        return  # gRPC itself refuses a request over its 4 MiB message limit, before any handler
    status = rpc_status.from_call(error)
    assert status is not None, f"{method}: {code} without rich details: {error.details()}"
    assert status.code == code.value[0]
    assert code_pb2.Code.Name(status.code) != "INTERNAL"
    assert any(d.Is(error_details_pb2.RequestInfo.DESCRIPTOR) for d in status.details), f"{method}: no request id"


def _rss_mib() -> float:
    """The process's resident memory after glibc gave back what is free (so it counts what lives)."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


_methods = st.sampled_from(sorted(SEEDS))


@dataclass(frozen=True)
class Shown:
    """A drawn request; its repr is cut (a failing example may hold a megabyte string)."""

    message: Message

    def __repr__(self) -> str:
        text = repr(self.message)
        return text if len(text) < 3000 else f"{text[:3000]}... ({len(text)} characters)"


def test_every_rpc_answers_hostile_input_with_a_documented_code(booking_server: BookingServer):
    stub = booking_server.stub
    baseline = stub.FindSlots(SEEDS["FindSlots"], metadata=key(), timeout=CALL_TIMEOUT)
    rss_before = _rss_mib()

    @settings(max_examples=FUZZ_EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])
    @given(data=st.data())
    def one(data: st.DataObject) -> None:
        method = data.draw(_methods, label="method")
        request = data.draw(requests(SEEDS[method]).map(Shown), label="request").message
        metadata = data.draw(st.sampled_from([key(), key(OTHER_KEY), key("not-a-key-0123456789"), ()]),
                             label="metadata")
        error = call(stub, method, request, metadata)
        if error is not None:
            check_error(method, error)

    one()

    health = health_pb2_grpc.HealthStub(booking_server.channel)
    assert health.Check(health_pb2.HealthCheckRequest(), timeout=5).status == health_pb2.HealthCheckResponse.SERVING
    again = stub.FindSlots(SEEDS["FindSlots"], metadata=key(), timeout=CALL_TIMEOUT)
    assert [s.start for s in again.slots] == [s.start for s in baseline.slots]
    assert _rss_mib() - rss_before < 200, "memory grew without bound"
