"""Pure conversions: field paths, template overrides, wire-level checks, privacy, page tokens."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, time, timedelta

import pytest

from bench.scenarios import panel_4w
from convene.v1 import directory_pb2, meeting_pb2
from server.calendars.privacy import visible_details
from server.wire import paging
from server.wire import slots as convert
from solver import BusyKind, Conflict, EventDetails, InvalidRequest, LimitExceeded, Order, UnknownResource
from solver.errors import FieldViolation
from tests.server.conftest import NOW, hours
from tests.server.messages import find, member, pool, room, rules

INLINE = convert.FieldPaths("rules", {"window_end": "window_end", "max_results": "page_size"})
TEMPLATE = convert.FieldPaths("template.overrides", {})


@pytest.mark.parametrize(("paths", "solver_path", "wire_path"), [
    (INLINE, "seats[1].candidates[0]", "rules.seats[1].member.candidates[0]"),
    (INLINE, "seats[0].pool_id", "rules.seats[0].pool.pool_id"),
    (INLINE, "seats[0].count", "rules.seats[0].pool.count"),
    (INLINE, "seats[2].rooms[1]", "rules.seats[2].room.room_ids[1]"),
    (INLINE, "seats[2].pools[0]", "rules.seats[2].room.pool_ids[0]"),
    (INLINE, "seats[3]", "rules.seats[3]"),
    (INLINE, "seats", "rules.seats"),
    (INLINE, "optional_members[2]", "rules.optional_member_ids[2]"),
    (INLINE, "resolution", "rules.resolution_minutes"),
    (INLINE, "start_interval", "rules.start_interval_minutes"),
    (INLINE, "weights.room_fit", "rules.weights.room_fit"),
    (INLINE, "window_end", "window_end"),
    (INLINE, "max_results", "page_size"),
    (INLINE, "something_new", "something_new"),
    (TEMPLATE, "duration", "template.overrides.duration"),
])
def test_solver_paths_become_wire_paths(paths: convert.FieldPaths, solver_path: str, wire_path: str) -> None:
    assert paths.proto_path(solver_path) == wire_path


def test_solver_errors_are_reraised_with_wire_paths() -> None:
    for raised, check in (
        (InvalidRequest([FieldViolation("resolution", "bad")]),
         lambda e: [v.field for v in e.violations] == ["rules.resolution_minutes"]),
        (UnknownResource("seats[0].candidates[1]", "x"), lambda e: e.field == "rules.seats[0].member.candidates[1]"),
        (LimitExceeded("seats", "max_seats", 2, 3), lambda e: (e.field, e.limit_name) == ("rules.seats", "max_seats")),
    ):
        with pytest.raises(type(raised)) as caught, INLINE.solver_errors():
            raise raised
        assert check(caught.value)


def test_overrides_replace_only_the_fields_they_set() -> None:
    base = rules(member("alice", "bob"), pool("engineers"), duration=hours(1), start_interval_minutes=30,
                 optional_member_ids=["erin"], weights=meeting_pb2.Weights(alternate=5, room_fit=2))
    base.buffer_after.FromTimedelta(timedelta(minutes=10))
    overrides = meeting_pb2.MeetingRules(seats=[room("small")], customers=0,
                                         weights=meeting_pb2.Weights(room_fit=0))
    overrides.buffer_after.FromTimedelta(timedelta(0))  # a zero that must still override
    merged = convert.merge_overrides(base, overrides)
    assert [s.WhichOneof("kind") for s in merged.seats] == ["room"]
    assert merged.HasField("customers") and merged.customers == 0
    assert merged.buffer_after.ToTimedelta() == timedelta(0)
    assert (merged.weights.alternate, merged.weights.room_fit) == (5, 0)
    assert merged.start_interval_minutes == 30 and list(merged.optional_member_ids) == ["erin"]
    assert merged.duration.ToTimedelta() == hours(1)
    assert len(base.seats) == 2, "the template itself is untouched"


def test_a_request_becomes_the_solver_request_with_defaults() -> None:
    request = find(rules(member("alice"), duration=hours(0.5),
                         preferred_hours=directory_pb2.DayRange(start_minute=600, end_minute=1440)),
                   page_size=10)
    query = convert.slot_query(request, {}, now=datetime(2000, 1, 1, tzinfo=UTC))
    slot_request = query.request
    assert slot_request.now == NOW  # the request's own `now` wins over the server clock
    assert (slot_request.resolution, slot_request.start_interval, slot_request.customers) == (5, 15, 1)
    assert slot_request.preferred_hours == (time(10), time.max)
    assert (slot_request.max_results, slot_request.page_offset) == (10, 0)
    request.ClearField("now")
    assert convert.slot_query(request, {}, now=NOW + hours(1)).request.now == NOW + hours(1)


def test_wire_problems_are_all_reported_with_paths() -> None:
    request = find(rules(meeting_pb2.Seat(), member("alice"),
                         preferred_hours=directory_pb2.DayRange(start_minute=700, end_minute=600)))
    request.rules.ClearField("duration")
    request.window_end.seconds = 10**13
    with pytest.raises(InvalidRequest) as caught:
        convert.slot_query(request, {}, now=NOW)
    assert {v.field for v in caught.value.violations} == {
        "rules.seats[0]", "rules.duration", "rules.preferred_hours", "window_end"}


def test_details_are_visible_only_to_the_owner() -> None:
    details = EventDetails("1:1", "evt", "Room 1")
    conflict = Conflict("alice", NOW, NOW + hours(1), BusyKind.BUSY, "alice@x", details)
    assert visible_details(conflict, "alice@x") == details
    assert visible_details(conflict, "bob@x") is None
    assert visible_details(conflict, "") is None
    assert visible_details(Conflict("room", NOW, NOW, BusyKind.BUSY, "", details), "") is None


def test_page_tokens_round_trip_and_refuse_other_requests() -> None:
    fp = paging.fingerprint(find(rules(member("alice"))))
    assert paging.fingerprint(find(rules(member("alice")), page_size=7, page_token="x")) == fp
    assert paging.decode(paging.encode(40, fp), fp) == 40
    assert paging.decode("", fp) == 0
    with pytest.raises(paging.InvalidPageToken):
        paging.decode(paging.encode(40, fp), paging.fingerprint(find(rules(member("bob")))))
    with pytest.raises(paging.InvalidPageToken):
        paging.decode("%%%", fp)


def test_a_solver_request_round_trips_through_the_wire() -> None:
    _, _, request, _ = panel_4w(seed=0)
    for original in (
        dataclasses.replace(request, now=NOW),
        dataclasses.replace(request, now=NOW, preferred_hours=(time(10), time.max), customers=0, max_results=5,
                            buffer_before=timedelta(minutes=5), order=Order.BEST_FIRST),
    ):
        assert convert.slot_query(convert.slot_request_to_proto(original), {}, now=NOW).request == original
    # Without `now` there is no notice rule; the wire says so with the earliest `now` that cuts nothing.
    unset = dataclasses.replace(request, now=None, minimum_notice=timedelta(hours=2))
    back = convert.slot_query(convert.slot_request_to_proto(unset), {}, now=NOW).request
    assert back == dataclasses.replace(unset, now=unset.window_start - timedelta(hours=2))
