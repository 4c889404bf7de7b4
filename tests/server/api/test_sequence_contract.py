"""Sequences (SCHEDULING.md "Sequences") over the wire, where the other tests do not look.

- ``max_span`` defaults to one day *in the request's zone*: to the same wall-clock time the
  next day, 23 hours on the night Cairo's clocks go forward (Thursday 2027-04-29, 22:00 UTC,
  a working day for the team), not 24 (before: always 24 real hours), for FindSequences,
  CheckSequence and BookSequence alike.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import grpc

from tests.server.api.conftest import BookingServer
from tests.server.api.test_hostile_input import failure, fields
from tests.server.conftest import key
from tests.server.messages import book_sequence, check_sequence, find_sequences, member, rules, segment, sequence

CAIRO = "Africa/Cairo"
THURSDAY = datetime(2027, 4, 29, 16, tzinfo=UTC)  # 18:00 in Cairo; at midnight its clocks go to 01:00


def _loop(gap_hours: int) -> object:
    """alice 1 h, then bob 1 h exactly ``gap_hours`` later: a span of gap_hours + 2 hours."""
    gap = timedelta(hours=gap_hours)
    return sequence(segment(rules(member("alice"))), segment(rules(member("bob"))), min_gap=gap, max_gap=gap)


def test_the_default_span_is_one_day_on_the_request_zones_clock(booking_server: BookingServer) -> None:
    stub = booking_server.stub
    window = {"start": THURSDAY, "end": THURSDAY + timedelta(days=1, hours=1), "zone": CAIRO}
    for gap_hours, fits in ((21, True), (22, False)):  # 23 hours fit in Cairo's 23-hour day; 24 do not
        loop = _loop(gap_hours)
        found = stub.FindSequences(find_sequences(loop, **window), metadata=key(), timeout=30)  # type: ignore[arg-type]
        assert [o.start.ToDatetime(UTC) for o in found.options][:1] == ([THURSDAY] if fits else []), gap_hours
        checked = stub.CheckSequence(check_sequence(loop, THURSDAY, zone=CAIRO), metadata=key(), timeout=30)  # type: ignore[arg-type]
        assert checked.available is fits, (gap_hours, checked.reason)
    # The same 24 hours in UTC (a day of 24 hours) fit.
    utc_found = stub.FindSequences(find_sequences(_loop(22), start=THURSDAY, end=THURSDAY + timedelta(days=1, hours=1)),  # type: ignore[arg-type]
                                   metadata=key(), timeout=30)
    assert [o.start.ToDatetime(UTC) for o in utc_found.options][:1] == [THURSDAY]
    # Booking the 24-hour one in Cairo is refused naming the last segment's start.
    booking = book_sequence("cairo-span", _loop(22), [(THURSDAY, [["alice"]]), (THURSDAY + timedelta(hours=23),  # type: ignore[arg-type]
                                                                                 [["bob"]])], zone=CAIRO)
    error = failure(lambda: stub.BookSequence(booking, metadata=key(), timeout=30))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "max_span" in fields(error)["segments[1].start"]


def test_check_sequence_answers_for_the_start_it_names_on_the_interval_or_not(booking_server: BookingServer) -> None:
    """As CheckTime does: 10:05 (off the 15-minute interval) is checked, not "not available"
    for want of a candidate there; a start between two minutes is refused naming ``start``."""
    stub = booking_server.stub
    loop = sequence(segment(rules(member("alice"))), segment(rules(member("bob"))))
    for minute in (0, 5):
        start = datetime(2027, 4, 29, 10, minute, tzinfo=UTC)
        checked = stub.CheckSequence(check_sequence(loop, start), metadata=key(), timeout=30)  # type: ignore[arg-type]
        assert checked.available, (minute, checked.reason)
        assert [s.slot.start.ToDatetime(UTC) for s in checked.option.segments] == [start, start + timedelta(hours=1)]
    between = check_sequence(loop, datetime(2027, 4, 29, 10, 2, 30, tzinfo=UTC))  # type: ignore[arg-type]
    error = failure(lambda: stub.CheckSequence(between, metadata=key(), timeout=30))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert fields(error) == {"start": "must be a whole minute"}
