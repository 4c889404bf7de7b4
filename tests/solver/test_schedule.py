"""GetSchedule's pure core: the merged grid, the items and the working hours, checked by hand and
against a cell-by-cell brute force."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from solver import Booking, BusyInterval, BusyKind, Directory, Member, Room, WorkingHours
from solver.errors import InvalidRequest, LimitExceeded, UnknownResource
from solver.schedule import CODES, ScheduleRequest, schedules, validate_schedule
from solver.validate import Limits

MONDAY = datetime(2026, 12, 7, tzinfo=UTC)
HOURS = WorkingHours.weekdays(time(9), time(17), "UTC")
TEAM = Directory.of([Member("ana", working_hours=HOURS), Member("ben")], [Room("lab", capacity=4)])


def at(hour: float) -> datetime:
    return MONDAY + timedelta(hours=hour)


def busy(resource: str, start: float, end: float, kind: BusyKind = BusyKind.BUSY) -> BusyInterval:
    return BusyInterval(resource, at(start), at(end), kind)


def day(*ids: str, start: float = 9, end: float = 17, minutes: int = 60) -> ScheduleRequest:
    return ScheduleRequest(ids, at(start), at(end), timedelta(minutes=minutes))


def test_the_view_has_one_code_per_interval_the_strongest_wins() -> None:
    found = schedules(TEAM, [busy("ana", 10, 11), busy("ana", 14, 14.5, BusyKind.TENTATIVE),
                             busy("ana", 15, 16, BusyKind.TENTATIVE), busy("ana", 15.5, 16, BusyKind.OUT_OF_OFFICE)],
                      [], day("ana"))
    assert found[0].view == "02000130"


def test_an_interval_touched_at_all_is_not_free() -> None:
    # 10:10-10:20 at hourly intervals makes 10:00-11:00 busy; an end on a boundary does not spill over.
    assert schedules(TEAM, [busy("ana", 10 + 1 / 6, 10 + 2 / 6), busy("ana", 12, 13)], [],
                     day("ana")).__getitem__(0).view == "02020000"


def test_bookings_are_items_of_kind_booking_and_busy_in_the_view() -> None:
    booking = Booking("bk1", at(11), at(12), ("ben", "lab"))
    found = schedules(TEAM, [], [booking, Booking("old", at(-30), at(-29), ("ben",))], day("ben", "lab", "ana"))
    assert [s.resource_id for s in found] == ["ben", "lab", "ana"]
    assert [(i.kind, i.start) for i in found[0].items] == [(BusyKind.BOOKING, at(11))]
    assert found[0].view == found[1].view == "00100000".replace("1", "2")
    assert found[2].items == ()


def test_items_are_those_of_the_resource_inside_the_window_by_start() -> None:
    found = schedules(TEAM, [busy("ana", 13, 14), busy("ana", 8, 9.5), busy("ben", 10, 11), busy("ana", 20, 21)],
                      [], day("ana"))
    assert [(i.start, i.end) for i in found[0].items] == [(at(8), at(9.5)), (at(13), at(14))]
    assert found[0].view[0] == "2"


def test_working_hours_are_clipped_to_the_window_and_none_means_the_whole_window() -> None:
    found = schedules(TEAM, [], [], ScheduleRequest(("ana", "ben"), at(12), at(24 + 10), timedelta(minutes=30)))
    assert found[0].working == ((at(12), at(17)), (at(24 + 9), at(24 + 10)))
    assert found[1].working == ((at(12), at(24 + 10)),)


def test_the_last_interval_may_be_cut_short() -> None:
    assert len(schedules(TEAM, [busy("ana", 9.75, 10)], [], day("ana", end=10, minutes=45))[0].view) == 2


@pytest.mark.parametrize(("request_", "error", "field"), [
    (day(), InvalidRequest, "resource_ids"),
    (day("ana", "ana"), InvalidRequest, "resource_ids[1]"),
    (day("ana", start=10, end=9), InvalidRequest, "window_end"),
    (day("ana", minutes=7), InvalidRequest, "interval"),
    (day("ana", minutes=0), InvalidRequest, "interval"),
    (day("ana", "zed"), UnknownResource, "resource_ids[1]"),
    (day("ana", end=24 * 40), LimitExceeded, "window_end"),
    (day("ana", end=9 + 24 * 30, minutes=1), LimitExceeded, "interval"),
])
def test_bad_requests_name_the_field(request_: ScheduleRequest, error: type[Exception], field: str) -> None:
    with pytest.raises(error) as caught:
        validate_schedule(TEAM, request_, Limits(max_horizon_days=31))
    exc = caught.value
    fields = [v.field for v in exc.violations] if isinstance(exc, InvalidRequest) else [exc.field]  # type: ignore[attr-defined]
    assert field in fields


def test_too_many_resources_is_over_the_limit() -> None:
    with pytest.raises(LimitExceeded, match="max_candidates_per_seat"):
        validate_schedule(TEAM, day("ana", "ben", "lab"), Limits(max_candidates_per_seat=2))


KINDS = st.sampled_from([BusyKind.BUSY, BusyKind.TENTATIVE, BusyKind.OUT_OF_OFFICE])
INTERVALS = st.lists(st.tuples(st.integers(-60, 600), st.integers(1, 300), KINDS), max_size=8)


@given(INTERVALS, st.sampled_from([5, 15, 30, 45, 60, 90]), st.integers(30, 540))
def test_the_view_matches_a_cell_by_cell_brute_force(spans: list[tuple[int, int, BusyKind]], minutes: int,
                                                    length: int) -> None:
    items = [BusyInterval("ben", MONDAY + timedelta(minutes=a), MONDAY + timedelta(minutes=a + d), k)
             for a, d, k in spans]
    request = ScheduleRequest(("ben",), MONDAY, MONDAY + timedelta(minutes=length), timedelta(minutes=minutes))
    view = schedules(TEAM, items, [], request)[0].view
    expected = ""
    cell = MONDAY
    while cell < request.window_end:
        end = min(cell + request.interval, request.window_end)
        expected += str(max([CODES[i.kind] for i in items if i.start < end and i.end > cell], default=0))
        cell = end
    assert view == expected
