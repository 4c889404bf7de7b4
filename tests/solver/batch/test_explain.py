"""Explanation per item: the rule that stopped each unscheduled item (and the items
in its way), and each scheduled item's share of the fairness cost."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from solver import Booking, BusyInterval, Directory, Distribution, MemberSeat, Pool, PoolSeat, RoomSeat, Weights
from solver.batch import (
    BatchItem,
    BatchRequest,
    BatchStatus,
    UnscheduledReason,
    UnscheduledRule,
    optimize_batch,
)
from tests.solver.batch.helpers import at, item, member, room

DIR = Directory.of([member("ana"), member("ben"), member("cy", daily_limit=1), member("dee")],
                   [room("small", capacity=2), room("big", capacity=8)],
                   [Pool("team", ("ana", "ben", "dee"), Distribution.ROUND_ROBIN)])
ZERO = Weights(alternate=10, pool_balance=0, room_fit=0, fairness=0, earliness=0)


def solve(*items: BatchItem, busy: tuple[BusyInterval, ...] = (), bookings: tuple[Booking, ...] = (),
          weights: Weights = ZERO):
    result = optimize_batch(DIR, list(busy), list(bookings), BatchRequest(tuple(items), weights, time_limit=10))
    assert result.status is BatchStatus.OPTIMAL
    return result


ANA = (MemberSeat(("ana",)),)


@pytest.mark.parametrize(("case", "rule"), [
    ("before_notice", UnscheduledRule.WINDOW),
    ("busy", UnscheduledRule.CALENDAR_BUSY),
    ("buffers", UnscheduledRule.BUFFERS),
    ("hours", UnscheduledRule.WORKING_HOURS),
    ("limits", UnscheduledRule.BOOKING_LIMITS),
    ("capacity", UnscheduledRule.ROOM_CAPACITY),
    ("several", UnscheduledRule.SEVERAL),
])
def test_the_rule_that_leaves_no_start(case: str, rule: UnscheduledRule) -> None:
    busy: tuple[BusyInterval, ...] = ()
    bookings: tuple[Booking, ...] = ()
    if case == "before_notice":
        x = item("x", ANA, at(10), at(12), minimum_notice=timedelta(hours=5), now=at(9))
    elif case == "busy":
        x = item("x", ANA, at(10), at(12))
        busy = (BusyInterval("ana", at(9), at(13)),)
    elif case == "buffers":
        # Free 10:00-11:00 exactly, but the meeting keeps 15 minutes on each side.
        x = item("x", ANA, at(10), at(11), buffer_before=timedelta(minutes=15), buffer_after=timedelta(minutes=15))
        busy = (BusyInterval("ana", at(9), at(10)), BusyInterval("ana", at(11), at(12)))
    elif case == "hours":
        x = item("x", ANA, at(18), at(20))
    elif case == "limits":
        x = item("x", (MemberSeat(("cy",)),), at(10), at(12))
        bookings = (Booking("old", at(14), at(15), ("cy",)),)
    elif case == "capacity":
        x = item("x", (MemberSeat(("ana",)), RoomSeat(("small",))), at(10), at(12), customers=4)
    else:  # ana busy, ben outside his hours: lifting either rule alone frees nothing
        x = item("x", (MemberSeat(("ana",)), MemberSeat(("ben",))), at(17), at(19))
        busy = (BusyInterval("ana", at(15), at(19)),)
    left = solve(x, busy=busy, bookings=bookings).unscheduled["x"]
    assert left.reason is UnscheduledReason.NO_AVAILABLE_START
    assert left.rule is rule, left.detail
    assert left.blocking_item_ids == ()


def test_a_clash_names_every_item_in_the_way() -> None:
    """Only ana 10-11 for three items: the most valued takes it, the others name it."""
    a = item("a", ANA, at(10), at(11), priority=3)
    b = item("b", ANA, at(10), at(11))
    c = item("c", (MemberSeat(("ana",)), MemberSeat(("ben",))), at(10), at(11))
    result = solve(a, b, c)
    assert set(result.scheduled) == {"a"}
    for name in ("b", "c"):
        left = result.unscheduled[name]
        assert left.reason is UnscheduledReason.LOST_TO_OTHER_ITEMS
        assert left.rule is UnscheduledRule.CLASHES_WITH_ITEMS
        assert left.blocking_item_ids == ("a",)
        assert "a (on ana)" in left.detail


def test_a_limit_used_up_by_the_batch_names_the_items_using_it() -> None:
    """cy may meet once a day: a (worth more) takes the day; b, at another hour, is left out."""
    cy = (MemberSeat(("cy",)),)
    result = solve(item("a", cy, at(10), at(11), priority=2), item("b", cy, at(14), at(15)),
                   item("c", ANA, at(14), at(15)))
    assert set(result.scheduled) == {"a", "c"}
    left = result.unscheduled["b"]
    assert left.rule is UnscheduledRule.BOOKING_LIMITS
    assert left.blocking_item_ids == ("a",)


def test_not_worth_its_cost_is_a_cost_rule() -> None:
    """With an explicit priority weight below the alternate's cost, the item stays out."""
    x = item("x", (MemberSeat(("ana", "ben")),), at(10), at(11))
    batch = BatchRequest((x,), ZERO, time_limit=10, priority_weight=5)
    result = optimize_batch(DIR, [BusyInterval("ana", at(9), at(12))], [], batch)
    left = result.unscheduled["x"]
    assert (left.reason, left.rule) == (UnscheduledReason.NOT_WORTH_ITS_COST, UnscheduledRule.COST)


# --- Fairness shares ---------------------------------------------------------------------------


def test_fairness_is_shared_equally_over_the_pools_fills() -> None:
    """Four one-seat team items in one week, three members: loads 2/1/1, spread 1, so
    fairness costs w = 6 points, 1.5 for each of the four fills."""
    items = [item(f"i{n}", (PoolSeat("team"),), at(10 + n), at(11 + n)) for n in range(4)]
    result = solve(*items, weights=Weights(alternate=10, pool_balance=0, room_fit=0, fairness=6, earliness=0))
    assert result.kpis.fairness_cost == 6
    assert [s.fairness_cost for s in result.scheduled.values()] == [1.5] * 4


@settings(max_examples=40, deadline=None)
@given(hours=st.lists(st.tuples(st.integers(0, 4), st.integers(9, 15), st.integers(1, 2)), min_size=1, max_size=7),
       fairness=st.sampled_from([0, 1, 2.5]))
def test_fairness_shares_add_up_to_the_kpi(hours: list[tuple[int, int, int]], fairness: float) -> None:
    """Random pool items over a week (two pools' worth of seats): the shares add up to
    the KPI and none is negative; costs outside the pool terms carry no share."""
    items = [item(f"i{n}", (PoolSeat("team", count),), at(hour, day=2 + day), at(hour + 2, day=2 + day))
             for n, (day, hour, count) in enumerate(hours)]
    weights = Weights(alternate=10, pool_balance=0.5, room_fit=0, fairness=fairness, earliness=0.1)
    result = optimize_batch(DIR, [], [], BatchRequest(tuple(items), weights, time_limit=10))
    shares = [s.fairness_cost for s in result.scheduled.values()]
    assert all(share >= 0 for share in shares)
    assert sum(shares) == pytest.approx(result.kpis.fairness_cost, abs=1e-5)
    if fairness == 0:
        assert shares == [0] * len(shares)
