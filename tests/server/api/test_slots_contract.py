"""SCHEDULING.md's "Time", "Who is free", "A meeting's seats", "Available slots" and "Conflicts"
end to end: ICS calendars and a YAML config in a folder, ``convene serve``'s server over them
(``booking_world.serve_world``), FindSlots and CheckTime over gRPC, and the reply read back.

The solver's rules have property tests against brute force (tests/solver); these check what
lies around it: the calendar text as a calendar client writes it, the config's zones and hours,
the wire mapping of the request and of the reply.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import grpc
import pytest
from google.protobuf import timestamp_pb2
from google.rpc import error_details_pb2, status_pb2

from convene.v1 import directory_pb2, meeting_pb2, slots_pb2
from convene.v1 import scheduling_service_pb2 as api
from tests.server.booking.store.helpers import SmtpSink
from tests.server.booking_world import (
    ALICE_KEY,
    OPS_KEY,
    OTHER_KEY,
    World,
    close_world,
    create_request,
    key,
    serve_world,
)
from tests.server.messages import check, find, member, pool, room, rules

NY = "America/New_York"
BUSY_KEY = "team-busy-key-0123456789"  # the principal busy@team.example, who owns busy's calendar
WEEKDAYS = {"weekly": {"mon-fri": "09:00-17:00"}}


def _event(uid: str, *lines: str) -> str:
    return "\r\n".join(["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20261101T000000Z", *lines, "END:VEVENT"])


def _ics(*events: str) -> str:
    return "\r\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Convene contract tests//EN", *events,
                        "END:VCALENDAR", ""])


MONDAY_10 = ("DTSTART:20261207T100000Z", "DTEND:20261207T110000Z")

# Member id -> (time zone, working hours, calendar text).
MEMBERS: dict[str, tuple[str, dict[str, Any] | None, str]] = {
    # +05:30 and +05:45 with hours and one event each, on their own wall clock.
    "ravi": ("Asia/Kolkata", WEEKDAYS, _ics(_event(
        "ravi-1", "DTSTART;TZID=Asia/Kolkata:20261207T130000", "DTEND;TZID=Asia/Kolkata:20261207T133000"))),
    "maya": ("Asia/Kathmandu", WEEKDAYS, _ics(_event(
        "maya-1", "DTSTART;TZID=Asia/Kathmandu:20261207T130000", "DTEND;TZID=Asia/Kathmandu:20261207T132000"))),
    "una": ("UTC", None, _ics(_event("una-1", "DTSTART:20261207T100200Z", "DTEND:20261207T100700Z"))),
    # Blocking kinds, on Monday 10:00-11:00 UTC.
    "busy": ("UTC", None, _ics(_event("busy-1", *MONDAY_10, "SUMMARY:Quarterly numbers", "LOCATION:Room 9"))),
    "away": ("UTC", None, _ics(_event("away-1", *MONDAY_10, "X-MICROSOFT-CDO-BUSYSTATUS:OOF"))),
    "maybe": ("UTC", None, _ics(_event("maybe-1", *MONDAY_10, "STATUS:TENTATIVE"))),
    "open": ("UTC", None, _ics(_event("open-1", *MONDAY_10, "TRANSP:TRANSPARENT"))),
    "called": ("UTC", None, _ics(_event("called-1", *MONDAY_10, "STATUS:CANCELLED"))),
    "nope": ("UTC", None, _ics(_event("nope-1", *MONDAY_10, "ATTENDEE;PARTSTAT=DECLINED:mailto:nope@team.example"))),
    "point": ("UTC", None, _ics(_event("point-1", "DTSTART:20261207T100000Z"))),
    "tokyo": ("Asia/Tokyo", None, _ics(_event("tokyo-1", "DTSTART;VALUE=DATE:20261207", "DTEND;VALUE=DATE:20261208"))),
    "mars": ("UTC", None, _ics(_event(
        "mars-1", "DTSTART;TZID=Mars/Olympus:20261207T100000", "DTEND;TZID=Mars/Olympus:20261207T110000"))),
    "windows": ("UTC", None, _ics(_event(
        "win-1", "DTSTART;TZID=W. Europe Standard Time:20261207T110000",
        "DTEND;TZID=W. Europe Standard Time:20261207T120000"))),
    # Recurrence and durations over New York's fall-back night (Sunday 2026-11-01).
    "daily": (NY, None, _ics(
        _event("daily", "DTSTART;TZID=America/New_York:20261029T090000",
               "DTEND;TZID=America/New_York:20261029T100000", "RRULE:FREQ=DAILY;COUNT=5",
               "EXDATE;TZID=America/New_York:20261031T090000", "RDATE;TZID=America/New_York:20261031T150000"),
        _event("daily", "RECURRENCE-ID;TZID=America/New_York:20261030T090000",
               "DTSTART;TZID=America/New_York:20261030T130000", "DTEND;TZID=America/New_York:20261030T140000"),
        _event("daily", "RECURRENCE-ID;TZID=America/New_York:20261102T090000",
               "DTSTART;TZID=America/New_York:20261102T090000", "DTEND;TZID=America/New_York:20261102T100000",
               "STATUS:CANCELLED"))),
    "twelve": (NY, None, _ics(_event("twelve", "DTSTART;TZID=America/New_York:20261031T200000", "DURATION:PT12H"))),
    "oneday": (NY, None, _ics(_event("oneday", "DTSTART;TZID=America/New_York:20261031T200000", "DURATION:P1D"))),
    # Working hours on DST Sundays: 01:00-02:00 on the fall-back day is two real hours,
    # 00:00-03:00 on the spring-forward day two.
    "night": (NY, {"weekly": {"sun": "01:00-02:00"}}, ""),
    "spring": (NY, {"weekly": {"sun": "00:00-03:00"}}, ""),
    # Pools (their bookings are made by the test) and conflict mode.
    "pa": ("UTC", None, ""),
    "pb": ("UTC", None, ""),
    "pc": ("UTC", None, ""),
    "late": ("UTC", {"weekly": {"mon-fri": "10:00-17:00"}}, _ics(
        _event("late-1", "DTSTART:20261207T110000Z", "DTEND:20261207T120000Z", "X-MICROSOFT-CDO-BUSYSTATUS:OOF"),
        _event("late-2", "DTSTART:20261207T130000Z", "DTEND:20261207T133000Z", "STATUS:TENTATIVE"))),
}
ROOMS = [{"id": "small", "capacity": 2}, {"id": "mid", "capacity": 4},
         {"id": "big", "capacity": 10, "calendar": {"kind": "ics", "path": "calendars/contract-big.ics"}}]
POOLS = [{"id": "rr", "members": ["pa", "pb", "pc"]},
         {"id": "strict", "members": ["pa", "pb", "pc"], "distribution": "strict_round_robin"},
         {"id": "load", "members": ["pa", "pb", "pc"], "distribution": "load_balanced", "cycle": "week"},
         {"id": "rank", "members": ["pa", "pb", "pc"], "distribution": "priority",
          "priorities": {"pa": 1, "pb": 5, "pc": 3}}]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("contract")
    (folder / "calendars").mkdir()
    members = []
    for member_id, (zone, hours, text) in MEMBERS.items():
        entry: dict[str, Any] = {"id": member_id, "email": f"{member_id}@team.example", "time_zone": zone}
        if hours is not None:
            entry["working_hours"] = hours
        if text:
            (folder / "calendars" / f"contract-{member_id}.ics").write_text(text, newline="")
            entry["calendar"] = {"kind": "ics", "path": f"calendars/contract-{member_id}.ics"}
        members.append(entry)
    (folder / "calendars" / "contract-big.ics").write_text(
        _ics(_event("big-1", "DTSTART:20261207T090000Z", "DTEND:20261207T093000Z")), newline="")
    tenants = {"team": {"members": members, "rooms": ROOMS, "pools": POOLS}, "other": {"members": [{"id": "zoe"}]}}
    api_keys = [{"key": OPS_KEY, "tenant": "team", "principal": "ops@team.example"},
                {"key": ALICE_KEY, "tenant": "team", "principal": "alice@team.example"},
                {"key": BUSY_KEY, "tenant": "team", "principal": "busy@team.example"},
                {"key": OTHER_KEY, "tenant": "other", "principal": "admin@other.example"}]
    served = serve_world(folder, f"sqlite:///{folder / 'bookings.sqlite3'}", SmtpSink(), None, tenants=tenants,
                         api_keys=api_keys)
    try:
        yield served
    finally:
        close_world(served)


def _ts(moment: datetime) -> timestamp_pb2.Timestamp:
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(moment)
    return ts


def utc(month: int, day: int, hour: int = 0, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def local_starts(reply: api.FindSlotsResponse, zone: str) -> list[str]:
    return [s.start.ToDatetime(tzinfo=UTC).astimezone(ZoneInfo(zone)).strftime("%H:%M") for s in reply.slots]


def starts(reply: api.FindSlotsResponse) -> list[datetime]:
    return [s.start.ToDatetime(tzinfo=UTC) for s in reply.slots]


# --- Time: the grid -------------------------------------------------------------------------


@pytest.mark.parametrize("resolution", [1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60])
def test_a_busy_event_is_widened_outward_to_the_grid(world: World, resolution: int) -> None:
    """una's 10:02-10:07 blocks exactly the cells it touches: 10:00-10:10 at 5 minutes."""
    meeting = rules(member("una"), duration=timedelta(minutes=resolution), resolution_minutes=resolution,
                    start_interval_minutes=resolution)
    reply = world.stub.FindSlots(find(meeting, utc(12, 7, 9), utc(12, 7, 11)), metadata=key(), timeout=10)
    every = {utc(12, 7, 9) + timedelta(minutes=resolution * i) for i in range(120 // resolution)}
    blocked = sorted(every - set(starts(reply)))
    first = 2 // resolution * resolution
    last = -(-7 // resolution) * resolution
    assert blocked == [utc(12, 7, 10, m) for m in range(first, last, resolution)]


@pytest.mark.parametrize(("who", "zone", "resolution", "expected"), [
    # 13:00-13:30 IST blocks the 13:00 hour of IST, not 12:30-13:30; 09:00 and 16:00 are inside hours.
    ("ravi", "Asia/Kolkata", 60, ["09:00", "10:00", "11:00", "12:00", "14:00", "15:00", "16:00"]),
    ("ravi", "Asia/Kolkata", 30, ["09:00", "10:00", "11:00", "12:00", "14:00", "15:00", "16:00"]),
    # +05:45: 13:00-13:20 NPT blocks the 13:00 hour only, at 30 and 60 minutes.
    ("maya", "Asia/Kathmandu", 60, ["09:00", "10:00", "11:00", "12:00", "14:00", "15:00", "16:00"]),
    ("maya", "Asia/Kathmandu", 30, ["09:00", "10:00", "11:00", "12:00", "14:00", "15:00", "16:00"]),
])
def test_the_grid_lies_on_the_local_clock_of_half_and_quarter_hour_zones(
        world: World, who: str, zone: str, resolution: int, expected: list[str]) -> None:
    """At a resolution the zone's offset is no multiple of, an hour-long meeting inside the working
    hours is free, and an event blocks only the local cells it touches (the grid was UTC's: 09:00 and
    16:00 IST were out of hours and 13:00-13:30 IST blocked 12:00 too)."""
    meeting = rules(member(who), resolution_minutes=resolution, start_interval_minutes=60)
    reply = world.stub.FindSlots(find(meeting, utc(12, 6, 18), utc(12, 7, 18), zone=zone), metadata=key(), timeout=10)
    assert local_starts(reply, zone) == expected


@pytest.mark.parametrize(("zone", "expected"), [
    ("Asia/Kolkata", ["09:30", "09:45", "10:00", "10:15", "10:30", "10:45", "11:00"]),
    ("Asia/Kathmandu", ["09:45", "10:00", "10:15", "10:30", "10:45", "11:00", "11:15"]),
])
def test_starts_lie_on_the_local_quarter_hours(world: World, zone: str, expected: list[str]) -> None:
    meeting = rules(member("open"), duration=timedelta(minutes=30))
    reply = world.stub.FindSlots(find(meeting, utc(12, 7, 4), utc(12, 7, 6), zone=zone), metadata=key(), timeout=10)
    assert local_starts(reply, zone) == expected


def test_the_meeting_not_its_buffers_ends_by_the_window_end_and_notice_counts_from_the_servers_clock(
        world: World) -> None:
    meeting = rules(member("open"), buffer_before=timedelta(minutes=30), buffer_after=timedelta(minutes=30))
    reply = world.stub.FindSlots(find(meeting, utc(12, 7, 9), utc(12, 7, 11)), metadata=key(), timeout=10)
    assert starts(reply) == [utc(12, 7, 9, m) for m in (0, 15, 30, 45)] + [utc(12, 7, 10)]

    # The server's clock is 2026-11-30 00:00 UTC: 2h07 notice leaves 02:15 the first start.
    noticed = rules(member("open"), minimum_notice=timedelta(hours=2, minutes=7))
    request = find(noticed, utc(11, 29, 23), utc(11, 30, 4))
    request.ClearField("now")
    reply = world.stub.FindSlots(request, metadata=key(), timeout=10)
    assert starts(reply)[0] == utc(11, 30, 2, 15)
    at_two = check(noticed, utc(11, 30, 2))
    at_two.ClearField("now")
    answer = world.stub.CheckTime(at_two, metadata=key(), timeout=10)
    assert not answer.available and answer.reason == "before the minimum notice"


def test_working_hours_hold_exactly_off_the_grid(world: World) -> None:
    """ravi works 09:00-17:00 IST (03:30-11:30 UTC); asked in UTC at 60-minute resolution, an hour
    from 03:30 and one to 11:30 lie inside those hours (cells narrowed them to 04:00-11:00). His
    13:00-13:30 IST event is widened to the UTC hour 07:00-08:00 of this request's grid."""
    meeting = rules(member("ravi"), resolution_minutes=60, start_interval_minutes=30)
    reply = world.stub.FindSlots(find(meeting, utc(12, 7, 3), utc(12, 7, 12)), metadata=key(), timeout=10)
    assert local_starts(reply, "UTC") == ["03:30", "04:00", "04:30", "05:00", "05:30", "06:00",
                                          "08:00", "08:30", "09:00", "09:30", "10:00", "10:30"]


# --- Time: DST ------------------------------------------------------------------------------


def test_both_instants_of_a_repeated_start_are_candidates_and_a_skipped_one_is_none(world: World) -> None:
    meeting = rules(member("open"), duration=timedelta(minutes=15), start_interval_minutes=30)
    fall = world.stub.FindSlots(find(meeting, utc(11, 1, 4), utc(11, 1, 8), zone=NY, now=_ts(utc(10, 1))),
                                metadata=key(), timeout=10)
    # 00:00, 00:30 EDT, 01:00, 01:30 EDT, 01:00, 01:30 EST, 02:00, 02:30 EST.
    assert starts(fall) == [utc(11, 1, 4) + timedelta(minutes=30 * i) for i in range(8)]
    spring = world.stub.FindSlots(find(meeting, utc(3, 14, 5, year=2027), utc(3, 14, 9, year=2027), zone=NY,
                                       now=_ts(utc(3, 1, year=2027))), metadata=key(), timeout=10)
    assert local_starts(spring, NY) == ["00:00", "00:30", "01:00", "01:30", "03:00", "03:30", "04:00", "04:30"]


def test_working_hours_on_dst_days_cover_that_days_real_instants(world: World) -> None:
    def available(who: str, minutes: int, day: datetime) -> list[str]:
        request = find(rules(member(who), duration=timedelta(minutes=minutes)), day, day + timedelta(hours=12),
                       zone=NY, now=_ts(day - timedelta(days=7)))
        return local_starts(world.stub.FindSlots(request, metadata=key(), timeout=10), NY)

    # Fall back: 01:00-02:00 is 01:00 EDT to 02:00 EST, two real hours.
    assert available("night", 120, utc(11, 1)) == ["01:00"]
    assert available("night", 60, utc(11, 1)) == ["01:00", "01:15", "01:30", "01:45", "01:00"]
    # Spring forward: 00:00-03:00 is 00:00 EST to 03:00 EDT, two real hours.
    assert available("spring", 180, utc(3, 14, year=2027)) == []
    assert available("spring", 120, utc(3, 14, year=2027)) == ["00:00"]


# --- Who is free: what a calendar says ---------------------------------------------------------


@pytest.mark.parametrize(("who", "kind", "start", "end"), [
    ("busy", slots_pb2.CONFLICT_KIND_BUSY, utc(12, 7, 10), utc(12, 7, 11)),
    ("away", slots_pb2.CONFLICT_KIND_OUT_OF_OFFICE, utc(12, 7, 10), utc(12, 7, 11)),
    ("maybe", slots_pb2.CONFLICT_KIND_TENTATIVE, utc(12, 7, 10), utc(12, 7, 11)),
    # An all-day event is the day in the owner's zone (Tokyo's Monday).
    ("tokyo", slots_pb2.CONFLICT_KIND_BUSY, utc(12, 6, 15), utc(12, 7, 15)),
    # A Windows zone name is the IANA zone: 11:00 W. Europe is 10:00 UTC.
    ("windows", slots_pb2.CONFLICT_KIND_BUSY, utc(12, 7, 10), utc(12, 7, 11)),
])
def test_blocking_events_block_with_their_kind(world: World, who: str, kind: int, start: datetime,
                                               end: datetime) -> None:
    answer = world.stub.CheckTime(check(rules(member(who)), utc(12, 7, 10, 15)), metadata=key(), timeout=10)
    assert not answer.available
    assert [(c.resource_id, c.kind, c.start.ToDatetime(tzinfo=UTC), c.end.ToDatetime(tzinfo=UTC))
            for c in answer.slot.conflicts] == [(who, kind, start, end)]


@pytest.mark.parametrize("who", ["open", "called", "nope", "point"])
def test_free_cancelled_declined_and_endless_events_block_nothing(world: World, who: str) -> None:
    answer = world.stub.CheckTime(check(rules(member(who)), utc(12, 7, 10, 15)), metadata=key(), timeout=10)
    assert answer.available and not answer.unavailable_calendars


def test_an_unknown_tzid_makes_the_calendar_unreadable_and_named(world: World) -> None:
    reply = world.stub.FindSlots(find(rules(member("mars")), utc(12, 7, 9), utc(12, 7, 12)), metadata=key(), timeout=10)
    assert not reply.slots
    assert [u.resource_id for u in reply.unavailable_calendars] == ["mars"]
    assert "Mars/Olympus" in reply.unavailable_calendars[0].reason


def _blocked(world: World, who: str, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """Every blocking event of ``who`` in the window, read from the conflicts of the alternatives."""
    meeting = rules(member(who), start_interval_minutes=60, weights={"conflict_busy": 1})
    request = find(meeting, start, end, zone=NY, now=_ts(start - timedelta(days=7)), want_alternatives=True,
                   max_alternatives=100)
    reply = world.stub.FindSlots(request, metadata=key(), timeout=10)
    return sorted({(c.start.ToDatetime(tzinfo=UTC), c.end.ToDatetime(tzinfo=UTC))
                   for a in reply.alternatives for c in a.conflicts})


def test_recurring_events_are_expanded_with_exdate_rdate_and_overrides(world: World) -> None:
    def ny(day: int, hour: int, month: int = 10) -> datetime:
        return datetime(2026, month, day, hour, tzinfo=ZoneInfo(NY)).astimezone(UTC)

    assert _blocked(world, "daily", utc(10, 29), utc(11, 4)) == [
        (ny(29, 9), ny(29, 10)),  # the first
        (ny(30, 13), ny(30, 14)),  # moved by its RECURRENCE-ID
        (ny(31, 15), ny(31, 16)),  # the RDATE; the 31st at 09:00 is an EXDATE
        (ny(1, 9, 11), ny(1, 10, 11)),  # 09:00 EST after the fall back: the wall clock kept
    ]  # the 2nd is cancelled by its override


def test_hours_of_a_duration_are_exact_and_days_nominal_across_dst(world: World) -> None:
    evening = datetime(2026, 10, 31, 20, tzinfo=ZoneInfo(NY)).astimezone(UTC)
    assert _blocked(world, "twelve", utc(10, 31), utc(11, 3)) == [(evening, evening + timedelta(hours=12))]
    assert _blocked(world, "oneday", utc(10, 31), utc(11, 3)) == [(evening, evening + timedelta(hours=25))]


# --- CheckTime ----------------------------------------------------------------------------------


def test_check_time_refuses_a_start_between_minutes(world: World) -> None:
    """una's busy 10:02-10:07 (at 1-minute resolution): an hour from 09:02:30 overlaps it by 30 seconds;
    answered for 09:02 it was "available". A start that is no whole minute is refused, as CreateBooking
    refuses it."""
    request = check(rules(member("una"), resolution_minutes=1), utc(12, 7, 9, 2) + timedelta(seconds=30))
    with pytest.raises(grpc.RpcError) as caught:
        world.stub.CheckTime(request, metadata=key(), timeout=10)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    violations = _violations(caught.value)
    assert ("start", "must be a whole minute") in violations
    request.start.nanos = 0
    request.start.seconds -= 30
    assert world.stub.CheckTime(request, metadata=key(), timeout=10).available


def _violations(error: grpc.RpcError) -> list[tuple[str, str]]:
    status = status_pb2.Status()
    for name, value in error.trailing_metadata() or ():  # type: ignore[attr-defined]
        if name == "grpc-status-details-bin":
            status.ParseFromString(value)
    found = []
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            found += [(v.field, v.description) for v in bad.field_violations]
    return found


# --- Privacy ---------------------------------------------------------------------------------------


def test_event_details_reach_only_the_calendar_owner(world: World) -> None:
    """busy's event as a conflict: ops and alice get the kind and the interval, not a byte of the
    title, id or location; busy (the calendar's owner by the member's email) gets them."""
    request = find(rules(member("busy")), utc(12, 7, 9), utc(12, 7, 12), want_alternatives=True, max_alternatives=3)
    at_ten = check(rules(member("busy")), utc(12, 7, 10))
    for caller in (OPS_KEY, ALICE_KEY):
        for reply in (world.stub.FindSlots(request, metadata=key(caller), timeout=10),
                      world.stub.CheckTime(at_ten, metadata=key(caller), timeout=10)):
            raw = reply.SerializeToString()
            assert b"Quarterly numbers" not in raw and b"Room 9" not in raw and b"busy-1" not in raw
    conflict = world.stub.CheckTime(at_ten, metadata=key(BUSY_KEY), timeout=10).slot.conflicts[0]
    assert (conflict.details.title, conflict.details.event_id, conflict.details.location) == (
        "Quarterly numbers", "busy-1", "Room 9")
    owner = world.stub.FindSlots(request, metadata=key(BUSY_KEY), timeout=10)
    assert {c.details.title for a in owner.alternatives for c in a.conflicts} == {"Quarterly numbers"}


# --- Seats ----------------------------------------------------------------------------------------


def _book(world: World, request_id: str, seat: meeting_pb2.Seat, start: datetime, who: str) -> None:
    reply = world.stub.CreateBooking(create_request(request_id, start, [[who]], meeting=rules(seat)),
                                     metadata=key(), timeout=10)
    assert reply.booking.id


def _fills(reply: api.FindSlotsResponse) -> dict[str, tuple[tuple[str, ...], float]]:
    """Start (HH:MM UTC) -> (the first seat's ids, the first seat's cost)."""
    return {s.start.ToDatetime(tzinfo=UTC).strftime("%H:%M"): (tuple(s.seats[0].resource_ids), s.seats[0].cost)
            for s in reply.slots}


def test_pool_rules_of_the_config_rank_by_the_stores_bookings(world: World) -> None:
    monday = (utc(12, 7, 9), utc(12, 7, 12))

    def pool_slots(pool_id: str, count: int = 1) -> api.FindSlotsResponse:
        return world.stub.FindSlots(find(rules(pool(pool_id, count), start_interval_minutes=60), *monday),
                                    metadata=key(), timeout=10)

    # round_robin: pa's booking through the pool is after the window and still counts: pb is next.
    _book(world, "rr-1", pool("rr"), utc(12, 8, 9), "pa")
    reply = pool_slots("rr")
    assert _fills(reply)["09:00"] == (("pb",), 0.0)
    assert list(reply.slots[0].free_candidates[0].resource_ids) == ["pa", "pb", "pc"]

    # strict_round_robin: pb and pc took their turns, pa is next; where pa is busy there is no slot.
    _book(world, "strict-1", pool("strict"), utc(12, 1, 9), "pb")
    _book(world, "strict-2", pool("strict"), utc(12, 2, 9), "pc")
    _book(world, "pa-busy", member("pa"), utc(12, 7, 10), "pa")
    reply = pool_slots("strict")
    assert _fills(reply) == {"09:00": (("pa",), 0.0), "11:00": (("pa",), 0.0)}
    assert [list(c.resource_ids) for c in reply.slots[0].free_candidates] == [["pa"]]
    assert _fills(pool_slots("strict", 2))["09:00"] == (("pa", "pb"), 1.0)

    # load_balanced by week: pb's two bookings and pc's one later that week count (after the window
    # too), pa's of the week before does not.
    for request_id, start, who in (("load-1", utc(12, 9, 9), "pb"), ("load-2", utc(12, 11, 9), "pb"),
                                   ("load-3", utc(12, 13, 9), "pc"), ("load-4", utc(12, 6, 9), "pa")):
        _book(world, request_id, pool("load"), start, who)
    assert _fills(pool_slots("load")) == {"09:00": (("pa",), 0.0), "10:00": (("pc",), 1.0),
                                          "11:00": (("pa",), 0.0)}

    # priority: pb (5) costs 0, pc (3) 2, pa (1) 4.
    assert _fills(pool_slots("rank", 2))["09:00"] == (("pb", "pc"), 2.0)


def test_rooms_fit_the_attendees_and_optional_members_are_reported(world: World) -> None:
    """pc, the optional pb and late, and the one customer are 4: small (2) is too small; big (10) is
    busy 09:00-09:30 in its calendar, so 09:00 takes mid (4) at 10 (second listed) + 0 seats spare;
    at 10:00 big is free but costs 20 (third listed) + 6 spare: mid again."""
    meeting = rules(member("pc"), room("small", "mid", "big"), optional_member_ids=["pb", "late"],
                    start_interval_minutes=60)
    reply = world.stub.FindSlots(find(meeting, utc(12, 7, 9), utc(12, 7, 12)), metadata=key(), timeout=10)
    by_start = {s.start.ToDatetime(tzinfo=UTC).hour: s for s in reply.slots}
    nine, ten = by_start[9], by_start[10]
    assert (list(nine.seats[1].resource_ids), nine.seats[1].cost) == (["mid"], 10.0)
    assert [list(c.resource_ids) for c in nine.free_candidates] == [["pc"], ["mid"]]
    assert (list(ten.seats[1].resource_ids), ten.seats[1].cost) == (["mid"], 10.0)
    assert [list(c.resource_ids) for c in ten.free_candidates] == [["pc"], ["mid", "big"]]
    assert [(o.member_id, o.free) for o in nine.optional_members] == [("pb", True), ("late", False)]
    assert [(o.member_id, o.free) for o in ten.optional_members] == [("pb", True), ("late", True)]

    alone = rules(member("pc"), room("small", "mid"), customers=0, start_interval_minutes=60)
    reply = world.stub.FindSlots(find(alone, utc(12, 7, 9), utc(12, 7, 10)), metadata=key(), timeout=10)
    assert (list(reply.slots[0].seats[1].resource_ids), reply.slots[0].seats[1].cost) == (["small"], 1.0)


def test_ties_go_to_the_lower_candidate_seat_by_seat_and_best_first_ranks_by_time_of_day(world: World) -> None:
    """At 10:00 busy is busy: (pb, pc) and (pc, pb) both cost 20; the first seat's lower index wins."""
    meeting = rules(member("busy", "pb", "pc"), member("pb", "pc"), start_interval_minutes=60,
                    preferred_hours=directory_pb2.DayRange(start_minute=660, end_minute=720))
    reply = world.stub.FindSlots(find(meeting, utc(12, 7, 9), utc(12, 7, 12)), metadata=key(), timeout=10)
    ten = reply.slots[1]
    assert [list(f.resource_ids) for f in ten.seats] == [["pb"], ["pc"]] and ten.cost == 20.0
    assert [list(c.resource_ids) for c in ten.free_candidates] == [["pb", "pc"], ["pb", "pc"]]
    ranked = world.stub.FindSlots(find(meeting, utc(12, 7, 9), utc(12, 7, 12), order=api.ORDER_BEST_FIRST),
                                  metadata=key(), timeout=10)
    # 11:00 is in the preferred hours (score 0), 09:00 two hours off (2), 10:00 costs 20 and is one off.
    assert [(s.start.ToDatetime(tzinfo=UTC).hour, s.score) for s in ranked.slots] == [(11, 0.0), (9, 2.0), (10, 21.0)]


# --- Conflicts ------------------------------------------------------------------------------------


def test_alternatives_rank_by_conflict_cost_and_rooms_stay_hard(world: World) -> None:
    """late (hours 10-17, away 11-12, tentative 13:00-13:30) with big (busy 09:00-09:30): 10, 12 and 14
    are available; of the rest 13:00 costs 30 (tentative), 08:00 50 (outside hours), 11:00 100 (away);
    09:00 has no assignment at all, the room being busy."""
    meeting = rules(member("late"), room("big"), start_interval_minutes=60)
    window = (utc(12, 7, 8), utc(12, 7, 15))
    reply = world.stub.FindSlots(find(meeting, *window, min_available=4, max_alternatives=5), metadata=key(),
                                 timeout=10)
    assert [s.start.ToDatetime(tzinfo=UTC).hour for s in reply.slots] == [10, 12, 14]
    assert [(a.start.ToDatetime(tzinfo=UTC).hour, a.conflict_cost) for a in reply.alternatives] == [
        (13, 30.0), (8, 50.0), (11, 100.0)]
    assert [[(c.resource_id, c.kind, c.start.ToDatetime(tzinfo=UTC).strftime("%H:%M"),
              c.end.ToDatetime(tzinfo=UTC).strftime("%H:%M")) for c in a.conflicts] for a in reply.alternatives] == [
        [("late", slots_pb2.CONFLICT_KIND_TENTATIVE, "13:00", "13:30")],
        [("late", slots_pb2.CONFLICT_KIND_OUTSIDE_HOURS, "08:00", "09:00")],
        [("late", slots_pb2.CONFLICT_KIND_OUT_OF_OFFICE, "11:00", "12:00")]]
    capped = world.stub.FindSlots(find(meeting, *window, min_available=4, max_alternatives=2), metadata=key(),
                                  timeout=10)
    assert [a.start.ToDatetime(tzinfo=UTC).hour for a in capped.alternatives] == [13, 8]
    enough = world.stub.FindSlots(find(meeting, *window, min_available=3, max_alternatives=2), metadata=key(),
                                  timeout=10)
    assert not enough.alternatives

    away = world.stub.CheckTime(check(meeting, utc(12, 7, 11)), metadata=key(), timeout=10)
    assert (away.available, away.slot.conflict_cost, away.reason) == (False, 100.0, "conflicts: out_of_office")
    room_busy = world.stub.CheckTime(check(meeting, utc(12, 7, 9)), metadata=key(), timeout=10)
    assert not room_busy.available and not room_busy.HasField("slot")


def test_a_booked_room_is_never_an_alternative(world: World) -> None:
    """una and small booked at 15:00: conflict mode may seat una over her booking, never the room."""
    reply = world.stub.CreateBooking(create_request("room-1", utc(12, 7, 15), [["una"], ["small"]],
                                                    meeting=rules(member("una"), room("small"))),
                                     metadata=key(), timeout=10)
    assert reply.booking.id
    window = (utc(12, 7, 14), utc(12, 7, 17))
    alone = world.stub.FindSlots(find(rules(member("una"), start_interval_minutes=60), *window,
                                      want_alternatives=True, max_alternatives=5), metadata=key(), timeout=10)
    assert [(a.start.ToDatetime(tzinfo=UTC).hour, [c.kind for c in a.conflicts]) for a in alone.alternatives] == [
        (15, [slots_pb2.CONFLICT_KIND_BOOKING])]
    with_room = world.stub.FindSlots(find(rules(member("una"), room("small"), start_interval_minutes=60), *window,
                                          want_alternatives=True, max_alternatives=5), metadata=key(), timeout=10)
    assert [s.start.ToDatetime(tzinfo=UTC).hour for s in with_room.slots] == [14, 16]
    assert not with_room.alternatives
