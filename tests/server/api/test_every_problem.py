"""Every problem of a request at once, validated before any work (SCHEDULING.md "Limits and
bad input": one field violation per problem), for the RPCs that stopped at the first:

- RescheduleBooking read the booking first: an unknown booking with a bad start and an
  over-long request id was NOT_FOUND, and a missing booking id hid every other problem.
- ListBookings reported a reversed window and stopped; the page size and token came after.
- ListMembers (ListRooms, ListPools, ListTemplates) reported the page size, not the token too.
"""

from __future__ import annotations

from datetime import timedelta

import grpc

from convene.v1 import scheduling_service_pb2 as api
from tests.server.api.conftest import BookingServer
from tests.server.api.test_hostile_input import failure, fields
from tests.server.conftest import MONDAY, key


def test_reschedule_is_checked_before_the_booking_is_looked_up(booking_server: BookingServer) -> None:
    stub = booking_server.stub
    request = api.RescheduleBookingRequest(booking_id="no-such-booking", request_id="r" * 500)
    request.start.FromDatetime(MONDAY + timedelta(hours=9, seconds=7))
    error = failure(lambda: stub.RescheduleBooking(request, metadata=key()))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error.details()
    assert set(fields(error)) == {"request_id", "start"}
    request.ClearField("booking_id")
    assert set(fields(failure(lambda: stub.RescheduleBooking(request, metadata=key())))) == {
        "booking_id", "request_id", "start"}
    # Sound, but the booking is unknown: NOT_FOUND.
    sound = api.RescheduleBookingRequest(booking_id="no-such-booking", request_id="r1")
    assert failure(lambda: stub.RescheduleBooking(sound, metadata=key())).code() == grpc.StatusCode.NOT_FOUND


def test_listings_report_every_problem(booking_server: BookingServer) -> None:
    stub = booking_server.stub
    listing = api.ListBookingsRequest(page_size=-3, page_token="not-a-token")
    listing.window_start.FromDatetime(MONDAY + timedelta(hours=10))
    listing.window_end.FromDatetime(MONDAY)
    assert set(fields(failure(lambda: stub.ListBookings(listing, metadata=key())))) == {
        "window_end", "page_size", "page_token"}
    members = api.ListMembersRequest(page_size=-1, page_token="not-a-token")
    assert set(fields(failure(lambda: stub.ListMembers(members, metadata=key())))) == {"page_size", "page_token"}
