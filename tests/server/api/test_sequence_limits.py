"""Sequences (FindSequences, CheckSequence, BookSequence) under bad input and over the limits,
over the wire, as SCHEDULING.md "Limits and bad input" says for every RPC.

- Every problem at once: a sequence whose gaps, zone and one segment's duration are all wrong
  gets three field violations (before: only the gaps; the sequence's own problems hid every
  segment's, and segment k's hid segment k+1's).
- Gaps are multiples of the resolution (the proto's SequenceRules), else INVALID_ARGUMENT
  (before: a 7-minute max_gap at 5-minute resolution was taken as 5).
- Work over the limit: the (order, gaps) combinations times the first starts grow as n! times
  gaps^(n-1); past ``max_sequence_candidates`` the request is RESOURCE_EXHAUSTED naming the
  limit, at once (before: eight segments in any order with an hour of gaps ran for hours and
  gigabytes, deadline or not).
- A short deadline ends the search on time and frees the server (before: the work before the
  search's first deadline check, per combination, took seconds past the call's deadline,
  holding the server's only worker), and CheckSequence never says "not available" for a first
  start the deadline left undecided.
"""

from __future__ import annotations

import time
from datetime import timedelta

import grpc
import pytest
from google.rpc import error_details_pb2

from convene.v1 import scheduling_service_pb2_grpc as api_grpc
from server.api.app import create_server
from server.calendars.busy import MemoryCalendars
from server.tenants import Tenant
from tests.server.api.conftest import BookingServer
from tests.server.api.test_deadline import SLACK, crowded_team
from tests.server.api.test_hostile_input import failure, fields, rich
from tests.server.conftest import MONDAY, NOW, hours, key, team_config
from tests.server.messages import (
    book_sequence,
    check_sequence,
    find,
    find_sequences,
    member,
    pool,
    rules,
    segment,
    sequence,
)


def test_every_problem_of_a_sequence_is_reported_at_once(booking_server: BookingServer) -> None:
    stub = booking_server.stub
    three = sequence(segment(rules(member("alice"), duration=timedelta(0))), segment(rules(member("bob"))),
                     segment(rules(member("carol"), duration=timedelta(minutes=-30))),
                     min_gap=timedelta(minutes=20), max_gap=timedelta(minutes=10))
    want = {"rules.max_gap", "time_zone", "rules.segments[0].rules.duration", "rules.segments[2].rules.duration"}
    for call in (lambda: stub.FindSequences(find_sequences(three, zone="Mars/Olympus"), metadata=key()),
                 lambda: stub.CheckSequence(check_sequence(three, MONDAY + hours(9), zone="Mars/Olympus"),
                                            metadata=key())):
        error = failure(call)
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        bad = rich(error)["BadRequest"]
        assert isinstance(bad, error_details_pb2.BadRequest)
        # One violation per problem: the zone, checked with every segment's rules, once.
        assert sorted(v.field for v in bad.field_violations) == sorted(want)
    booking = book_sequence("limits-1", three, [(MONDAY + hours(9), [["alice"]]), (MONDAY + hours(10), [["bob"]]),
                                                (MONDAY + hours(11), [["carol"]])], zone="Mars/Olympus")
    error = failure(lambda: stub.BookSequence(booking, metadata=key()))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert want <= set(fields(error))
    # No segments at all: the zone is still checked.
    empty = find_sequences(sequence(), zone="Mars/Olympus")
    assert set(fields(failure(lambda: stub.FindSequences(empty, metadata=key())))) == {"rules.segments", "time_zone"}


@pytest.mark.parametrize(("gap", "field"), [("min_gap", "rules.min_gap"), ("max_gap", "rules.max_gap")])
def test_gaps_off_the_resolution_are_invalid_arguments(booking_server: BookingServer, gap: str, field: str) -> None:
    gaps = {"min_gap": timedelta(0), "max_gap": timedelta(minutes=20), gap: timedelta(minutes=7)}
    loop = sequence(segment(rules(member("alice"))), segment(rules(member("bob"))), **gaps)  # type: ignore[arg-type]
    found = fields(failure(lambda: booking_server.stub.FindSequences(find_sequences(loop), metadata=key())))
    assert set(found) == {field} and "multiple of the resolution (5 minutes)" in found[field]
    # On a 1-minute grid the same gap is fine.
    loop.resolution_minutes = 1
    booking_server.stub.FindSequences(find_sequences(loop, end=MONDAY + hours(12)), metadata=key(), timeout=30)


def test_a_sequence_over_the_candidate_limit_is_resource_exhausted_at_once(booking_server: BookingServer) -> None:
    eight = sequence(*(segment(rules(member(m), duration=timedelta(minutes=30)))
                       for m in ("alice", "bob", "carol", "dan", "erin", "alice", "bob", "carol")),
                     any_order=True, max_gap=timedelta(hours=1), allow_member_repeat=True)
    for call in (lambda: booking_server.stub.FindSequences(find_sequences(eight), metadata=key(), timeout=30),
                 lambda: booking_server.stub.CheckSequence(check_sequence(eight, MONDAY + hours(9)), metadata=key(),
                                                           timeout=30)):
        started = time.monotonic()
        error = failure(call)
        assert time.monotonic() - started < 2.0
        assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, error.details()
        assert "max_sequence_candidates" in (error.details() or "")
        assert set(fields(error)) == {"rules.max_gap"}
    # One first start (CheckSequence) of four segments in any order: well inside the limit.
    four = sequence(*(segment(rules(member(m), duration=timedelta(minutes=30)))
                      for m in ("alice", "bob", "dan", "erin")), any_order=True, max_gap=timedelta(minutes=30))
    checked = booking_server.stub.CheckSequence(check_sequence(four, MONDAY + hours(9)), metadata=key(), timeout=30)
    assert checked.available and not checked.partial


def test_a_short_deadline_ends_a_sequence_search_on_time_and_frees_the_server() -> None:
    directory, busy = crowded_team()
    server, port = create_server(team_config(worker_threads=1), "127.0.0.1:0", clock=lambda: NOW,
                                 tenants={"team": Tenant("team", directory, {}, MemoryCalendars(busy))})
    server.start()
    # Five 45-minute segments in any order with 0-15 minutes between them, sharing two pools:
    # 30,720 (order, gaps) combinations per first start; seconds to solve.
    panel = [rules(pool("p0", 2), pool("p1", 2), pool(f"p{2 + k % 2}"), duration=timedelta(minutes=45))
             for k in range(5)]
    loop = sequence(*map(segment, panel), any_order=True, max_gap=timedelta(minutes=15), allow_member_repeat=True)
    small = sequence(segment(rules(member("m1"))), segment(rules(member("m2"))), max_gap=timedelta(hours=2))
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = api_grpc.SchedulingServiceStub(channel)
            for call, request in ((stub.FindSequences, find_sequences(loop, start=MONDAY + hours(8),
                                                                      end=MONDAY + hours(20))),
                                  (stub.CheckSequence, check_sequence(loop, MONDAY + hours(9)))):
                for deadline in (0.2, 1.0):
                    started = time.monotonic()
                    try:
                        reply = call(request, metadata=key(), timeout=deadline)
                    except grpc.RpcError as exc:
                        assert exc.code() == grpc.StatusCode.DEADLINE_EXCEEDED, exc.details()
                    else:
                        assert reply.partial, "a reply within a second of a seconds-long search must be partial"
                        assert getattr(reply, "available", True), "an undecided first start is not 'unavailable'"
                    assert time.monotonic() - started < deadline + SLACK
                    # One worker thread: this small call is served only once the big search has stopped.
                    started = time.monotonic()
                    found = stub.FindSequences(find_sequences(small, end=MONDAY + hours(12)), metadata=key(),
                                               timeout=10)
                    assert found.options and not found.partial
                    assert time.monotonic() - started < 1.0, "the deadline-bound search kept the worker busy"
    finally:
        server.stop(None)


def test_labels_of_a_megabyte_are_invalid_arguments_not_a_reply_too_large(booking_server: BookingServer) -> None:
    """Labels are echoed in every slot and option: a megabyte one made a 30 MB reply, which the
    client refused (RESOURCE_EXHAUSTED without details) after the server had built it."""
    big = "é" * 500_000
    stub = booking_server.stub
    loop = sequence(segment(rules(member("alice")), big), segment(rules(member("bob", label=big))))
    found = fields(failure(lambda: stub.FindSequences(find_sequences(loop), metadata=key(), timeout=30)))
    assert set(found) == {"rules.segments[0].label", "rules.segments[1].rules.seats[0].label"}
    assert "at most 100 characters" in found["rules.segments[0].label"]
    slots = find(rules(member("alice", label=big)))
    assert set(fields(failure(lambda: stub.FindSlots(slots, metadata=key(), timeout=30)))) == {"rules.seats[0].label"}
