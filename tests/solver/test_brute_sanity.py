"""The oracle checked against answers worked out by hand.

tests/brute.py is what the solver is judged by, so it gets its own small,
readable cases: each number below was computed on paper from the semantics.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

from solver import (
    Booking,
    BusyInterval,
    Cycle,
    DayRange,
    Directory,
    Distribution,
    Member,
    MemberSeat,
    Order,
    Pool,
    PoolSeat,
    Room,
    RoomSeat,
    Seat,
    SlotRequest,
    Weights,
    WorkingHours,
)
from tests.solver.brute import BruteResult, brute_slots, candidate_starts, hours_intervals, time_of_day_distance

BERLIN = ZoneInfo("Europe/Berlin")


def utc(day: int, hour: int, minute: int = 0, month: int = 6, year: int = 2024) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def request(start: datetime, end: datetime, seats: tuple[Seat, ...], minutes: int = 60,
            **kw: object) -> SlotRequest:
    return SlotRequest(window_start=start, window_end=end, duration=timedelta(minutes=minutes),
                       time_zone=str(kw.pop("time_zone", "UTC")), seats=seats, **kw)  # type: ignore[arg-type]


def starts_of(result: BruteResult) -> list[datetime]:
    return [s.start for s in result.slots]


def always(*ids: str) -> Directory:
    return Directory.of([Member(i) for i in ids])


# --- Grid ----------------------------------------------------------------------


def test_off_grid_busy_widens_to_whole_cells() -> None:
    # 10:02-10:07 at 5-minute resolution blocks the cells 10:00-10:05 and 10:05-10:10.
    busy = [BusyInterval("a", utc(3, 10, 2), utc(3, 10, 7))]
    req = request(utc(3, 9, 50), utc(3, 10, 20), (MemberSeat(("a",)),), minutes=5, start_interval=5)
    got = starts_of(brute_slots(always("a"), busy, req))
    assert got == [utc(3, 9, 50), utc(3, 9, 55), utc(3, 10, 10), utc(3, 10, 15)]


def test_coarser_resolution_widens_further() -> None:
    # At 15 minutes the same event blocks 10:00-10:15, so 10:10 is blocked too.
    busy = [BusyInterval("a", utc(3, 10, 2), utc(3, 10, 7))]
    req = request(utc(3, 9, 50), utc(3, 10, 20), (MemberSeat(("a",)),), minutes=5, start_interval=5,
                  resolution=15)
    assert starts_of(brute_slots(always("a"), busy, req)) == [utc(3, 9, 50), utc(3, 9, 55), utc(3, 10, 15)]


def test_working_hours_narrow_inward() -> None:
    # Hours 09:02-09:58: the cells 09:00-09:05 and 09:55-10:00 are not wholly inside.
    hours = WorkingHours("UTC", ((DayRange(542, 598),),) * 7)
    directory = Directory.of([Member("a", working_hours=hours)])
    req = request(utc(3, 8), utc(3, 11), (MemberSeat(("a",)),), minutes=10, start_interval=5)
    got = starts_of(brute_slots(directory, [], req))
    assert got[0] == utc(3, 9, 5)
    assert got[-1] == utc(3, 9, 45)  # 09:45-09:55; 09:50 would need the 09:55 cell
    assert len(got) == 9


def test_buffers_extend_the_checked_window() -> None:
    busy = [BusyInterval("a", utc(3, 10), utc(3, 10, 30))]
    req = request(utc(3, 9), utc(3, 12), (MemberSeat(("a",)),), minutes=30, start_interval=15,
                  buffer_before=timedelta(minutes=10), buffer_after=timedelta(minutes=10))
    got = starts_of(brute_slots(always("a"), busy, req))
    # 09:15-09:45 (+10 = 09:55) is the last before; 10:45 (-10 = 10:35) the first after.
    assert got == [utc(3, 9), utc(3, 9, 15), utc(3, 10, 45), utc(3, 11), utc(3, 11, 15), utc(3, 11, 30)]


def test_booking_blocks_like_busy_with_buffers() -> None:
    bookings = [Booking("b1", utc(3, 10), utc(3, 10, 30), ("a",))]
    req = request(utc(3, 9, 30), utc(3, 11, 30), (MemberSeat(("a",)),), minutes=30, start_interval=30,
                  buffer_after=timedelta(minutes=5))
    got = starts_of(brute_slots(always("a"), [], req, bookings))
    assert got == [utc(3, 10, 30), utc(3, 11)]  # 09:30 + 30 + 5 reaches into 10:00


# --- Time zones and DST -----------------------------------------------------------


def test_dst_spring_forward_day_has_eight_wall_clock_hours() -> None:
    hours = WorkingHours.weekdays(time(9), time(17), "Europe/Berlin", days=7)
    day = date(2024, 3, 31)  # 02:00 -> 03:00
    assert hours_intervals(hours, day, day) == [(utc(31, 7, month=3), utc(31, 15, month=3))]
    directory = Directory.of([Member("a", working_hours=hours)])
    req = request(utc(30, 22, month=3), utc(31, 22, month=3), (MemberSeat(("a",)),), start_interval=60,
                  time_zone="Europe/Berlin")
    got = brute_slots(directory, [], req)
    assert len(got.slots) == 8  # 09:00 .. 16:00 local
    assert got.slots[0].start.astimezone(BERLIN).hour == 9


def test_dst_fall_back_day_is_25_hours_long() -> None:
    hours = WorkingHours("Europe/Berlin", ((DayRange(0, 1440),),) * 7)
    day = date(2024, 10, 27)
    ((lo, hi),) = hours_intervals(hours, day, day)
    assert hi - lo == timedelta(hours=25)


def test_candidate_starts_across_fall_back_count_the_repeated_hour() -> None:
    # 00:00-04:00 local on 2024-10-27 Berlin: 02:00 and 02:30 happen twice.
    start = datetime(2024, 10, 27, tzinfo=BERLIN)
    end = datetime(2024, 10, 27, 4, tzinfo=BERLIN)
    req = request(start, end, (MemberSeat(("a",)),), minutes=30, start_interval=30, time_zone="Europe/Berlin")
    got = [t.astimezone(BERLIN).strftime("%H:%M") for t in candidate_starts(req)]
    assert got == ["00:00", "00:30", "01:00", "01:30", "02:00", "02:30", "02:00", "02:30", "03:00", "03:30"]


def test_candidate_starts_skip_the_spring_forward_gap() -> None:
    start = datetime(2024, 3, 31, tzinfo=BERLIN)
    end = datetime(2024, 3, 31, 4, tzinfo=BERLIN)
    req = request(start, end, (MemberSeat(("a",)),), minutes=30, start_interval=30, time_zone="Europe/Berlin")
    got = [t.astimezone(BERLIN).strftime("%H:%M") for t in candidate_starts(req)]
    assert got == ["00:00", "00:30", "01:00", "01:30", "03:00", "03:30"]


def test_candidate_starts_follow_the_local_clock_in_a_quarter_hour_zone() -> None:
    # Kathmandu is +05:45: local :00 and :30 are :15 and :45 past the hour in UTC.
    req = request(utc(3, 4), utc(3, 6), (MemberSeat(("a",)),), minutes=30, start_interval=30,
                  time_zone="Asia/Kathmandu")
    assert candidate_starts(req) == [utc(3, 4, 15), utc(3, 4, 45), utc(3, 5, 15)]  # 05:45 + 30 > 06:00


def test_minimum_notice_and_window_end() -> None:
    req = request(utc(3, 9), utc(3, 12), (MemberSeat(("a",)),), start_interval=30,
                  now=utc(3, 9, 10), minimum_notice=timedelta(minutes=50))
    assert candidate_starts(req) == [utc(3, 10), utc(3, 10, 30), utc(3, 11)]


def test_hours_join_across_midnight() -> None:
    late = (DayRange(1320, 1440),)  # 22:00-24:00
    early = (DayRange(0, 120),)  # 00:00-02:00
    both = WorkingHours("UTC", (late, early, (), (), (), (), ()))  # Monday late, Tuesday early
    only_monday = WorkingHours("UTC", (late, (), (), (), (), (), ()))
    req = request(utc(3, 23, 30), utc(4, 0, 30), (MemberSeat(("a",)),), start_interval=30)  # Mon 3 June
    assert len(brute_slots(Directory.of([Member("a", working_hours=both)]), [], req).slots) == 1
    assert brute_slots(Directory.of([Member("a", working_hours=only_monday)]), [], req).slots == ()


def test_hours_join_at_an_off_grid_midnight() -> None:
    # Kathmandu midnight is 18:15 UTC: at 10-minute resolution the cell 18:10-18:20
    # is inside neither day alone, but inside their union.
    hours = WorkingHours("Asia/Kathmandu", ((DayRange(0, 1440),),) * 7)
    req = request(utc(3, 18), utc(3, 18, 30), (MemberSeat(("a",)),), minutes=30, start_interval=30,
                  resolution=10)
    assert len(brute_slots(Directory.of([Member("a", working_hours=hours)]), [], req).slots) == 1


def test_time_of_day_distance() -> None:
    pref = (time(9), time(17))
    assert time_of_day_distance(utc(3, 8, 15), "UTC", pref) == Fraction(3, 4)
    assert time_of_day_distance(utc(3, 12), "UTC", pref) == 0
    assert time_of_day_distance(utc(3, 17), "UTC", pref) == 0
    assert time_of_day_distance(utc(3, 18, 30), "UTC", pref) == Fraction(3, 2)
    assert time_of_day_distance(utc(3, 7), "Europe/Berlin", pref) == 0  # 09:00 local


# --- Limits -------------------------------------------------------------------------


def test_daily_limit_counts_bookings_on_the_members_local_day() -> None:
    # A booking at 23:30 UTC on the 3rd is 01:30 on the 4th in Berlin.
    member = Member("a", time_zone="Europe/Berlin", daily_limit=1)
    bookings = [Booking("b1", utc(3, 23, 30), utc(3, 23, 45), ("a",))]
    req = request(utc(3, 12), utc(4, 13), (MemberSeat(("a",)),), start_interval=60)
    got = starts_of(brute_slots(Directory.of([member]), [], req, bookings))
    assert utc(3, 12) in got and utc(3, 21) in got  # still the 3rd in Berlin
    assert utc(3, 22) not in got and utc(4, 12) not in got  # the 4th in Berlin: limit reached


def test_weekly_limit_counts_the_local_iso_week() -> None:
    member = Member("a", weekly_limit=2)
    # Mon 3 June and Sun 9 June are one ISO week; Mon 10 June starts the next.
    bookings = [Booking("b1", utc(3, 8), utc(3, 9), ("a",)), Booking("b2", utc(9, 8), utc(9, 9), ("a",))]
    req = request(utc(9, 20), utc(10, 2), (MemberSeat(("a",)),), start_interval=60)
    assert starts_of(brute_slots(Directory.of([member]), [], req, bookings)) == [utc(10, 0), utc(10, 1)]


# --- Seats and costs ------------------------------------------------------------------


def test_alternates_and_the_lexicographic_tie_break() -> None:
    req = request(utc(3, 9), utc(3, 10), (MemberSeat(("a", "b")), MemberSeat(("a", "b"))), start_interval=60)
    (slot,) = brute_slots(always("a", "b"), [], req).slots
    # (a, b) and (b, a) both cost 10; the smaller index vector (0, 1) wins.
    assert slot.indices == (0, 1) and slot.cost == 10 and slot.resource_ids == (("a",), ("b",))


def test_seats_interact_greedy_would_fail() -> None:
    req = request(utc(3, 9), utc(3, 10), (MemberSeat(("a", "b")), MemberSeat(("a",))), start_interval=60)
    (slot,) = brute_slots(always("a", "b"), [], req).slots
    assert slot.resource_ids == (("b",), ("a",)) and slot.seat_costs == (Fraction(10), Fraction(0))
    assert slot.free_candidates == (("a", "b"), ("a",))


def test_no_distinct_assignment_means_unavailable() -> None:
    req = request(utc(3, 9), utc(3, 10), (MemberSeat(("a",)), MemberSeat(("a",))), start_interval=60)
    assert brute_slots(always("a"), [], req).slots == ()


def test_round_robin_rank_and_strict() -> None:
    members = [Member(m) for m in "pqr"]
    bookings = [
        Booking("b1", utc(1, 9), utc(1, 10), ("p",), (("pool", "p"),)),
        Booking("b2", utc(2, 9), utc(2, 10), ("q",), (("pool", "q"),)),
    ]
    # Ranks: r never assigned (0), p least recent (1), q (2).
    flexible = Directory.of(members, pools=[Pool("pool", ("p", "q", "r"))])
    req = request(utc(3, 9), utc(3, 10), (PoolSeat("pool", count=2),), start_interval=60)
    (slot,) = brute_slots(flexible, [], req, bookings).slots
    assert slot.resource_ids == (("p", "r"),) and slot.cost == 1  # ranks 1 + 0, shown in pool order
    busy = [BusyInterval("r", utc(3, 9), utc(3, 10))]
    (slot,) = brute_slots(flexible, busy, req, bookings).slots
    assert slot.resource_ids == (("p", "q"),) and slot.cost == 3
    strict = Directory.of(members, pools=[Pool("pool", ("p", "q", "r"), Distribution.STRICT_ROUND_ROBIN)])
    got = brute_slots(strict, busy, req, bookings)
    assert got.seat_candidates == (("p", "r"),) and got.slots == ()  # r is next in line and busy


def test_load_balanced_counts_the_cycle_of_the_slot() -> None:
    pool = Pool("pool", ("p", "q"), Distribution.LOAD_BALANCED, cycle=Cycle.DAY)
    directory = Directory.of([Member("p"), Member("q")], pools=[pool])
    bookings = [Booking(f"b{i}", utc(3, 8), utc(3, 9), ("p",), (("pool", "p"),)) for i in range(2)]
    req = request(utc(3, 0), utc(4, 1), (PoolSeat("pool", count=2),), start_interval=1440)
    first, second = brute_slots(directory, [], req, bookings).slots
    assert first.cost == 2 and second.cost == 0  # p's two bookings are on the 3rd only


def test_priority_cost() -> None:
    pool = Pool("pool", ("p", "q"), Distribution.PRIORITY, priorities=(("p", 1), ("q", 4)))
    directory = Directory.of([Member("p"), Member("q")], pools=[pool])
    req = request(utc(3, 9), utc(3, 10), (PoolSeat("pool"),), start_interval=60,
                  weights=Weights(pool_priority=2.0))
    (slot,) = brute_slots(directory, [], req).slots
    assert slot.resource_ids == (("q",),) and slot.cost == 0
    (slot,) = brute_slots(directory, [BusyInterval("q", utc(3, 9), utc(3, 10))], req).slots
    assert slot.resource_ids == (("p",),) and slot.cost == 6


def test_rooms_capacity_fit_and_pools() -> None:
    rooms = [Room("small", capacity=2), Room("big", capacity=8), Room("mid", capacity=4),
             Room("tiny", capacity=1)]
    pool = Pool("rooms", ("tiny", "mid", "big"), Distribution.PRIORITY, priorities=(("big", 1),))
    directory = Directory.of([Member("a"), Member("o")], rooms, [pool])
    # Attendees: one member seat + one optional + one customer = 3.
    req = request(utc(3, 9), utc(3, 10), (MemberSeat(("a",)), RoomSeat(("small", "big"), ("rooms",))),
                  start_interval=60, optional_members=("o",))
    got = brute_slots(directory, [BusyInterval("o", utc(3, 9), utc(3, 10))], req)
    assert got.seat_candidates == (("a",), ("big", "mid"))  # small and tiny are too small
    (slot,) = got.slots
    # big: listed index 1 -> 10 + fit 5 = 15; mid: pool priority 1 - 0 = 1 + fit 1 = 2.
    assert slot.resource_ids == (("a",), ("mid",)) and slot.seat_costs == (Fraction(0), Fraction(2))
    assert slot.optional == (("o", False),)


def test_best_first_orders_by_score_then_start() -> None:
    req = request(utc(3, 6), utc(3, 12), (MemberSeat(("a", "b")),), start_interval=60,
                  order=Order.BEST_FIRST, preferred_hours=(time(9), time(10)))
    busy = [BusyInterval("a", utc(3, 9), utc(3, 10))]
    got = brute_slots(always("a", "b"), busy, req).best_first()
    # Scores: 06:00 3, 07:00 2, 08:00 1, 09:00 (b) 10 + 0, 10:00 0, 11:00 1.
    assert [(s.start.hour, int(s.score)) for s in got] == [(10, 0), (8, 1), (11, 1), (7, 2), (6, 3), (9, 10)]
