"""One test (or a violating/complying pair) per rule of SCHEDULING.md the core applies."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from solver import (
    Booking,
    BusyInterval,
    BusyKind,
    Cycle,
    DayRange,
    Directory,
    Distribution,
    InvalidRequest,
    LimitExceeded,
    Limits,
    Member,
    MemberSeat,
    Order,
    Pool,
    PoolSeat,
    Room,
    RoomSeat,
    SlotRequest,
    UnknownResource,
    Weights,
    WorkingHours,
    check_time,
    find_slots,
)

MIN = timedelta(minutes=1)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(zone: str, *args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(zone))


def request(seats: tuple, start: datetime, end: datetime, minutes: int = 60, zone: str = "UTC", **kw) -> SlotRequest:
    return SlotRequest(start, end, timedelta(minutes=minutes), zone, seats, **kw)


def starts(result) -> list[datetime]:
    return [s.start for s in result.slots]


ALICE = Member("alice")
BOB = Member("bob")
CAROL = Member("carol")
DIR = Directory.of([ALICE, BOB, CAROL])


# --- Grid and busy time -----------------------------------------------------


def test_busy_is_widened_outward_to_the_grid() -> None:
    """10:02-10:07 at 5-minute resolution blocks 10:00-10:10: a 5-minute meeting
    at 10:00 and one at 10:05 are both taken, 09:55 and 10:10 are not."""
    busy = [BusyInterval("alice", utc(2026, 12, 1, 10, 2), utc(2026, 12, 1, 10, 7))]
    req = request((MemberSeat(("alice",)),), utc(2026, 12, 1, 9, 55), utc(2026, 12, 1, 10, 20), 5,
                  start_interval=5)
    assert starts(find_slots(DIR, busy, req)) == [utc(2026, 12, 1, 9, 55), utc(2026, 12, 1, 10, 10),
                                                    utc(2026, 12, 1, 10, 15)]


def test_coarser_resolution_widens_further() -> None:
    busy = [BusyInterval("alice", utc(2026, 12, 1, 10, 2), utc(2026, 12, 1, 10, 7))]
    req = request((MemberSeat(("alice",)),), utc(2026, 12, 1, 9, 0), utc(2026, 12, 1, 11, 0), 15,
                  resolution=15)
    assert utc(2026, 12, 1, 10, 0) not in starts(find_slots(DIR, busy, req))
    assert utc(2026, 12, 1, 9, 45) in starts(find_slots(DIR, busy, req))
    assert utc(2026, 12, 1, 10, 15) in starts(find_slots(DIR, busy, req))


@pytest.mark.parametrize(("buffer", "free_at_11"), [(timedelta(0), True), (timedelta(minutes=10), False)])
def test_buffer_at_the_edge_of_a_busy_event(buffer: timedelta, free_at_11: bool) -> None:
    """A meeting 11:00-12:00 right after a 10:00-11:00 event fits only without a buffer before."""
    busy = [BusyInterval("alice", utc(2026, 12, 1, 10), utc(2026, 12, 1, 11))]
    req = request((MemberSeat(("alice",)),), utc(2026, 12, 1, 11), utc(2026, 12, 1, 12), buffer_before=buffer)
    assert (utc(2026, 12, 1, 11) in starts(find_slots(DIR, busy, req))) is free_at_11


def test_buffer_after_reaches_the_next_event() -> None:
    busy = [BusyInterval("alice", utc(2026, 12, 1, 12), utc(2026, 12, 1, 13))]
    base = request((MemberSeat(("alice",)),), utc(2026, 12, 1, 11), utc(2026, 12, 1, 12))
    assert starts(find_slots(DIR, busy, base)) == [utc(2026, 12, 1, 11)]
    buffered = request((MemberSeat(("alice",)),), utc(2026, 12, 1, 11), utc(2026, 12, 1, 12),
                       buffer_after=timedelta(minutes=5))
    assert starts(find_slots(DIR, busy, buffered)) == []


@pytest.mark.parametrize("kind", [BusyKind.BUSY, BusyKind.TENTATIVE, BusyKind.OUT_OF_OFFICE])
def test_blocking_kinds_block(kind: BusyKind) -> None:
    busy = [BusyInterval("alice", utc(2026, 12, 1, 10), utc(2026, 12, 1, 11), kind)]
    req = request((MemberSeat(("alice",)),), utc(2026, 12, 1, 10), utc(2026, 12, 1, 11))
    assert starts(find_slots(DIR, busy, req)) == []


def test_confirmed_bookings_hold_their_resources() -> None:
    booking = Booking("b1", utc(2026, 12, 1, 10), utc(2026, 12, 1, 11), ("alice",))
    req = request((MemberSeat(("alice",)),), utc(2026, 12, 1, 10), utc(2026, 12, 1, 11))
    assert starts(find_slots(DIR, [], req, [booking])) == []
    assert starts(find_slots(DIR, [], req, [])) == [utc(2026, 12, 1, 10)]


# --- Candidate starts ----------------------------------------------------------


@pytest.mark.parametrize("zone", ["Asia/Kathmandu", "Asia/Kolkata", "America/St_Johns"])
def test_starts_lie_on_the_local_quarter_hours(zone: str) -> None:
    """+05:45, +05:30 and -03:30 zones get :00 :15 :30 :45 on their own clock."""
    req = request((MemberSeat(("alice",)),), utc(2026, 12, 1, 0), utc(2026, 12, 1, 3), 15, zone)
    got = starts(find_slots(DIR, [], req))
    assert len(got) == 12  # 00:00 to 02:45 UTC is on the quarter hour in these zones too
    assert {s.astimezone(ZoneInfo(zone)).minute for s in got} == {0, 15, 30, 45}


def test_hourly_starts_in_kathmandu() -> None:
    req = request((MemberSeat(("alice",)),), utc(2026, 12, 1, 0), utc(2026, 12, 1, 4), 30, "Asia/Kathmandu",
                  start_interval=60)
    got = [s.astimezone(ZoneInfo("Asia/Kathmandu")).strftime("%H:%M") for s in starts(find_slots(DIR, [], req))]
    assert got == ["06:00", "07:00", "08:00", "09:00"]


def test_meeting_end_not_buffers_must_fit_the_window() -> None:
    req = request((MemberSeat(("alice",)),), utc(2026, 12, 1, 10), utc(2026, 12, 1, 11),
                  buffer_after=timedelta(minutes=30))
    assert starts(find_slots(DIR, [], req)) == [utc(2026, 12, 1, 10)]


def test_minimum_notice() -> None:
    req = request((MemberSeat(("alice",)),), utc(2026, 12, 1, 10), utc(2026, 12, 1, 12),
                  now=utc(2026, 12, 1, 9, 50), minimum_notice=timedelta(hours=1))
    assert starts(find_slots(DIR, [], req))[0] == utc(2026, 12, 1, 11)


def test_fall_back_hour_gives_both_instants() -> None:
    """On 2026-11-01 01:30 happens twice in New York: both are candidate starts."""
    zone = "America/New_York"
    req = request((MemberSeat(("alice",)),), utc(2026, 11, 1, 5), utc(2026, 11, 1, 7, 30), 30, zone,
                  start_interval=30)
    walls = [s.astimezone(ZoneInfo(zone)).strftime("%H:%M") for s in starts(find_slots(DIR, [], req))]
    assert walls == ["01:00", "01:30", "01:00", "01:30", "02:00"]


# --- Working hours and DST -------------------------------------------------------


def nine_to_five(zone: str) -> WorkingHours:
    return WorkingHours.weekdays(time(9), time(17), zone, days=7)


@pytest.mark.parametrize(
    ("zone", "dst_day"),
    [("America/New_York", date(2026, 3, 8)), ("Europe/Berlin", date(2026, 3, 29)),
     ("America/New_York", date(2026, 11, 1)), ("Europe/Berlin", date(2026, 10, 25))],
)
def test_dst_week_keeps_wall_clock_hours(zone: str, dst_day: date) -> None:
    """Every day of a DST-change week offers 09:00 to 16:00 local starts for an hour meeting."""
    member = Member("m", time_zone=zone, working_hours=nine_to_five(zone))
    directory = Directory.of([member])
    first = datetime.combine(dst_day - timedelta(days=3), time(0), ZoneInfo(zone))
    req = request((MemberSeat(("m",)),), first, first + timedelta(days=7), 60, zone, start_interval=60)
    got = starts(find_slots(directory, [], req))
    by_day: dict[date, list[int]] = {}
    for s in got:
        wall = s.astimezone(ZoneInfo(zone))
        by_day.setdefault(wall.date(), []).append(wall.hour)
    assert len(by_day) == 7
    assert all(hours == list(range(9, 17)) for hours in by_day.values())


def test_working_hours_in_the_members_own_zone() -> None:
    """A New York member 09:00-17:00 seen from Berlin: 15:00 to 22:00 Berlin starts."""
    member = Member("ny", time_zone="America/New_York", working_hours=nine_to_five("America/New_York"))
    req = request((MemberSeat(("ny",)),), local("Europe/Berlin", 2026, 12, 2, 0), local("Europe/Berlin", 2026, 12, 3),
                  60, "Europe/Berlin", start_interval=60)
    got = [s.astimezone(ZoneInfo("Europe/Berlin")).hour for s in starts(find_slots(Directory.of([member]), [], req))]
    assert got == list(range(15, 23))


def test_date_override_replaces_the_day() -> None:
    hours = WorkingHours("UTC", ((DayRange.of(time(9), time(17)),),) * 7,
                         ((date(2026, 12, 2), (DayRange.of(time(13), time(15)),)), (date(2026, 12, 3), ())))
    member = Member("m", working_hours=hours)
    req = request((MemberSeat(("m",)),), utc(2026, 12, 2), utc(2026, 12, 4), 60, start_interval=60)
    got = starts(find_slots(Directory.of([member]), [], req))
    assert got == [utc(2026, 12, 2, 13), utc(2026, 12, 2, 14)]


def test_hours_crossing_midnight_join() -> None:
    night = WorkingHours("UTC", ((DayRange.of(time(22), time(0)), DayRange.of(time(0), time(2))),) * 7)
    member = Member("m", working_hours=night)
    req = request((MemberSeat(("m",)),), utc(2026, 12, 2, 22), utc(2026, 12, 3, 2), 120, start_interval=60)
    assert starts(find_slots(Directory.of([member]), [], req)) == [utc(2026, 12, 2, 22), utc(2026, 12, 2, 23),
                                                                    utc(2026, 12, 3, 0)]


def test_hours_ending_at_midnight_end_that_midnight() -> None:
    """20:00-24:00 on Wednesday ends at Thursday 00:00, not a day later (Thursday has no hours)."""
    evening = DayRange.of(time(20), time(0))
    hours = WorkingHours("UTC", tuple((evening,) if d == 2 else () for d in range(7)))
    member = Member("m", working_hours=hours)
    req = request((MemberSeat(("m",)),), utc(2026, 12, 2, 18), utc(2026, 12, 4), 60, start_interval=60)
    assert starts(find_slots(Directory.of([member]), [], req)) == [utc(2026, 12, 2, h) for h in (20, 21, 22, 23)]


def test_hours_start_and_end_exactly_where_they_say() -> None:
    """09:00-17:00 and an hour's meeting: the first start is 09:00, the last 16:00, not one cell more."""
    member = Member("m", working_hours=nine_to_five("UTC"))
    req = request((MemberSeat(("m",)),), utc(2026, 12, 2), utc(2026, 12, 3), 60, start_interval=15)
    got = starts(find_slots(Directory.of([member]), [], req))
    assert got[0] == utc(2026, 12, 2, 9) and got[-1] == utc(2026, 12, 2, 16)
    assert len(got) == 29


def test_hours_off_the_grid_hold_exactly_at_both_ends() -> None:
    """09:02-16:58 on a 5-minute grid: an hour from 09:02 to 15:58 lies inside them (SCHEDULING.md,
    rule 1), neither rounded outward nor narrowed to 09:05-16:55 as cells would."""
    hours = WorkingHours("UTC", ((DayRange(9 * 60 + 2, 16 * 60 + 58),),) * 7)
    member = Member("m", working_hours=hours)
    for interval, first, last in ((5, utc(2026, 12, 2, 9, 5), utc(2026, 12, 2, 15, 55)),
                                  (1, utc(2026, 12, 2, 9, 2), utc(2026, 12, 2, 15, 58))):
        req = request((MemberSeat(("m",)),), utc(2026, 12, 2), utc(2026, 12, 3), 60, start_interval=interval)
        got = starts(find_slots(Directory.of([member]), [], req))
        assert got[0] == first and got[-1] == last


def test_touching_ranges_off_the_grid_leave_no_gap() -> None:
    """08:00-12:02 and 12:02-16:00 are one stretch: a meeting across 12:00 fits."""
    hours = WorkingHours("UTC", ((DayRange(8 * 60, 12 * 60 + 2), DayRange(12 * 60 + 2, 16 * 60)),) * 7)
    member = Member("m", working_hours=hours)
    req = request((MemberSeat(("m",)),), utc(2026, 12, 2, 11), utc(2026, 12, 2, 13), 60, start_interval=30)
    assert starts(find_slots(Directory.of([member]), [], req)) == [utc(2026, 12, 2, 11), utc(2026, 12, 2, 11, 30),
                                                                    utc(2026, 12, 2, 12)]


@pytest.mark.parametrize(("dst_day", "local_hours"), [
    (date(2026, 3, 29), [0, 1, 3, 4, 5, 6, 7]),        # spring forward: 02:00 does not exist, 7 real hours
    (date(2026, 10, 25), [0, 1, 2, 2, 3, 4, 5, 6, 7]),  # fall back: 02:00 twice, 9 real hours
])
def test_hours_spanning_the_switch_cover_that_days_real_instants(dst_day: date, local_hours: list[int]) -> None:
    """00:00-08:00 in Berlin on a switch day is the real time between those wall clocks."""
    zone = "Europe/Berlin"
    hours = WorkingHours(zone, ((DayRange(0, 8 * 60),),) * 7)
    member = Member("m", time_zone=zone, working_hours=hours)
    first = datetime.combine(dst_day, time(0), ZoneInfo(zone))
    req = request((MemberSeat(("m",)),), first, first + timedelta(hours=12), 60, zone, start_interval=60)
    got = starts(find_slots(Directory.of([member]), [], req))
    assert [s.astimezone(ZoneInfo(zone)).hour for s in got] == local_hours
    assert got[-1] + timedelta(hours=1) == datetime.combine(dst_day, time(8), ZoneInfo(zone)).astimezone(UTC)


def test_room_opening_hours() -> None:
    room = Room("r", capacity=4, opening_hours=WorkingHours.weekdays(time(8), time(10), "UTC", 7))
    req = request((RoomSeat(("r",)),), utc(2026, 12, 2), utc(2026, 12, 3), 60, start_interval=60)
    assert starts(find_slots(Directory.of(rooms=[room]), [], req)) == [utc(2026, 12, 2, 8), utc(2026, 12, 2, 9)]


# --- Booking limits -------------------------------------------------------------------


def test_daily_limit_counts_the_members_local_day() -> None:
    """Berlin member, limit 1 a day: a booking at 23:30 UTC on Dec 1 is Dec 2 in Berlin."""
    member = Member("m", time_zone="Europe/Berlin", daily_limit=1)
    booking = Booking("b", utc(2026, 12, 1, 23, 30), utc(2026, 12, 1, 23, 45), ("m",))
    req = request((MemberSeat(("m",)),), utc(2026, 12, 1, 20), utc(2026, 12, 2, 2), 15, start_interval=60)
    got = starts(find_slots(Directory.of([member]), [], req, [booking]))
    assert got == [utc(2026, 12, 1, 20), utc(2026, 12, 1, 21), utc(2026, 12, 1, 22)]


def test_weekly_limit() -> None:
    member = Member("m", weekly_limit=2)
    monday = utc(2026, 11, 30, 8)
    bookings = [Booking(f"b{i}", monday + timedelta(days=i), monday + timedelta(days=i, hours=1), ("m",))
                for i in range(2)]
    req = request((MemberSeat(("m",)),), utc(2026, 12, 6), utc(2026, 12, 7, 11), 60, start_interval=60 * 24)
    # Sunday Dec 6 is in the full week (two bookings on other days); Monday Dec 7 starts a new one.
    assert starts(find_slots(Directory.of([member]), [], req, bookings)) == [utc(2026, 12, 7, 0)]
    # The same week with room for one more: Sunday is free again.
    roomier = Member("m", weekly_limit=3)
    assert starts(find_slots(Directory.of([roomier]), [], req, bookings)) == [utc(2026, 12, 6), utc(2026, 12, 7)]


def test_daily_and_weekly_limits_both_hold() -> None:
    """A full day blocks the member even though the week has room, and the other way round."""
    req = request((MemberSeat(("m",)),), utc(2026, 12, 2), utc(2026, 12, 3, 11), 60, start_interval=60 * 24)
    today = [Booking("b", utc(2026, 12, 2, 8), utc(2026, 12, 2, 9), ("m",))]
    day_full = Member("m", daily_limit=1, weekly_limit=10)
    assert starts(find_slots(Directory.of([day_full]), [], req, today)) == [utc(2026, 12, 3)]
    week_full = Member("m", daily_limit=5, weekly_limit=1)
    assert starts(find_slots(Directory.of([week_full]), [], req, today)) == []
    neither = Member("m", daily_limit=2, weekly_limit=2)
    assert starts(find_slots(Directory.of([neither]), [], req, today)) == [utc(2026, 12, 2), utc(2026, 12, 3)]


def test_a_limit_with_no_bookings_yet_leaves_the_member_free() -> None:
    member = Member("m", daily_limit=1, weekly_limit=1)
    req = request((MemberSeat(("m",)),), utc(2026, 12, 2, 9), utc(2026, 12, 2, 11), 60, start_interval=60)
    assert starts(find_slots(Directory.of([member]), [], req)) == [utc(2026, 12, 2, 9), utc(2026, 12, 2, 10)]


def test_a_limit_of_zero_keeps_the_member_off_every_panel() -> None:
    """The config allows 0 (a member taking no bookings for now): never free, bookings or not."""
    req = request((MemberSeat(("m",)),), utc(2026, 12, 2, 9), utc(2026, 12, 2, 11), 60, start_interval=60)
    for member in (Member("m", daily_limit=0), Member("m", weekly_limit=0)):
        assert starts(find_slots(Directory.of([member]), [], req)) == []


def test_each_members_limit_counts_after_a_member_without_one() -> None:
    """Limits are per member, whatever the order: bob listed first, with no limit or with one he
    has not used, does not hide carol's."""
    carol = Member("carol", daily_limit=1)
    booking = Booking("b", utc(2026, 12, 2, 8), utc(2026, 12, 2, 9), ("carol",))
    req = request((MemberSeat(("bob",)), MemberSeat(("carol",))), utc(2026, 12, 2, 10), utc(2026, 12, 2, 12), 60,
                  start_interval=60)
    for bob in (BOB, Member("bob", daily_limit=3)):
        assert starts(find_slots(Directory.of([bob, carol]), [], req, [booking])) == []


# --- Seats and costs -------------------------------------------------------------------


def test_primary_preferred_alternate_when_busy() -> None:
    busy = [BusyInterval("alice", utc(2026, 12, 1, 10), utc(2026, 12, 1, 11))]
    req = request((MemberSeat(("alice", "bob")),), utc(2026, 12, 1, 9), utc(2026, 12, 1, 11), start_interval=60)
    slots = find_slots(DIR, busy, req).slots
    assert [s.assignment.seats[0].resource_ids for s in slots] == [("alice",), ("bob",)]
    assert [s.cost for s in slots] == [0.0, 10.0]
    assert slots[1].free_candidates == (("bob",),)


def test_no_member_fills_two_seats() -> None:
    """Bob is an alternate of both seats: only one seat may take him."""
    busy = [BusyInterval("alice", utc(2026, 12, 1, 10), utc(2026, 12, 1, 11))]
    seats = (MemberSeat(("alice", "bob")), MemberSeat(("bob",)))
    req = request(seats, utc(2026, 12, 1, 9), utc(2026, 12, 1, 11), start_interval=60)
    slots = find_slots(DIR, busy, req).slots
    assert [s.start for s in slots] == [utc(2026, 12, 1, 9)]
    assert slots[0].assignment.resource_ids == ("alice", "bob")


def test_interacting_seats_take_the_cheapest_total() -> None:
    """Seat 1 [bob, alice], seat 2 [alice, bob] both prefer their primary: cost 0 with bob then alice."""
    seats = (MemberSeat(("bob", "alice")), MemberSeat(("bob", "carol")))
    req = request(seats, utc(2026, 12, 1, 9), utc(2026, 12, 1, 10))
    slot = find_slots(DIR, [], req).slots[0]
    # Both want bob; seat 0 keeps its primary (lex tie-break), seat 1 pays 10 for carol.
    assert slot.assignment.resource_ids == ("bob", "carol")
    assert slot.cost == 10.0


def pool_dir(rule: Distribution, **kw) -> Directory:
    members = [Member(f"p{i}") for i in range(4)]
    return Directory.of(members, [], [Pool("pool", tuple(m.id for m in members), rule, **kw)])


def test_round_robin_prefers_least_recently_assigned() -> None:
    directory = pool_dir(Distribution.ROUND_ROBIN)
    bookings = [Booking("b0", utc(2026, 11, 20, 9), utc(2026, 11, 20, 10), ("p0",), (("pool", "p0"),)),
                Booking("b1", utc(2026, 11, 21, 9), utc(2026, 11, 21, 10), ("p1",), (("pool", "p1"),))]
    req = request((PoolSeat("pool"),), utc(2026, 12, 1, 9), utc(2026, 12, 1, 10))
    slot = find_slots(directory, [], req, bookings).slots[0]
    assert slot.assignment.resource_ids == ("p2",)  # never assigned, first in pool order
    busy = [BusyInterval(m, utc(2026, 12, 1, 9), utc(2026, 12, 1, 10)) for m in ("p2", "p3")]
    slot = find_slots(directory, busy, req, bookings).slots[0]
    assert slot.assignment.resource_ids == ("p0",)  # p0 was assigned longer ago than p1
    assert slot.cost == 2.0


def test_round_robin_follows_history_not_pool_order() -> None:
    """Assigned p3, then p2, then p1: the next in line is p3 (longest ago), whatever the pool's order;
    p0, never assigned, comes before all of them."""
    directory = pool_dir(Distribution.ROUND_ROBIN)
    bookings = [Booking(f"b{i}", utc(2026, 11, 20 + i, 9), utc(2026, 11, 20 + i, 10), (m,), (("pool", m),))
                for i, m in enumerate(("p3", "p2", "p1"))]
    req = request((PoolSeat("pool"),), utc(2026, 12, 1, 9), utc(2026, 12, 1, 10))
    slot = find_slots(directory, [], req, bookings).slots[0]
    assert slot.assignment.resource_ids == ("p0",) and slot.cost == 0.0
    busy = [BusyInterval("p0", utc(2026, 12, 1, 9), utc(2026, 12, 1, 10))]
    slot = find_slots(directory, busy, req, bookings).slots[0]
    assert slot.assignment.resource_ids == ("p3",) and slot.cost == 1.0
    assert slot.free_candidates[0] == ("p1", "p2", "p3")
    # A member counts by their latest assignment: p3 again, after p1, is now the most recent.
    again = [*bookings, Booking("b9", utc(2026, 11, 28, 9), utc(2026, 11, 28, 10), ("p3",), (("pool", "p3"),))]
    assert find_slots(directory, busy, req, again).slots[0].assignment.resource_ids == ("p2",)


def test_strict_round_robin_only_next_in_line() -> None:
    directory = pool_dir(Distribution.STRICT_ROUND_ROBIN)
    req = request((PoolSeat("pool"),), utc(2026, 12, 1, 9), utc(2026, 12, 1, 10))
    assert find_slots(directory, [], req).slots[0].assignment.resource_ids == ("p0",)
    busy = [BusyInterval("p0", utc(2026, 12, 1, 9), utc(2026, 12, 1, 10))]
    assert find_slots(directory, busy, req).slots == ()


def test_load_balanced_counts_the_cycle() -> None:
    directory = pool_dir(Distribution.LOAD_BALANCED, cycle=Cycle.DAY)
    bookings = [Booking(f"b{i}", utc(2026, 12, 1, 7), utc(2026, 12, 1, 8), (m,), (("pool", m),))
                for i, m in enumerate(("p0", "p1", "p1"))]
    req = request((PoolSeat("pool", count=2),), utc(2026, 12, 1, 9), utc(2026, 12, 1, 10))
    slot = find_slots(directory, [], req, bookings).slots[0]
    assert slot.assignment.resource_ids == ("p2", "p3")
    next_day = request((PoolSeat("pool", count=2),), utc(2026, 12, 2, 9), utc(2026, 12, 2, 10))
    assert find_slots(directory, [], next_day, bookings).slots[0].assignment.resource_ids == ("p0", "p1")


def through(pool: str, member: str, at: datetime, bid: str = "b") -> Booking:
    return Booking(f"{bid}-{member}-{at:%m%d%H%M}", at, at + timedelta(minutes=30), (member,), ((pool, member),))


@pytest.mark.parametrize(("cycle", "booked", "start", "counts"), [
    # 23:30 and the next day's 00:30 are different days, one hour apart.
    (Cycle.DAY, utc(2026, 12, 1, 23, 30), utc(2026, 12, 2, 0, 30), False),
    (Cycle.DAY, utc(2026, 12, 2, 0, 0), utc(2026, 12, 2, 23, 0), True),
    # Monday Nov 30 and Tuesday Dec 1: one ISO week, two months.
    (Cycle.WEEK, utc(2026, 11, 30, 9), utc(2026, 12, 1, 9), True),
    (Cycle.MONTH, utc(2026, 11, 30, 9), utc(2026, 12, 1, 9), False),
    (Cycle.MONTH, utc(2026, 12, 1, 8), utc(2026, 12, 15, 9), True),
    # Sunday Dec 6 and Monday Dec 7: one month, two weeks.
    (Cycle.WEEK, utc(2026, 12, 6, 9), utc(2026, 12, 7, 9), False),
])
def test_load_balanced_counts_only_the_cycle_holding_the_start(cycle: Cycle, booked: datetime, start: datetime,
                                                               counts: bool) -> None:
    directory = pool_dir(Distribution.LOAD_BALANCED, cycle=cycle)
    req = request((PoolSeat("pool"),), start, start + timedelta(hours=1))
    slot = find_slots(directory, [], req, [through("pool", "p0", booked)]).slots[0]
    assert slot.assignment.resource_ids == (("p1",) if counts else ("p0",))


def test_pool_history_counts_bookings_through_that_pool_of_its_current_members() -> None:
    """A booking through another pool is no assignment of this one; a booking of a member who
    has since left the pool is ignored, not an error."""
    members = [Member(f"p{i}") for i in range(4)]
    for rule in (Distribution.ROUND_ROBIN, Distribution.LOAD_BALANCED):
        directory = Directory.of(members, [], [Pool("pool", ("p0", "p1", "p2"), rule),
                                               Pool("other", ("p0", "p1"), rule)])
        bookings = [through("other", "p0", utc(2026, 12, 1, 8)), through("pool", "p3", utc(2026, 12, 1, 7))]
        req = request((PoolSeat("pool"),), utc(2026, 12, 1, 9), utc(2026, 12, 1, 10))
        slot = find_slots(directory, [], req, bookings).slots[0]
        assert slot.assignment.resource_ids == ("p0",) and slot.cost == 0.0, rule


def test_priority_pool_members_without_a_priority_count_as_zero() -> None:
    """p3 has priority 1, the others none (0): p3 first at no cost, the rest one step down."""
    directory = pool_dir(Distribution.PRIORITY, priorities=(("p3", 1),))
    req = request((PoolSeat("pool"),), utc(2026, 12, 1, 9), utc(2026, 12, 1, 10))
    slot = find_slots(directory, [], req).slots[0]
    assert slot.assignment.resource_ids == ("p3",) and slot.cost == 0.0
    busy = [BusyInterval("p3", utc(2026, 12, 1, 9), utc(2026, 12, 1, 10))]
    slot = find_slots(directory, busy, req).slots[0]
    assert slot.assignment.resource_ids == ("p0",) and slot.cost == Weights().pool_priority
    flat = pool_dir(Distribution.PRIORITY)
    assert find_slots(flat, [], req).slots[0].cost == 0.0  # nobody has a priority: nobody is down


def test_priority_pool() -> None:
    directory = pool_dir(Distribution.PRIORITY, priorities=(("p3", 5), ("p1", 3)))
    req = request((PoolSeat("pool", count=2),), utc(2026, 12, 1, 9), utc(2026, 12, 1, 10))
    slot = find_slots(directory, [], req).slots[0]
    assert slot.assignment.resource_ids == ("p1", "p3")
    assert slot.assignment.seats[0].cost == 2.0


def test_pool_seat_count_needs_that_many_free() -> None:
    directory = pool_dir(Distribution.ROUND_ROBIN)
    busy = [BusyInterval(m, utc(2026, 12, 1, 9), utc(2026, 12, 1, 10)) for m in ("p0", "p1")]
    req = request((PoolSeat("pool", count=3),), utc(2026, 12, 1, 9), utc(2026, 12, 1, 10))
    assert find_slots(directory, busy, req).slots == ()


ROOMS = Directory.of(
    [ALICE, BOB],
    [Room("small", capacity=2), Room("mid", capacity=4), Room("big", capacity=10)],
    [Pool("floor", ("big", "mid"))],
)


def test_room_capacity_counts_every_attendee() -> None:
    """alice + bob + optional carol... two members + one customer = 3: 'small' is too small."""
    req = request((MemberSeat(("alice",)), MemberSeat(("bob",)), RoomSeat(("small", "mid", "big"))),
                  utc(2026, 12, 1, 9), utc(2026, 12, 1, 10))
    slot = find_slots(ROOMS, [], req).slots[0]
    assert slot.assignment.seats[2].resource_ids == ("mid",)
    assert slot.assignment.seats[2].cost == 10.0 + 1.0  # second in the list, one spare seat
    assert slot.free_candidates[2] == ("mid", "big")


def test_a_room_exactly_as_big_as_the_meeting_fits() -> None:
    """Two members and one customer are 3: a room for 3 fits with no spare seat, one for 2 does not."""
    rooms = Directory.of([ALICE, BOB], [Room("two", capacity=2), Room("three", capacity=3)])
    req = request((MemberSeat(("alice",)), MemberSeat(("bob",)), RoomSeat(("two", "three"))),
                  utc(2026, 12, 1, 9), utc(2026, 12, 1, 10))
    slot = find_slots(rooms, [], req).slots[0]
    assert slot.assignment.seats[2].resource_ids == ("three",)
    assert slot.assignment.seats[2].cost == 10.0  # second in the list, no spare seat
    assert slot.free_candidates[2] == ("three",)
    only_two = request((MemberSeat(("alice",)), MemberSeat(("bob",)), RoomSeat(("two",))),
                       utc(2026, 12, 1, 9), utc(2026, 12, 1, 10))
    assert find_slots(rooms, [], only_two).slots == ()


def test_room_pool_prefers_the_smallest_fitting_room() -> None:
    req = request((MemberSeat(("alice",)), RoomSeat(pools=("floor",))), utc(2026, 12, 1, 9), utc(2026, 12, 1, 10))
    assert find_slots(ROOMS, [], req).slots[0].assignment.seats[1].resource_ids == ("mid",)


def test_a_room_in_two_pools_of_a_seat_is_one_candidate() -> None:
    rooms = Directory.of([ALICE], [Room("a", capacity=4), Room("b", capacity=4)],
                         [Pool("east", ("a", "b")), Pool("west", ("b",))])
    req = request((MemberSeat(("alice",)), RoomSeat(pools=("east", "west"))), utc(2026, 12, 1, 9), utc(2026, 12, 1, 10))
    assert find_slots(rooms, [], req).slots[0].free_candidates[1] == ("a", "b")


def test_a_strict_round_robin_room_pool_offers_only_the_next_room() -> None:
    rooms = [Room("r0", capacity=4), Room("r1", capacity=4)]
    directory = Directory.of([ALICE], rooms, [Pool("rooms", ("r0", "r1"), Distribution.STRICT_ROUND_ROBIN)])
    req = request((MemberSeat(("alice",)), RoomSeat(pools=("rooms",))), utc(2026, 12, 1, 9), utc(2026, 12, 1, 10))
    assert find_slots(directory, [], req).slots[0].assignment.seats[1].resource_ids == ("r0",)
    busy = [BusyInterval("r0", utc(2026, 12, 1, 9), utc(2026, 12, 1, 10))]
    assert find_slots(directory, busy, req).slots == ()


def test_room_capacity_counts_pool_seats_optional_members_and_customers() -> None:
    """A member, two from a pool, one optional member and two customers are 6."""
    members = [Member(m) for m in ("alice", "bob", "p0", "p1", "p2")]
    rooms = [Room("five", capacity=5), Room("six", capacity=6)]
    directory = Directory.of(members, rooms, [Pool("pool", ("p0", "p1", "p2"))])
    req = request((MemberSeat(("alice",)), PoolSeat("pool", count=2), RoomSeat(("five", "six"))),
                  utc(2026, 12, 1, 9), utc(2026, 12, 1, 10), optional_members=("bob",), customers=2)
    slot = find_slots(directory, [], req).slots[0]
    assert slot.free_candidates[2] == ("six",)
    assert slot.assignment.seats[2].cost == 10.0  # second in the list, no spare seat


def test_a_room_listed_and_in_a_pool_is_one_candidate() -> None:
    """'mid' is listed and also in the pool: it is offered once, as the listed room."""
    req = request((MemberSeat(("alice",)), RoomSeat(("mid",), pools=("floor",))),
                  utc(2026, 12, 1, 9), utc(2026, 12, 1, 10))
    slot = find_slots(ROOMS, [], req).slots[0]
    assert slot.free_candidates[1] == ("mid", "big")
    assert slot.assignment.seats[1].resource_ids == ("mid",)
    assert slot.assignment.seats[1].cost == 2.0  # first in the list, two spare seats: the listed room's cost


def test_optional_members_never_block() -> None:
    busy = [BusyInterval("bob", utc(2026, 12, 1, 9), utc(2026, 12, 1, 10))]
    req = request((MemberSeat(("alice",)),), utc(2026, 12, 1, 9), utc(2026, 12, 1, 11), optional_members=("bob",),
                  start_interval=60)
    slots = find_slots(DIR, busy, req).slots
    assert [(s.optional[0].member_id, s.optional[0].free) for s in slots] == [("bob", False), ("bob", True)]


# --- Ordering and paging ----------------------------------------------------------------


def test_best_first_ranks_by_cost_and_time_of_day() -> None:
    busy = [BusyInterval("alice", utc(2026, 12, 1, 9), utc(2026, 12, 1, 10))]
    req = request((MemberSeat(("alice", "bob")),), utc(2026, 12, 1, 8), utc(2026, 12, 1, 12), start_interval=60,
                  order=Order.BEST_FIRST, preferred_hours=(time(10), time(11)), weights=Weights(time_of_day=4))
    slots = find_slots(DIR, busy, req).slots
    assert [(s.start.hour, s.score) for s in slots] == [(10, 0.0), (11, 0.0), (8, 8.0), (9, 14.0)]


def test_paging() -> None:
    req = request((MemberSeat(("alice",)),), utc(2026, 12, 1, 8), utc(2026, 12, 1, 13), start_interval=60,
                  max_results=2)
    first = find_slots(DIR, [], req)
    assert [s.start.hour for s in first.slots] == [8, 9] and first.next_offset == 2 and first.total_available == 5
    last = find_slots(DIR, [], SlotRequest(**{**req.__dict__, "page_offset": 4}))
    assert [s.start.hour for s in last.slots] == [12] and last.next_offset is None


# --- CheckTime ------------------------------------------------------------------------------


def test_check_time_names_what_blocks() -> None:
    busy = [BusyInterval("bob", utc(2026, 12, 1, 9), utc(2026, 12, 1, 10))]
    req = request((MemberSeat(("alice",)), MemberSeat(("bob",))), utc(2026, 12, 1), utc(2026, 12, 2))
    check = check_time(DIR, busy, req, utc(2026, 12, 1, 9))
    assert not check.available and check.slot is not None
    assert [(c.resource_id, c.kind) for c in check.slot.conflicts] == [("bob", BusyKind.BUSY)]
    ok = check_time(DIR, busy, req, utc(2026, 12, 1, 10))
    assert ok.available and ok.slot is not None and ok.slot.assignment.resource_ids == ("alice", "bob")


# --- Validation -----------------------------------------------------------------------------


def test_every_problem_is_named() -> None:
    bad = SlotRequest(utc(2026, 12, 2), utc(2026, 12, 1), timedelta(0), "Mars/Base", (), resolution=7,
                      start_interval=0, buffer_before=-MIN)
    with pytest.raises(InvalidRequest) as err:
        find_slots(DIR, [], bad)
    fields = {v.field for v in err.value.violations}
    assert fields >= {"window_end", "duration", "time_zone", "resolution", "start_interval", "buffer_before",
                      "seats"}


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(InvalidRequest) as err:
        find_slots(DIR, [], request((MemberSeat(("alice",)),), datetime(2026, 12, 1), utc(2026, 12, 2)))
    assert [v.field for v in err.value.violations] == ["window_start"]


def test_unknown_ids_are_not_found() -> None:
    with pytest.raises(UnknownResource) as err:
        find_slots(DIR, [], request((MemberSeat(("alice", "zed")),), utc(2026, 12, 1), utc(2026, 12, 2)))
    assert err.value.field == "seats[0].candidates[1]"


def test_limits_name_the_limit() -> None:
    req = request((MemberSeat(("alice",)),) * 3, utc(2026, 12, 1), utc(2026, 12, 2))
    with pytest.raises(LimitExceeded) as err:
        find_slots(DIR, [], req, limits=Limits(max_seats=2))
    assert err.value.limit_name == "max_seats"
