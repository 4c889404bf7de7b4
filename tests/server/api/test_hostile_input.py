"""What an attacker sends, one case at a time: extreme instants and durations, zone strings
that are paths or megabytes, ids and addresses of many kilobytes, thousands of problems.

Each gets INVALID_ARGUMENT or NOT_FOUND naming the field, with rich details that parse,
quoting at most 200 characters of the value (marked as cut), on every RPC including the
streaming OptimizeBatch. (Before: INTERNAL for the instants, durations and zones; the long
values came back as RESOURCE_EXHAUSTED "Stream removed" without details.)
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from google.protobuf import duration_pb2, timestamp_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from convene.v1 import batch_pb2, booking_pb2, meeting_pb2
from convene.v1 import scheduling_service_pb2 as api
from tests.server.api.conftest import BookingServer
from tests.server.conftest import MONDAY, NOW, hours, key
from tests.server.messages import check, find, member, rules

LONG = 10_000


def failure(call: Callable[[], object]) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return caught.value


def rich(error: grpc.RpcError) -> dict[str, object]:
    """The status's details by kind; fails when there are none (or they do not parse)."""
    status = rpc_status.from_call(error)
    assert status is not None, f"{error.code()} without details: {error.details()}"
    found: dict[str, object] = {}
    for detail in status.details:
        for kind in (error_details_pb2.BadRequest, error_details_pb2.ResourceInfo, error_details_pb2.RequestInfo):
            if detail.Is(kind.DESCRIPTOR):
                message = kind()
                detail.Unpack(message)
                found[kind.__name__] = message
    assert "RequestInfo" in found
    return found


def fields(error: grpc.RpcError) -> dict[str, str]:
    bad = rich(error)["BadRequest"]
    assert isinstance(bad, error_details_pb2.BadRequest)
    return {v.field: v.description for v in bad.field_violations}


def _ts(seconds: int) -> timestamp_pb2.Timestamp:
    return timestamp_pb2.Timestamp(seconds=seconds)


NEAR_9999 = 253_402_300_000  # 9999-12-31
YEAR_1 = -62_135_596_000


@pytest.mark.parametrize("seconds", [NEAR_9999, YEAR_1, int(datetime(2201, 1, 1, tzinfo=UTC).timestamp())])
def test_instants_out_of_bounds_are_invalid_arguments(booking_server: BookingServer, seconds: int):
    stub = booking_server.stub
    request = check(rules(member("alice")), MONDAY)
    request.start.CopyFrom(_ts(seconds))
    error = failure(lambda: stub.CheckTime(request, metadata=key()))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "1900-01-01 and 2200-01-01" in fields(error)["start"]

    found = find(rules(member("alice")))
    found.window_end.CopyFrom(_ts(seconds))
    error = failure(lambda: stub.FindSlots(found, metadata=key()))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and "window_end" in fields(error)

    hold = api.HoldSlotRequest(resource_ids=["alice"], start=_ts(seconds), end=_ts(seconds + 3600))
    error = failure(lambda: stub.HoldSlot(hold, metadata=key()))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and {"start", "end"} <= set(fields(error))

    listing = api.ListBookingsRequest(window_start=_ts(seconds))
    error = failure(lambda: stub.ListBookings(listing, metadata=key()))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and "window_start" in fields(error)


def _booking(**changes: object) -> api.CreateBookingRequest:
    request = api.CreateBookingRequest(request_id="hostile-1", rules=rules(member("alice")), time_zone="UTC",
                                       seats=[booking_pb2.SeatChoice(resource_ids=["alice"])],
                                       customers=[booking_pb2.Person(name="Ada", email="ada@example.org")])
    request.start.FromDatetime(MONDAY + hours(9))
    request.now.FromDatetime(NOW)
    for name, value in changes.items():
        if isinstance(value, list):
            getattr(request, name).extend(value)
        else:
            getattr(request, name).CopyFrom(value)
    return request


def test_a_meeting_of_centuries_is_an_invalid_argument(booking_server: BookingServer):
    centuries = duration_pb2.Duration(seconds=300 * 365 * 86_400)
    booking = _booking()
    booking.start.CopyFrom(_ts(NEAR_9999 - 86_400 * 365))
    booking.rules.duration.CopyFrom(centuries)
    error = failure(lambda: booking_server.stub.CreateBooking(booking, metadata=key()))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert {"start", "rules.duration"} <= set(fields(error))

    check_request = check(rules(member("alice")), MONDAY)
    check_request.rules.buffer_after.CopyFrom(centuries)
    error = failure(lambda: booking_server.stub.CheckTime(check_request, metadata=key()))
    assert "rules.buffer_after" in fields(error)


@pytest.mark.parametrize("zone", ["a/b" * 1000, "x" * 300, "../../../../etc/passwd", "/etc/localtime",
                                  "localtime", "Europe/Berlin\x00", "m" * 1_000_000])
def test_zone_strings_of_any_shape_are_invalid_arguments(booking_server: BookingServer, zone: str):
    error = failure(lambda: booking_server.stub.FindSlots(find(rules(member("alice")), zone=zone), metadata=key()))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    description = fields(error)["time_zone"]
    assert "is not an IANA time zone" in description
    assert len(description) < 300 and (len(zone) <= 200 or "(cut: " in description)


def test_an_unknown_id_of_many_kilobytes_is_not_found_and_quoted_cut(booking_server: BookingServer):
    long_id = "m" * LONG
    error = failure(lambda: booking_server.stub.GetMember(api.GetMemberRequest(member_id=long_id), metadata=key()))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    info = rich(error)["ResourceInfo"]
    assert isinstance(info, error_details_pb2.ResourceInfo)
    assert info.resource_name == "m" * 200 + f"… (cut: {LONG} characters)"
    assert "m" * 201 not in (error.details() or "") and "(cut: 10000 characters)" in (error.details() or "")

    request = find(rules(member(long_id)))
    error = failure(lambda: booking_server.stub.FindSlots(request, metadata=key()))
    assert error.code() == grpc.StatusCode.NOT_FOUND and "rules.seats[0].member.candidates[0]" in fields(error)

    error = failure(lambda: booking_server.stub.GetBooking(api.GetBookingRequest(booking_id=long_id),
                                                           metadata=key()))
    assert error.code() == grpc.StatusCode.NOT_FOUND and len(error.details() or "") < 400


def test_a_customer_address_of_many_kilobytes_is_an_invalid_argument(booking_server: BookingServer):
    booking = _booking()
    booking.customers[0].email = "a" * LONG + "@example.org"
    error = failure(lambda: booking_server.stub.CreateBooking(booking, metadata=key()))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    description = fields(error)["customers[0].email"]
    assert "is not an email address" in description and "(cut: " in description


def test_thousands_of_problems_are_reported_as_twenty_and_a_count(booking_server: BookingServer):
    request = find(meeting_pb2.MeetingRules(seats=[meeting_pb2.Seat(label=str(i)) for i in range(3000)],
                                            duration=duration_pb2.Duration(seconds=3600)))
    error = failure(lambda: booking_server.stub.FindSlots(request, metadata=key()))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    reported = fields(error)
    assert len(reported) == 21 and reported[""] == "and 2980 more problems"


def test_the_streaming_rpc_quotes_cut_values_too(booking_server: BookingServer):
    found = find(rules(member("m" * LONG)))
    item = batch_pb2.BatchItem(id="item", rules=found.rules, window_start=found.window_start,
                               window_end=found.window_end, time_zone="a/b" * 1000)
    request = api.OptimizeBatchRequest(items=[item])
    request.time_limit.FromTimedelta(timedelta(seconds=1))
    error = failure(lambda: list(booking_server.stub.OptimizeBatch(request, metadata=key(), timeout=10)))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "is not an IANA time zone" in fields(error)["items[0].time_zone"]
    assert len(error.details() or "") <= 300
