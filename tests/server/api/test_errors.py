"""Every bad request gets its status code and its field violations, over the wire."""

from __future__ import annotations

from collections.abc import Callable

import grpc
import pytest
from google.protobuf.message import Message
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from convene.v1 import meeting_pb2
from convene.v1 import scheduling_service_pb2 as api
from convene.v1 import scheduling_service_pb2_grpc as api_grpc
from server.api.app import create_server
from server.calendars.busy import FetchedBusy
from server.tenants import Tenant
from tests.server.conftest import MONDAY, NOW, TEAM, Served, hours, key, team_config, utc
from tests.server.messages import find, member, pool, room, rules


def details(error: grpc.RpcError) -> list[Message]:
    status = rpc_status.from_call(error)
    assert status is not None, "rich status details expected"
    found: list[Message] = []
    for any_detail in status.details:
        for kind in (error_details_pb2.BadRequest, error_details_pb2.ResourceInfo, error_details_pb2.ErrorInfo,
                     error_details_pb2.RequestInfo):
            if any_detail.Is(kind.DESCRIPTOR):
                message = kind()
                any_detail.Unpack(message)
                found.append(message)
    return found


def violations(error: grpc.RpcError) -> dict[str, str]:
    return {v.field: v.description for d in details(error) if isinstance(d, error_details_pb2.BadRequest)
            for v in d.field_violations}


def failure(call: Callable[[], object]) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return caught.value


def bad_find(served: Served, request: api.FindSlotsRequest) -> grpc.RpcError:
    return failure(lambda: served.stub.FindSlots(request, metadata=key()))


@pytest.mark.parametrize(("request_", "field", "words"), [
    (find(rules(member("alice")), zone="Mars/Olympus_Mons"), "time_zone", "IANA"),
    (find(rules(member("alice")), start=MONDAY, end=MONDAY - hours(1)), "window_end", "after window_start"),
    (find(rules(member("alice"), duration=hours(-1))), "rules.duration", "positive"),
    (find(rules(member("alice"), duration=hours(0))), "rules.duration", "positive"),
    (find(rules(member("alice"), resolution_minutes=7)), "rules.resolution_minutes", "divisor of 60"),
    (find(rules(member("alice"), start_interval_minutes=0)), "rules.start_interval_minutes", "divisor"),
    (find(rules(member())), "rules.seats[0].member.candidates", "at least one"),
    (find(rules(member("alice", "alice"))), "rules.seats[0].member.candidates", "twice"),
    (find(rules(pool("engineers", count=4))), "rules.seats[0].pool.count", "only 3"),
    (find(rules(member("alice"), meeting_pb2.Seat(label="nothing"))), "rules.seats[1]", "member, pool, room"),
    (find(rules(member("alice"), customers=-1)), "rules.customers", "negative"),
    (find(rules(member("alice")), page_size=-1), "page_size", "negative"),
    (find(rules(member("alice")), page_token="not-a-token"), "page_token", "token"),
    (find(meeting_pb2.TemplateRef(template_id="interview", overrides=rules(duration=hours(-2)))),
     "template.overrides.duration", "positive"),
    (api.FindSlotsRequest(time_zone="UTC"), "rules", "rules or template"),
])
def test_invalid_argument_names_the_field(served: Served, request_: api.FindSlotsRequest, field: str,
                                          words: str) -> None:
    error = bad_find(served, request_)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    found = violations(error)
    assert field in found, found
    assert words in found[field]


def test_every_problem_is_reported_at_once(served: Served) -> None:
    request = find(rules(member("alice"), duration=hours(-1), resolution_minutes=7), zone="Nowhere/Land")
    request.ClearField("window_start")
    found = violations(bad_find(served, request))
    assert set(found) == {"window_start"}  # a missing timestamp is caught on the wire, before the rules
    request.window_start.CopyFrom(request.window_end)
    request.window_start.seconds -= 3600 * 24
    found = violations(bad_find(served, request))
    assert {"time_zone", "rules.duration", "rules.resolution_minutes"} <= set(found)


@pytest.mark.parametrize(("request_", "field", "resource_type", "name"), [
    (find(rules(member("alice"), member("mallory", "bob"))), "rules.seats[1].member.candidates[0]", "member",
     "mallory"),
    (find(rules(pool("nobody"))), "rules.seats[0].pool.pool_id", "pool", "nobody"),
    (find(rules(room("attic"))), "rules.seats[0].room.room_ids[0]", "room", "attic"),
    (find(rules(member("alice"), optional_member_ids=["ghost"])), "rules.optional_member_ids[0]", "member",
     "ghost"),
    (find(meeting_pb2.TemplateRef(template_id="tea-party")), "template.template_id", "template", "tea-party"),
])
def test_unknown_ids_are_not_found(served: Served, request_: api.FindSlotsRequest, field: str,
                                   resource_type: str, name: str) -> None:
    error = bad_find(served, request_)
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert field in violations(error)
    [info] = [d for d in details(error) if isinstance(d, error_details_pb2.ResourceInfo)]
    assert (info.resource_type, info.resource_name) == (resource_type, name)


def test_get_member_of_an_unknown_id_is_not_found(served: Served) -> None:
    error = failure(lambda: served.stub.GetMember(api.GetMemberRequest(member_id="mallory"), metadata=key()))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert "member_id" in violations(error)


@pytest.mark.parametrize(("request_", "limit", "field"), [
    (find(rules(*(member(m) for m in ("alice", "bob", "carol", "dan", "erin")), pool("engineers"),
                room("large"))), "max_seats", "rules.seats"),
    (find(rules(member("alice")), end=MONDAY + hours(24 * 40)), "max_horizon_days", "window_end"),
    (find(rules(member("alice")), page_size=501), "max_results", "page_size"),
])
def test_work_over_a_limit_names_the_limit(served: Served, request_: api.FindSlotsRequest, limit: str,
                                           field: str) -> None:
    error = bad_find(served, request_)
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert limit in error.details()
    [info] = [d for d in details(error) if isinstance(d, error_details_pb2.ErrorInfo)]
    assert (info.reason, info.metadata["limit"], info.metadata["field"]) == ("LIMIT_EXCEEDED", limit, field)
    assert field in violations(error)


def test_errors_carry_the_callers_request_id(served: Served) -> None:
    error = failure(lambda: served.stub.FindSlots(find(rules(member("mallory"))),
                                                  metadata=(*key(), ("x-request-id", "req-42"))))
    assert [d.request_id for d in details(error) if isinstance(d, error_details_pb2.RequestInfo)] == ["req-42"]


class _BrokenCalendars:
    def busy(self, *args: object, **kwargs: object) -> FetchedBusy:
        raise RuntimeError("secret internal state /srv/creds")


def test_a_stray_exception_is_internal_with_a_request_id_never_unknown() -> None:
    config = team_config()
    server, port = create_server(config, "127.0.0.1:0",
                                 tenants={"team": Tenant("team", TEAM, {}, _BrokenCalendars())}, clock=lambda: NOW)
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = api_grpc.SchedulingServiceStub(channel)
            error = failure(lambda: stub.FindSlots(find(rules(member("alice")), end=utc(2026, 12, 8)),
                                                   metadata=key()))
    finally:
        server.stop(None)
    assert error.code() == grpc.StatusCode.INTERNAL
    [info] = [d for d in details(error) if isinstance(d, error_details_pb2.RequestInfo)]
    assert info.request_id and info.request_id in error.details()
    assert "secret" not in error.details() and "/srv" not in error.details()
