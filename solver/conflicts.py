"""Conflict mode: members may be assigned while not free, at a price.

A member candidate that is not free at a start costs ``w.conflict_busy`` per
overlapping busy / out-of-office event or confirmed booking,
``w.conflict_tentative`` per tentative event, and ``w.outside_hours`` when the
meeting leaves their hours. Rooms stay hard, and so do booking limits and rule
exclusions (strict round robin). A start's conflict cost is the minimum over
assignments; seat costs break ties. Both are folded into one integer,
``conflict * scale + seat cost``, with ``scale`` above any seat-cost total, so
the same exact assignment engine serves both modes.

Only the best few unavailable starts are wanted, so starts are taken in order
of a lower bound (the sum of each seat's own cheapest candidate) and solved
exactly in batches until no unsolved start can beat the k-th best found.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from solver.assign import SeatCosts, assign
from solver.busy import BusyTable
from solver.domain import Booking, BusyKind, Conflict, Directory
from solver.grid import IntArray, from_minutes, grid_phase, to_minutes
from solver.plan import Plan
from solver.seats import INFEASIBLE, milli

__all__ = ["ConflictChoice", "conflict_costs", "conflicts_of", "least_conflict"]

_BATCH = 64


@dataclass(frozen=True)
class ConflictChoice:
    """An exact least-conflict assignment at start index ``s``."""

    s: int
    choice: IntArray  # position per unit seat
    conflict: int  # milli-points
    seat_cost: int  # milli-points


def conflict_costs(plan: Plan, directory: Directory) -> tuple[list[SeatCosts], int]:
    """Per unit seat, ``conflict * scale + seat cost`` for every candidate and start, and ``scale``."""
    w = plan.request.weights
    mask = plan.mask
    window = plan.window
    n_rows = len(mask.resource_ids)
    penalty = np.zeros((n_rows, len(plan.starts)), dtype=np.int64)
    if mask.events is not None:
        lo = window.starts - window.buffer_before
        hi = window.ends + window.buffer_after
        penalty += milli(w.conflict_busy, mask.events.overlapping(n_rows, lo, hi, tentative=False))
        penalty += milli(w.conflict_tentative, mask.events.overlapping(n_rows, lo, hi, tentative=True))
    penalty += np.where(mask.in_hours, 0, milli(w.outside_hours, 1))
    is_member = np.array([r in directory.members for r in mask.resource_ids], dtype=np.bool_)
    # Rooms and booking limits stay hard.
    allowed = (mask.free | is_member[:, None]) & mask.under_limit

    row = {r: i for i, r in enumerate(mask.resource_ids)}
    seat_max = sum(int(u.cost[u.cost < INFEASIBLE].max(initial=0)) for u in plan.units)
    scale = seat_max + 1
    out = []
    for unit in plan.units:
        rows = np.array([row[c] for c in unit.candidates], dtype=np.int64)
        if len(rows) == 0:
            out.append(SeatCosts(rows, unit.cost))
            continue
        ok = allowed[rows] & (unit.cost < INFEASIBLE)
        out.append(SeatCosts(rows, np.where(ok, penalty[rows] * scale + unit.cost, INFEASIBLE)))
    return out, scale


def least_conflict(
    costs: Sequence[SeatCosts],
    scale: int,
    candidates: IntArray,
    k: int,
    *,
    deadline: float | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> list[ConflictChoice]:
    """The ``k`` starts among ``candidates`` with the lowest conflict cost (then earliest), exactly."""
    if k <= 0 or len(candidates) == 0:
        return []
    # Lower bound of each start: every unit seat at its own cheapest candidate.
    bound = np.zeros(len(candidates), dtype=np.int64)
    possible = np.ones(len(candidates), dtype=np.bool_)
    for unit in costs:
        if len(unit.rows) == 0:
            return []
        cheapest = unit.cost[:, candidates].min(axis=0)
        possible &= cheapest < INFEASIBLE
        bound += np.where(cheapest < INFEASIBLE, cheapest, 0)
    candidates, bound = candidates[possible], bound[possible] // scale
    order = np.lexsort((candidates, bound))
    found: list[ConflictChoice] = []
    done = 0
    while done < len(order):
        if len(found) >= k:
            kth = sorted((c.conflict, c.s) for c in found)[k - 1]
            nxt = order[done]
            if kth < (int(bound[nxt]), int(candidates[nxt])):
                break
        batch = candidates[order[done:done + _BATCH]]
        done += _BATCH
        sub = [SeatCosts(u.rows, u.cost[:, batch]) for u in costs]
        result = assign(sub, len(batch), deadline=deadline, cancelled=cancelled)
        for j in np.flatnonzero(result.feasible).tolist():
            total = int(result.total[j])
            found.append(ConflictChoice(int(batch[j]), result.choice[:, j].copy(), total // scale, total % scale))
        if not result.decided.all():
            break
    found.sort(key=lambda c: (c.conflict, c.s))
    return found[:k]


def conflicts_of(
    plan: Plan, resource_ids: Sequence[str], s: int, busy: BusyTable, bookings_by_resource: dict[str, list[Booking]],
) -> list[Conflict]:
    """What is in the way of each of ``resource_ids`` at start ``s``: overlapping events
    (buffers included), confirmed bookings, and leaving working hours."""
    window = plan.window
    res = plan.request.resolution
    start = int(plan.starts[s])
    # The same outward widening the grid applies (cells from the request's phase), so the list matches the cost.
    p = grid_phase(plan.request.time_zone, plan.request.window_start, res)
    lo = (start - window.buffer_before - p) // res * res + p
    hi = -(-(start + window.duration + window.buffer_after - p) // res) * res + p
    out: list[Conflict] = []
    for rid in resource_ids:
        r = plan.mask.row(rid)
        mine = busy.positions.get(rid)
        if mine is not None and len(mine):
            b_lo = np.floor((busy.start[mine] - p) / res) * res + p
            b_hi = np.ceil((busy.end[mine] - p) / res) * res + p
            for k in mine[(b_lo < hi) & (b_hi > lo)].tolist():
                b = busy.intervals[k]
                out.append(Conflict(rid, b.start, b.end, b.kind, b.owner, b.details))
        for bk in bookings_by_resource.get(rid, ()):
            bk_lo = (to_minutes(bk.start) - p) // res * res + p
            bk_hi = -(-(to_minutes(bk.end) - p) // res) * res + p
            if bk_lo < hi and bk_hi > lo and bk.end > bk.start:
                out.append(Conflict(rid, bk.start, bk.end, BusyKind.BOOKING))
        if not plan.mask.in_hours[r, s]:
            out.append(Conflict(rid, from_minutes(start), from_minutes(start + window.duration),
                                BusyKind.OUTSIDE_HOURS))
    return out
