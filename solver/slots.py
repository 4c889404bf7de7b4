"""find_slots and check_time: the public entry points of the core.

    validate -> plan (starts, unit seats, FreeMask) -> assign -> order -> page -> Slots
                                                    \\-> least-conflict alternatives, diagnosis

``phase`` lets a caller time the steps without the core knowing how: it is
entered around "plan", "assign" and "alternatives" (the server passes its
tracing span; the default does nothing).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from itertools import compress

import numpy as np

from solver.assign import SeatCosts, assign
from solver.busy import BusyTable
from solver.conflicts import conflict_costs, conflicts_of, least_conflict
from solver.diagnose import diagnose
from solver.domain import (
    Assignment,
    Booking,
    BusyInterval,
    Conflict,
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

__all__ = ["Phase", "TimeCheck", "check_time", "find_slots"]

# Entered around each step of a solve, by name ("plan", "assign", "alternatives").
Phase = Callable[[str], AbstractContextManager[object]]


def _untimed(name: str) -> AbstractContextManager[object]:
    return nullcontext()


@dataclass(frozen=True)
class TimeCheck:
    """The answer for one named start. ``slot`` is the best assignment when
    available, else the least-conflict one with its conflicts (None when even
    conflict mode cannot fill the seats: a room or a hard rule); ``reason`` says
    what blocks it."""

    start: datetime
    available: bool
    slot: Slot | None
    reason: str = ""


def find_slots(
    directory: Directory,
    busy: Iterable[BusyInterval] | BusyTable,
    request: SlotRequest,
    bookings: Iterable[Booking] = (),
    *,
    limits: Limits | None = None,
    deadline: float | None = None,
    cancelled: Callable[[], bool] | None = None,
    phase: Phase = _untimed,
) -> SlotResult:
    """Every available start of ``request`` with its cheapest assignment.

    When fewer than ``min_available`` starts are available (or
    ``want_alternatives``), up to ``max_alternatives`` unavailable starts with
    the lowest conflict cost come too. ``deadline`` is a ``time.monotonic()``
    instant bounding the work; ``cancelled`` is polled between solves. Past
    either, the result holds what was decided and ``complete`` is False.
    """
    validate_request(directory, request, limits)
    table, bookings = BusyTable.coerce(busy), list(bookings)
    with phase("plan"):
        plan = make_plan(directory, table, bookings, request)
        costs = plan.seat_costs()
    with phase("assign"):
        assigned = assign(costs, len(plan.starts), deadline=deadline, cancelled=cancelled)
    available = np.flatnonzero(assigned.feasible)
    scores = _scores(plan, assigned.total)
    ranked = _rank(plan, scores, available)
    page_end = len(ranked) if request.max_results == 0 else request.page_offset + request.max_results
    page = ranked[request.page_offset:page_end]
    slots = tuple(_slots(plan, costs, assigned.choice[:, page], page, scores[page].tolist()))

    alternatives: tuple[Slot, ...] = ()
    wants = request.want_alternatives or len(available) < request.min_available
    if wants and request.max_alternatives > 0:
        unavailable = np.flatnonzero(~assigned.feasible & assigned.decided)
        with phase("alternatives"):
            alternatives = _alternatives(plan, directory, table, bookings, costs, unavailable,
                                         request.max_alternatives, deadline, cancelled)
    return SlotResult(
        slots=slots,
        total_available=len(available),
        candidates_considered=len(plan.starts),
        next_offset=page_end if page_end < len(ranked) else None,
        alternatives=alternatives,
        complete=bool(assigned.decided.all()),
        diagnosis=diagnose(plan, assigned) if len(available) == 0 else None,
    )


def check_time(
    directory: Directory,
    busy: Iterable[BusyInterval] | BusyTable,
    request: SlotRequest,
    start: datetime,
    bookings: Iterable[Booking] = (),
    *,
    limits: Limits | None = None,
    phase: Phase = _untimed,
) -> TimeCheck:
    """Whether ``start`` is available for ``request``: its best assignment, or
    the least-conflict assignment and everything in its way."""
    validate_request(directory, request, limits)
    table, bookings = BusyTable.coerce(busy), list(bookings)
    with phase("plan"):
        plan = make_plan(directory, table, bookings, request, start_minutes(start))
        costs = plan.seat_costs()
    if to_minutes(start) < earliest_start(request):
        return TimeCheck(start, False, None, "before the minimum notice")
    with phase("assign"):
        assigned = assign(costs, 1)
    if assigned.feasible[0]:
        score = int(_scores(plan, assigned.total)[0])
        return TimeCheck(start, True, _slots(plan, costs, assigned.choice[:, :1], np.zeros(1, dtype=np.int64),
                                             [score])[0])
    with phase("alternatives"):
        found = _alternatives(plan, directory, table, bookings, costs, np.array([0], dtype=np.int64), 1, None, None)
    if found:
        kinds = sorted({c.kind.value for c in found[0].conflicts})
        return TimeCheck(start, False, found[0], "conflicts: " + ", ".join(kinds))
    return TimeCheck(start, False, None, _why_not(plan, costs))


def _alternatives(
    plan: Plan, directory: Directory, busy: BusyTable, bookings: Sequence[Booking],
    costs: list[SeatCosts], candidates: IntArray, k: int, deadline: float | None,
    cancelled: Callable[[], bool] | None,
) -> tuple[Slot, ...]:
    """The k least-conflict unavailable starts among ``candidates``, each with its conflicts."""
    conflict_seat_costs, scale = conflict_costs(plan, directory)
    chosen = least_conflict(conflict_seat_costs, scale, candidates, k, deadline=deadline, cancelled=cancelled)
    if not chosen:
        return ()
    bookings_by: dict[str, list[Booking]] = {}
    for bk in bookings:
        for r in bk.resources:
            bookings_by.setdefault(r, []).append(bk)
    out = []
    for c in chosen:
        slot = _slots(plan, costs, c.choice[:, None], np.array([c.s], dtype=np.int64), [c.seat_cost])[0]
        conflicts: list[Conflict] = conflicts_of(plan, slot.assignment.resource_ids, c.s, busy, bookings_by)
        out.append(Slot(slot.start, slot.end, slot.assignment, slot.free_candidates, slot.optional, slot.score,
                        tuple(conflicts), c.conflict / MILLI))
    return tuple(out)


def _rank(plan: Plan, scores: IntArray, available: IntArray) -> IntArray:
    """Start indices in reply order: chronological, or best_first by (score, start)."""
    if plan.request.order is Order.CHRONOLOGICAL:
        return available
    return available[np.lexsort((plan.starts[available], scores[available]))]


def _scores(plan: Plan, total: IntArray) -> IntArray:
    """Milli-point score: cost plus time_of_day per hour away from the preferred hours."""
    request = plan.request
    if request.preferred_hours is None or len(plan.starts) == 0:
        return total
    a, b = (t.hour * 60 + t.minute for t in request.preferred_hours)
    clock = zone_clock(request.time_zone, int(plan.starts.min()), int(plan.starts.max()) + 1)
    minute_of_day = clock.local(plan.starts) % 1440
    away = np.maximum(np.maximum(a - minute_of_day, minute_of_day - b), 0)
    return total + milli(request.weights.time_of_day, away / 60.0)


def _slots(plan: Plan, costs: list[SeatCosts], choice: IntArray, at: IntArray, scores: Sequence[int]) -> list[Slot]:
    """The Slots at start indices ``at``, ``choice[u, i]`` the position unit u takes at ``at[i]``.

    Per-start work is list lookups: every array is sliced for all of ``at`` at once.
    """
    request = plan.request
    seats = range(len(request.seats))
    units_of: list[list[int]] = [[] for _ in seats]
    for u, unit in enumerate(plan.units):
        units_of[unit.seat_index].append(u)
    picked = choice.tolist()
    names = [[unit.candidates[c] for c in picked[u]] for u, unit in enumerate(plan.units)]
    # Per seat and slot: who fills it, at what cost, and who could (its first unit's free
    # candidates: all units of a seat share them).
    fills = [list(zip(*(names[u] for u in units), strict=True)) if units else [() for _ in at] for units in units_of]
    seat_cost = [
        (sum((plan.units[u].cost[choice[u], at] for u in units), np.zeros(len(at), dtype=np.int64)) / MILLI).tolist()
        for units in units_of
    ]
    free = [
        [tuple(compress(plan.units[units[0]].candidates, row))
         for row in (costs[units[0]].cost[:, at] < INFEASIBLE).T.tolist()] if units else [() for _ in at]
        for units in units_of
    ]
    optional_rows = [plan.mask.row(m) for m in request.optional_members]
    optional_free = plan.mask.free[optional_rows][:, at].T.tolist() if optional_rows else [[] for _ in at]
    out = []
    for i, s in enumerate(at.tolist()):
        start = int(plan.starts[s])
        out.append(Slot(
            start=from_minutes(start),
            end=from_minutes(start + plan.window.duration),
            assignment=Assignment(tuple(SeatFill(fills[seat][i], seat_cost[seat][i]) for seat in seats)),
            free_candidates=tuple(free[seat][i] for seat in seats),
            optional=tuple(OptionalStatus(m, bool(f)) for m, f in zip(request.optional_members, optional_free[i],
                                                                        strict=True)),
            score=scores[i] / MILLI,
        ))
    return out


def _why_not(plan: Plan, costs: list[SeatCosts]) -> str:
    """A short reason for an unavailable start: the seats with no free candidate."""
    empty = sorted(
        {plan.units[u].seat_index for u, c in enumerate(costs) if not (c.cost[:, 0] < INFEASIBLE).any()}
    )
    if empty:
        return "no free candidate for seat(s) " + ", ".join(str(i) for i in empty)
    return "the seats cannot all be filled by distinct free candidates"
