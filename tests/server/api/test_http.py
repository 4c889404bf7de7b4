"""The service over HTTP/1.1 with JSON (Connect) answers exactly as over gRPC: every RPC, table
driven, on one server with a booking store; errors carry the same codes, messages and details."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta

import grpc
import pytest
from google.protobuf import field_mask_pb2, json_format, message_factory
from google.protobuf.message import Message
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from convene.v1 import batch_pb2, booking_pb2, meeting_pb2, schedule_pb2, sequences_pb2, webhooks_pb2
from convene.v1 import scheduling_service_pb2 as api
from server.api.http import SERVICE
from tests.server.api.connect_client import ConnectFailure, headers, post, server_stream, unary
from tests.server.booking.store.helpers import SmtpSink, start_smtp
from tests.server.booking.webhook_receiver import Receiver
from tests.server.booking_world import (
    ALICE_KEY,
    MONDAY,
    NOW,
    OPS_KEY,
    World,
    at,
    close_world,
    create_request,
    key,
    member,
    room,
    rules,
    serve_world,
    wait_for,
)
from tests.server.messages import book_sequence, check_sequence, find_sequences, segment, sequence


@dataclass
class Setup:
    """The world, and what the module booked in it before comparing."""

    world: World
    booked: str = ""
    cancelled: str = ""
    updated: str = ""
    job: str = ""
    endpoint: str = ""
    created: dict[str, api.CreateBookingRequest] = field(default_factory=dict)

    @property
    def port(self) -> int:
        assert self.world.running.http is not None
        return self.world.running.http.port


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    folder = tmp_path_factory.mktemp("http")
    sink = SmtpSink()
    smtp = start_smtp(sink)
    receiver = Receiver()
    world = serve_world(folder, f"sqlite:///{folder / 'bookings.sqlite3'}", sink, int(smtp.port),
                        server={"http_address": "127.0.0.1:0"})
    try:
        found = Setup(world)
        found.created["booked"] = create_request("setup-booked", at(13), [["bob"], ["small"]])
        found.booked = world.stub.CreateBooking(found.created["booked"], metadata=key()).booking.id
        cancelled = world.stub.CreateBooking(create_request("setup-cancelled", at(14), [["carol"]]),
                                             metadata=key()).booking.id
        world.stub.CancelBooking(api.CancelBookingRequest(booking_id=cancelled), metadata=key())
        found.cancelled = cancelled
        found.updated = world.stub.CreateBooking(create_request("setup-updated", at(16), [["carol"]]),
                                                 metadata=key()).booking.id
        world.stub.BookSequence(_book_loop(found), metadata=key(), timeout=30)
        found.job = world.stub.StartBatchJob(_start_job(found), metadata=key(), timeout=30).job.id
        *_, job = world.stub.WatchBatchJob(api.WatchBatchJobRequest(job_id=found.job), metadata=key(), timeout=30)
        assert job.job.state == batch_pb2.BATCH_JOB_STATE_SUCCEEDED, job
        for booking_id in (found.booked, cancelled, found.updated):
            world.settled(booking_id)
        # A receiver that answers 200, so deliveries end DONE and the endpoint never starts failing.
        found.endpoint = _new_endpoint(found, receiver.url)
        world.stub.UpdateBooking(_update(found), metadata=key())
        yield found
    finally:
        close_world(world)
        smtp.stop()
        receiver.close()


def _window(message: Message, start: object = MONDAY, end: object = MONDAY + timedelta(days=1)) -> Message:
    message.window_start.FromDatetime(start)  # type: ignore[attr-defined]
    message.window_end.FromDatetime(end)  # type: ignore[attr-defined]
    return message


def _find(s: Setup) -> api.FindSlotsRequest:
    request = _window(api.FindSlotsRequest(template=meeting_pb2.TemplateRef(template_id="panel"), time_zone="UTC",
                                           want_alternatives=True, max_alternatives=3))
    request.now.FromDatetime(NOW)
    return request


def _check(s: Setup) -> api.CheckTimeRequest:
    request = api.CheckTimeRequest(template=meeting_pb2.TemplateRef(template_id="panel"), time_zone="UTC")
    request.start.FromDatetime(at(10))
    request.now.FromDatetime(NOW)
    return request


def _schedule(s: Setup) -> schedule_pb2.GetScheduleRequest:
    return _window(schedule_pb2.GetScheduleRequest(resource_ids=["alice", "bob", "small", "large"],
                                                   interval_minutes=30))


def _hold(s: Setup) -> api.HoldSlotRequest:
    request = api.HoldSlotRequest(resource_ids=["dan", "large"])
    request.start.FromDatetime(at(15))
    request.end.FromDatetime(at(16))
    return request


def _fresh_hold(s: Setup) -> api.ReleaseHoldRequest:
    hold = s.world.stub.HoldSlot(_hold(s), metadata=key()).hold
    return api.ReleaseHoldRequest(hold_id=hold.id)


def _batch(s: Setup) -> api.OptimizeBatchRequest:
    items = []
    for i, hour in enumerate((9, 11)):
        item = batch_pb2.BatchItem(id=f"item-{i}", time_zone="UTC", rules=rules(member("dan", "carol"), room("small")))
        _window(item, at(hour), at(hour + 3))
        items.append(item)
    request = api.OptimizeBatchRequest(items=items)
    request.now.FromDatetime(NOW)
    request.time_limit.FromTimedelta(timedelta(seconds=10))
    return request


def _loop() -> sequences_pb2.SequenceRules:
    return sequence(segment(rules(member("alice", "bob"), room("small")), "coding"),
                    segment(rules(member("carol", "dan"), minutes=30), "chat"), max_gap=timedelta(minutes=15))


def _find_loop(s: Setup) -> api.FindSequencesRequest:
    return find_sequences(_loop(), start=at(9), end=at(17), want_alternatives=True, max_alternatives=2)


def _check_loop(s: Setup) -> api.CheckSequenceRequest:
    return check_sequence(_loop(), at(10))  # alice busy: bob takes coding


def _book_loop(s: Setup) -> api.BookSequenceRequest:
    return book_sequence("setup-loop", _loop(), [(at(11), [["bob"], ["small"]]), (at(12), [["dan"]])])


def _start_job(s: Setup) -> api.StartBatchJobRequest:
    batch = _batch(s)
    batch.request_id = "setup-job"
    return api.StartBatchJobRequest(batch=batch)


def _update(s: Setup) -> api.UpdateBookingRequest:
    current = s.world.stub.GetBooking(api.GetBookingRequest(booking_id=s.updated), metadata=key()).booking
    return api.UpdateBookingRequest(booking_id=s.updated, etag=current.etag,
                                    booking=booking_pb2.Booking(title="Renamed", location="Room 7"),
                                    update_mask=field_mask_pb2.FieldMask(paths=["title", "location"]))


def _forget_change(reply: Message) -> None:
    """What each update moves on: the etag, its time and sequence, and the side effects under way."""
    for name in ("etag", "update_time", "sequence", "side_effects"):
        reply.booking.ClearField(name)  # type: ignore[attr-defined]


def _new_endpoint(s: Setup, url: str = "http://127.0.0.1:9/hook") -> str:
    request = webhooks_pb2.CreateWebhookEndpointRequest(url=url)
    endpoint_id: str = s.world.stub.CreateWebhookEndpoint(request, metadata=key()).endpoint.id
    return endpoint_id


def _deliveries(s: Setup) -> webhooks_pb2.ListWebhookDeliveriesRequest:
    """The updated booking's deliveries, once every one is DONE (they do not change after that)."""
    request = webhooks_pb2.ListWebhookDeliveriesRequest(booking_id=s.updated)

    def done() -> bool:
        listed = s.world.stub.ListWebhookDeliveries(request, metadata=key()).deliveries
        return bool(listed) and all(d.state == webhooks_pb2.WEBHOOK_DELIVERY_STATE_DONE for d in listed)

    assert wait_for(done), "the deliveries did not end"
    return request


def _forget_endpoint(reply: Message) -> None:
    for name in ("id", "secret", "create_time"):
        reply.endpoint.ClearField(name)  # type: ignore[attr-defined]


def _delete_endpoint(s: Setup, reply: Message) -> None:
    request = webhooks_pb2.DeleteWebhookEndpointRequest(endpoint_id=reply.endpoint.id)  # type: ignore[attr-defined]
    s.world.stub.DeleteWebhookEndpoint(request, metadata=key())


def _forget_hold(reply: Message) -> None:
    reply.hold.ClearField("id")  # type: ignore[attr-defined]
    reply.hold.ClearField("expire_time")  # type: ignore[attr-defined]


def _only_the_result(replies: list[Message]) -> Message:
    result = replies[-1]
    if "result" in result.DESCRIPTOR.fields_by_name:  # OptimizeBatch's own (a job's result is stored)
        result.result.ClearField("wall_time")  # type: ignore[attr-defined]
    return result


@dataclass(frozen=True)
class Case:
    method: str
    request: Callable[[Setup], Message]
    api_key: str = OPS_KEY
    normalize: Callable[[Message], None] = lambda reply: None
    # Called after each transport's call (a hold is released so the next one can be taken).
    after: Callable[[Setup, Message], None] = lambda s, reply: None


CASES = [
    Case("FindSlots", _find),
    Case("CheckTime", _check),
    Case("CheckTime", _check, ALICE_KEY),
    Case("GetSchedule", _schedule),
    Case("GetSchedule", _schedule, ALICE_KEY),
    Case("ListMembers", lambda s: api.ListMembersRequest(page_size=2)),
    Case("GetMember", lambda s: api.GetMemberRequest(member_id="alice")),
    Case("ListRooms", lambda s: api.ListRoomsRequest()),
    Case("ListPools", lambda s: api.ListPoolsRequest()),
    Case("ListTemplates", lambda s: api.ListTemplatesRequest()),
    Case("GetTemplate", lambda s: api.GetTemplateRequest(template_id="panel")),
    # Both replay the booking the module made: replayed, the same booking.
    Case("CreateBooking", lambda s: s.created["booked"]),
    Case("GetBooking", lambda s: api.GetBookingRequest(booking_id=s.booked)),
    Case("ListBookings", lambda s: api.ListBookingsRequest(status=booking_pb2.BOOKING_STATUS_CONFIRMED)),
    Case("CancelBooking", lambda s: api.CancelBookingRequest(booking_id=s.cancelled)),  # cancelled already
    # A preview: it stores nothing, so both transports see the same booking.
    Case("RescheduleBooking", lambda s: api.RescheduleBookingRequest(booking_id=s.booked, validate_only=True)),
    Case("HoldSlot", _hold, normalize=_forget_hold,
         after=lambda s, reply: s.world.stub.ReleaseHold(api.ReleaseHoldRequest(hold_id=reply.hold.id),  # type: ignore[attr-defined]
                                                         metadata=key())),
    Case("ReleaseHold", _fresh_hold),
    Case("OptimizeBatch", _batch),
    Case("FindSequences", _find_loop),
    Case("CheckSequence", _check_loop),
    Case("CheckSequence", _check_loop, ALICE_KEY),  # alice's busy 10:00 with its details: owner only
    Case("BookSequence", _book_loop),  # replays the module's loop: the same bookings
    # The module's job, finished: the same job; a cancel leaves it as it is; a start replays it.
    Case("StartBatchJob", _start_job),
    Case("GetBatchJob", lambda s: api.GetBatchJobRequest(job_id=s.job)),
    Case("WatchBatchJob", lambda s: api.WatchBatchJobRequest(job_id=s.job)),
    Case("CancelBatchJob", lambda s: api.CancelBatchJobRequest(job_id=s.job)),
    Case("ListBatchJobs", lambda s: api.ListBatchJobsRequest()),
    Case("UpdateBooking", _update, normalize=_forget_change),
    Case("CreateWebhookEndpoint", lambda s: webhooks_pb2.CreateWebhookEndpointRequest(url="http://127.0.0.1:9/new"),
         normalize=_forget_endpoint, after=_delete_endpoint),
    Case("ListWebhookEndpoints", lambda s: webhooks_pb2.ListWebhookEndpointsRequest()),
    Case("DeleteWebhookEndpoint", lambda s: webhooks_pb2.DeleteWebhookEndpointRequest(endpoint_id=_new_endpoint(s))),
    Case("ListWebhookDeliveries", _deliveries),  # int64 ids: strings in JSON
]


def test_the_table_has_a_case_for_every_rpc_it_knows() -> None:
    # RPCs added later are compared on an empty request (below) until they get a case here.
    assert {c.method for c in CASES} == {m.name for m in SERVICE.methods}


def _grpc(s: Setup, case: Case, request: Message) -> Message:
    method = getattr(s.world.stub, case.method)
    if SERVICE.methods_by_name[case.method].server_streaming:
        return _only_the_result(list(method(request, metadata=key(case.api_key), timeout=30)))
    reply: Message = method(request, metadata=key(case.api_key), timeout=30)
    return reply


def _reply_type(method: str) -> type[Message]:
    reply: type[Message] = message_factory.GetMessageClass(SERVICE.methods_by_name[method].output_type)
    return reply


def _http(s: Setup, case: Case, request: Message) -> Message:
    descriptor = SERVICE.methods_by_name[case.method]
    reply_type = _reply_type(case.method)
    if descriptor.server_streaming:
        return _only_the_result(server_stream(s.port, case.method, request, reply_type, case.api_key))
    return unary(s.port, case.method, request, reply_type, case.api_key)


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.method}-{'ops' if c.api_key == OPS_KEY else 'owner'}")
def test_json_over_http_answers_as_grpc_does(setup: Setup, case: Case) -> None:
    over_grpc = _grpc(setup, case, case.request(setup))
    case.after(setup, over_grpc)
    over_http = _http(setup, case, case.request(setup))
    case.after(setup, over_http)
    for reply in (over_grpc, over_http):
        case.normalize(reply)
    assert over_http == over_grpc
    assert over_grpc.ByteSize() > 0 or case.method in ("ReleaseHold", "DeleteWebhookEndpoint")


def test_privacy_holds_over_http_too(setup: Setup) -> None:
    as_ops = unary(setup.port, "GetSchedule", _schedule(setup), schedule_pb2.GetScheduleResponse, OPS_KEY)
    as_alice = unary(setup.port, "GetSchedule", _schedule(setup), schedule_pb2.GetScheduleResponse, ALICE_KEY)
    assert "Board prep" not in str(as_ops) and "Board prep" in str(as_alice)


def test_the_json_on_the_wire_is_the_proto_json_mapping(setup: Setup) -> None:
    """What a client without protobuf reads: lowerCamelCase names, enum names, RFC 3339 instants,
    int64 as strings; and a FieldMask written as one string is read."""
    status, body = post(setup.port, "ListWebhookDeliveries", json_format.MessageToJson(_deliveries(setup)).encode(),
                        headers(OPS_KEY))
    assert status == 200, body
    [delivery, *_] = json.loads(body)["deliveries"]
    assert isinstance(delivery["id"], str) and delivery["id"].isdigit()  # int64
    assert delivery["state"] == "WEBHOOK_DELIVERY_STATE_DONE"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", delivery["createTime"])
    assert {"bookingId", "endpointId", "eventType"} <= set(delivery) and "booking_id" not in delivery
    current = setup.world.stub.GetBooking(api.GetBookingRequest(booking_id=setup.updated), metadata=key()).booking
    update = {"bookingId": setup.updated, "etag": current.etag, "booking": {"description": "Via JSON"},
              "updateMask": "description"}
    status, body = post(setup.port, "UpdateBooking", json.dumps(update).encode(), headers(OPS_KEY))
    assert status == 200, body
    assert json.loads(body)["booking"]["description"] == "Via JSON"


# --- Errors: the same status, as a Connect error -------------------------------------------

@dataclass(frozen=True)
class Failing:
    method: str
    request: Callable[[Setup], Message]
    code: grpc.StatusCode
    http_status: int
    api_key: str = OPS_KEY


def _taken(s: Setup) -> api.CreateBookingRequest:
    return create_request("taken", at(13), [["bob"], ["small"]])


def _reused(s: Setup) -> api.CreateBookingRequest:
    return create_request("setup-booked", at(16), [["dan"]])


FAILING = [
    Failing("FindSlots", lambda s: api.FindSlotsRequest(time_zone="Mars/Base", rules=rules(member("alice"))),
            grpc.StatusCode.INVALID_ARGUMENT, 400),
    Failing("GetMember", lambda s: api.GetMemberRequest(member_id="nobody"), grpc.StatusCode.NOT_FOUND, 404),
    Failing("GetSchedule", lambda s: _window(schedule_pb2.GetScheduleRequest(resource_ids=["alice"]),
                                             MONDAY, MONDAY + timedelta(days=60)),
            grpc.StatusCode.RESOURCE_EXHAUSTED, 429),
    Failing("ListRooms", lambda s: api.ListRoomsRequest(), grpc.StatusCode.UNAUTHENTICATED, 401, "not-a-key"),
    Failing("CreateBooking", _taken, grpc.StatusCode.FAILED_PRECONDITION, 400),
    Failing("CreateBooking", _taken, grpc.StatusCode.FAILED_PRECONDITION, 400, ALICE_KEY),
    Failing("CreateBooking", _reused, grpc.StatusCode.ALREADY_EXISTS, 409),
    Failing("ReleaseHold", lambda s: api.ReleaseHoldRequest(hold_id="no-such-hold"), grpc.StatusCode.NOT_FOUND, 404),
    Failing("OptimizeBatch", lambda s: api.OptimizeBatchRequest(), grpc.StatusCode.INVALID_ARGUMENT, 200),
    # Three problems, three violations; over the candidate limit; an unknown member.
    Failing("FindSequences", lambda s: find_sequences(
        sequence(segment(rules(member("alice"), minutes=0)), segment(rules(member("bob"))),
                 min_gap=timedelta(minutes=20), max_gap=timedelta(minutes=10)), zone="Mars/Base"),
            grpc.StatusCode.INVALID_ARGUMENT, 400),
    Failing("FindSequences", lambda s: find_sequences(
        sequence(*(segment(rules(member(m), minutes=30)) for m in ("alice", "bob", "carol", "dan") * 2),
                 any_order=True, max_gap=timedelta(hours=1), allow_member_repeat=True)),
            grpc.StatusCode.RESOURCE_EXHAUSTED, 429),
    Failing("CheckSequence", lambda s: check_sequence(sequence(segment(rules(member("nobody")))), at(9)),
            grpc.StatusCode.NOT_FOUND, 404),
]


@pytest.mark.parametrize("failing", FAILING, ids=lambda f: f"{f.method}-{f.code.name}")
def test_errors_are_connect_errors_with_the_same_details(setup: Setup, failing: Failing) -> None:
    request_id = f"req-{failing.method}-{failing.code.name}"
    metadata = (*key(failing.api_key), ("x-request-id", request_id))
    with pytest.raises(grpc.RpcError) as caught:
        reply = getattr(setup.world.stub, failing.method)(failing.request(setup), metadata=metadata, timeout=30)
        list(reply) if SERVICE.methods_by_name[failing.method].server_streaming else reply
    status = rpc_status.from_call(caught.value)
    assert status is not None
    descriptor = SERVICE.methods_by_name[failing.method]
    reply_type = _reply_type(failing.method)
    call = server_stream if descriptor.server_streaming else unary
    with pytest.raises(ConnectFailure) as failed:
        call(setup.port, failing.method, failing.request(setup), reply_type, failing.api_key,  # type: ignore[operator]
             **{"x-request-id": request_id})
    connect = failed.value
    assert (connect.status, connect.code) == (failing.http_status, failing.code.name.lower())
    assert connect.message == status.message
    assert connect.details() == list(status.details)
    assert any(d.type_url.endswith("google.rpc.RequestInfo") for d in connect.details())


def _outcome(call: Callable[[], object]) -> tuple[str, object]:
    """("ok", reply) or ("error", (code, message, details)) of one call on either transport."""
    try:
        return "ok", call()
    except grpc.RpcError as error:
        status = rpc_status.from_call(error)
        assert status is not None
        return "error", (error.code().name.lower(), status.message, list(status.details))
    except ConnectFailure as failure:
        return "error", (failure.code, failure.message, failure.details())


@pytest.mark.parametrize("method", [m.name for m in SERVICE.methods])
def test_every_rpc_answers_an_empty_request_alike(setup: Setup, method: str) -> None:
    """Every RPC of the service, one added later too: the same answer to its empty request."""
    descriptor = SERVICE.methods_by_name[method]
    request = message_factory.GetMessageClass(descriptor.input_type)()
    request_id = f"empty-{method}"
    metadata = (*key(OPS_KEY), ("x-request-id", request_id))

    def over_grpc() -> object:
        reply = getattr(setup.world.stub, method)(request, metadata=metadata, timeout=30)
        return _only_the_result(list(reply)) if descriptor.server_streaming else reply

    def over_http() -> object:
        call = server_stream if descriptor.server_streaming else unary
        replies = call(setup.port, method, request, _reply_type(method), OPS_KEY,  # type: ignore[operator]
                       **{"x-request-id": request_id})
        return _only_the_result(replies) if descriptor.server_streaming else replies

    assert _outcome(over_http) == _outcome(over_grpc)


def test_a_streamed_call_over_http_has_its_access_line(setup: Setup, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    caplog.set_level(logging.INFO, logger="convene.access")
    request = _batch(setup)
    replies = server_stream(setup.port, "OptimizeBatch", request, api.OptimizeBatchResponse, OPS_KEY,
                            **{"x-request-id": "batch-http-1"})
    [line] = [r.fields for r in caplog.records  # type: ignore[attr-defined]
              if r.name == "convene.access" and r.fields["method"] == "OptimizeBatch"]  # type: ignore[attr-defined]
    assert {k: line[k] for k in ("code", "transport", "tenant", "principal", "request_id", "request_bytes",
                                 "response_bytes")} == {
        "code": "OK", "transport": "http", "tenant": "team", "principal": "ops@team.example",
        "request_id": "batch-http-1", "request_bytes": request.ByteSize(),
        "response_bytes": sum(r.ByteSize() for r in replies)}


@pytest.mark.parametrize("body", [b"\xff\xff\xff", b"\x0a\x02\xff\xfe"], ids=["not-protobuf", "not-utf8"])
def test_bytes_that_are_not_the_request_are_invalid_argument_on_both_ports(setup: Setup, body: bytes) -> None:
    """Never grpcio's INTERNAL "Exception deserializing request!"; the key is still checked first."""
    raw = setup.world.channel.unary_unary("/convene.v1.SchedulingService/GetMember",
                                          request_serializer=lambda b: b, response_deserializer=lambda b: b)
    with pytest.raises(grpc.RpcError) as caught:
        raw(body, metadata=key(), timeout=10)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT, caught.value.details()
    status = rpc_status.from_call(caught.value)
    assert status is not None
    bad = error_details_pb2.BadRequest()
    assert any(d.Unpack(bad) for d in status.details)
    assert [v.field for v in bad.field_violations] == ["body"]
    with pytest.raises(grpc.RpcError) as unkeyed:
        raw(body, timeout=10)
    assert unkeyed.value.code() == grpc.StatusCode.UNAUTHENTICATED
    code, _ = post(setup.port, "GetMember", body, {**headers(OPS_KEY), "content-type": "application/proto"})
    assert code == 400
