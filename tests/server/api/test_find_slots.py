"""FindSlots and CheckTime over a real server equal what the solver answers in process."""

from __future__ import annotations

from datetime import UTC, time, timedelta

import grpc
import pytest

from convene.v1 import directory_pb2, meeting_pb2, slots_pb2
from convene.v1 import scheduling_service_pb2 as api
from convene.v1 import scheduling_service_pb2_grpc as api_grpc
from server.api.app import create_server
from server.calendars.busy import MemoryCalendars
from server.tenants import Tenant
from server.wire import slots as convert
from solver import MemberSeat, SlotRequest, find_slots
from solver.domain import Slot
from tests.server.conftest import (
    ALICE_KEY,
    MONDAY,
    NOW,
    TEAM,
    TEAM_BUSY,
    Served,
    hours,
    key,
    team_config,
    utc,
)
from tests.server.messages import check, find, member, pool, room, rules


def domain_view(slot: Slot) -> tuple[object, ...]:
    return (slot.start, slot.end, tuple(f.resource_ids for f in slot.assignment.seats),
            round(slot.cost, 6), slot.free_candidates, tuple((o.member_id, o.free) for o in slot.optional))


def proto_view(slot: slots_pb2.Slot) -> tuple[object, ...]:
    return (slot.start.ToDatetime(tzinfo=UTC), slot.end.ToDatetime(tzinfo=UTC),
            tuple(tuple(f.resource_ids) for f in slot.seats), round(slot.cost, 6),
            tuple(tuple(c.resource_ids) for c in slot.free_candidates),
            tuple((o.member_id, o.free) for o in slot.optional_members))


def in_process(request: api.FindSlotsRequest) -> tuple[tuple[object, ...], ...]:
    query = convert.slot_query(request, {}, now=NOW)
    return tuple(domain_view(s) for s in find_slots(TEAM, TEAM_BUSY, query.request).slots)


def test_a_panel_with_alternates_matches_the_solver_built_by_hand(served: Served) -> None:
    reply = served.stub.FindSlots(find(rules(member("alice", "bob"), member("dan"))), metadata=key())
    expected = find_slots(TEAM, TEAM_BUSY, SlotRequest(
        MONDAY, MONDAY + hours(24), timedelta(hours=1), "UTC",
        (MemberSeat(("alice", "bob")), MemberSeat(("dan",))), now=NOW))
    assert [proto_view(s) for s in reply.slots] == [domain_view(s) for s in expected.slots]
    assert reply.total_available == expected.total_available > 0
    # 10:00 is Alice's board prep and Bob is at the dentist until 12: no slot; 11:00 takes Alice again.
    starts = [s.start.ToDatetime(tzinfo=UTC) for s in reply.slots]
    assert utc(2026, 12, 7, 10) not in starts
    assert utc(2026, 12, 7, 11) in starts
    assert not reply.partial and not reply.unavailable_calendars


@pytest.mark.parametrize("request_", [
    find(rules(pool("engineers", 2), room(pools=("rooms",)), customers=1)),
    find(rules(member("alice", "bob", label="host"), pool("engineers"), room("small", "large"),
               optional_member_ids=["erin"], start_interval_minutes=30)),
    find(rules(member("carol"), member("alice"), duration=hours(0.5),
               preferred_hours=directory_pb2.DayRange(start_minute=600, end_minute=720)),
         zone="Europe/Berlin", order=api.ORDER_BEST_FIRST),
    find(rules(member("alice"), buffer_before=meeting_pb2.MeetingRules().buffer_before, resolution_minutes=15,
               minimum_notice=meeting_pb2.MeetingRules().minimum_notice), start=MONDAY + hours(8),
         end=MONDAY + hours(30)),
], ids=["pool-and-room-pool", "alternates-optional", "berlin-best-first", "resolution-15"])
def test_slots_equal_the_in_process_solver(served: Served, request_: api.FindSlotsRequest) -> None:
    reply = served.stub.FindSlots(request_, metadata=key())
    assert [proto_view(s) for s in reply.slots] == list(in_process(request_))
    assert reply.slots, "each case has available starts"


def test_seat_labels_and_costs_are_reported_per_seat(served: Served) -> None:
    request = find(rules(member("alice", "bob", label="host"), room("small", "large", label="room")),
                   start=utc(2026, 12, 7, 10), end=utc(2026, 12, 7, 12))
    first = served.stub.FindSlots(request, metadata=key()).slots[0]
    # 10:00: Alice is busy and Bob out: no slot. 11:00: Alice, and the small room (its fit costs less).
    assert first.start.ToDatetime(tzinfo=UTC) == utc(2026, 12, 7, 11)
    assert [(f.label, list(f.resource_ids), f.cost) for f in first.seats] == [
        ("host", ["alice"], 0.0), ("room", ["small"], 0.0)]


def test_pages_cover_the_whole_answer_once(served: Served) -> None:
    meeting = rules(member("alice", "bob"))
    everything = served.stub.FindSlots(find(meeting), metadata=key())
    pages, token = [], ""
    while True:
        reply = served.stub.FindSlots(find(meeting, page_size=5, page_token=token), metadata=key())
        pages += [proto_view(s) for s in reply.slots]
        assert reply.total_available == everything.total_available
        token = reply.next_page_token
        if not token:
            break
    assert pages == [proto_view(s) for s in everything.slots]
    assert len(pages) > 10


def test_a_page_token_only_pages_its_own_request(served: Served) -> None:
    token = served.stub.FindSlots(find(rules(member("alice")), page_size=2), metadata=key()).next_page_token
    assert token
    with pytest.raises(grpc.RpcError) as caught:
        served.stub.FindSlots(find(rules(member("bob")), page_size=2, page_token=token), metadata=key())
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "page_token" in caught.value.details()


def test_a_template_with_overrides_equals_the_same_rules_inline(served: Served) -> None:
    overrides = rules(duration=hours(0.5))
    by_template = served.stub.FindSlots(
        find(meeting_pb2.TemplateRef(template_id="interview", overrides=overrides)), metadata=key())
    inline = served.stub.FindSlots(find(rules(
        member("alice", "bob", label="host"), pool("engineers", label="engineer"),
        room(pools=("rooms",), label="room"), duration=hours(0.5), start_interval_minutes=30)), metadata=key())
    assert [proto_view(s) for s in by_template.slots] == [proto_view(s) for s in inline.slots]
    assert by_template.slots[0].end.seconds - by_template.slots[0].start.seconds == 1800


def test_conflict_details_reach_only_the_calendar_owner(served: Served) -> None:
    # Alice alone, 10:00-11:00 Monday: only her board prep is in the way.
    request = find(rules(member("alice")), start=utc(2026, 12, 7, 10), end=utc(2026, 12, 7, 11),
                   max_alternatives=1, want_alternatives=True)
    as_alice = served.stub.FindSlots(request, metadata=key(ALICE_KEY))
    as_ops = served.stub.FindSlots(request, metadata=key())
    assert not as_alice.slots and not as_ops.slots
    [mine] = as_alice.alternatives[0].conflicts
    assert (mine.resource_id, mine.kind) == ("alice", slots_pb2.CONFLICT_KIND_BUSY)
    assert (mine.details.title, mine.details.event_id, mine.details.location) == ("Board prep", "evt-1", "Room 5")
    [theirs] = as_ops.alternatives[0].conflicts
    assert (theirs.resource_id, theirs.kind, theirs.start) == (mine.resource_id, mine.kind, mine.start)
    assert not theirs.HasField("details")
    wire = as_ops.SerializeToString()
    assert b"Board prep" not in wire and b"evt-1" not in wire and b"Room 5" not in wire


def test_check_time_answers_available_and_blocked_starts(served: Served) -> None:
    meeting = rules(member("alice", "bob"), member("dan"))
    ok = served.stub.CheckTime(check(meeting, utc(2026, 12, 7, 11)), metadata=key())
    assert ok.available
    assert [list(f.resource_ids) for f in ok.slot.seats] == [["alice"], ["dan"]]
    blocked = served.stub.CheckTime(check(rules(member("dan")), utc(2026, 12, 7, 13)), metadata=key(ALICE_KEY))
    assert not blocked.available and blocked.reason
    [conflict] = blocked.slot.conflicts
    assert conflict.resource_id == "dan" and conflict.kind == slots_pb2.CONFLICT_KIND_BUSY
    assert not conflict.HasField("details")  # Dan's calendar, Alice asking


def test_an_unreadable_calendar_makes_its_member_unavailable_never_free() -> None:
    config = team_config()
    flaky = MemoryCalendars(TEAM_BUSY, unreadable={"alice": "calendar file not found"})
    server, port = create_server(config, "127.0.0.1:0", tenants={"team": Tenant("team", TEAM, {}, flaky)},
                                 clock=lambda: NOW)
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = api_grpc.SchedulingServiceStub(channel)
            alone = stub.FindSlots(find(rules(member("alice"))), metadata=key())
            with_alternate = stub.FindSlots(find(rules(member("alice", "erin"))), metadata=key())
    finally:
        server.stop(None)
    assert not alone.slots
    assert [(u.resource_id, u.reason) for u in alone.unavailable_calendars] == [
        ("alice", "calendar file not found")]
    assert with_alternate.slots
    assert {tuple(s.seats[0].resource_ids) for s in with_alternate.slots} == {("erin",)}


def test_no_available_start_comes_with_a_diagnosis(served: Served) -> None:
    reply = served.stub.FindSlots(find(rules(member("bob")), start=utc(2026, 12, 7, 9), end=utc(2026, 12, 7, 12)),
                                  metadata=key())
    assert not reply.slots and reply.total_available == 0
    assert reply.HasField("diagnosis")
    assert reply.diagnosis.seats[0].seat_index == 0
    assert reply.diagnosis.seats[0].starts_without_candidate > 0


def test_directory_reads(served: Served) -> None:
    first = served.stub.ListMembers(api.ListMembersRequest(page_size=2), metadata=key())
    second = served.stub.ListMembers(api.ListMembersRequest(page_size=2, page_token=first.next_page_token),
                                     metadata=key())
    third = served.stub.ListMembers(api.ListMembersRequest(page_size=2, page_token=second.next_page_token),
                                    metadata=key())
    assert [m.id for m in (*first.members, *second.members, *third.members)] == list(TEAM.members)
    assert not third.next_page_token
    carol = served.stub.GetMember(api.GetMemberRequest(member_id="carol"), metadata=key()).member
    assert (carol.time_zone, carol.working_hours.time_zone) == ("Europe/Berlin", "Europe/Berlin")
    assert [(d.weekday, d.ranges[0].start_minute, d.ranges[0].end_minute) for d in carol.working_hours.weekly] == [
        (day, 9 * 60, 17 * 60) for day in range(1, 6)]
    rooms = served.stub.ListRooms(api.ListRoomsRequest(), metadata=key()).rooms
    assert [(r.id, r.capacity) for r in rooms] == [("small", 2), ("large", 8)]
    pools = {p.id: p for p in served.stub.ListPools(api.ListPoolsRequest(), metadata=key()).pools}
    assert pools["engineers"].kind == directory_pb2.POOL_KIND_MEMBERS
    assert pools["rooms"].kind == directory_pb2.POOL_KIND_ROOMS
    assert pools["engineers"].distribution == directory_pb2.DISTRIBUTION_ROUND_ROBIN
    [template] = served.stub.ListTemplates(api.ListTemplatesRequest(), metadata=key()).templates
    got = served.stub.GetTemplate(api.GetTemplateRequest(template_id="interview"), metadata=key()).template
    assert template == got
    assert got.rules.start_interval_minutes == 30 and got.rules.duration.seconds == 3600
    assert [s.WhichOneof("kind") for s in got.rules.seats] == ["member", "pool", "room"]


def test_preferred_hours_ending_at_midnight_are_accepted(served: Served) -> None:
    request = find(rules(member("alice"), preferred_hours=directory_pb2.DayRange(start_minute=900, end_minute=1440)),
                   order=api.ORDER_BEST_FIRST)
    reply = served.stub.FindSlots(request, metadata=key())
    assert reply.slots[0].start.ToDatetime(tzinfo=UTC).time() >= time(15)
