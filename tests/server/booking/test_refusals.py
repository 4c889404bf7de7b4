"""What CreateBooking refuses, and how: conflicts at commit (from calendars read fresh,
with event details only for their owner), rooms never double-booked, limits,
unknown ids NOT_FOUND, bad fields INVALID_ARGUMENT naming each field."""

from __future__ import annotations

from datetime import timedelta

import grpc
import pytest
from google.protobuf.message import Message
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from convene.v1 import booking_pb2, meeting_pb2, slots_pb2
from convene.v1 import scheduling_service_pb2 as api
from tests.server import booking_world
from tests.server.booking_world import (
    ALICE_KEY,
    OTHER_KEY,
    World,
    add_event,
    at,
    create_request,
    key,
    member,
    room,
    rules,
)

# The booking fixtures: pytest finds a module's fixtures among its attributes.
database_url = booking_world.database_url
pg_admin = booking_world.pg_admin
smtp_sink = booking_world.smtp_sink
world = booking_world.world

PANEL = meeting_pb2.TemplateRef(template_id="panel")


def _refused(world: World, request: api.CreateBookingRequest,
             code: grpc.StatusCode = grpc.StatusCode.FAILED_PRECONDITION, api_key: str = "") -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        world.stub.CreateBooking(request, metadata=key(api_key) if api_key else key(), timeout=10)
    assert caught.value.code() == code, caught.value.details()
    return caught.value


def _detail(error: grpc.RpcError, kind: type[Message]) -> Message:
    status = rpc_status.from_call(error)
    assert status is not None
    for detail in status.details:
        if detail.Is(kind.DESCRIPTOR):
            found = kind()
            detail.Unpack(found)
            return found
    raise AssertionError(f"no {kind.__name__} in the error")


def _fields(error: grpc.RpcError) -> dict[str, str]:
    bad = _detail(error, error_details_pb2.BadRequest)
    assert isinstance(bad, error_details_pb2.BadRequest)
    return {v.field: v.description for v in bad.field_violations}


def _conflicts(error: grpc.RpcError) -> list[slots_pb2.Conflict]:
    details = _detail(error, booking_pb2.BookingConflictDetails)
    assert isinstance(details, booking_pb2.BookingConflictDetails)
    return list(details.conflicts)


# --- Conflicts at commit ----------------------------------------------------------------


def test_a_busy_member_refuses_the_booking_with_the_conflict_in_the_details(world: World) -> None:
    request = create_request("busy", at(10), [["alice"]])  # alice: "Board prep" 10:00-11:00
    as_ops = _refused(world, request)
    (conflict,) = _conflicts(as_ops)
    assert conflict.resource_id == "alice" and conflict.kind == slots_pb2.CONFLICT_KIND_BUSY
    assert conflict.start.ToDatetime() == at(10).replace(tzinfo=None)
    assert not conflict.HasField("details")  # ops does not own alice's calendar ...
    assert b"Board prep" not in rpc_status.from_call(as_ops).SerializeToString()
    failure = _detail(as_ops, error_details_pb2.PreconditionFailure)
    assert [v.subject for v in failure.violations] == ["alice"]

    as_alice = _refused(world, request, api_key=ALICE_KEY)
    (conflict,) = _conflicts(as_alice)
    assert conflict.details.title == "Board prep"  # ... alice does

    anyway = world.stub.CreateBooking(create_request("busy-anyway", at(10), [["alice"]], allow_conflicts=True),
                                      metadata=key(), timeout=10).booking
    assert anyway.status == booking_pb2.BOOKING_STATUS_CONFIRMED and anyway.allow_conflicts


def test_the_commit_reads_calendars_fresh_not_from_the_cache(world: World) -> None:
    find = api.FindSlotsRequest(rules=rules(member("bob")), time_zone="UTC")
    find.window_start.FromDatetime(at(9))
    find.window_end.FromDatetime(at(17))
    find.now.FromDatetime(at(0, day=1))
    starts = {s.start.ToDatetime() for s in world.stub.FindSlots(find, metadata=key()).slots}
    assert at(13).replace(tzinfo=None) in starts  # and bob's calendar is now cached for a minute

    add_event(world.calendar("bob"), "just-accepted", at(13), at(14), "Accepted a minute ago")
    error = _refused(world, create_request("stale", at(13), [["bob"]]))
    assert [c.resource_id for c in _conflicts(error)] == ["bob"]
    # The fresh read refilled the cache: FindSlots sees the new event too.
    starts = {s.start.ToDatetime() for s in world.stub.FindSlots(find, metadata=key()).slots}
    assert at(13).replace(tzinfo=None) not in starts


def test_a_room_is_never_double_booked_even_with_allow_conflicts(world: World) -> None:
    world.stub.CreateBooking(create_request("room-1", at(14), [["bob"], ["small"]]), metadata=key(), timeout=10)
    error = _refused(world, create_request("room-2", at(14, 30), [["dan"], ["small"]], allow_conflicts=True))
    assert "small" in {c.resource_id for c in _conflicts(error)}
    assert "rooms are never double-booked" in error.details()
    # A room's own calendar counts too ("Cleaning" 09:00-10:00 in the large room).
    error = _refused(world, create_request("room-3", at(9), [["dan"], ["large"]], allow_conflicts=True))
    assert [(c.resource_id, c.kind) for c in _conflicts(error)] == [("large", slots_pb2.CONFLICT_KIND_BUSY)]


def test_limits_capacity_and_notice_are_kept(world: World) -> None:
    world.stub.CreateBooking(create_request("erin-1", at(9), [["erin"]]), metadata=key(), timeout=10)
    error = _refused(world, create_request("erin-2", at(15), [["erin"]], allow_conflicts=True))  # daily_limit 1
    info = _detail(error, error_details_pb2.ErrorInfo)
    assert info.reason == "BOOKING_LIMIT_REACHED"
    assert info.metadata["resource_id"] == "erin" and info.metadata["period"] == "daily"

    three = [("A", "a@customer.example"), ("B", "b@customer.example"), ("C", "c@customer.example")]
    error = _refused(world, create_request("crowded", at(15), [["bob"], ["small"]], customers=three))
    assert "room 'small' seats 2, the meeting has 4 attendees" in error.details()

    notice = rules(member("bob"))
    notice.minimum_notice.FromTimedelta(timedelta(days=30))
    error = _refused(world, create_request("too-soon", at(15), [["bob"]], meeting=notice))
    assert "minimum notice" in error.details()


# --- Unknown ids and bad fields -----------------------------------------------------------


def test_unknown_ids_are_not_found(world: World) -> None:
    for request, field in [
        (create_request("u1", at(11), [["bob"]], meeting=meeting_pb2.TemplateRef(template_id="nope")),
         "template.template_id"),
        (create_request("u2", at(11), [["mallory"]], meeting=rules(member("bob"))), "seats[0].resource_ids[0]"),
        (create_request("u3", at(11), [["mallory"]]), "rules.seats[0].member.candidates[0]"),
        (create_request("u4", at(11), [["bob"]], organizer_member_id="mallory"), "organizer_member_id"),
    ]:
        error = _refused(world, request, grpc.StatusCode.NOT_FOUND)
        assert field in _fields(error), (field, _fields(error))
    zoe = create_request("u5", at(11), [["zoe"]])
    _refused(world, zoe, grpc.StatusCode.NOT_FOUND)  # another tenant's member
    booking_id = world.stub.CreateBooking(zoe, metadata=key(OTHER_KEY), timeout=10).booking.id
    for call, message in [(world.stub.GetBooking, api.GetBookingRequest(booking_id=booking_id)),
                          (world.stub.CancelBooking, api.CancelBookingRequest(booking_id=booking_id)),
                          (world.stub.GetBooking, api.GetBookingRequest(booking_id="bk_nope")),
                          (world.stub.ReleaseHold, api.ReleaseHoldRequest(hold_id="hd_nope")),
                          (world.stub.ListBookings, api.ListBookingsRequest(resource_id="mallory"))]:
        with pytest.raises(grpc.RpcError) as caught:
            call(message, metadata=key(), timeout=10)
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND, caught.value.details()


def test_bad_fields_are_invalid_argument_one_violation_each(world: World) -> None:
    request = create_request("", at(11, 0) + timedelta(seconds=30), [["bob", "alice"], ["carol"]],
                             customers=[("Carla", "not-an-address"), ("", "")],
                             meeting=rules(member("bob"), member("alice")), title="bad\x07title")
    fields = _fields(_refused(world, request, grpc.StatusCode.INVALID_ARGUMENT))
    assert set(fields) == {"request_id", "start", "customers[0].email", "customers[1].email", "title"}, fields

    # The rules themselves, with the request's own paths.
    no_duration = meeting_pb2.MeetingRules(seats=[member("bob")])
    fields = _fields(_refused(world, create_request("r", at(11), [["bob"]], meeting=no_duration),
                              grpc.StatusCode.INVALID_ARGUMENT))
    assert set(fields) == {"rules.duration"}, fields
    fields = _fields(_refused(world, create_request("r", at(11), [["bob"]], time_zone="Mars/Olympus",
                                                    meeting=rules(member("bob"), buffer_after={"seconds": -60})),
                              grpc.StatusCode.INVALID_ARGUMENT))
    assert {"time_zone", "rules.buffer_after"} <= set(fields), fields

    # The chosen seats against the rules.
    pool = meeting_pb2.Seat(pool=meeting_pb2.PoolSeat(pool_id="engineers", count=2))
    for choices, meeting, field in [
        ([["bob"]], rules(member("bob"), member("alice")), "seats"),
        ([["alice"]], rules(member("bob")), "seats[0].resource_ids[0]"),
        ([["carol"]], rules(pool), "seats[0].resource_ids"),
        ([["bob"], ["bob"]], rules(member("bob"), member("bob", "alice")), "seats[1].resource_ids[0]"),
        ([["bob"], ["large"]], rules(member("bob"), room("small")), "seats[1].resource_ids[0]"),
        ([["bob"], []], rules(member("bob"), member("alice")), "seats[1].resource_ids"),
    ]:
        error = _refused(world, create_request("c", at(11), choices, meeting=meeting),
                         grpc.StatusCode.INVALID_ARGUMENT)
        assert field in _fields(error), (choices, _fields(error))
