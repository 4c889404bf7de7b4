"""Why no start is available: which rule removed how many starts, per seat.

For each seat and each rule, the number of starts at which the seat lacks
enough free candidates now but would have them were that rule alone lifted.
That tells an agent whether to widen the window, add an alternate or drop a
rule.
"""

from __future__ import annotations

import math

import numpy as np

from solver.assign import Assigned
from solver.domain import Diagnosis, SeatDiagnosis
from solver.grid import BoolArray, candidate_starts, to_minutes
from solver.masks import BoolMatrix
from solver.plan import Plan, earliest_start
from solver.seats import INFEASIBLE

__all__ = ["diagnose"]


def diagnose(plan: Plan, assigned: Assigned) -> Diagnosis:
    mask = plan.mask
    row = {r: i for i, r in enumerate(mask.resource_ids)}
    n = len(plan.starts)
    every_seat_has = np.ones(n, dtype=np.bool_)
    seats: list[SeatDiagnosis] = []
    for seat_index in dict.fromkeys(u.seat_index for u in plan.units):
        units = [u for u in plan.units if u.seat_index == seat_index]
        need = len(units)
        rows = np.array([row[c] for c in units[0].candidates], dtype=np.int64)
        eligible = units[0].cost < INFEASIBLE  # rule exclusions (strict round robin) stay

        def enough(ok: BoolMatrix, rows: np.ndarray = rows, eligible: BoolMatrix = eligible,
                   need: int = need) -> BoolArray:
            if len(rows) == 0:
                return np.zeros(n, dtype=np.bool_)
            return np.asarray((ok[rows] & eligible).sum(axis=0) >= need, dtype=np.bool_)

        has = enough(mask.free)
        every_seat_has &= has
        lifted = {
            "busy": enough(mask.in_hours & mask.under_limit),
            "buffers": enough(mask.in_hours & mask.under_limit & mask.unblocked_unbuffered),
            "outside_hours": enough(mask.unblocked & mask.under_limit),
            "booking_limits": enough(mask.in_hours & mask.unblocked),
        }
        small = plan.too_small.get(seat_index)
        if small is not None:
            small_rows = np.array([row[r] for r in small], dtype=np.int64)
            lifted["room_capacity"] = np.asarray(mask.free[small_rows].any(axis=0), dtype=np.bool_)
        rules = tuple((name, int((ok & ~has).sum())) for name, ok in lifted.items())
        seats.append(SeatDiagnosis(seat_index, int((~has).sum()), rules))
    return Diagnosis(tuple(seats), _before_notice(plan), int((every_seat_has & ~assigned.feasible).sum()))


def _before_notice(plan: Plan) -> int:
    """Candidate starts inside the window that fall before now + minimum notice."""
    request = plan.request
    first = math.ceil(to_minutes(request.window_start))
    earliest = math.ceil(earliest_start(request))
    if earliest <= first:
        return 0
    duration = plan.window.duration
    last = min(earliest - 1, math.floor(to_minutes(request.window_end)) - duration)
    return len(candidate_starts(request.time_zone, first, last, request.start_interval))
