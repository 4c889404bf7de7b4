"""Bookings and the rest of the API: a confirmed booking takes its time out of FindSlots
(a cancel gives it back), ListBookings filters and pages, short holds keep a slot for
their holder, and a server without a store says bookings are not enabled."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import grpc
import pytest

from convene.v1 import booking_pb2, meeting_pb2
from convene.v1 import scheduling_service_pb2 as api
from tests.server import booking_world
from tests.server.booking_world import (
    OTHER_KEY,
    World,
    at,
    create_request,
    key,
    member,
    room,
    rules,
)
from tests.server.conftest import Served
from tests.server.conftest import key as team_key

# The booking fixtures: pytest finds a module's fixtures among its attributes.
database_url = booking_world.database_url
pg_admin = booking_world.pg_admin
smtp_sink = booking_world.smtp_sink
world = booking_world.world


def _starts(world: World, seat: meeting_pb2.Seat) -> set[datetime]:
    request = api.FindSlotsRequest(rules=rules(seat), time_zone="UTC")
    request.window_start.FromDatetime(at(9))
    request.window_end.FromDatetime(at(17))
    request.now.FromDatetime(at(0, day=1))
    return {s.start.ToDatetime() for s in world.stub.FindSlots(request, metadata=key(), timeout=10).slots}


def _naive(*instants: datetime) -> set[datetime]:
    return {t.replace(tzinfo=None) for t in instants}


def test_a_confirmed_booking_is_no_longer_offered_and_a_cancel_offers_it_again(world: World) -> None:
    # Bob's calendar file also gets the event; the small room has no calendar: only the booking blocks it.
    overlapping = _naive(at(10, 15), at(11), at(11, 45))
    for seat in (member("bob"), room("small")):
        assert overlapping <= _starts(world, seat)
    booking = world.stub.CreateBooking(create_request("b1", at(11), [["bob"], ["small"]]), metadata=key(),
                                       timeout=10).booking
    for seat in (member("bob"), room("small")):
        offered = _starts(world, seat)
        assert not overlapping & offered
        assert _naive(at(10), at(12)) <= offered  # back to back is fine

    world.stub.CancelBooking(api.CancelBookingRequest(booking_id=booking.id), metadata=key(), timeout=10)
    world.settled(booking.id)  # the event is gone from bob's calendar file too
    for seat in (member("bob"), room("small")):
        assert overlapping <= _starts(world, seat)


def test_list_bookings_filters_and_pages(world: World) -> None:
    ids = []
    for i, (hour, who) in enumerate([(9, "bob"), (11, "bob"), (13, "dan"), (15, "bob")]):
        ids.append(world.stub.CreateBooking(create_request(f"l{i}", at(hour), [[who]]), metadata=key()).booking.id)
    world.stub.CancelBooking(api.CancelBookingRequest(booking_id=ids[1]), metadata=key())

    def listed(**fields: Any) -> list[str]:
        request = api.ListBookingsRequest(**fields)
        return [b.id for b in world.stub.ListBookings(request, metadata=key(), timeout=10).bookings]

    assert listed() == ids
    assert listed(resource_id="bob") == [ids[0], ids[1], ids[3]]
    assert listed(status=booking_pb2.BOOKING_STATUS_CONFIRMED) == [ids[0], ids[2], ids[3]]
    assert listed(status=booking_pb2.BOOKING_STATUS_CANCELLED) == [ids[1]]
    window = api.ListBookingsRequest(resource_id="bob")
    window.window_start.FromDatetime(at(11, 30))
    window.window_end.FromDatetime(at(15))
    assert [b.id for b in world.stub.ListBookings(window, metadata=key()).bookings] == [ids[1]]

    pages, token = [], ""
    while True:
        reply = world.stub.ListBookings(api.ListBookingsRequest(page_size=3, page_token=token), metadata=key())
        pages.append([b.id for b in reply.bookings])
        token = reply.next_page_token
        if not token:
            break
    assert pages == [ids[:3], ids[3:]]
    with pytest.raises(grpc.RpcError) as caught:
        world.stub.ListBookings(api.ListBookingsRequest(page_token=token or "bm9wZQ", resource_id="bob"),
                                metadata=key())
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_list_bookings_pages_are_stable_while_bookings_are_added(world: World) -> None:
    """Keyset pages: bookings added between page calls, before or after the cursor, never make
    a page repeat or skip one that was there from the start; the token belongs to its filters."""
    first = [world.stub.CreateBooking(create_request(f"k{h}", at(h), [["dan"]]), metadata=key()).booking.id
             for h in (9, 11, 13, 15)]
    seen: list[str] = []
    token, added = "", iter([10, 12, 14, 16])
    while True:
        reply = world.stub.ListBookings(api.ListBookingsRequest(page_size=2, page_token=token), metadata=key())
        seen += [b.id for b in reply.bookings]
        token = reply.next_page_token
        hour = next(added, None)
        if hour is not None:  # one more booking each page, earlier and later than the cursor by turns
            world.stub.CreateBooking(create_request(f"n{hour}", at(hour), [["bob"]]), metadata=key())
        if not token:
            break
    assert len(seen) == len(set(seen))  # nothing twice
    assert set(first) <= set(seen)  # nothing that was there from the start is skipped
    assert seen == sorted(seen, key=lambda i: next(b.start.ToDatetime() for b in world.stub.ListBookings(
        api.ListBookingsRequest(), metadata=key()).bookings if b.id == i))  # by start
    for bad in ("bm9wZQ", token or "eyJhZnRlciI6WyJ4Il0sImZvciI6IngifQ"):
        with pytest.raises(grpc.RpcError) as caught:
            world.stub.ListBookings(api.ListBookingsRequest(page_token=bad), metadata=key())
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "page_token" in caught.value.details()
    middle = world.stub.ListBookings(api.ListBookingsRequest(page_size=1), metadata=key()).next_page_token
    with pytest.raises(grpc.RpcError) as caught:  # another query's token
        world.stub.ListBookings(api.ListBookingsRequest(page_token=middle, resource_id="dan"), metadata=key())
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_a_hold_keeps_the_slot_for_its_holder(world: World) -> None:
    hold_request = api.HoldSlotRequest(resource_ids=["bob", "small"])
    hold_request.start.FromDatetime(at(15))
    hold_request.end.FromDatetime(at(16))
    hold_request.ttl.FromTimedelta(timedelta(minutes=2))
    hold = world.stub.HoldSlot(hold_request, metadata=key(), timeout=10).hold
    assert hold.id and list(hold.resource_ids) == ["bob", "small"]

    with pytest.raises(grpc.RpcError) as caught:  # a second agent cannot hold it ...
        world.stub.HoldSlot(hold_request, metadata=key(), timeout=10)
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "held by another caller" in caught.value.details()
    with pytest.raises(grpc.RpcError) as caught:  # ... nor book it
        world.stub.CreateBooking(create_request("other", at(15), [["bob"], ["small"]]), metadata=key())
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION

    mine = world.stub.CreateBooking(create_request("mine", at(15), [["bob"], ["small"]], hold_id=hold.id),
                                    metadata=key(), timeout=10).booking
    assert mine.status == booking_pb2.BOOKING_STATUS_CONFIRMED
    with pytest.raises(grpc.RpcError) as caught:  # the booking used the hold up
        world.stub.ReleaseHold(api.ReleaseHoldRequest(hold_id=hold.id), metadata=key())
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND

    hold_request.start.FromDatetime(at(16))
    hold_request.end.FromDatetime(at(17))
    second = world.stub.HoldSlot(hold_request, metadata=key(), timeout=10).hold
    with pytest.raises(grpc.RpcError) as caught:  # another tenant's key cannot release it
        world.stub.ReleaseHold(api.ReleaseHoldRequest(hold_id=second.id), metadata=key(OTHER_KEY))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError):  # still held
        world.stub.HoldSlot(hold_request, metadata=key(), timeout=10)
    world.stub.ReleaseHold(api.ReleaseHoldRequest(hold_id=second.id), metadata=key())
    world.stub.HoldSlot(hold_request, metadata=key(), timeout=10)  # free again

    too_long = api.HoldSlotRequest(resource_ids=["bob"])
    too_long.start.FromDatetime(at(9))
    too_long.end.FromDatetime(at(10))
    too_long.ttl.FromTimedelta(timedelta(hours=2))
    with pytest.raises(grpc.RpcError) as caught:
        world.stub.HoldSlot(too_long, metadata=key())
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_a_server_without_a_store_says_bookings_are_not_enabled(served: Served) -> None:
    for call, request in [(served.stub.CreateBooking, create_request("x", at(11), [["bob"]])),
                          (served.stub.ListBookings, api.ListBookingsRequest())]:
        with pytest.raises(grpc.RpcError) as caught:
            call(request, metadata=team_key(), timeout=10)
        assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED
        assert "not enabled" in caught.value.details()
    with pytest.raises(grpc.RpcError) as caught:  # the key is checked first
        served.stub.CreateBooking(create_request("x", at(11), [["bob"]]), metadata=(), timeout=10)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
