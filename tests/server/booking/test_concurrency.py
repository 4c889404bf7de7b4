"""Fifty concurrent CreateBooking calls for overlapping times: exactly one is confirmed,
on SQLite and on PostgreSQL, through the real server and its generated stubs."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from threading import Barrier

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from convene.v1 import booking_pb2
from convene.v1 import scheduling_service_pb2 as api
from tests.server import booking_world
from tests.server.booking_world import (
    World,
    at,
    create_request,
    key,
)

# The booking fixtures: pytest finds a module's fixtures among its attributes.
database_url = booking_world.database_url
pg_admin = booking_world.pg_admin
smtp_sink = booking_world.smtp_sink
world = booking_world.world

CALLS = 50


def _conflict_details(error: grpc.RpcError) -> booking_pb2.BookingConflictDetails:
    status = rpc_status.from_call(error)
    assert status is not None
    for detail in status.details:
        if detail.Is(booking_pb2.BookingConflictDetails.DESCRIPTOR):
            found = booking_pb2.BookingConflictDetails()
            detail.Unpack(found)
            return found
    raise AssertionError("no BookingConflictDetails in the error")


def _reason(error: grpc.RpcError) -> str:
    status = rpc_status.from_call(error)
    assert status is not None
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return str(info.reason)
    return ""


def _race(world: World, requests: list[api.CreateBookingRequest]) -> tuple[list[api.CreateBookingResponse],
                                                                          list[grpc.RpcError]]:
    start = Barrier(len(requests))

    def call(request: api.CreateBookingRequest) -> api.CreateBookingResponse | grpc.RpcError:
        start.wait()
        try:
            return world.stub.CreateBooking(request, metadata=key(), timeout=30)
        except grpc.RpcError as exc:
            return exc

    with ThreadPoolExecutor(len(requests)) as pool:
        outcomes = list(pool.map(call, requests))
    won = [o for o in outcomes if isinstance(o, api.CreateBookingResponse)]
    lost = [o for o in outcomes if isinstance(o, grpc.RpcError)]
    return won, lost


def _starts(i: int) -> int:
    return 11 * 60 + (i % 4) * 15  # 11:00, 11:15, 11:30, 11:45: every pair overlaps


def test_fifty_concurrent_bookings_of_one_member_confirm_exactly_one(world: World) -> None:
    requests = [create_request(f"member-{i}", at(0, _starts(i)), [["bob"]]) for i in range(CALLS)]
    won, lost = _race(world, requests)

    assert len(won) == 1, [e.details() for e in lost][:3]
    assert len(lost) == CALLS - 1
    for error in lost:
        assert error.code() == grpc.StatusCode.FAILED_PRECONDITION, error.details()
        assert _reason(error) == "SLOT_UNAVAILABLE"
        details = _conflict_details(error)
        assert details.reason
        # Refused by the re-check (the winner's booking) or by the store (it committed first).
        assert {c.resource_id for c in details.conflicts} == {"bob"}
    confirmed = world.stub.ListBookings(api.ListBookingsRequest(resource_id="bob"), metadata=key()).bookings
    assert [b.id for b in confirmed] == [won[0].booking.id]
    assert world.store.confirmed_bookings("team", ["bob"], at(0), at(23)) and \
        len(world.store.confirmed_bookings("team", ["bob"], at(0), at(23))) == 1


def test_fifty_concurrent_bookings_of_one_room_confirm_exactly_one_even_with_allow_conflicts(world: World) -> None:
    # "Schedule anyway" lets bob be double-booked; the room never is.
    requests = [create_request(f"room-{i}", at(0, _starts(i)), [["bob"], ["small"]], allow_conflicts=True)
                for i in range(CALLS)]
    won, lost = _race(world, requests)

    assert len(won) == 1, [e.details() for e in lost][:3]
    for error in lost:
        assert error.code() == grpc.StatusCode.FAILED_PRECONDITION, error.details()
        assert "small" in {c.resource_id for c in _conflict_details(error).conflicts}
    booked = world.stub.ListBookings(api.ListBookingsRequest(resource_id="small"), metadata=key()).bookings
    assert [b.id for b in booked] == [won[0].booking.id]
    assert booked[0].allow_conflicts
    end = won[0].booking.end.ToDatetime() - won[0].booking.start.ToDatetime()
    assert end == timedelta(hours=1)
