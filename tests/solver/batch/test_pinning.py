"""Pinning and re-optimization: items that name an existing booking (solver.batch.types.Current).

Properties over random small batches (existing bookings pinned or movable, new items
around them): a pinned item is where its booking is, with its seats; a movable one
only starts inside its window, keeps its seats at its booking's start, and pays
``weights.move`` exactly when it moved; no resource is held twice; and the objective
is the sum of the items' costs (the move term in it) plus the priority left out.
And the schedule is the best one an exhaustive search finds (tests/solver/batch/oracle.py's
options, with the pinning rules applied to them). Then pairs: one case where the move is
worth it and one where it is not, each with the exact cost.
"""

from __future__ import annotations

import math
from dataclasses import replace
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from solver import Booking, Directory, MemberSeat, RoomSeat, Weights
from solver.batch import BatchItem, BatchRequest, BatchResult, BatchStatus, Current, optimize_batch
from solver.batch.types import TICKS_PER_POINT
from solver.errors import InvalidRequest
from tests.solver.batch.helpers import at, item, member, room
from tests.solver.batch.oracle import BruteOption, item_options, pair_clashes

MEMBERS = ("m0", "m1", "m2")
ROOMS = ("r0", "r1")
DIRECTORY = Directory(members={m: member(m) for m in MEMBERS}, rooms={r: room(r) for r in ROOMS})


def booked(item_id: str, hour: int, person: str, place: str, *, movable: bool, window: tuple[int, int],
           priority: int = 1, candidates: tuple[str, ...] = ()) -> tuple[BatchItem, Booking]:
    """An item standing for a one-hour booking at ``hour`` of ``person`` in ``place``, and that booking.
    Its member seat lists ``candidates`` (default: ``person`` first, then the others)."""
    seat = candidates or (person, *[m for m in MEMBERS if m != person])
    base = item(item_id, (MemberSeat(seat), RoomSeat((place, *[r for r in ROOMS if r != place]))),
                at(window[0]), at(window[1]), priority=priority)
    current = Current(f"bk-{item_id}", at(hour), at(hour + 1), ((person,), (place,)), movable=movable)
    return BatchItem(base.id, base.request, base.priority, current), \
        Booking(current.booking_id, current.start, current.end, (person, place))


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[BatchItem], list[Booking], Weights]:
    items: list[BatchItem] = []
    bookings: list[Booking] = []
    for k in range(draw(st.integers(1, 3))):
        hour = draw(st.integers(9, 15))
        lo = draw(st.integers(9, hour))
        hi = draw(st.integers(lo + 1, 17))
        # The booking's person is any of the seat's candidates: an alternate now and then (dearer).
        candidates = tuple(draw(st.permutations(MEMBERS)))
        it, bk = booked(f"b{k}", hour, draw(st.sampled_from(candidates)), draw(st.sampled_from(ROOMS)),
                        movable=draw(st.booleans()), window=(lo, hi), priority=draw(st.integers(1, 3)),
                        candidates=candidates)
        if any(set(bk.resources) & set(o.resources) and bk.start < o.end and o.start < bk.end for o in bookings):
            continue  # existing bookings never overlap on a resource
        items.append(it)
        bookings.append(bk)
    for k in range(draw(st.integers(0, 3))):
        lo = draw(st.integers(9, 15))
        hi = draw(st.integers(lo + 1, 17))
        seat = MemberSeat(tuple(draw(st.permutations(MEMBERS))[:draw(st.integers(1, 3))]))
        items.append(item(f"n{k}", (seat, RoomSeat(ROOMS)), at(lo), at(hi), priority=draw(st.integers(1, 3))))
    weights = Weights(move=draw(st.sampled_from([0.0, 1.0, 10.0, 100.0])), earliness=draw(st.sampled_from([0.0, 1.0])),
                      fairness=0.0)
    return items, bookings, weights


def _solve(items: list[BatchItem], bookings: list[Booking], weights: Weights) -> BatchResult:
    return optimize_batch(DIRECTORY, [], bookings, BatchRequest(tuple(items), weights=weights, time_limit=5.0))


@settings(max_examples=40, deadline=None)
@given(scenarios())
def test_pinned_stay_movable_keep_to_windows_and_moves_are_paid(scenario: tuple[list[BatchItem], list[Booking],
                                                                                Weights]) -> None:
    items, bookings, weights = scenario
    result = _solve(items, bookings, weights)
    held: list[tuple[str, object, object, str]] = []
    for it in items:
        placed = result.scheduled.get(it.id)
        current = it.current
        if it.pinned:
            assert current is not None and placed is not None, "a pinned item is always where its booking is"
            assert (placed.start, placed.end) == (current.start, current.end)
            assert tuple(tuple(f.resource_ids) for f in placed.assignment.seats) == current.seats
            assert not placed.moved and placed.move_cost == 0 and placed.cost == 0
        if placed is None:
            continue
        duration = it.request.duration
        if not it.pinned:
            assert it.request.window_start <= placed.start and placed.start + duration <= it.request.window_end
        if it.movable:
            assert current is not None
            stayed = placed.start == current.start
            assert placed.moved == (not stayed)
            if stayed:  # at its booking's start it keeps the booking's seats
                assert tuple(tuple(f.resource_ids) for f in placed.assignment.seats) == current.seats
            assert placed.move_cost == (weights.move if placed.moved else 0.0)
        else:
            assert placed.move_cost == 0 and not placed.moved
        for fill in placed.assignment.seats:
            held += [(r, placed.start, placed.end, it.id) for r in fill.resource_ids]
    # Nothing held twice: the schedule (pinned items included) and the bookings of no movable item.
    moving = {it.current.booking_id for it in items if it.movable and it.current is not None}
    pinned = {it.current.booking_id for it in items if it.pinned and it.current is not None}
    for bk in bookings:
        if bk.id not in moving and bk.id not in pinned:
            held += [(r, bk.start, bk.end, bk.id) for r in bk.resources]
    for n, (r, s, e, who) in enumerate(held):
        for r2, s2, e2, who2 in held[n + 1:]:
            assert not (r == r2 and who != who2 and s < e2 and s2 < e), f"{r} held by {who} and {who2}"  # type: ignore[operator]
    # The objective: priority left out (a movable item weighs the new items' priorities more) + every cost.
    boost = sum(it.priority for it in items if it.current is None)
    left = sum(it.priority + (boost if it.movable else 0) for it in items if it.id not in result.scheduled)
    costs = sum(s.cost for s in result.scheduled.values())
    assert result.objective == pytest.approx(result.priority_weight * left + costs, abs=1e-4)


def _oracle(items: list[BatchItem], bookings: list[Booking], weights: Weights) -> tuple[int, Fraction]:
    """The best (priority left out, cost) by trying everything, from the rules in docs/objective.md:
    pinned items out of it (their bookings obstacles), movable ones with their bookings gone, at
    their booking's start only with its seats, elsewhere paying ``w.move``; a movable item weighs
    the new items' priorities more."""
    solved = [it for it in items if not it.pinned]
    moving = {it.current.booking_id for it in solved if it.current is not None}
    obstacles = [bk for bk in bookings if bk.id not in moving]
    batch = BatchRequest(tuple(solved), weights=weights)
    boost = sum(it.priority for it in items if it.current is None)
    options: list[list[BruteOption]] = []
    for i, it in enumerate(solved):
        found = []
        for option in item_options(DIRECTORY, [], obstacles, batch, i):
            current = it.current
            if current is not None and option.start == current.start:
                if option.seats != tuple(tuple(sorted(seat)) for seat in current.seats):
                    continue  # at its booking's start it keeps the booking's seats
            elif current is not None:
                option = replace(option, cost=option.cost + Fraction(weights.move))
            found.append(option)
        options.append(found)
    priorities = [it.priority + (boost if it.movable else 0) for it in solved]
    grid = math.lcm(*(it.request.resolution for it in solved)) if solved else 1
    best: list[tuple[int, Fraction]] = []

    def walk(i: int, placed: list[BruteOption], left_out: int, cost: Fraction) -> None:
        if best and (left_out, cost) >= best[0]:
            return
        if i == len(options):
            best[:] = [(left_out, cost)]
            return
        for option in options[i]:
            if not any(pair_clashes(option, other, grid) for other in placed):
                walk(i + 1, [*placed, option], left_out, cost + option.cost)
        walk(i + 1, placed, left_out + priorities[i], cost)

    walk(0, [], 0, Fraction(0))
    return best[0]


@settings(max_examples=25, deadline=None)
@given(scenarios())
def test_the_schedule_is_the_best_one_trying_everything_finds(scenario: tuple[list[BatchItem], list[Booking],
                                                                              Weights]) -> None:
    items, bookings, weights = scenario
    result = _solve(items, bookings, weights)
    assert result.status is BatchStatus.OPTIMAL
    left_out, cost = _oracle(items, bookings, weights)
    assert result.score.unscheduled_priority == left_out
    assert Fraction(result.score.cost, TICKS_PER_POINT) == cost


def test_a_movable_booking_moves_for_a_new_item_and_pays_the_move() -> None:
    # The new item can only be at 10:00 with m0 in r0: the booking there moves (to 11:00, its next start).
    movable, bk = booked("b", 10, "m0", "r0", movable=True, window=(9, 13))
    new = item("n", (MemberSeat(("m0",)), RoomSeat(("r0",))), at(10), at(11))
    blocker = Booking("other", at(9), at(10), ("m0", "r0"))
    result = _solve([movable, new], [bk, blocker], Weights(move=7.0, earliness=0.0, fairness=0.0))
    moved, placed = result.scheduled["b"], result.scheduled["n"]
    assert placed.start == at(10)
    assert moved.start == at(10, 30) or moved.start >= at(11)
    assert moved.moved and moved.move_cost == 7.0 and moved.cost == moved.seat_cost + 7.0
    assert result.objective == pytest.approx(moved.seat_cost + placed.seat_cost + 7.0)
    assert (result.kpis.moves, result.kpis.move_cost) == (1, 7.0)


def test_a_movable_booking_stays_when_moving_costs_more_than_it_saves() -> None:
    # Earliness at 6 points an hour: 9:00 with m0 saves 12 points of earliness and the 10 of the
    # alternate m1 against 11:00; the move costs 30, so it stays.
    movable, bk = booked("b", 11, "m1", "r1", movable=True, window=(9, 13), candidates=("m0", "m1"))
    result = _solve([movable], [bk], Weights(move=30.0, earliness=6.0, fairness=0.0))
    stayed = result.scheduled["b"]
    assert stayed.start == at(11) and not stayed.moved and stayed.move_cost == 0
    assert (result.kpis.moves, result.kpis.move_cost) == (0, 0)
    # At its booking's start it keeps m1 (an alternate, dearer than m0) rather than changing seats.
    assert stayed.assignment.seats[0].resource_ids == ("m1",)
    assert stayed.earliness_cost == pytest.approx(12.0)
    # Cheaper to move: the same booking goes to 9:00 with m0, paying the move.
    result = _solve([movable], [bk], Weights(move=5.0, earliness=6.0, fairness=0.0))
    gone = result.scheduled["b"]
    assert gone.start == at(9) and gone.moved and gone.move_cost == 5.0
    assert gone.assignment.seats[0].resource_ids == ("m0",)


def test_a_pinned_booking_blocks_new_items_and_a_movable_one_does_not() -> None:
    for movable in (False, True):
        pinned, bk = booked("b", 10, "m0", "r0", movable=movable, window=(10, 11))
        new = item("n", (MemberSeat(("m0",)), RoomSeat(("r0",))), at(10), at(12))
        result = _solve([pinned, new], [bk], Weights(move=1.0, earliness=0.0, fairness=0.0))
        assert result.scheduled["b"].start == at(10)
        # Pinned: the new item waits for 11:00. Movable in a window of one start: the same (it cannot move).
        assert result.scheduled["n"].start == at(11)


def test_one_booking_named_twice_is_refused() -> None:
    a, bk = booked("a", 10, "m0", "r0", movable=True, window=(9, 12))
    b = BatchItem("b", a.request, 1, a.current)
    with pytest.raises(InvalidRequest) as caught:
        _solve([a, b], [bk], Weights())
    assert [v.field for v in caught.value.violations] == ["items[1].booking_id"]


def test_only_pinned_items() -> None:
    pinned, bk = booked("b", 10, "m0", "r0", movable=False, window=(9, 12))
    result = _solve([pinned], [bk], Weights())
    assert result.scheduled["b"].start == at(10) and result.objective == 0
    assert result.kpis.scheduled == 1 and result.unscheduled == {}
