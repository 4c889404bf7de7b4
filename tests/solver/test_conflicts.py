"""Conflict mode: costs of each conflict kind, alternatives, rooms stay hard, diagnosis."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from solver import (
    Booking,
    BusyInterval,
    BusyKind,
    Directory,
    EventDetails,
    Member,
    MemberSeat,
    Room,
    RoomSeat,
    SlotRequest,
    Weights,
    WorkingHours,
    check_time,
    find_slots,
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


HOURS = WorkingHours.weekdays(time(9), time(17), "UTC", 7)
DIR = Directory.of(
    [Member("alice", working_hours=HOURS), Member("bob", working_hours=HOURS), Member("carol")],
    [Room("room", capacity=5)],
)
DAY = (utc(2026, 12, 1, 9), utc(2026, 12, 1, 17))


def req(seats: tuple, start: datetime = DAY[0], end: datetime = DAY[1], **kw) -> SlotRequest:
    kw.setdefault("start_interval", 60)
    return SlotRequest(start, end, timedelta(hours=1), "UTC", seats, **kw)


def all_day_busy(member: str, kind: BusyKind = BusyKind.BUSY) -> list[BusyInterval]:
    day = utc(2026, 12, 1)
    return [BusyInterval(member, day + timedelta(hours=h), day + timedelta(hours=h + 1), kind, owner=member,
                         details=EventDetails(f"{member} meeting {h}", f"ev-{member}-{h}", "HQ")) for h in range(24)]


def test_each_kind_costs_its_weight() -> None:
    """Alice is busy all day except tentative at 10 and out of hours at 8:
    the cheapest conflicts come first: tentative (30) < outside hours (50) < busy (100)."""
    busy = [b for b in all_day_busy("alice") if b.start.hour not in (8, 10)]
    busy.append(BusyInterval("alice", utc(2026, 12, 1, 10), utc(2026, 12, 1, 11), BusyKind.TENTATIVE))
    r = find_slots(DIR, busy, req((MemberSeat(("alice",)),), utc(2026, 12, 1, 8), DAY[1], max_alternatives=3,
                                  min_available=1))
    assert r.total_available == 0
    got = [(a.start.hour, a.conflict_cost, [c.kind for c in a.conflicts]) for a in r.alternatives]
    assert got == [(10, 30.0, [BusyKind.TENTATIVE]), (8, 50.0, [BusyKind.OUTSIDE_HOURS]),
                   (9, 100.0, [BusyKind.BUSY])]


def test_conflicts_count_every_overlapping_event() -> None:
    two = [BusyInterval("alice", utc(2026, 12, 1, 9), utc(2026, 12, 1, 9, 30)),
           BusyInterval("alice", utc(2026, 12, 1, 9, 30), utc(2026, 12, 1, 10))]
    r = find_slots(DIR, two, req((MemberSeat(("alice",)),), DAY[0], utc(2026, 12, 1, 10), want_alternatives=True,
                                 max_alternatives=1))
    assert r.alternatives[0].conflict_cost == 200.0 and len(r.alternatives[0].conflicts) == 2


def test_alternatives_only_when_too_few_free() -> None:
    busy = [b for b in all_day_busy("alice") if b.start.hour != 12]
    seats = (MemberSeat(("alice",)),)
    assert find_slots(DIR, busy, req(seats, max_alternatives=5, min_available=1)).alternatives == ()
    r = find_slots(DIR, busy, req(seats, max_alternatives=5, min_available=2))
    assert r.total_available == 1 and len(r.alternatives) == 5
    assert [a.start.hour for a in r.alternatives] == [9, 10, 11, 13, 14]  # equal cost: chronological


def test_conflict_cost_prefers_the_less_busy_alternate_then_seat_cost() -> None:
    """Both alice (primary) and bob are busy at 9: equal conflict, so the primary (cheaper seat) is chosen;
    with bob tentative only, bob is chosen despite the alternate cost."""
    busy = [BusyInterval("alice", utc(2026, 12, 1, 9), utc(2026, 12, 1, 10)),
            BusyInterval("bob", utc(2026, 12, 1, 9), utc(2026, 12, 1, 10))]
    seats = (MemberSeat(("alice", "bob")),)
    r = find_slots(DIR, busy, req(seats, DAY[0], utc(2026, 12, 1, 10), want_alternatives=True, max_alternatives=1))
    assert r.alternatives[0].assignment.resource_ids == ("alice",)
    busy[1] = BusyInterval("bob", utc(2026, 12, 1, 9), utc(2026, 12, 1, 10), BusyKind.TENTATIVE)
    r = find_slots(DIR, busy, req(seats, DAY[0], utc(2026, 12, 1, 10), want_alternatives=True, max_alternatives=1))
    assert r.alternatives[0].assignment.resource_ids == ("bob",)
    assert r.alternatives[0].conflict_cost == 30.0 and r.alternatives[0].cost == 10.0


def test_rooms_stay_hard_in_conflict_mode() -> None:
    busy = all_day_busy("room")
    r = find_slots(DIR, busy, req((MemberSeat(("alice",)), RoomSeat(("room",))), want_alternatives=True,
                                  max_alternatives=3))
    assert r.total_available == 0 and r.alternatives == ()


def test_existing_bookings_are_conflicts_of_their_own_kind() -> None:
    bookings = [Booking("b1", utc(2026, 12, 1, 9), utc(2026, 12, 1, 10), ("alice",))]
    check = check_time(DIR, [], req((MemberSeat(("alice",)),)), utc(2026, 12, 1, 9), bookings)
    assert not check.available and check.slot is not None
    assert [(c.kind, c.start) for c in check.slot.conflicts] == [(BusyKind.BOOKING, utc(2026, 12, 1, 9))]


def test_conflicts_carry_owner_and_details_for_the_server_to_filter() -> None:
    check = check_time(DIR, all_day_busy("alice"), req((MemberSeat(("alice",)),)), utc(2026, 12, 1, 11))
    assert check.slot is not None
    (conflict,) = check.slot.conflicts
    assert conflict.owner == "alice" and conflict.details == EventDetails("alice meeting 11", "ev-alice-11", "HQ")


def test_weights_change_the_ranking() -> None:
    busy = [BusyInterval("alice", utc(2026, 12, 1, 9), utc(2026, 12, 1, 10)),
            BusyInterval("alice", utc(2026, 12, 1, 10), utc(2026, 12, 1, 11), BusyKind.TENTATIVE)]
    seats = (MemberSeat(("alice",)),)
    window = (DAY[0], utc(2026, 12, 1, 11))
    cheap_busy = Weights(conflict_busy=10, conflict_tentative=30)
    r = find_slots(DIR, busy, req(seats, *window, want_alternatives=True, max_alternatives=2, weights=cheap_busy))
    assert [a.start.hour for a in r.alternatives] == [9, 10]
    r = find_slots(DIR, busy, req(seats, *window, want_alternatives=True, max_alternatives=2))
    assert [a.start.hour for a in r.alternatives] == [10, 9]


def test_diagnosis_names_the_rule_that_removed_starts() -> None:
    """Alice busy 9-12 with 15-minute buffers, out of hours before 9, and a room too small."""
    busy = [BusyInterval("alice", utc(2026, 12, 1, 9), utc(2026, 12, 1, 12))]
    directory = Directory.of([Member("alice", working_hours=HOURS)], [Room("tiny", capacity=1)])
    seats = (MemberSeat(("alice",)), RoomSeat(("tiny",)))
    r = find_slots(directory, busy, req(seats, utc(2026, 12, 1, 7), utc(2026, 12, 1, 14),
                                        buffer_after=timedelta(minutes=15)))
    assert r.total_available == 0 and r.diagnosis is not None
    alice, room = r.diagnosis.seats
    # Starts 7..13: 7 and 8 are out of hours (8:00 also touches the 9:00 event through its buffer),
    # 9-11 are busy, 12 and 13 are free.
    assert alice.starts_without_candidate == 5
    rules = dict(alice.rules)
    assert rules["outside_hours"] == 1  # only 07:00 is free of events but out of hours
    assert rules["busy"] == 3  # 9, 10, 11 (8 is also out of hours)
    assert rules["buffers"] == 0
    assert room.starts_without_candidate == 7 and dict(room.rules)["room_capacity"] == 7
    assert r.diagnosis.before_notice == 0


def test_diagnosis_counts_buffers_and_notice() -> None:
    busy = [BusyInterval("carol", utc(2026, 12, 1, 11), utc(2026, 12, 1, 12))]
    seats = (MemberSeat(("carol",)),)
    r = find_slots(DIR, busy, req(seats, utc(2026, 12, 1, 9), utc(2026, 12, 1, 12), buffer_after=timedelta(minutes=5),
                                  now=utc(2026, 12, 1, 9, 30)))
    # 9:00 is before now; 10:00 is blocked only by the buffer after; 11:00 is busy.
    assert r.total_available == 0 and r.diagnosis is not None
    assert r.diagnosis.before_notice == 1
    assert dict(r.diagnosis.seats[0].rules) == {"busy": 2, "buffers": 1, "outside_hours": 0, "booking_limits": 0}
