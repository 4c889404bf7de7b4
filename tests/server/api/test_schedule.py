"""GetSchedule over gRPC: free/busy per resource, details only for the calendar's owner."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import grpc
import pytest

from convene.v1 import schedule_pb2, slots_pb2
from convene.v1 import scheduling_service_pb2_grpc as api_grpc
from server.api.app import create_server
from server.calendars.busy import MemoryCalendars
from server.tenants import Tenant
from tests.server.api.test_errors import failure, violations
from tests.server.conftest import ALICE_KEY, MONDAY, NOW, OPS_KEY, TEAM, TEAM_BUSY, Served, key, team_config, utc


def schedule(*ids: str, start: datetime = MONDAY + timedelta(hours=9), end: datetime = MONDAY + timedelta(hours=17),
             minutes: int = 60) -> schedule_pb2.GetScheduleRequest:
    request = schedule_pb2.GetScheduleRequest(resource_ids=ids, interval_minutes=minutes)
    request.window_start.FromDatetime(start)
    request.window_end.FromDatetime(end)
    return request


def test_each_resource_gets_its_items_view_and_hours(served: Served) -> None:
    reply = served.stub.GetSchedule(schedule("alice", "bob", "large", "erin"), metadata=key())
    alice, bob, large, erin = reply.schedules
    assert [s.resource_id for s in reply.schedules] == ["alice", "bob", "large", "erin"]
    # Alice: busy 10-11, tentative 14:00-14:30; Bob out of office 9-12; the large room busy 9-10.
    assert alice.availability_view == "02000100"
    assert bob.availability_view == "33300000"
    assert large.availability_view == "20000000"
    assert erin.availability_view == "00000000" and not erin.items
    assert [(i.kind, i.start.ToDatetime(tzinfo=UTC)) for i in alice.items] == [
        (slots_pb2.CONFLICT_KIND_BUSY, utc(2026, 12, 7, 10)), (slots_pb2.CONFLICT_KIND_TENTATIVE, utc(2026, 12, 7, 14))]
    assert [(h.start.ToDatetime(tzinfo=UTC), h.end.ToDatetime(tzinfo=UTC)) for h in alice.working_hours] == [
        (utc(2026, 12, 7, 9), utc(2026, 12, 7, 17))]
    assert not alice.HasField("unavailable")


def test_details_only_for_the_owner_and_not_in_the_bytes_for_anyone_else(served: Served) -> None:
    request = schedule("alice", "bob")
    as_ops = served.stub.GetSchedule(request, metadata=key(OPS_KEY))
    as_alice = served.stub.GetSchedule(request, metadata=key(ALICE_KEY))
    assert not any(i.HasField("details") for s in as_ops.schedules for i in s.items)
    assert b"Board prep" not in as_ops.SerializeToString() and b"Dentist" not in as_ops.SerializeToString()
    assert [i.details.title for i in as_alice.schedules[0].items] == ["Board prep", "Maybe lunch talk"]
    assert not any(i.HasField("details") for i in as_alice.schedules[1].items)  # Bob's calendar is Bob's


def test_an_unreadable_calendar_is_busy_all_window_and_named() -> None:
    config = team_config()
    tenants = {"team": Tenant("team", TEAM, calendars=MemoryCalendars(TEAM_BUSY, {"bob": "timed out"}))}
    server, port = create_server(config, "127.0.0.1:0", tenants=tenants, clock=lambda: NOW)
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            reply = api_grpc.SchedulingServiceStub(channel).GetSchedule(schedule("alice", "bob"), metadata=key())
    finally:
        server.stop(None)
    assert reply.schedules[1].unavailable.reason == "timed out"
    assert reply.schedules[1].availability_view == "22222222"
    assert not reply.schedules[0].HasField("unavailable")


@pytest.mark.parametrize(("request_", "code", "field"), [
    (schedule(), grpc.StatusCode.INVALID_ARGUMENT, "resource_ids"),
    (schedule("alice", minutes=7), grpc.StatusCode.INVALID_ARGUMENT, "interval_minutes"),
    (schedule_pb2.GetScheduleRequest(resource_ids=["alice"]), grpc.StatusCode.INVALID_ARGUMENT, "window_start"),
    (schedule("alice", "zoe"), grpc.StatusCode.NOT_FOUND, "resource_ids[1]"),  # another tenant's member
    (schedule("alice", end=MONDAY + timedelta(days=40)), grpc.StatusCode.RESOURCE_EXHAUSTED, "window_end"),
])
def test_bad_requests_name_the_field(served: Served, request_: schedule_pb2.GetScheduleRequest,
                                     code: grpc.StatusCode, field: str) -> None:
    error = failure(lambda: served.stub.GetSchedule(request_, metadata=key()))
    assert error.code() == code
    assert field in violations(error)
