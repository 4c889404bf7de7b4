"""FindSequences over the real gRPC server against ``find_sequences`` in-process.

Random loops over the team of tests/server/booking_world.py (2 or 3 segments of
30 or 60 minutes; member seats with alternates, the ``engineers`` pool, rooms;
fixed or any order; gaps; member repeats allowed or not) and a random window on
Monday, with a plain booking or two made first through CreateBooking: the
server's reply must list the same first starts, in the same order, with the same
costs, segment times and people as ``find_sequences`` on the same directory, the
same busy time (the tenant's calendars, read in-process) and the same
confirmed bookings. The request is built twice, once as proto and once as
solver types, so the wire conversion is checked too. SQLite only: the store's
backend plays no part in finding.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convene.v1 import meeting_pb2, sequences_pb2
from server.calendars.busy import busy_span, resources_of
from solver import MemberSeat, PoolSeat, RoomSeat, Seat
from solver.sequences import Segment, SequenceRequest, find_sequences, segment_request
from tests.server.booking.store.helpers import SmtpSink
from tests.server.booking_world import (
    NOW,
    World,
    at,
    close_world,
    create_request,
    key,
    member,
    room,
    rules,
    serve_world,
)
from tests.server.messages import find_sequences as find_request
from tests.server.messages import segment, sequence

EXAMPLES = 25
MEMBERS = ("alice", "bob", "carol", "dan")


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("team")
    served = serve_world(folder, f"sqlite:///{folder / 'bookings.sqlite3'}", SmtpSink(), None)
    for i, (who, hour) in enumerate((("bob", 13), ("carol", 9), ("small", 14))):
        seats = [[who]]
        meeting = rules(room(who) if who == "small" else member(who), minutes=45)
        request = create_request(f"plain-{i}", at(hour), seats, meeting=meeting, organizer_member_id="alice")
        served.stub.CreateBooking(request, metadata=key(), timeout=10)
    try:
        yield served
    finally:
        close_world(served)


@st.composite
def seat(draw: st.DrawFn) -> tuple[meeting_pb2.Seat, Seat]:
    kind = draw(st.sampled_from(("member", "pool", "room")))
    if kind == "member":
        people = tuple(draw(st.lists(st.sampled_from(MEMBERS), min_size=1, max_size=3, unique=True)))
        return member(*people), MemberSeat(people)
    if kind == "pool":
        return meeting_pb2.Seat(pool=meeting_pb2.PoolSeat(pool_id="engineers", count=1)), PoolSeat("engineers", 1)
    rooms = tuple(draw(st.lists(st.sampled_from(("small", "large")), min_size=1, max_size=2, unique=True)))
    return room(*rooms), RoomSeat(rooms)


@st.composite
def loops(draw: st.DrawFn) -> tuple[sequences_pb2.SequenceRules, dict[str, Any]]:
    protos, segments = [], []
    for k in range(draw(st.integers(2, 3))):
        minutes = draw(st.sampled_from((30, 60)))
        drawn = draw(st.lists(seat(), min_size=1, max_size=2))
        kinds = [type(s) for _, s in drawn]
        if kinds.count(RoomSeat) > 1:
            drawn = drawn[:1]
        protos.append(segment(rules(*(p for p, _ in drawn), minutes=minutes), f"s{k}"))
        segments.append(Segment(timedelta(minutes=minutes), tuple(s for _, s in drawn), label=f"s{k}"))
    any_order = draw(st.booleans())
    max_gap = timedelta(minutes=draw(st.sampled_from((0, 10, 15))))
    repeat = draw(st.booleans())
    message = sequence(*protos, max_gap=max_gap, any_order=any_order, allow_member_repeat=repeat)
    fields = {"segments": tuple(segments), "any_order": any_order, "max_gap": max_gap, "allow_member_repeat": repeat}
    return message, fields


@given(loop=loops(), first_hour=st.integers(8, 12), hours=st.integers(3, 6))
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_server_answers_as_find_sequences_in_process(team: World, loop: Any, first_hour: int,
                                                         hours: int) -> None:
    message, fields = loop
    start, end = at(first_hour), at(first_hour) + timedelta(hours=hours)
    reply = team.stub.FindSequences(find_request(message, start=start, end=end), metadata=key(), timeout=30)

    tenant = team.running.tenants["team"]
    request = SequenceRequest(window_start=start, window_end=end, time_zone="UTC", now=NOW, **fields)
    ids: set[str] = set()
    lo, hi = start, end
    for k in range(len(request.segments)):
        part = segment_request(request, k)
        ids |= resources_of(part, tenant.directory)
        a, b = busy_span(part)
        lo, hi = min(lo, a), max(hi, b)
    busy = tenant.calendars.busy(ids, lo, hi).busy
    want = find_sequences(tenant.directory, busy, request, tenant.bookings.confirmed(lo, hi))

    assert not reply.partial and want.complete
    assert reply.total_available == want.total_available
    assert [o.start.ToDatetime() for o in reply.options] == [o.start.replace(tzinfo=None) for o in want.options]
    for got, expected in zip(reply.options, want.options, strict=True):
        assert abs(got.cost - expected.cost) < 1e-9 and got.gap_minutes == expected.gap_minutes
        assert [(s.segment_index, s.slot.start.ToDatetime(), [list(f.resource_ids) for f in s.slot.seats])
                for s in got.segments] == [
            (s.segment_index, s.start.replace(tzinfo=None), [list(f.resource_ids) for f in s.assignment.seats])
            for s in expected.segments]


def test_the_instances_are_not_all_empty(team: World) -> None:
    """The plain bookings are in place and a simple loop has options (else the comparison says little)."""
    message = sequence(segment(rules(member("alice", "bob"))), segment(rules(member("carol", "dan"))))
    reply = team.stub.FindSequences(find_request(message, start=at(9), end=at(17)), metadata=key(), timeout=30)
    assert reply.total_available > 3
    assert Path(team.database_url.removeprefix("sqlite:///")).exists()
