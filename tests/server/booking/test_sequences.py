"""Sequences (interview loops) over the real gRPC server, on SQLite and PostgreSQL.

A loop is found, checked and booked (every segment confirmed, one invitation per
segment through the outbox); a loop whose one segment cannot be booked books
none and the refusal names that segment; replays; privacy of the conflicts in a
refusal; bad input naming the field.

The team (tests/server/booking_world.py): alice is busy Mon 10:00-11:00 UTC
("Board prep"), the large room 09:00-10:00; everyone works 09:00-17:00.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from threading import Barrier
from typing import Any

import grpc
import pytest
from google.protobuf import duration_pb2, timestamp_pb2
from google.protobuf.message import Message
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from convene.v1 import booking_pb2, sequences_pb2
from convene.v1 import scheduling_service_pb2 as api
from tests.server import booking_world
from tests.server.booking_world import ALICE_KEY, World, at, create_request, key, member, room, rules, wait_for
from tests.server.messages import book_sequence, check_sequence, find_sequences, segment, sequence

database_url = booking_world.database_url
pg_admin = booking_world.pg_admin
smtp_sink = booking_world.smtp_sink
world = booking_world.world

DAY = at(0)


def _loop(**fields: Any) -> sequences_pb2.SequenceRules:
    """Coding (1 h: alice or bob, and an engineer), then design (30 min: bob or alice, a room)."""
    return sequence(segment(rules(member("alice", "bob"), room("small", "large")), "coding"),
                    segment(rules(member("bob", "alice"), room("small", "large"), minutes=30), "design"),
                    max_gap=timedelta(minutes=15), **fields)


def _error(call: object, request: Message, code: grpc.StatusCode, api_key: str = "") -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call(request, metadata=key(api_key) if api_key else key(), timeout=10)  # type: ignore[operator]
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


def _fields(error: grpc.RpcError) -> set[str]:
    bad = _detail(error, error_details_pb2.BadRequest)
    assert isinstance(bad, error_details_pb2.BadRequest)
    return {v.field for v in bad.field_violations}


def _choices(option: sequences_pb2.SequenceOption) -> list[tuple[datetime, list[list[str]]]]:
    """The option as BookSequence choices, listed segment order."""
    by_index = sorted(option.segments, key=lambda s: s.segment_index)
    return [(s.slot.start.ToDatetime().replace(tzinfo=DAY.tzinfo), [list(f.resource_ids) for f in s.slot.seats])
            for s in by_index]


def _bookings(world: World) -> list[booking_pb2.Booking]:
    return list(world.stub.ListBookings(api.ListBookingsRequest(), metadata=key(), timeout=10).bookings)


def test_a_loop_is_found_checked_and_booked_with_one_invitation_per_segment(world: World) -> None:
    found = world.stub.FindSequences(find_sequences(_loop(), start=at(9), end=at(17)), metadata=key(), timeout=10)
    first = found.options[0]
    # 09:00: alice is free until 10:00 but design after coding needs bob (alice busy 10-11), small room.
    assert first.start.ToDatetime() == at(9).replace(tzinfo=None)
    coding, design = first.segments
    assert (coding.label, design.label) == ("coding", "design")
    assert list(coding.slot.seats[0].resource_ids) == ["alice"] and list(design.slot.seats[0].resource_ids) == ["bob"]
    assert design.slot.start.ToDatetime() == at(10).replace(tzinfo=None)  # back to back: the cheapest
    assert found.total_available == len(found.options) > 1 and not found.partial

    checked = world.stub.CheckSequence(check_sequence(_loop(), at(9)), metadata=key(), timeout=10)
    assert checked.available and checked.option == first

    request = book_sequence("loop-1", _loop(), _choices(first), title="Onsite")
    booked = world.stub.BookSequence(request, metadata=key(), timeout=10)
    assert not booked.replayed and len(booked.bookings) == 2
    assert [b.status for b in booked.bookings] == [booking_pb2.BOOKING_STATUS_CONFIRMED] * 2
    assert [b.title for b in booked.bookings] == ["Onsite: coding", "Onsite: design"]
    assert [b.request_id for b in booked.bookings] == ["loop-1/segment-0", "loop-1/segment-1"]
    for b in booked.bookings:
        settled = world.settled(b.id)
        invites = [e for e in settled.side_effects if e.kind == booking_pb2.SIDE_EFFECT_KIND_SEND_INVITE]
        assert [e.state for e in invites] == [booking_pb2.SIDE_EFFECT_STATE_DONE]
    assert wait_for(lambda: len(world.sink.received) >= 2)
    to_customer = [m for m in world.sink.received if "carla@customer.example" in m.rcpt_tos]
    assert len(to_customer) == 2  # one invitation per segment
    assert sorted(str(m.message["Subject"]).split(": ", 1)[1] for m in to_customer) == [
        "Onsite: coding", "Onsite: design"]

    # The same request again: the same bookings, replayed; another body with the id: refused.
    again = world.stub.BookSequence(request, metadata=key(), timeout=10)
    assert again.replayed and [b.id for b in again.bookings] == [b.id for b in booked.bookings]
    other = book_sequence("loop-1", _loop(), _choices(found.options[1]), title="Onsite")
    _error(world.stub.BookSequence, other, grpc.StatusCode.ALREADY_EXISTS)
    # Booked: the loop's people and room are taken at 09:00 now.
    after = world.stub.CheckSequence(check_sequence(_loop(), at(9)), metadata=key(), timeout=10)
    assert not after.available or after.option != first


def test_a_loop_whose_one_segment_cannot_be_booked_books_none(world: World) -> None:
    # bob is booked 10:00-10:30 by a plain booking: the loop's design segment (bob at 10:00) is in the way.
    world.stub.CreateBooking(create_request("plain", at(10), [["bob"]], meeting=rules(member("bob"), minutes=30)),
                             metadata=key(), timeout=10)
    request = book_sequence("loop-2", _loop(), [(at(9), [["alice"], ["small"]]), (at(10), [["bob"], ["small"]])])
    error = _error(world.stub.BookSequence, request, grpc.StatusCode.FAILED_PRECONDITION)
    assert "segments[1] (design)" in (error.details() or "")
    assert "no segment was booked" in (error.details() or "")
    assert [b.request_id for b in _bookings(world)] == ["plain"]  # coding was not booked either

    # The first segment busy in a calendar (alice, 10-11): refused naming segments[0], nothing booked.
    busy = book_sequence("loop-3", _loop(), [(at(10), [["alice"], ["small"]]), (at(11), [["bob"], ["small"]])])
    error = _error(world.stub.BookSequence, busy, grpc.StatusCode.FAILED_PRECONDITION)
    assert (error.details() or "").startswith("segments[0] (coding)")
    assert [b.request_id for b in _bookings(world)] == ["plain"]


def test_a_refused_loop_shows_event_details_only_to_the_calendar_owner(world: World) -> None:
    request = book_sequence("loop-4", _loop(), [(at(10), [["alice"], ["small"]]), (at(11), [["bob"], ["small"]])])
    for api_key, visible in (("", False), (ALICE_KEY, True)):
        error = _error(world.stub.BookSequence, request, grpc.StatusCode.FAILED_PRECONDITION, api_key)
        details = _detail(error, booking_pb2.BookingConflictDetails)
        assert isinstance(details, booking_pb2.BookingConflictDetails)
        (conflict,) = details.conflicts
        assert conflict.resource_id == "alice"
        assert conflict.HasField("details") is visible
        status = rpc_status.from_call(error)
        assert status is not None
        assert (b"Board prep" in status.SerializeToString()) is visible  # not in the reply's bytes


def test_bad_input_names_the_field(world: World) -> None:
    stub = world.stub
    bad_gap = sequence(segment(rules(member("alice"))), segment(rules(member("bob"))),
                       min_gap=timedelta(minutes=20), max_gap=timedelta(minutes=10))
    error = _error(stub.FindSequences, find_sequences(bad_gap), grpc.StatusCode.INVALID_ARGUMENT)
    assert _fields(error) == {"rules.max_gap"}
    unknown = sequence(segment(rules(member("alice"))), segment(rules(member("nobody"))))
    error = _error(stub.FindSequences, find_sequences(unknown), grpc.StatusCode.NOT_FOUND)
    assert _fields(error) == {"rules.segments[1].rules.seats[0].member.candidates[0]"}
    no_duration = sequence(segment(rules(member("alice"))), sequences_pb2.SegmentSpec(
        rules=rules(member("bob"), minutes=0)))
    no_duration.segments[1].rules.ClearField("duration")
    error = _error(stub.CheckSequence, check_sequence(no_duration, at(9)), grpc.StatusCode.INVALID_ARGUMENT)
    assert "rules.segments[1].rules.duration" in _fields(error)
    error = _error(stub.FindSequences, api.FindSequencesRequest(time_zone="UTC"), grpc.StatusCode.INVALID_ARGUMENT)
    assert _fields(error) == {"rules"}
    # A booking whose second segment starts 45 minutes after the first ends: the gap is named.
    gap = book_sequence("loop-5", _loop(), [(at(9), [["alice"], ["small"]]), (at(10, 45), [["bob"], ["small"]])])
    error = _error(stub.BookSequence, gap, grpc.StatusCode.INVALID_ARGUMENT)
    assert _fields(error) == {"segments[1].start"}
    # One member in both segments (repeats not allowed) is named at the later segment's seats.
    twice = book_sequence("loop-6", _loop(), [(at(11), [["bob"], ["small"]]), (at(12), [["bob"], ["small"]])])
    error = _error(stub.BookSequence, twice, grpc.StatusCode.INVALID_ARGUMENT)
    assert _fields(error) == {"segments[1].seats"}
    missing = book_sequence("", _loop(), [(at(11), [["alice"], ["small"]])])
    error = _error(stub.BookSequence, missing, grpc.StatusCode.INVALID_ARGUMENT)
    assert _fields(error) == {"request_id", "segments"}
    assert _bookings(world) == []


ROUNDS = 6


def _together(*calls: tuple[Callable[..., Message], Message]) -> list[Message | grpc.RpcError]:
    """Every call started at once (a barrier), each one's reply or error."""
    start = Barrier(len(calls))

    def run(call: Callable[..., Message], request: Message) -> Message | grpc.RpcError:
        start.wait()
        try:
            return call(request, metadata=key(), timeout=30)
        except grpc.RpcError as exc:
            return exc

    with ThreadPoolExecutor(len(calls)) as threads:
        return [f.result() for f in [threads.submit(run, call, request) for call, request in calls]]


def test_book_sequence_racing_create_booking_is_never_partial_nor_double(world: World) -> None:
    """Each round, at a time of its own, a loop and a plain booking of the loop's second
    segment (bob, design's room) start together: exactly one of them wins, and the loop
    has both its segments confirmed or neither."""
    for r in range(ROUNDS):
        day = 8 + r % 4  # Tue..Fri, and again at other hours
        hour = 9 + 3 * (r // 4)
        loop = book_sequence(f"race-loop-{r}", _loop(), [(at(hour, day=day), [["alice"], ["small"]]),
                                                         (at(hour + 1, day=day), [["bob"], ["small"]])])
        plain = create_request(f"race-plain-{r}", at(hour + 1, day=day), [["bob"], ["small"]],
                               meeting=rules(member("bob"), room("small"), minutes=30))
        outcomes = _together((world.stub.BookSequence, loop), (world.stub.CreateBooking, plain))
        won = [not isinstance(o, grpc.RpcError) for o in outcomes]
        assert won.count(True) == 1, outcomes
        for o in outcomes:
            if isinstance(o, grpc.RpcError):
                assert o.code() == grpc.StatusCode.FAILED_PRECONDITION, o.details()
        records = [b for b in _bookings(world) if b.request_id.startswith((f"race-loop-{r}/", f"race-plain-{r}"))]
        mine = sorted(b.request_id for b in records if b.status == booking_pb2.BOOKING_STATUS_CONFIRMED)
        if won[0]:
            assert mine == [f"race-loop-{r}/segment-0", f"race-loop-{r}/segment-1"]
        else:
            assert mine == [f"race-plain-{r}"]
            assert "segments[1] (design)" in (outcomes[0].details() or "")  # type: ignore[union-attr]


def test_check_sequence_in_conflict_mode_shows_details_only_to_the_calendar_owner(world: World) -> None:
    only_alice = sequence(segment(rules(member("alice")), "coding"), segment(rules(member("bob"), minutes=30), "chat"))
    for api_key, visible in (("", False), (ALICE_KEY, True)):
        checked = world.stub.CheckSequence(check_sequence(only_alice, at(10)),
                                           metadata=key(api_key) if api_key else key(), timeout=10)
        assert not checked.available and checked.reason == "conflicts: busy"
        coding, chat = checked.option.segments
        assert checked.option.conflict_cost == 100.0 and coding.slot.conflict_cost == 100.0
        (conflict,) = coding.slot.conflicts
        assert conflict.resource_id == "alice" and conflict.HasField("details") is visible
        assert (conflict.details.title == "Board prep") is visible
        assert (b"Board prep" in checked.SerializeToString()) is visible
        assert list(chat.slot.conflicts) == []
    found = world.stub.FindSequences(find_sequences(only_alice, start=at(9), end=at(12), want_alternatives=True,
                                                    max_alternatives=2), metadata=key(), timeout=10)
    assert [o.start.ToDatetime() for o in found.alternatives] == [at(9, 15).replace(tzinfo=None),
                                                                  at(9, 30).replace(tzinfo=None)]
    assert all(o.conflict_cost == 100.0 for o in found.alternatives)
    assert [o.start.ToDatetime() for o in found.options] == [at(9).replace(tzinfo=None)]


def test_a_loop_template_from_the_configuration_with_overrides(world: World) -> None:
    onsite = sequences_pb2.LoopTemplateRef(template_id="onsite")
    found = world.stub.FindSequences(api.FindSequencesRequest(template=onsite, time_zone="UTC", page_size=1,
                                                              window_start=_ts(at(9)), window_end=_ts(at(17)),
                                                              now=_ts(booking_world.NOW)), metadata=key(), timeout=10)
    (first,) = found.options
    assert [s.label for s in first.segments] == ["coding", "chat"]
    coding, chat = first.segments
    assert chat.slot.end.ToDatetime() - chat.slot.start.ToDatetime() == timedelta(minutes=30)
    assert [f.label for f in coding.slot.seats] == ["host", "engineer", "room"]
    # Overrides: at least a 10-minute gap.
    longer = sequences_pb2.LoopTemplateRef(template_id="onsite", overrides=sequences_pb2.SequenceRules(
        min_gap=_span(10), max_gap=_span(15)))
    gapped = world.stub.FindSequences(api.FindSequencesRequest(template=longer, time_zone="UTC", page_size=1,
                                                               window_start=_ts(at(9)), window_end=_ts(at(17)),
                                                               now=_ts(booking_world.NOW)), metadata=key(), timeout=10)
    assert gapped.options[0].gap_minutes >= 10
    unknown = api.FindSequencesRequest(template=sequences_pb2.LoopTemplateRef(template_id="nope"), time_zone="UTC",
                                       window_start=_ts(at(9)), window_end=_ts(at(17)))
    assert _fields(_error(world.stub.FindSequences, unknown, grpc.StatusCode.NOT_FOUND)) == {"template.template_id"}
    bad = sequences_pb2.LoopTemplateRef(template_id="onsite", overrides=sequences_pb2.SequenceRules(
        min_gap=_span(20), max_gap=_span(10)))
    request = api.FindSequencesRequest(template=bad, time_zone="UTC", window_start=_ts(at(9)), window_end=_ts(at(17)))
    assert _fields(_error(world.stub.FindSequences, request, grpc.StatusCode.INVALID_ARGUMENT)) == {
        "template.overrides.max_gap"}


def _ts(instant: datetime) -> timestamp_pb2.Timestamp:
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(instant)
    return ts


def _span(minutes: int) -> duration_pb2.Duration:
    d = duration_pb2.Duration()
    d.FromTimedelta(timedelta(minutes=minutes))
    return d
