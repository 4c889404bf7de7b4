"""Each batch rule in pairs: a case that meets it and one that does not, with exact outcomes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from solver import (
    Booking,
    BusyInterval,
    Directory,
    Distribution,
    FieldViolation,
    InvalidRequest,
    MemberSeat,
    Pool,
    PoolSeat,
    RoomSeat,
    UnknownResource,
    Weights,
)
from solver.batch import (
    BatchItem,
    BatchProgress,
    BatchRequest,
    BatchStatus,
    UnscheduledReason,
    optimize_batch,
)
from tests.solver.batch.helpers import at, item, member, room

DIR = Directory.of([member("ana"), member("ben"), member("cy", daily_limit=1), member("dee")],
                   [room("r1"), room("r2")],
                   [Pool("team", ("ana", "ben"), Distribution.ROUND_ROBIN)])
ZERO = Weights(alternate=10, pool_balance=0, room_fit=0, fairness=0, earliness=0)


def solve(*items: BatchItem, weights: Weights = ZERO, busy: list[BusyInterval] | None = None, **kw: object):
    batch = BatchRequest(tuple(items), weights, time_limit=10, **kw)  # type: ignore[arg-type]
    result = optimize_batch(DIR, busy or [], [], batch)
    assert result.status is BatchStatus.OPTIMAL
    return result


def starts(result) -> dict[str, str]:
    return {k: v.start.strftime("%H:%M") for k, v in result.scheduled.items()}


# --- Items apart: a meeting never inside another item's padded span ---------------------


def test_a_buffer_keeps_the_next_meeting_out() -> None:
    """A holds ana 10-11 and keeps 15 minutes after: B cannot start at 11:00, only at 11:30."""
    a = item("a", (MemberSeat(("ana",)),), at(10), at(11), priority=2, buffer_after=timedelta(minutes=15))
    only_11 = item("b", (MemberSeat(("ana",)),), at(11), at(12))
    assert "b" not in solve(a, only_11).scheduled
    from_11 = item("b", (MemberSeat(("ana",)),), at(11), at(12, 30))
    assert starts(solve(a, from_11)) == {"a": "10:00", "b": "11:30"}


def test_buffers_of_two_items_may_overlap() -> None:
    """Buffers do not stack: A's 30 minutes after and B's 30 before share 11:00-11:30,
    as a booking's buffers would (each meeting keeps its own buffers clear of meetings)."""
    a = item("a", (MemberSeat(("ana",)),), at(10), at(11), priority=2, buffer_after=timedelta(minutes=30))
    b = item("b", (MemberSeat(("ana",)),), at(11, 30), at(12, 30), buffer_before=timedelta(minutes=30))
    assert starts(solve(a, b)) == {"a": "10:00", "b": "11:30"}
    too_close = item("b", (MemberSeat(("ana",)),), at(11), at(12), buffer_before=timedelta(minutes=30))
    assert "b" not in solve(a, too_close).scheduled


def test_a_room_is_never_shared_even_in_conflict_mode() -> None:
    """In conflict mode a busy member may be seated (at a price), but two items never share a room."""
    busy = [BusyInterval("ben", at(10), at(11))]
    a = item("a", (MemberSeat(("ben",)), RoomSeat(("r1",))), at(10), at(11), priority=2)
    b = item("b", (MemberSeat(("ana",)), RoomSeat(("r1",))), at(10), at(11))
    result = solve(a, b, busy=busy, allow_conflicts=True)
    assert set(result.scheduled) == {"a"}
    assert result.scheduled["a"].conflict_cost == 100.0 and result.kpis.conflicts == 1
    b_elsewhere = item("b", (MemberSeat(("ana",)), RoomSeat(("r2",))), at(10), at(11))
    assert set(solve(a, b_elsewhere, busy=busy, allow_conflicts=True).scheduled) == {"a", "b"}


# --- Booking limits count the batch's own items -----------------------------------------


def test_a_daily_limit_counts_the_batch() -> None:
    """cy may take one meeting a day: two items on one day, one is left out (the lower priority)."""
    a = item("a", (MemberSeat(("cy",)),), at(9), at(10), priority=2)
    b = item("b", (MemberSeat(("cy",)),), at(15), at(16))
    result = solve(a, b)
    assert set(result.scheduled) == {"a"}
    assert result.unscheduled["b"].reason is UnscheduledReason.LOST_TO_OTHER_ITEMS
    next_day = item("b", (MemberSeat(("cy",)),), at(15, day=3), at(16, day=3))
    assert set(solve(a, next_day).scheduled) == {"a", "b"}


def test_existing_bookings_count_toward_the_limit() -> None:
    booked = [Booking("old", at(8), at(8, 30), ("cy",))]
    a = item("a", (MemberSeat(("cy",)),), at(9), at(10))
    result = optimize_batch(DIR, [], booked, BatchRequest((a,), ZERO))
    assert result.unscheduled["a"].reason is UnscheduledReason.NO_AVAILABLE_START


# --- The objective, term by term ----------------------------------------------------------


def test_priority_comes_first_unless_weighed() -> None:
    """a (priority 2) needs the alternate, costing 10; b (priority 1) is free and clashes with it.
    Lexicographic: a wins. At 4 points per unit of priority, scheduling a costs 10 + b's 4 = 14,
    scheduling b costs a's 2 x 4 = 8: b wins."""
    a = item("a", (MemberSeat(("ben", "ana")),), at(10), at(11), priority=2)
    b = item("b", (MemberSeat(("ana",)),), at(10), at(11))
    busy = [BusyInterval("ben", at(9), at(12))]
    lex = solve(a, b, busy=busy)
    assert set(lex.scheduled) == {"a"} and lex.scheduled["a"].alternates == 1
    weighed = solve(a, b, busy=busy, priority_weight=4.0)
    assert set(weighed.scheduled) == {"b"}
    assert weighed.objective == 8.0  # a's priority 2 x 4 points, nothing else
    assert weighed.unscheduled["a"].reason is UnscheduledReason.LOST_TO_OTHER_ITEMS


def test_an_item_not_worth_its_cost_is_left_out() -> None:
    """Only the alternate is free (cost 10) and a priority point is worth 4: better left out."""
    a = item("a", (MemberSeat(("ben", "ana")),), at(10), at(11))
    result = solve(a, busy=[BusyInterval("ben", at(9), at(12))], priority_weight=4.0)
    assert result.unscheduled["a"].reason is UnscheduledReason.NOT_WORTH_ITS_COST
    assert set(solve(a, busy=[BusyInterval("ben", at(9), at(12))], priority_weight=11.0).scheduled) == {"a"}


def test_earliness_against_an_alternate() -> None:
    """ana is busy 9-10. Waiting an hour costs w.earliness; the alternate costs 10."""
    a = item("a", (MemberSeat(("ana", "ben")),), at(9), at(12))
    busy = [BusyInterval("ana", at(9), at(10))]
    patient = solve(a, busy=busy, weights=Weights(alternate=10, fairness=0, earliness=1))
    assert starts(patient) == {"a": "10:00"} and patient.objective == 1.0
    hurried = solve(a, busy=busy, weights=Weights(alternate=10, fairness=0, earliness=20))
    assert starts(hurried) == {"a": "09:00"} and hurried.objective == 10.0
    assert hurried.kpis.alternates_used == 1 and hurried.kpis.mean_hours_from_window_start == 0.0


def test_fairness_spreads_a_pools_load() -> None:
    """ana is next in line (round robin rank 0, cost 0), ben costs 1. Two items a day apart:
    without fairness both go to ana (spread 2); with 2 points per unit of spread, one goes to ben."""
    a = item("a", (PoolSeat("team"),), at(9), at(10))
    b = item("b", (PoolSeat("team"),), at(9, day=3), at(10, day=3))
    cheap = solve(a, b, weights=Weights(pool_balance=1, fairness=0, earliness=0))
    assert {s.assignment.resource_ids for s in cheap.scheduled.values()} == {("ana",)}
    assert cheap.kpis.pool_load_spread == 2 and cheap.objective == 0.0
    fair = solve(a, b, weights=Weights(pool_balance=1, fairness=2, earliness=0))
    assert sorted(s.assignment.resource_ids for s in fair.scheduled.values()) == [("ana",), ("ben",)]
    assert fair.kpis.pool_load_spread == 0 and fair.objective == 1.0


def test_fairness_counts_the_least_loaded_member() -> None:
    """Scheduling both items evens the pool (spread 0); one alone leaves it uneven (spread 1).
    At 5 points per unit of spread and 1 per priority, both are scheduled, at objective 0."""
    a = item("a", (PoolSeat("team"),), at(9), at(10))
    b = item("b", (PoolSeat("team"),), at(11), at(12))
    result = solve(a, b, weights=Weights(pool_balance=0, fairness=5, earliness=0), priority_weight=1.0)
    assert set(result.scheduled) == {"a", "b"} and result.objective == 0.0


# --- Results, progress, limits ------------------------------------------------------------


def test_reasons_and_progress() -> None:
    busy = [BusyInterval("dee", at(0), at(23, 59))]
    a = item("a", (MemberSeat(("ana",)),), at(10), at(11), priority=3)
    b = item("b", (MemberSeat(("ana",)),), at(10), at(11))
    c = item("c", (MemberSeat(("dee",)),), at(10), at(12))
    reports: list[BatchProgress] = []
    result = optimize_batch(DIR, busy, [], BatchRequest((a, b, c), ZERO), on_progress=reports.append)
    assert result.status is BatchStatus.OPTIMAL and result.gap == 0.0
    assert set(result.scheduled) == {"a"}
    assert result.unscheduled["b"].reason is UnscheduledReason.LOST_TO_OTHER_ITEMS
    assert result.unscheduled["c"].reason is UnscheduledReason.NO_AVAILABLE_START
    assert reports[0].source == "greedy" and reports[-1].source == "part"
    assert reports[-1].parts_done == reports[-1].parts_total == result.parts == 2  # c shares nothing with a, b
    assert result.kpis.scheduled_priority == 3 and result.kpis.total_priority == 5


def test_a_passed_deadline_gives_no_schedule() -> None:
    a = item("a", (MemberSeat(("ana",)),), at(10), at(11))
    result = optimize_batch(DIR, [], [], BatchRequest((a,)), deadline=0.0)
    assert result.status is BatchStatus.UNKNOWN and not result.scheduled
    assert result.unscheduled["a"].reason is UnscheduledReason.DEADLINE


def test_bad_batches_name_the_field() -> None:
    good = item("a", (MemberSeat(("ana",)),), at(10), at(11))
    with pytest.raises(InvalidRequest) as bad:
        optimize_batch(DIR, [], [], BatchRequest((good, BatchItem("a", good.request, 0)), time_limit=0))
    assert set(bad.value.violations) == {
        FieldViolation("time_limit", "must be a positive number of seconds"),
        FieldViolation("items[1].id", "'a' is also the id of items[0]"),
        FieldViolation("items[1].priority", "must be a whole number >= 1"),
    }
    short = item("b", (MemberSeat(("ana",)),), at(10), at(10, 30), minutes=60)
    with pytest.raises(InvalidRequest) as bad:
        optimize_batch(DIR, [], [], BatchRequest((good, short)))
    assert bad.value.violations == [FieldViolation("items[1].request.duration", "is longer than the window")]
    stranger = item("c", (MemberSeat(("ana", "zed")),), at(10), at(11))
    with pytest.raises(UnknownResource) as unknown:
        optimize_batch(DIR, [], [], BatchRequest((good, stranger)))
    assert unknown.value.field == "items[1].request.seats[0].candidates[1]"


# --- Why an item is left out: the items in its way, named ---------------------------------------


def test_an_item_lost_to_others_names_them_and_the_resources() -> None:
    """Both want ana 10-11 (and b cy as well); a is worth more: b names a and ana. A third
    item held by cy's daily limit alone names the limits."""
    a = item("a", (MemberSeat(("ana",)),), at(10), at(11), priority=3)
    b = item("b", (MemberSeat(("ana",)), MemberSeat(("dee",))), at(10), at(11))
    result = solve(a, b)
    lost = result.unscheduled["b"]
    assert lost.reason is UnscheduledReason.LOST_TO_OTHER_ITEMS
    assert "clashes with scheduled items: a (on ana)" in lost.detail
    first = item("c1", (MemberSeat(("cy",)),), at(9), at(10), priority=2)
    second = item("c2", (MemberSeat(("cy",)),), at(14), at(15))
    by_limit = solve(first, second).unscheduled["c2"]
    assert by_limit.reason is UnscheduledReason.LOST_TO_OTHER_ITEMS
    assert "booking limits" in by_limit.detail
