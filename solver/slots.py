"""find_slots and check_time: the public entry points of the core.

    validate -> plan (starts, unit seats, FreeMask) -> assign -> order -> page -> Slots
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from solver.assign import Assigned, SeatCosts, assign
from solver.domain import (
    Assignment,
    Booking,
    BusyInterval,
    Directory,
    OptionalStatus,
    Order,
    SeatFill,
    Slot,
    SlotRequest,
    SlotResult,
)
from solver.grid import IntArray, from_minutes, to_minutes, zone_clock
from solver.plan import Plan, earliest_start, make_plan, start_minutes
from solver.seats import INFEASIBLE, MILLI, milli
from solver.validate import Limits, validate_request

__all__ = ["TimeCheck", "check_time", "find_slots"]


@dataclass(frozen=True)
class TimeCheck:
    """The answer for one named start: ``slot`` carries the best assignment when
    available; ``reason`` says what blocks it when not."""

    start: datetime
    available: bool
    slot: Slot | None
    reason: str = ""


def find_slots(
    directory: Directory,
    busy: Iterable[BusyInterval],
    request: SlotRequest,
    bookings: Iterable[Booking] = (),
    *,
    limits: Limits | None = None,
    deadline: float | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> SlotResult:
    """Every available start of ``request`` with its cheapest assignment.

    ``deadline`` is a ``time.monotonic()`` instant bounding the work; ``cancelled``
    is polled between solves. Past either, the result holds the starts decided
    so far and ``complete`` is False.
    """
    validate_request(directory, request, limits)
    plan = make_plan(directory, list(busy), list(bookings), request)
    costs = plan.seat_costs()
    assigned = assign(costs, len(plan.starts), deadline=deadline, cancelled=cancelled)
    available = np.flatnonzero(assigned.feasible)
    ranked = _rank(plan, assigned, available)
    page_end = len(ranked) if request.max_results == 0 else request.page_offset + request.max_results
    page = ranked[request.page_offset:page_end]
    scores = _scores(plan, assigned)
    return SlotResult(
        slots=tuple(_slot(plan, costs, assigned, int(s), int(scores[s])) for s in page),
        total_available=len(available),
        candidates_considered=len(plan.starts),
        next_offset=page_end if page_end < len(ranked) else None,
        complete=bool(assigned.decided.all()),
    )


def check_time(
    directory: Directory,
    busy: Iterable[BusyInterval],
    request: SlotRequest,
    start: datetime,
    bookings: Iterable[Booking] = (),
    *,
    limits: Limits | None = None,
) -> TimeCheck:
    """Whether ``start`` is available for ``request``, and its best assignment."""
    validate_request(directory, request, limits)
    plan = make_plan(directory, list(busy), list(bookings), request, start_minutes(start))
    costs = plan.seat_costs()
    if to_minutes(start) < earliest_start(request):
        return TimeCheck(start, False, None, "before the minimum notice")
    assigned = assign(costs, 1)
    if assigned.feasible[0]:
        return TimeCheck(start, True, _slot(plan, costs, assigned, 0, int(_scores(plan, assigned)[0])))
    return TimeCheck(start, False, None, _why_not(plan, costs))


def _rank(plan: Plan, assigned: Assigned, available: IntArray) -> IntArray:
    """Start indices in reply order: chronological, or best_first by (score, start)."""
    if plan.request.order is Order.CHRONOLOGICAL:
        return available
    score = _scores(plan, assigned)[available]
    return available[np.lexsort((plan.starts[available], score))]


def _scores(plan: Plan, assigned: Assigned) -> IntArray:
    """Milli-point score: cost plus time_of_day per hour away from the preferred hours."""
    request = plan.request
    if request.preferred_hours is None or len(plan.starts) == 0:
        return assigned.total
    a, b = (t.hour * 60 + t.minute for t in request.preferred_hours)
    clock = zone_clock(request.time_zone, int(plan.starts.min()), int(plan.starts.max()) + 1)
    minute_of_day = clock.local(plan.starts) % 1440
    away = np.maximum(np.maximum(a - minute_of_day, minute_of_day - b), 0)
    return assigned.total + milli(request.weights.time_of_day, away / 60.0)


def _slot(plan: Plan, costs: list[SeatCosts], assigned: Assigned, s: int, score: int) -> Slot:
    request = plan.request
    n_seats = len(request.seats)
    fills: list[list[str]] = [[] for _ in range(n_seats)]
    seat_cost = [0] * n_seats
    free: list[tuple[str, ...] | None] = [None] * n_seats
    for u, unit in enumerate(plan.units):
        c = int(assigned.choice[u, s])
        fills[unit.seat_index].append(unit.candidates[c])
        seat_cost[unit.seat_index] += int(costs[u].cost[c, s])
        if free[unit.seat_index] is None:
            ok = costs[u].cost[:, s] < INFEASIBLE
            free[unit.seat_index] = tuple(cand for cand, f in zip(unit.candidates, ok, strict=True) if f)
    optional = tuple(
        OptionalStatus(m, bool(plan.mask.free[plan.mask.row(m), s])) for m in request.optional_members
    )
    start = int(plan.starts[s])
    return Slot(
        start=from_minutes(start),
        end=from_minutes(start + plan.window.duration),
        assignment=Assignment(
            tuple(SeatFill(tuple(f), c / MILLI) for f, c in zip(fills, seat_cost, strict=True))
        ),
        free_candidates=tuple(f or () for f in free),
        optional=optional,
        score=score / MILLI,
    )


def _why_not(plan: Plan, costs: list[SeatCosts]) -> str:
    """A short reason for an unavailable start: the seats with no free candidate."""
    empty = sorted(
        {plan.units[u].seat_index for u, c in enumerate(costs) if not (c.cost[:, 0] < INFEASIBLE).any()}
    )
    if empty:
        return "no free candidate for seat(s) " + ", ".join(str(i) for i in empty)
    return "the seats cannot all be filled by distinct free candidates"
